/**
 * The virtio memory balloon (VIRTIO 1.2 §5.5): {@link
 * dev.ember.devices.virtio.balloon.VirtioBalloon} takes the pages a guest inflates back from
 * the host mapping (so the VM's resident set shrinks), carries the host's target size to the
 * guest, and collects the guest's memory statistics ({@link
 * dev.ember.devices.virtio.balloon.VirtioBalloonStatistics}), as Firecracker's balloon device.
 *
 * <p>May use: {@code devices.virtio}, {@code devices.virtio.queue}, {@code memory}, {@code config}
 * (its own record, read by its {@code create} factory).
 *
 * <p>Package map: uses devices.virtio, devices.virtio.queue, memory, config, log.
 */
package dev.ember.devices.virtio.balloon;
