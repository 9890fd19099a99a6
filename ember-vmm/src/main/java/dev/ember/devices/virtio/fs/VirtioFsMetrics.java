package dev.ember.devices.virtio.fs;

import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of one virtio-fs device, reported under the {@code fs} metric group (Firecracker has
 * no virtio-fs; the names follow its block device's).
 *
 * <p>Threads: incremented by the device thread under the device's lock; read from any thread.
 */
public final class VirtioFsMetrics {

    private final FuseServer.Counters server;
    final LongAdder queueViolations = new LongAdder();

    VirtioFsMetrics(FuseServer.Counters server) {
        this.server = server;
    }

    /** {@return FUSE requests received, well-formed or not} */
    public long requests() { return server.requests.sum(); }

    /** {@return replies that carried an error (ENOENT, EROFS, ENOSYS...)} */
    public long errorReplies() { return server.errorReplies.sum(); }

    /**
     * {@return requests the driver got wrong}: shorter than their header, a length field beyond
     * the bytes given, no room for a reply, arguments that do not parse
     */
    public long invalidRequests() { return server.invalidRequests.sum(); }

    /** {@return file bytes read for the guest} */
    public long readBytes() { return server.readBytes.sum(); }

    /** {@return file bytes written for the guest} */
    public long writeBytes() { return server.writeBytes.sum(); }

    /** {@return queue rule-breaking that set DEVICE_NEEDS_RESET} */
    public long queueViolations() { return queueViolations.sum(); }
}
