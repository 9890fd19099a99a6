package dev.ember.devices.virtio.net;

/**
 * A snapshot of one {@link VirtioNet}'s counters, all monotonic since construction.
 *
 * <p>Receive ("rx") is host to guest, transmit ("tx") guest to host, as the spec names the
 * queues (VIRTIO 1.2 §5.1.2).
 *
 * @param rxFrames           frames written into the guest's receive buffers
 * @param rxBytes            bytes of those frames, headers excluded
 * @param txFrames           frames the guest transmitted and the backend took
 * @param txBytes            bytes of those frames, headers excluded
 * @param rxDropsInactive    frames offered while the driver had not set DRIVER_OK (or had reset)
 * @param rxDropsBacklogFull frames refused because the guest posted no buffers and the backlog was full
 * @param rxDropsOversize    frames longer than the next receive buffer could hold, malformed
 *                           (shorter than an Ethernet header, longer than 65,550 bytes), or
 *                           given up on after a queue's worth of unusable receive buffers
 * @param rxBadBuffers       receive chains too small for even a header and an Ethernet header,
 *                           returned to the driver unused
 * @param txDropsMalformed   transmit chains shorter than the header plus an Ethernet header, or whose partial checksum lies outside the frame
 * @param txDropsOversize    transmit chains longer than the header plus 65,550 bytes
 */
public record VirtioNetMetrics(long rxFrames, long rxBytes, long txFrames, long txBytes,
                               long rxDropsInactive, long rxDropsBacklogFull, long rxDropsOversize,
                               long rxBadBuffers, long txDropsMalformed, long txDropsOversize) {
}
