package dev.ember.config;

/**
 * One virtio device of a VM, as configured: the unit a {@link DevicesConfig} lists, in the order
 * the devices take their slots. Each device package builds its device from its own record.
 */
public sealed interface DeviceConfig
        permits DriveConfig, NetworkInterfaceConfig, VsockConfig, EntropyConfig, BalloonConfig, VirtioConsoleConfig,
        KeyboardConfig, ShareConfig {
}
