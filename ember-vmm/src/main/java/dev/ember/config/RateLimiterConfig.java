package dev.ember.config;

/**
 * A rate limiter on a device, as Firecracker's {@code RateLimiter}: a bandwidth bucket counting
 * bytes and an ops bucket counting requests; either may be absent (null), meaning unlimited.
 *
 * @param bandwidth bytes per refill period, or null
 * @param ops       operations per refill period, or null
 */
public record RateLimiterConfig(TokenBucketConfig bandwidth, TokenBucketConfig ops) {

    /** No limit at all. */
    public static final RateLimiterConfig UNLIMITED = new RateLimiterConfig(null, null);

    /** {@return whether neither bucket is set} */
    public boolean unlimited() {
        return bandwidth == null && ops == null;
    }
}
