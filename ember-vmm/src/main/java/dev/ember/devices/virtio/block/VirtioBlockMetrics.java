package dev.ember.devices.virtio.block;

import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of one virtio-blk device, in the spirit of Firecracker's {@code BlockDeviceMetrics}.
 *
 * <p>Threads: incremented by the thread serving the device (under its lock); read from any
 * thread, e.g. the API thread that reports metrics, without taking the lock.
 */
public final class VirtioBlockMetrics {

    final LongAdder reads = new LongAdder();
    final LongAdder writes = new LongAdder();
    final LongAdder flushes = new LongAdder();
    final LongAdder getIds = new LongAdder();
    final LongAdder readBytes = new LongAdder();
    final LongAdder writeBytes = new LongAdder();
    final LongAdder hostErrors = new LongAdder();
    final LongAdder invalidRequests = new LongAdder();
    final LongAdder unsupported = new LongAdder();

    /** {@return VIRTIO_BLK_T_IN requests completed with VIRTIO_BLK_S_OK} */
    public long reads() { return reads.sum(); }

    /** {@return VIRTIO_BLK_T_OUT requests completed with VIRTIO_BLK_S_OK} */
    public long writes() { return writes.sum(); }

    /** {@return VIRTIO_BLK_T_FLUSH requests completed with VIRTIO_BLK_S_OK} */
    public long flushes() { return flushes.sum(); }

    /** {@return VIRTIO_BLK_T_GET_ID requests completed with VIRTIO_BLK_S_OK} */
    public long getIds() { return getIds.sum(); }

    /** {@return bytes copied from the image into guest RAM} */
    public long readBytes() { return readBytes.sum(); }

    /** {@return bytes copied from guest RAM into the image} */
    public long writeBytes() { return writeBytes.sum(); }

    /** {@return requests answered VIRTIO_BLK_S_IOERR because the host's I/O failed} */
    public long hostErrors() { return hostErrors.sum(); }

    /**
     * {@return requests the driver got wrong}: a header shorter than 16 bytes, no writable byte
     * for the status, data not a whole number of sectors, sectors beyond the capacity, a write
     * to a read-only drive
     */
    public long invalidRequests() { return invalidRequests.sum(); }

    /** {@return requests of a type this device does not implement, answered VIRTIO_BLK_S_UNSUPP} */
    public long unsupported() { return unsupported.sum(); }

    /** {@return every request that did not complete with VIRTIO_BLK_S_OK} */
    public long errors() {
        return hostErrors() + invalidRequests() + unsupported();
    }
}
