/**
 * The virtio input device (VIRTIO 1.2 §5.8) as a keyboard: {@link
 * dev.ember.devices.virtio.input.VirtioInput} presses Ctrl+Alt+Delete for Firecracker's
 * {@code SendCtrlAltDel} action, which Ember's RISC-V guests receive through Linux's
 * {@code virtio_input} driver and the VT keyboard handler instead of an i8042 controller.
 *
 * <p>May use: {@code devices.virtio}, {@code devices.virtio.queue}, {@code memory}, {@code config}
 * (its own record, read by its {@code create} factory).
 *
 * <p>Package map: uses devices.virtio, devices.virtio.queue, memory, config, log.
 */
package dev.ember.devices.virtio.input;
