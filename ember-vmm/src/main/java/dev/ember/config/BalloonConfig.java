package dev.ember.config;

/**
 * The virtio-balloon device, as Firecracker's {@code Balloon}.
 *
 * @param amountMib             target balloon size in MiB: memory the guest gives back
 * @param deflateOnOom          the guest may deflate when it runs out of memory
 * @param statsPollingIntervalS seconds between statistics requests; 0 disables statistics
 */
public record BalloonConfig(int amountMib, boolean deflateOnOom, int statsPollingIntervalS) implements DeviceConfig {

    /** @throws IllegalArgumentException naming the problem */
    public BalloonConfig {
        if (amountMib < 0) {
            throw new IllegalArgumentException("balloon size must not be negative: " + amountMib);
        }
        if (statsPollingIntervalS < 0) {
            throw new IllegalArgumentException("balloon statistics interval must not be negative: " + statsPollingIntervalS);
        }
    }
}
