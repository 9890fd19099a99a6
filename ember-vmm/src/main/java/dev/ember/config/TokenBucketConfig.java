package dev.ember.config;

/**
 * One token bucket of a rate limiter, as Firecracker's {@code TokenBucket}: the bucket holds at
 * most {@code size} tokens (bytes or operations) and refills completely every
 * {@code refillTimeMs} milliseconds; {@code oneTimeBurst} extra tokens are available once, at
 * the start, and do not refill.
 *
 * @param size          bucket capacity in tokens, at least 1
 * @param oneTimeBurst  initial extra tokens, 0 or more
 * @param refillTimeMs  milliseconds to refill an empty bucket to {@code size}, at least 1
 */
public record TokenBucketConfig(long size, long oneTimeBurst, long refillTimeMs) {

    /** @throws IllegalArgumentException naming the problem */
    public TokenBucketConfig {
        if (size < 1) {
            throw new IllegalArgumentException("token bucket size must be at least 1, not " + size);
        }
        if (oneTimeBurst < 0) {
            throw new IllegalArgumentException("token bucket one_time_burst must not be negative: " + oneTimeBurst);
        }
        if (refillTimeMs < 1) {
            throw new IllegalArgumentException("token bucket refill_time must be at least 1 ms, not " + refillTimeMs);
        }
    }
}
