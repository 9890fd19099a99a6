package dev.ember.devices.virtio.block;

import dev.ember.config.RateLimiterConfig;
import dev.ember.devices.virtio.ConfigSpace;
import dev.ember.devices.virtio.VirtioContext;
import dev.ember.devices.virtio.VirtioDevice;
import dev.ember.devices.virtio.queue.DescriptorChain;
import dev.ember.devices.virtio.queue.Virtqueue;
import dev.ember.devices.virtio.queue.VirtqueueViolation;
import dev.ember.log.Level;
import dev.ember.log.Log;
import dev.ember.log.LogSink;
import dev.ember.ratelimit.BucketUpdate;
import dev.ember.ratelimit.RateLimiter;
import dev.ember.ratelimit.RefillTimer;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A virtio block device (VIRTIO 1.2 §5.2) over a raw {@link DiskImage}: one request queue,
 * served synchronously.
 *
 * <pre>
 *   request (§5.2.6)   type:le32 | reserved:le32 | sector:le64   device-readable, 16 bytes
 *                      data[]                                    readable (OUT), writable (IN, GET_ID)
 *                      status:u8                                 the last device-writable byte
 *   config (§5.2.4)    0 capacity:le64  8 size_max:le32  12 seg_max:le32  16 geometry
 *                      20 blk_size:le32  24 topology  32 writeback  34 num_queues ... (72 bytes)
 * </pre>
 *
 * <p>Features offered (§5.2.3): VIRTIO_BLK_F_SEG_MAX (seg_max = queue size - 2, room for the
 * header and the status in a direct chain), VIRTIO_BLK_F_BLK_SIZE (512), VIRTIO_BLK_F_FLUSH,
 * and VIRTIO_BLK_F_RO for a read-only drive. Request types served: IN, OUT, FLUSH
 * ({@code fsync}, so data the guest synced survives the Ember process being killed) and GET_ID
 * (the drive id, NUL-padded to 20 bytes). DISCARD, WRITE_ZEROES, SECURE_ERASE, GET_LIFETIME and
 * anything else are answered VIRTIO_BLK_S_UNSUPP; their features are not offered.
 *
 * <p>Threads: requests are served synchronously, in {@link #queueNotify}, on the vCPU thread
 * that wrote QueueNotify and under the device's lock, with positional file I/O straight between
 * the image and guest RAM. That vCPU (and any other that touches this device's registers) waits
 * for the host disk meanwhile. Firecracker instead serves block requests on its VMM thread (or
 * with io_uring); Ember trades that overlap for simplicity and no thread hand-off per request.
 * A FileChannel is closed by {@link Thread#interrupt} during I/O, so the interrupt status is
 * cleared while the queue is drained and restored after; a vCPU thread must not be interrupted from
 * outside while it serves a request, or the drive fails every later request with IOERR.
 *
 * <p>Rate limiting (Firecracker's drive {@code rate_limiter}): each request takes one op and,
 * for IN and OUT, its data bytes from the {@link RateLimiter} before it is served, as
 * Firecracker's {@code Block::rate_limit}. A refused request is given back to the ring
 * ({@link Virtqueue#undoPop}) and the device stops serving the queue; its
 * {@link RefillTimer.Wakeup} serves it again, on the timer thread under the device's lock, when
 * the limiter expects the tokens. {@link #updateRateLimiter} (PATCH /drives/{id}) replaces the
 * buckets at run time from the API thread and wakes the device at once.
 *
 * <p><b>Guest-controlled.</b> Every header field, the sector, the chain's shape and lengths
 * come from the driver. The header is copied out of guest RAM once (it may be split across
 * descriptors); a chain with no device-writable byte has nowhere for a status and goes back with
 * used length 0; a header shorter than 16 bytes, data that is not a whole number of sectors, a
 * range that does not lie wholly within the capacity (checked without overflow, sector as an
 * unsigned 64-bit value) and a write to a read-only drive are answered VIRTIO_BLK_S_IOERR
 * without touching the file. Such requests are counted in {@link VirtioBlockMetrics} and never
 * stop the device; only the queue itself ({@link Virtqueue#pop}) raises
 * {@link VirtqueueViolation}. Data lengths are bounded by the chain's, which is below 2^32.
 * Guest RAM behind an OUT request may change while it is written: the guest gets what it raced.
 * Host I/O failures are answered VIRTIO_BLK_S_IOERR and counted; nothing is thrown.
 */
public final class VirtioBlock implements VirtioDevice {

    /** §5.2.1: device ID. */
    public static final int VIRTIO_ID_BLOCK = 2;

    /** §5.2.3: feature bits. */
    public static final int VIRTIO_BLK_F_SIZE_MAX = 1, VIRTIO_BLK_F_SEG_MAX = 2, VIRTIO_BLK_F_GEOMETRY = 4,
            VIRTIO_BLK_F_RO = 5, VIRTIO_BLK_F_BLK_SIZE = 6, VIRTIO_BLK_F_FLUSH = 9, VIRTIO_BLK_F_TOPOLOGY = 10,
            VIRTIO_BLK_F_CONFIG_WCE = 11, VIRTIO_BLK_F_MQ = 12, VIRTIO_BLK_F_DISCARD = 13,
            VIRTIO_BLK_F_WRITE_ZEROES = 14;

    /** §5.2.6: request types. */
    public static final int VIRTIO_BLK_T_IN = 0, VIRTIO_BLK_T_OUT = 1, VIRTIO_BLK_T_FLUSH = 4,
            VIRTIO_BLK_T_GET_ID = 8, VIRTIO_BLK_T_GET_LIFETIME = 10, VIRTIO_BLK_T_DISCARD = 11,
            VIRTIO_BLK_T_WRITE_ZEROES = 13, VIRTIO_BLK_T_SECURE_ERASE = 14;

    /** §5.2.6: status values. */
    public static final int VIRTIO_BLK_S_OK = 0, VIRTIO_BLK_S_IOERR = 1, VIRTIO_BLK_S_UNSUPP = 2;

    /** §5.2.6: the device ID string of GET_ID, NUL-padded; no NUL when 20 bytes long. */
    public static final int VIRTIO_BLK_ID_BYTES = 20;

    /** The size of the request queue. */
    public static final int QUEUE_SIZE = 256;
    /** Data segments per request: a direct chain also needs a header and a status descriptor. */
    public static final int SEG_MAX = QUEUE_SIZE - 2;

    private static final int HEADER_BYTES = 16;
    private static final int CONFIG_BYTES = 72;
    /** The largest slice of one buffer handed to the file at once; a ByteBuffer holds < 2 GiB. */
    private static final long MAX_IO_SLICE = 1L << 30;

    private final String id;
    private final DiskImage image;
    private final Log log;
    private boolean hostErrorReported;
    private final byte[] serial;
    private final byte[] config;
    private final VirtioBlockMetrics metrics = new VirtioBlockMetrics();
    private final byte[] header = new byte[HEADER_BYTES];
    private final ByteBuffer headerView = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
    private final byte[] statusByte = new byte[1];

    private final RateLimiter limiter;
    private final RefillTimer.Wakeup wakeup;

    private VirtioContext context;   // null while inactive

    /**
     * A block device serving {@code image} as drive {@code id}; the device owns the image from
     * here on and closes it in {@link #close}.
     *
     * @param id the drive's name, e.g. {@code "rootfs"}; its first 20 ASCII bytes are the
     *           GET_ID serial (non-ASCII characters become {@code ?})
     */
    public VirtioBlock(String id, DiskImage image) {
        this(id, image, LogSink.systemLogger());
    }

    /**
     * As {@link #VirtioBlock(String, DiskImage)}, reporting to {@code log}: the first host I/O
     * error (WARN, with its exception; later ones at DEBUG, so a failing disk cannot flood the
     * log) and a failure to flush and close the image at the end (ERROR).
     */
    public VirtioBlock(String id, DiskImage image, LogSink log) {
        this(id, image, log, RateLimiter.unlimited(), RefillTimer.shared());
    }

    /**
     * As {@link #VirtioBlock(String, DiskImage, LogSink)}, with requests limited by
     * {@code limiter}; {@code timer} (the VM's) wakes the device when a refused request's tokens
     * are due.
     */
    public VirtioBlock(String id, DiskImage image, LogSink log, RateLimiter limiter, RefillTimer timer) {
        this.limiter = Objects.requireNonNull(limiter, "limiter");
        this.wakeup = timer.wakeup(this::refilled);
        this.id = id;
        this.image = image;
        this.log = Log.of(log, VirtioBlock.class);
        this.serial = new byte[VIRTIO_BLK_ID_BYTES];
        byte[] ascii = id.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(ascii, 0, serial, 0, Math.min(ascii.length, VIRTIO_BLK_ID_BYTES));
        this.config = configSpace(image.capacitySectors());
    }

    private static byte[] configSpace(long capacitySectors) {
        ByteBuffer c = ByteBuffer.allocate(CONFIG_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        c.putLong(0, capacitySectors);
        c.putInt(12, SEG_MAX);
        c.putInt(20, DiskImage.SECTOR_SIZE);
        // size_max, geometry, topology, writeback and the rest stay 0: their features are not offered.
        return c.array();
    }

    /** {@return the drive's name} */
    public String id() {
        return id;
    }

    /** {@return whether the drive is read-only (VIRTIO_BLK_F_RO is offered)} */
    public boolean readOnly() {
        return image.readOnly();
    }

    /** {@return the capacity in 512-byte sectors, as the configuration space reports it} */
    public long capacitySectors() {
        return image.capacitySectors();
    }

    /** {@return the backing image} */
    public DiskImage image() {
        return image;
    }

    /** {@return this device's counters} */
    public VirtioBlockMetrics metrics() {
        return metrics;
    }

    /** {@return the drive's rate limiter; its throttled count is Firecracker's {@code rate_limiter_throttled_events}} */
    public RateLimiter rateLimiter() {
        return limiter;
    }

    /**
     * Applies a PATCH of the drive's rate limiter (null buckets are kept, see
     * {@link RateLimiter#update(RateLimiterConfig)}) and serves whatever the old limits held back.
     * Called from the API thread.
     */
    public void updateRateLimiter(RateLimiterConfig config) {
        limiter.update(config);
        wakeup.arm(0);
    }

    /** As {@link #updateRateLimiter(RateLimiterConfig)}, able to remove a bucket. */
    public void updateRateLimiter(BucketUpdate bandwidth, BucketUpdate ops) {
        limiter.update(bandwidth, ops);
        wakeup.arm(0);
    }

    @Override
    public int deviceType() {
        return VIRTIO_ID_BLOCK;
    }

    @Override
    public long deviceFeatures() {
        long features = 1L << VIRTIO_BLK_F_SEG_MAX | 1L << VIRTIO_BLK_F_BLK_SIZE | 1L << VIRTIO_BLK_F_FLUSH;
        return readOnly() ? features | 1L << VIRTIO_BLK_F_RO : features;
    }

    @Override
    public int queueCount() {
        return 1;
    }

    @Override
    public int queueMaxSize(int index) {
        return QUEUE_SIZE;
    }

    @Override
    public long readConfig(int offset, int width) {
        return ConfigSpace.read(config, offset, width);
    }

    @Override
    public void activate(VirtioContext context) {
        this.context = context;
    }

    @Override
    public void reset() {
        // Nothing is in flight: every request completes inside queueNotify (or a wake-up).
        context = null;
        wakeup.cancel();
    }

    @Override
    public void queueNotify(int index) throws VirtqueueViolation {
        Virtqueue queue = context == null ? null : context.queue(index);
        if (queue == null) {
            return;
        }
        boolean interrupted = Thread.interrupted();
        try {
            serveQueue(queue);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Serves the queue until it is empty or the rate limiter refuses a request. */
    private void serveQueue(Virtqueue queue) throws VirtqueueViolation {
        boolean served = false;
        boolean throttled = false;
        do {
            for (DescriptorChain chain; (chain = queue.pop()) != null; ) {
                if (!limiter.consume(dataBytes(chain))) {
                    // Left in the ring: served when the wake-up fires, in the driver's order.
                    queue.undoPop();
                    throttled = true;
                    break;
                }
                queue.addUsed(chain.head(), serve(chain));
                served = true;
            }
        } while (!throttled && queue.enableNotification());
        if (served && queue.needsInterrupt()) {
            context.usedBuffers();
        }
        if (throttled) {
            wakeup.arm(limiter.nanosUntilAvailable());
        }
    }

    /** The timer's wake-up: serve what the limiter held back, under the device's lock. */
    private void refilled() {
        synchronized (this) {
            Virtqueue queue = context == null ? null : context.queue(0);
            if (queue == null) {
                return;
            }
            try {
                serveQueue(queue);
            } catch (VirtqueueViolation v) {
                context.fail(v);
            }
        }
    }

    /**
     * {@return the data bytes a request charges to the bandwidth bucket}: IN and OUT their data
     * length, as Firecracker's {@code data_len}; other types and malformed requests 0. Read before
     * the request is served; {@link #serve} validates it again.
     */
    private long dataBytes(DescriptorChain chain) {
        if (chain.read(0, header, 0, HEADER_BYTES) < HEADER_BYTES) {
            return 0;
        }
        return switch (headerView.getInt(0)) {
            case VIRTIO_BLK_T_IN -> Math.max(0, chain.writableBytes() - 1);
            case VIRTIO_BLK_T_OUT -> Math.max(0, chain.readableBytes() - HEADER_BYTES);
            default -> 0;
        };
    }

    /** Serves one request; {@return the used length: bytes written into the writable buffers} */
    private int serve(DescriptorChain chain) {
        long writable = chain.writableBytes();
        if (writable == 0) {
            // §5.2.6: the status is the last writable byte; without one, nothing can be answered.
            metrics.invalidRequests.increment();
            return 0;
        }
        long statusOffset = writable - 1;
        long dataWritten = 0;
        int status;
        if (chain.read(0, header, 0, HEADER_BYTES) < HEADER_BYTES) {
            metrics.invalidRequests.increment();
            status = VIRTIO_BLK_S_IOERR;
        } else {
            int type = headerView.getInt(0);
            long sector = headerView.getLong(8);
            switch (type) {
                case VIRTIO_BLK_T_IN -> {
                    status = read(chain, sector, statusOffset);
                    dataWritten = status == VIRTIO_BLK_S_OK ? statusOffset : 0;
                }
                case VIRTIO_BLK_T_OUT -> status = write(chain, sector);
                case VIRTIO_BLK_T_FLUSH -> status = flush();
                case VIRTIO_BLK_T_GET_ID -> {
                    // Bounds: at most 20 bytes, and never into the status byte.
                    int n = (int) Math.min(VIRTIO_BLK_ID_BYTES, statusOffset);
                    dataWritten = chain.write(0, serial, 0, n);
                    metrics.getIds.increment();
                    status = VIRTIO_BLK_S_OK;
                }
                default -> {
                    metrics.unsupported.increment();
                    status = VIRTIO_BLK_S_UNSUPP;
                }
            }
        }
        statusByte[0] = (byte) status;
        chain.write(statusOffset, statusByte, 0, 1);
        return (int) (dataWritten + 1);
    }

    /** VIRTIO_BLK_T_IN: the image's sectors into the writable buffers before the status byte. */
    private int read(DescriptorChain chain, long sector, long length) {
        if (!valid(sector, length)) {
            return VIRTIO_BLK_S_IOERR;
        }
        try {
            transfer(chain, chain.readableCount(), chain.count(), 0, length, sector * DiskImage.SECTOR_SIZE, true);
        } catch (IOException e) {
            return hostError("read", e);
        }
        metrics.reads.increment();
        metrics.readBytes.add(length);
        return VIRTIO_BLK_S_OK;
    }

    /** VIRTIO_BLK_T_OUT: the readable buffers after the header into the image's sectors. */
    private int write(DescriptorChain chain, long sector) {
        long length = chain.readableBytes() - HEADER_BYTES;
        if (readOnly()) {
            // §5.2.6.2: a device offering VIRTIO_BLK_F_RO answers a write IOERR and writes nothing.
            metrics.invalidRequests.increment();
            return VIRTIO_BLK_S_IOERR;
        }
        if (!valid(sector, length)) {
            return VIRTIO_BLK_S_IOERR;
        }
        try {
            transfer(chain, 0, chain.readableCount(), HEADER_BYTES, length, sector * DiskImage.SECTOR_SIZE, false);
        } catch (IOException e) {
            return hostError("write", e);
        }
        metrics.writes.increment();
        metrics.writeBytes.add(length);
        // §5.2.6.2: without FLUSH the device is write-through; a driver that cannot flush
        // (firmware, a minimal kernel) must find its completed writes on the disk.
        return context.negotiated(VIRTIO_BLK_F_FLUSH) ? VIRTIO_BLK_S_OK : flush();
    }

    /**
     * Counts a host I/O failure and reports it: the first at WARN with its exception, the rest at
     * DEBUG (the guest sees each as IOERR; the counter says how many).
     *
     * @return VIRTIO_BLK_S_IOERR, the status the guest gets
     */
    private int hostError(String operation, IOException e) {
        metrics.hostErrors.increment();
        String message = "ember: drive " + id + ": host " + operation + " of " + image.path() + " failed, the guest sees an I/O error";
        log.log(hostErrorReported ? Level.DEBUG : Level.WARN, message, e);
        hostErrorReported = true;
        return VIRTIO_BLK_S_IOERR;
    }

    /** VIRTIO_BLK_T_FLUSH: everything written so far reaches the host's disk. */
    private int flush() {
        try {
            image.flush();
        } catch (IOException e) {
            return hostError("flush", e);
        }
        metrics.flushes.increment();
        return VIRTIO_BLK_S_OK;
    }

    /**
     * {@return whether {@code length} data bytes from {@code sector} are whole sectors wholly
     * within the capacity}; counts the request as invalid when not.
     */
    private boolean valid(long sector, long length) {
        long capacity = image.capacitySectors();
        // §5.2.6.1: IN and OUT data is a multiple of 512 bytes and lies within the capacity.
        // Bounds: sector is an unsigned 64-bit guest value; compare before subtracting.
        boolean ok = length % DiskImage.SECTOR_SIZE == 0
                && Long.compareUnsigned(sector, capacity) <= 0
                && length / DiskImage.SECTOR_SIZE <= capacity - sector;
        if (!ok) {
            metrics.invalidRequests.increment();
        }
        return ok;
    }

    /**
     * Moves {@code length} bytes between the image at {@code position} and the chain's buffers
     * {@code first} (inclusive) to {@code end} (exclusive), starting {@code skip} bytes into them.
     *
     * @param toGuest true to read the image into guest RAM, false to write guest RAM to the image
     */
    private void transfer(DescriptorChain chain, int first, int end, long skip, long length, long position,
                          boolean toGuest) throws IOException {
        long done = 0;
        for (int i = first; i < end && done < length; i++) {
            long bufferBytes = chain.length(i) & 0xFFFF_FFFFL;
            if (skip >= bufferBytes) {
                skip -= bufferBytes;
                continue;
            }
            long n = Math.min(bufferBytes - skip, length - done);
            MemorySegment buffer = chain.segment(i).asSlice(skip, n);
            long bufferOffset = skip;
            skip = 0;
            // Bounds: a descriptor may reach 4 GiB - 1, more than one ByteBuffer can cover.
            for (long off = 0; off < n; off += MAX_IO_SLICE) {
                ByteBuffer slice = buffer.asSlice(off, Math.min(MAX_IO_SLICE, n - off)).asByteBuffer();
                if (toGuest) {
                    image.read(slice, position + done + off);
                } else {
                    image.write(slice, position + done + off);
                }
            }
            if (toGuest) {
                chain.written(i, bufferOffset, n);   // a disk read may land on a page of code
            }
            done += n;
        }
    }

    /** Flushes and closes the image. Idempotent; a failure is reported to the log, not thrown. */
    @Override
    public void close() {
        wakeup.cancel();
        try {
            image.close();
        } catch (IOException e) {
            log.error("ember: drive " + id + ": closing " + image.path() + " failed, recent writes may be lost: "
                    + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "VirtioBlock[" + id + ", " + image + "]";
    }

    /** The drive's state for snapshots is its rate limiter's: configuration and fill. The image is the user's. */
    @Override
    public Record saveState() {
        return limiter.saveState();
    }

    @Override
    public void restoreState(Record state) {
        limiter.restoreState((RateLimiter.State) state);
    }

    /** Firecracker's {@code block_<drive_id>} metrics. */
    @Override
    public void reportMetrics(dev.ember.devices.virtio.MetricsSink m, dev.ember.devices.virtio.VirtioMmio transport) {
        var b = metrics();
        m.addPerDevice("block", id, "read_count", b.reads());
        m.addPerDevice("block", id, "write_count", b.writes());
        m.addPerDevice("block", id, "read_bytes", b.readBytes());
        m.addPerDevice("block", id, "write_bytes", b.writeBytes());
        m.addPerDevice("block", id, "flush_count", b.flushes());
        // As Firecracker's block device: a request that does not parse (short header, no status
        // byte, sectors out of range, a write to a read-only drive) is an execute failure; one
        // that parses but fails in the host or is of an unsupported type is an invalid request.
        m.addPerDevice("block", id, "execute_fails", b.invalidRequests());
        m.addPerDevice("block", id, "invalid_reqs_count", b.hostErrors() + b.unsupported());
        m.addPerDevice("block", id, "queue_event_count", transport.notifications(0));
        m.addPerDevice("block", id, "rate_limiter_throttled_events", limiter.throttledCount());
    }

    /**
     * The drive {@code config} describes: its image (or copy-on-write overlay) opened and
     * locked, its rate limiter set.
     *
     * @throws DiskImageException with a one-line message if the image cannot serve
     */
    public static VirtioBlock create(dev.ember.config.DriveConfig config, LogSink log, RefillTimer timer)
            throws DiskImageException {
        DiskImage image = config.backingFile() != null
                ? DiskImage.openOverlay(config.driveId(), config.pathOnHost(), config.backingFile())
                : DiskImage.open(config.driveId(), config.pathOnHost(), config.isReadOnly());
        return new VirtioBlock(config.driveId(), image, log, RateLimiter.of(config.rateLimiter()), timer);
    }
}
