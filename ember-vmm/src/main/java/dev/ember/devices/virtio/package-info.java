/**
 * Virtio devices (VIRTIO 1.2): the virtio-mmio transport ({@link dev.ember.devices.virtio.VirtioMmio}),
 * the contract every device type meets ({@link dev.ember.devices.virtio.VirtioDevice}), split
 * queues in {@code queue}, and one package per device type: {@code block}, {@code net},
 * {@code console}, {@code rng}, {@code vsock}, {@code balloon}, {@code input}, {@code fs} (a shared
 * directory, served by a FUSE server in Java).
 *
 * <p>Devices take host resources (files, backends, sockets) through their constructors and
 * guest memory through {@link dev.ember.devices.virtio.VirtioContext}. May use: {@code memory},
 * {@code devices.irq}, {@code devices.virtio.queue}; each device's package adds what it needs. Never imports the CPU or the VMM.
 *
 * <p>Package map: uses memory, devices.irq, devices.virtio.queue, log.
 */
package dev.ember.devices.virtio;
