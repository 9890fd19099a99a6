/**
 * Rate limiting of device I/O with Firecracker's token buckets (src/vmm/src/rate_limiter/mod.rs,
 * the swagger's {@code RateLimiter} and {@code TokenBucket}): a {@link dev.ember.ratelimit.RateLimiter}
 * holds an optional bandwidth and an optional ops {@link dev.ember.ratelimit.TokenBucket};
 * block, network and entropy devices ask it before serving each request, and a
 * {@link dev.ember.ratelimit.RefillTimer} (one daemon thread per VM) wakes a refused device when
 * its tokens are due.
 *
 * <p>How a device uses it: pop a chain; {@code consume(bytes)} (one op and the request's bytes);
 * if refused, {@code undoPop} the chain, stop serving the queue, and
 * {@code wakeup.arm(limiter.nanosUntilAvailable())}; the wake-up takes the device's monitor and
 * serves the queue again. A run-time {@code update} (Firecracker's PATCH) replaces buckets and
 * the device arms its wake-up at once, so lifted limits take effect without a guest kick.
 *
 * <p>The math is clocked by an injectable {@code LongSupplier} of nanoseconds, so tests need no
 * sleeps.
 *
 * <p>May use: {@code config} (the {@code RateLimiterConfig} and {@code TokenBucketConfig}
 * records) and the JDK. Devices use this package; it imports no device.
 *
 * <p>Package map: uses config, log.
 */
package dev.ember.ratelimit;
