/**
 * The virtio network device (VIRTIO 1.2 §5.1): {@link dev.ember.devices.virtio.net.VirtioNet}
 * moves Ethernet frames between the guest's receive and transmit queues and a
 * {@link dev.ember.net.NetBackend} (user-mode NAT or TAP), and counts what it drops in
 * {@link dev.ember.devices.virtio.net.VirtioNetMetrics}.
 *
 * <p>May use: {@code devices.virtio}, {@code devices.virtio.queue}, {@code net} (the backend
 * contract only, never a particular backend), {@code config} (its own record) and {@code ratelimit}.
 *
 * <p>Package map: uses devices.virtio, devices.virtio.queue, memory, config, net, ratelimit, log.
 */
package dev.ember.devices.virtio.net;
