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
 * <p>May use: {@code devices.virtio}, {@code devices.virtio.queue}, {@code memory}, the JDK,
 * {@code config} (the drive's own records, read by {@code VirtioBlock.create}), {@code ratelimit}
 * (its token buckets) and {@code snapshot} ({@code SparseFiles}, which walks the data extents of
 * a copy-on-write overlay as it walks a memory file's). Knows nothing of the API: the VMM hands it
 * a drive's config record.
 *
 * <p>Package map: uses devices.virtio, devices.virtio.queue, memory, config, ratelimit, snapshot, log.
 */
package dev.ember.devices.virtio.block;
