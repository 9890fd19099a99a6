/**
 * Split virtqueues, device side (VIRTIO 1.2 §2.7): {@link dev.ember.devices.virtio.queue.Virtqueue}
 * pops bounded, validated {@link dev.ember.devices.virtio.queue.DescriptorChain}s and publishes
 * used entries; a driver's rule-breaking becomes a
 * {@link dev.ember.devices.virtio.queue.VirtqueueViolation}.
 *
 * <p>May use: {@code memory}. Knows nothing of the transport or of any device type.
 *
 * <p>Package map: uses memory, log.
 */
package dev.ember.devices.virtio.queue;
