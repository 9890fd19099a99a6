package dev.ember.ratelimit;

/** Which bucket of a {@link RateLimiter} a request draws from, as Firecracker's {@code TokenType}. */
public enum TokenType {
    /** The bandwidth bucket: one token per byte. */
    BYTES,
    /** The ops bucket: one token per request (a block request, a frame, an entropy request). */
    OPS
}
