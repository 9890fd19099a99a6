package dev.ember.config;

/**
 * A virtio-input keyboard, through which Firecracker's {@code SendCtrlAltDel} asks the guest to
 * shut down; it has nothing to configure.
 */
public record KeyboardConfig() implements DeviceConfig {
}
