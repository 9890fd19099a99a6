/**
 * The virtio socket device (VIRTIO 1.2 §5.10) with Firecracker's host side: guest
 * {@code AF_VSOCK} stream connections become host {@code AF_UNIX} stream connections.
 *
 * <p>{@link dev.ember.devices.virtio.vsock.VirtioVsock} is the device and its one thread
 * ({@code ember-vsock}) that multiplexes the Unix sockets with a {@link java.nio.channels.Selector};
 * {@code VsockConnection} is one connection's state machine and buffers; {@link
 * dev.ember.devices.virtio.vsock.VsockHeader} is the 44-byte packet header;
 * {@link dev.ember.devices.virtio.vsock.VirtioVsockMetrics} its counters.
 *
 * <p>May use: {@code devices.virtio}, {@code devices.virtio.queue}, {@code memory}, {@code config}
 * (its own record, read by its {@code create} factory), and
 * {@code java.nio.channels}. Knows nothing of the VMM or of other device types.
 *
 * <p>Package map: uses devices.virtio, devices.virtio.queue, memory, config, log.
 */
package dev.ember.devices.virtio.vsock;
