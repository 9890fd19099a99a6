package dev.ember.ratelimit;

import dev.ember.config.TokenBucketConfig;
import java.util.Objects;

/**
 * A change to one bucket of a live {@link RateLimiter}, as Firecracker's {@code BucketUpdate}:
 * leave it, remove it (no limit of that kind), or replace it with a fresh, full bucket.
 *
 * <p>Firecracker's {@code PATCH /drives/{id}} and {@code PATCH /network-interfaces/{id}} map a
 * token bucket that is absent from the body to {@link Keep}, one with {@code size} or
 * {@code refill_time} 0 to {@link Disable}, and any other to {@link Replace}
 * (src/vmm/src/vmm_config/mod.rs, {@code get_bucket_update}); {@link #of(long, long, long)}
 * does the same.
 */
public sealed interface BucketUpdate {

    /** Leave the bucket as it is. */
    record Keep() implements BucketUpdate { }

    /** Remove the bucket: no limit of this kind from now on. */
    record Disable() implements BucketUpdate { }

    /** Replace the bucket with a full one made from {@code config}. */
    record Replace(TokenBucketConfig config) implements BucketUpdate {
        /** @throws NullPointerException if {@code config} is null */
        public Replace {
            Objects.requireNonNull(config, "config");
        }
    }

    /** Leave the bucket as it is. */
    BucketUpdate KEEP = new Keep();
    /** Remove the bucket. */
    BucketUpdate DISABLE = new Disable();

    /** {@return Keep for null, Disable for a bucket of size or refill time 0, else Replace} */
    static BucketUpdate of(TokenBucketConfig config) {
        return config == null ? KEEP : config.disabled() ? DISABLE : new Replace(config);
    }

    /**
     * {@return the update for the API's raw fields}: Disable when {@code size} or
     * {@code refillTimeMs} is 0, as Firecracker's {@code TokenBucket::new} returning None
     *
     * @throws IllegalArgumentException for negative values
     */
    static BucketUpdate of(long size, long oneTimeBurst, long refillTimeMs) {
        if (size == 0 || refillTimeMs == 0) {
            if (size < 0 || refillTimeMs < 0 || oneTimeBurst < 0) {
                throw new IllegalArgumentException("token bucket fields must not be negative");
            }
            return DISABLE;
        }
        return new Replace(new TokenBucketConfig(size, oneTimeBurst, refillTimeMs));
    }
}
