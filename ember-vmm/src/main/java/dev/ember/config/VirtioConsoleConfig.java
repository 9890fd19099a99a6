package dev.ember.config;

/** A virtio-console ({@code hvc}) beside the UART; it has nothing to configure. */
public record VirtioConsoleConfig() implements DeviceConfig {
}
