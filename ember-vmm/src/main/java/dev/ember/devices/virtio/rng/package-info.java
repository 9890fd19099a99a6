/**
 * The virtio entropy device (VIRTIO 1.2 §5.4): {@link dev.ember.devices.virtio.rng.VirtioRng}
 * fills the driver's buffers from a host {@link java.security.SecureRandom}.
 *
 * <p>May use: {@code devices.virtio}, {@code devices.virtio.queue}, {@code memory}.
 */
package dev.ember.devices.virtio.rng;
