package dev.ember.config;

/**
 * One token bucket of a rate limiter, as Firecracker's {@code TokenBucket}: the bucket holds at
 * most {@code size} tokens (bytes or operations) and refills completely every
 * {@code refillTimeMs} milliseconds; {@code oneTimeBurst} extra tokens are available once, at
 * the start, and do not refill.
 *
 * <p>As in Firecracker, a bucket with {@code size} 0 or {@code refillTimeMs} 0 is no bucket at
 * all: given in a PUT it means unlimited, in a PATCH it removes the bucket.
 *
 * @param size          bucket capacity in tokens, 0 or more
 * @param oneTimeBurst  initial extra tokens, 0 or more
 * @param refillTimeMs  milliseconds to refill an empty bucket to {@code size}, 0 or more
 */
public record TokenBucketConfig(long size, long oneTimeBurst, long refillTimeMs) {

    /** @throws IllegalArgumentException naming the problem */
    public TokenBucketConfig {
        if (size < 0) {
            throw new IllegalArgumentException("token bucket size must not be negative: " + size);
        }
        if (oneTimeBurst < 0) {
            throw new IllegalArgumentException("token bucket one_time_burst must not be negative: " + oneTimeBurst);
        }
        if (refillTimeMs < 0) {
            throw new IllegalArgumentException("token bucket refill_time must not be negative: " + refillTimeMs);
        }
    }

    /** {@return whether this describes no bucket (size or refill time 0)} */
    public boolean disabled() {
        return size == 0 || refillTimeMs == 0;
    }
}
