/**
 * The virtio block device (VIRTIO 1.2 §5.2): {@link dev.ember.devices.virtio.block.VirtioBlock}
 * serves one request queue against a raw disk image,
 * {@link dev.ember.devices.virtio.block.DiskImage}, opened and validated before the guest starts
 * (a bad file is a {@link dev.ember.devices.virtio.block.DiskImageException} with a message for
 * the user), and counts what it does in
 * {@link dev.ember.devices.virtio.block.VirtioBlockMetrics}.
 *
 * <p>Design: requests are served synchronously, on the vCPU thread that wrote QueueNotify, with
 * positional {@link java.nio.channels.FileChannel} I/O straight between the file and guest RAM
 * (no bounce buffer). A FLUSH request is {@code FileChannel.force(true)}: what the guest has
 * synced is on the host's disk even if the Ember process is killed right after.
 *
 * <p>May use: {@code devices.virtio}, {@code devices.virtio.queue}, {@code memory}, the JDK.
 * Knows nothing of the configuration API: the VMM opens the image from a drive's config and
 * hands it to the device.
 */
package dev.ember.devices.virtio.block;
