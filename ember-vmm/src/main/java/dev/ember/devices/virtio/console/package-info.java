/**
 * The virtio console device (VIRTIO 1.2 §5.3), single-port: {@link
 * dev.ember.devices.virtio.console.VirtioConsole} carries guest output to a host sink and host
 * input (the VMM's console-input thread) to the guest, as the UART and the SBI console do.
 *
 * <p>May use: {@code devices.virtio}, {@code devices.virtio.queue}, {@code memory}, {@code config}
 * (its own record, read by its {@code create} factory).
 *
 * <p>Package map: uses devices.virtio, devices.virtio.queue, memory, config, log.
 */
package dev.ember.devices.virtio.console;
