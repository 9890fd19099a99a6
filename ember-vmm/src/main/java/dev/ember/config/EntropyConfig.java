package dev.ember.config;

/**
 * The virtio-rng device, as Firecracker's {@code EntropyDevice}.
 *
 * @param rateLimiter limit on bytes and requests, or null for none
 */
public record EntropyConfig(RateLimiterConfig rateLimiter) implements DeviceConfig {
}
