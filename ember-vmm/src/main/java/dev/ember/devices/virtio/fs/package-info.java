/**
 * The virtio file system device (VIRTIO 1.2 §5.11): a host directory shared with the guest,
 * served in Java over the Linux FUSE protocol.
 *
 * <p>{@link dev.ember.devices.virtio.fs.VirtioFs} is the virtio glue (queues, configuration
 * space, its request thread); {@link dev.ember.devices.virtio.fs.FuseServer} speaks FUSE and
 * knows nothing of virtqueues, so it is tested on its own; {@code Inodes} maps the guest's node
 * IDs to host {@code O_PATH} descriptors; {@code HostFs} holds the system calls, made through
 * {@code java.lang.foreign} ({@code openat2} with {@code RESOLVE_BENEATH}, {@code statx}, the
 * {@code *at} family). The security model (every name one component, resolved by the kernel
 * beneath a descriptor inside the share; no symlink followed on the host) is described in
 * {@link dev.ember.devices.virtio.fs.FuseServer}.
 *
 * <p>May use: {@code devices.virtio}, {@code devices.virtio.queue}, {@code memory}, {@code config}
 * (its own record), and {@code java.lang.foreign}. Knows nothing of the VMM or of other device types.
 *
 * <p>Package map: uses devices.virtio, devices.virtio.queue, memory, config, log.
 */
package dev.ember.devices.virtio.fs;
