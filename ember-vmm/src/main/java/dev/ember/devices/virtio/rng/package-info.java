/**
 * The virtio entropy device (VIRTIO 1.2 §5.4): {@link dev.ember.devices.virtio.rng.VirtioRng}
 * fills the driver's buffers from a host {@link java.security.SecureRandom}.
 *
 * <p>May use: {@code devices.virtio}, {@code devices.virtio.queue}, {@code memory},
 * {@code config} (its own record) and {@code ratelimit}.
 *
 * <p>Package map: uses devices.virtio, devices.virtio.queue, memory, config, ratelimit, log.
 */
package dev.ember.devices.virtio.rng;
