package dev.ember.devices.virtio.net;

import dev.ember.config.RateLimiterConfig;
import dev.ember.devices.virtio.ConfigSpace;
import dev.ember.devices.virtio.VirtioContext;
import dev.ember.devices.virtio.VirtioDevice;
import dev.ember.devices.virtio.queue.DescriptorChain;
import dev.ember.devices.virtio.queue.Virtqueue;
import dev.ember.devices.virtio.queue.VirtqueueViolation;
import dev.ember.net.NetBackend;
import dev.ember.ratelimit.BucketUpdate;
import dev.ember.ratelimit.RateLimiter;
import dev.ember.ratelimit.RefillTimer;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Objects;

/**
 * A virtio network device (VIRTIO 1.2 §5.1) with one receive and one transmit queue, moving
 * Ethernet frames between the guest and a {@link NetBackend}.
 *
 * <pre>
 *   queue 0  receiveq1   device-writable chains: virtio_net_hdr (12 B) | frame
 *   queue 1  transmitq1  device-readable chains: virtio_net_hdr (12 B) | frame
 *   config   mac[6] @0 | status:le16 @6 | max_virtqueue_pairs:le16 @8 | mtu:le16 @10   (§5.1.4)
 * </pre>
 *
 * <p>Features offered (§5.1.3): VIRTIO_NET_F_MAC (the MAC given to the constructor),
 * VIRTIO_NET_F_STATUS (the link is up until the backend reports it down through
 * {@link NetBackend.FrameSink#linkChanged}), VIRTIO_NET_F_MTU (1500, so the guest never raises
 * its MTU beyond the frames its receive buffers hold) and two checksum offloads, which spare the
 * interpreted guest a pass over every byte it sends or receives:
 * <ul>
 *   <li>VIRTIO_NET_F_CSUM: the guest may leave a TCP or UDP checksum partial
 *       (VIRTIO_NET_HDR_F_NEEDS_CSUM, §5.1.6.2); the device completes it before the frame
 *       reaches the backend, so backends always see complete frames;
 *   <li>VIRTIO_NET_F_GUEST_CSUM, only when the backend {@link NetBackend#deliversValidChecksums
 *       vouches for its checksums} (the user-mode stack does; a TAP does not): received frames
 *       carry VIRTIO_NET_HDR_F_DATA_VALID and the guest skips verifying them (§5.1.6.4).
 * </ul>
 * No segmentation offloads: every frame is at most MTU-sized. No VIRTIO_NET_F_MRG_RXBUF: without offloads no frame exceeds 1518 bytes, which
 * fits the single buffer Linux posts per chain in its "small buffers" mode (hdr_len +
 * GOOD_PACKET_LEN = 12 + 1518 bytes, drivers/net/virtio_net.c add_recvbuf_small), and Linux
 * builds its skb around that buffer without a copy. No control queue, no multiqueue.
 *
 * <p>The header (§5.1.6) is always 12 bytes: with VIRTIO_F_VERSION_1 num_buffers is present
 * whether or not MRG_RXBUF is negotiated. The device writes it as all zeros except num_buffers
 * = 1 (§5.1.6.4.1: required without MRG_RXBUF) and ignores the one the driver sends, since no
 * offload that would give its fields meaning was offered.
 *
 * <p>Transmit: the driver's notification drains the queue on the vCPU thread; each chain's
 * readable bytes after the header go to {@link NetBackend#transmit} in one array, and every chain
 * goes back with length 0, one interrupt per batch. Receive: the backend's thread calls
 * {@link NetBackend.FrameSink#deliver}, which takes this device's monitor and writes header and
 * frame into the next receive chain. When the guest has posted none, up to
 * {@value #BACKLOG_FRAMES} frames wait here; the driver's next receive-queue notification flushes
 * them and then tells the backend with {@link NetBackend#receiveSpaceAvailable}. When the
 * backlog too is full, deliver returns false.
 *
 * <p>Lifecycle: the backend is started on the first activation (DRIVER_OK) and keeps running
 * across driver resets; while the device is inactive its frames are dropped and counted.
 * {@link #close} closes the backend.
 *
 * <p><b>Guest-controlled.</b> Chains come from the driver, already bounded by
 * {@link Virtqueue#pop}. A transmit chain shorter than header plus an Ethernet header, or whose
 * frame exceeds {@value #MAX_TX_FRAME} bytes (the MTU plus an Ethernet header and two VLAN tags:
 * no segmentation offload is offered), is dropped, counted and returned; nothing else in it
 * is interpreted (the header's flags and gso_type are ignored, so a driver claiming an offload
 * it did not negotiate gets its frame sent as is). Writable descriptors in a transmit chain are
 * ignored. A receive chain too small for the header plus an Ethernet header is returned with
 * length 0 and counted (the driver broke §5.1.6.3's sizing rule; Linux counts it as a length
 * error); at most a queue's worth of those are skipped per frame, so a driver refilling the
 * ring with bad buffers cannot hold the backend thread. A frame larger than a usable receive
 * chain is dropped, and the chain is given back untouched ({@link Virtqueue#undoPop}) for the
 * next frame, as a NIC drops an oversize frame without consuming a descriptor.
 *
 * <p>Rate limiting (Firecracker's {@code rx_rate_limiter} and {@code tx_rate_limiter}): each frame
 * takes one op and its bytes, virtio header included, as Firecracker's
 * {@code rate_limiter_consume_op}. A transmit chain refused by the tx limiter goes back to the
 * ring ({@link Virtqueue#undoPop}) and transmission stops; a received frame refused by the rx
 * limiter waits in the backlog (and when that is full, deliver returns false). Tokens taken for a
 * frame that then finds no receive buffer are given back. One {@link RefillTimer.Wakeup} resumes
 * both directions on the timer thread, under this object's monitor, when the tokens are due;
 * {@link #updateRateLimiters} (PATCH /network-interfaces/{id}) fires it at once.
 *
 * <p>Threads: the transport's calls arrive under this object's monitor on a vCPU thread; the
 * backend's thread takes the same monitor in deliver. {@link #close} closes the backend
 * without holding the monitor, so a backend that joins its reader thread cannot deadlock with
 * a reader waiting here.
 */
public final class VirtioNet implements VirtioDevice {

    /** §5: the network device ID. */
    public static final int DEVICE_TYPE = 1;

    /** §5.1.3: feature bits. */
    public static final int VIRTIO_NET_F_CSUM = 0, VIRTIO_NET_F_GUEST_CSUM = 1, VIRTIO_NET_F_MTU = 3,
            VIRTIO_NET_F_MAC = 5, VIRTIO_NET_F_MRG_RXBUF = 15, VIRTIO_NET_F_STATUS = 16,
            VIRTIO_NET_F_CTRL_VQ = 17;
    /** §5.1.4: the status field's link-up bit. */
    public static final int VIRTIO_NET_S_LINK_UP = 1;

    /** §5.1.2: queue indices. */
    public static final int RECEIVEQ = 0, TRANSMITQ = 1;

    /** §5.1.6: sizeof(struct virtio_net_hdr) with VIRTIO_F_VERSION_1. */
    public static final int HEADER_BYTES = 12;
    /** The shortest frame: an Ethernet header (ETH_HLEN). */
    public static final int MIN_FRAME = 14;
    /** The longest frame either way: 64 KiB of payload plus Ethernet and VLAN headers, as Firecracker. */
    public static final int MAX_FRAME = 65_550;
    /** The MTU offered in the configuration space. */
    public static final int MTU = 1500;
    /** The longest frame the guest may send: no segmentation offload, so MTU + header + two VLAN tags. */
    public static final int MAX_TX_FRAME = MTU + 14 + 8;
    /** Frames held while the guest has no receive buffer posted. */
    public static final int BACKLOG_FRAMES = 256;

    private static final long FEATURES = 1L << VIRTIO_NET_F_MAC | 1L << VIRTIO_NET_F_STATUS | 1L << VIRTIO_NET_F_MTU
            | 1L << VIRTIO_NET_F_CSUM;
    /** §5.1.6: header flags. */
    public static final int VIRTIO_NET_HDR_F_NEEDS_CSUM = 1, VIRTIO_NET_HDR_F_DATA_VALID = 2;
    private static final byte[] RX_HEADER = rxHeader(0);
    private static final byte[] RX_HEADER_DATA_VALID = rxHeader(VIRTIO_NET_HDR_F_DATA_VALID);

    private final String id;
    private final byte[] mac;
    private final NetBackend backend;
    private final byte[] config;
    private final byte[] txFrame = new byte[MAX_TX_FRAME];
    private final byte[] txHeader = new byte[HEADER_BYTES];
    private final ArrayDeque<byte[]> backlog = new ArrayDeque<>();
    private final NetBackend.FrameSink sink = new NetBackend.FrameSink() {
        @Override
        public boolean deliver(byte[] frame, int offset, int length) {
            return VirtioNet.this.deliver(frame, offset, length);
        }

        @Override
        public void linkChanged(boolean up) {
            VirtioNet.this.linkChanged(up);
        }
    };

    private final RateLimiter rxLimiter;
    private final RateLimiter txLimiter;
    private final RefillTimer.Wakeup wakeup;
    private boolean txHeld;          // the tx limiter refused a chain that is still in the ring

    private VirtioContext context;   // non-null while active
    private boolean backendStarted;
    private boolean closed;
    private boolean rxUsedSinceSignal;

    private long rxFrames, rxBytes, txFrames, txBytes, rxDropsInactive, rxDropsBacklogFull,
            rxDropsOversize, rxBadBuffers, txDropsMalformed, txDropsOversize;

    /**
     * A device not yet seen by a driver.
     *
     * @param id      the interface's name in the VM's configuration, e.g. {@code "eth0"}
     * @param mac     six bytes, a unicast address
     * @param backend where frames go; started at the first DRIVER_OK, closed by {@link #close}
     */
    public VirtioNet(String id, byte[] mac, NetBackend backend) {
        this(id, mac, backend, RateLimiter.unlimited(), RateLimiter.unlimited(), RefillTimer.shared());
    }

    /**
     * As {@link #VirtioNet(String, byte[], NetBackend)}, with frames limited by
     * {@code rxLimiter} (to the guest) and {@code txLimiter} (from the guest); {@code timer}, the
     * VM's, resumes the device when refused tokens are due.
     */
    public VirtioNet(String id, byte[] mac, NetBackend backend, RateLimiter rxLimiter, RateLimiter txLimiter,
                     RefillTimer timer) {
        this.rxLimiter = Objects.requireNonNull(rxLimiter, "rxLimiter");
        this.txLimiter = Objects.requireNonNull(txLimiter, "txLimiter");
        this.wakeup = timer.wakeup(this::refilled);
        this.id = Objects.requireNonNull(id, "id");
        this.backend = Objects.requireNonNull(backend, "backend");
        if (mac.length != 6) {
            throw new IllegalArgumentException(id + ": a MAC address has 6 bytes, not " + mac.length);
        }
        if ((mac[0] & 1) != 0) {
            throw new IllegalArgumentException(id + ": MAC address must be unicast (low bit of the first byte clear)");
        }
        this.mac = mac.clone();
        this.config = new byte[12];
        System.arraycopy(mac, 0, config, 0, 6);
        config[6] = VIRTIO_NET_S_LINK_UP;
        config[8] = 1;                  // max_virtqueue_pairs
        config[10] = (byte) MTU;
        config[11] = (byte) (MTU >>> 8);
    }

    private static byte[] rxHeader(int flags) {
        byte[] h = new byte[HEADER_BYTES];
        h[0] = (byte) flags;
        h[10] = 1;                      // num_buffers, le16
        return h;
    }

    /** {@return the interface's name in the VM's configuration} */
    public String id() {
        return id;
    }

    /** {@return a copy of the MAC address} */
    public byte[] mac() {
        return mac.clone();
    }

    /** {@return the counters so far} */
    public synchronized VirtioNetMetrics metrics() {
        return new VirtioNetMetrics(rxFrames, rxBytes, txFrames, txBytes, rxDropsInactive, rxDropsBacklogFull,
                rxDropsOversize, rxBadBuffers, txDropsMalformed, txDropsOversize);
    }

    /** {@return the receive limiter; its throttled count is Firecracker's {@code rx_rate_limiter_throttled}} */
    public RateLimiter rxRateLimiter() {
        return rxLimiter;
    }

    /** {@return the transmit limiter; its throttled count is Firecracker's {@code tx_rate_limiter_throttled}} */
    public RateLimiter txRateLimiter() {
        return txLimiter;
    }

    /**
     * Applies a PATCH of either limiter (null: that limiter unchanged; null buckets kept) and
     * resumes what the old limits held back. Called from the API thread.
     */
    public void updateRateLimiters(RateLimiterConfig rx, RateLimiterConfig tx) {
        rxLimiter.update(rx);
        txLimiter.update(tx);
        wakeup.arm(0);
    }

    /** As {@link #updateRateLimiters(RateLimiterConfig, RateLimiterConfig)}, able to remove buckets. */
    public void updateRateLimiters(BucketUpdate rxBandwidth, BucketUpdate rxOps, BucketUpdate txBandwidth,
                                   BucketUpdate txOps) {
        rxLimiter.update(rxBandwidth, rxOps);
        txLimiter.update(txBandwidth, txOps);
        wakeup.arm(0);
    }

    /** {@return how many received frames wait for guest buffers} */
    public synchronized int backlogFrames() {
        return backlog.size();
    }

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public long deviceFeatures() {
        return FEATURES | (backend.deliversValidChecksums() ? 1L << VIRTIO_NET_F_GUEST_CSUM : 0);
    }

    @Override
    public int queueCount() {
        return 2;
    }

    @Override
    public long readConfig(int offset, int width) {
        return ConfigSpace.read(config, offset, width);
    }

    @Override
    public void activate(VirtioContext context) {
        this.context = context;
        if (!backendStarted && !closed) {
            backendStarted = true;
            backend.start(sink);
        }
    }

    @Override
    public void queueNotify(int index) throws VirtqueueViolation {
        if (context == null) {
            return;
        }
        if (index == TRANSMITQ) {
            transmit(context);
        } else if (index == RECEIVEQ) {
            flushBacklog();
            if (context != null && backlog.size() < BACKLOG_FRAMES) {
                backend.receiveSpaceAvailable();
            }
        }
    }

    @Override
    public void reset() {
        context = null;
        rxDropsInactive += backlog.size();
        backlog.clear();
        rxUsedSinceSignal = false;
        txHeld = false;
        wakeup.cancel();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            reset();
        }
        wakeup.cancel();
        backend.close();
    }

    private void transmit(VirtioContext ctx) throws VirtqueueViolation {
        Virtqueue q = ctx.queue(TRANSMITQ);
        if (q == null) {
            return;   // quiesced: the kick that ends the pause transmits
        }
        boolean used = false;
        txHeld = false;
        do {
            for (DescriptorChain c; (c = q.pop()) != null; ) {
                if (!txLimiter.consume(Math.min(c.readableBytes(), HEADER_BYTES + MAX_TX_FRAME))) {
                    q.undoPop();
                    txHeld = true;
                    break;
                }
                transmit(c);
                q.addUsed(c.head(), 0);
                used = true;
                if (context != ctx) {
                    return;   // the backend delivered re-entrantly and that failed the device
                }
            }
        } while (!txHeld && q.enableNotification());
        if (used && q.needsInterrupt()) {
            ctx.usedBuffers();
        }
        if (txHeld) {
            wakeup.arm(txLimiter.nanosUntilAvailable());
        }
    }

    /** The timer's wake-up: resume transmission and the backlog that the limiters held back. */
    private synchronized void refilled() {
        VirtioContext ctx = context;
        if (ctx == null) {
            return;
        }
        try {
            if (txHeld && ctx.queue(TRANSMITQ) != null) {
                transmit(ctx);
            }
            if (context == ctx && !backlog.isEmpty()) {
                flushBacklog();
            }
        } catch (VirtqueueViolation v) {
            ctx.fail(v);
            return;
        }
        if (context == ctx && backlog.size() < BACKLOG_FRAMES) {
            backend.receiveSpaceAvailable();
        }
    }

    private void transmit(DescriptorChain c) {
        long readable = c.readableBytes();
        // Bounds: the frame must hold an Ethernet header and fit txFrame.
        if (readable < HEADER_BYTES + MIN_FRAME) {
            txDropsMalformed++;
            return;
        }
        if (readable - HEADER_BYTES > MAX_TX_FRAME) {
            txDropsOversize++;
            return;
        }
        int length = (int) (readable - HEADER_BYTES);
        c.read(0, txHeader, 0, HEADER_BYTES);
        c.read(HEADER_BYTES, txFrame, 0, length);
        if ((txHeader[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0 && context.negotiated(VIRTIO_NET_F_CSUM)
                && !completeChecksum(length)) {
            txDropsMalformed++;
            return;
        }
        txFrames++;
        txBytes += length;
        backend.transmit(txFrame, 0, length);
    }

    /**
     * Completes a partial checksum as §5.1.6.2 asks: the Internet checksum of the frame from
     * csum_start to its end, stored at csum_start + csum_offset. The driver has already put the
     * pseudo-header sum in that field. As Linux's skb_checksum_help, a result of 0 is sent as
     * 0xFFFF.
     *
     * <p><b>Guest-controlled.</b> csum_start and csum_offset come from the header; a field that
     * does not lie inside the frame makes the frame malformed.
     *
     * @return false if the offsets do not fit the frame
     */
    private boolean completeChecksum(int length) {
        int start = (txHeader[6] & 0xFF) | (txHeader[7] & 0xFF) << 8;
        int offset = (txHeader[8] & 0xFF) | (txHeader[9] & 0xFF) << 8;
        int field = start + offset;
        if (start >= length || field + 2 > length) {
            return false;
        }
        long sum = 0;
        int i = start;
        for (; i + 1 < length; i += 2) {
            sum += (txFrame[i] & 0xFF) << 8 | (txFrame[i + 1] & 0xFF);
        }
        if (i < length) {
            sum += (txFrame[i] & 0xFF) << 8;
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        int checksum = ~(int) sum & 0xFFFF;
        if (checksum == 0) {
            checksum = 0xFFFF;
        }
        txFrame[field] = (byte) (checksum >>> 8);
        txFrame[field + 1] = (byte) checksum;
        return true;
    }

    /**
     * The backend's link went down or came back: the status field's VIRTIO_NET_S_LINK_UP
     * follows (§5.1.4) and an active driver gets a configuration change interrupt (§2.5.1), on
     * which Linux's virtio_net turns the carrier off or on.
     */
    private synchronized void linkChanged(boolean up) {
        byte status = (byte) (up ? VIRTIO_NET_S_LINK_UP : 0);
        if (config[6] == status) {
            return;
        }
        config[6] = status;
        if (context != null) {
            context.configChanged();
        }
    }

    /** The backend offers a frame; see {@link NetBackend.FrameSink#deliver}. */
    private synchronized boolean deliver(byte[] frame, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, frame.length);
        VirtioContext ctx = context;
        if (!closed && ctx != null && ctx.quiesced() && length >= MIN_FRAME && length <= MAX_FRAME) {
            // The VM is paused: hold the frame for the kick that ends the pause.
            if (backlog.size() >= BACKLOG_FRAMES) {
                rxDropsBacklogFull++;
                return false;
            }
            backlog.add(Arrays.copyOfRange(frame, offset, offset + length));
            return true;
        }
        if (closed || ctx == null || ctx.queue(RECEIVEQ) == null) {
            rxDropsInactive++;
            return true;
        }
        if (length < MIN_FRAME || length > MAX_FRAME) {
            rxDropsOversize++;
            return true;
        }
        try {
            if (!backlog.isEmpty()) {
                flushBacklog();
            }
            if (context != ctx) {
                return true;
            }
            if (backlog.isEmpty() && writeLimited(ctx.queue(RECEIVEQ), frame, offset, length) != Outcome.NO_BUFFER) {
                signalReceived(ctx);
                return true;
            }
            signalReceived(ctx);
        } catch (VirtqueueViolation v) {
            ctx.fail(v);
            return true;
        }
        if (backlog.size() >= BACKLOG_FRAMES) {
            rxDropsBacklogFull++;
            return false;
        }
        backlog.add(Arrays.copyOfRange(frame, offset, offset + length));
        return true;
    }

    /** Writes waiting frames while the guest has buffers; under the monitor, active. */
    private void flushBacklog() throws VirtqueueViolation {
        VirtioContext ctx = context;
        Virtqueue q = ctx.queue(RECEIVEQ);
        if (q == null) {
            return;
        }
        for (byte[] f; (f = backlog.peek()) != null; ) {
            if (writeLimited(q, f, 0, f.length) == Outcome.NO_BUFFER) {
                break;
            }
            backlog.poll();
        }
        signalReceived(ctx);
    }

    private enum Outcome { WRITTEN, DROPPED, NO_BUFFER }

    /**
     * {@link #writeFrame} under the rx limiter: a refused frame is reported as NO_BUFFER, so it
     * waits in the backlog, and the wake-up is armed; tokens are given back if no buffer was there.
     */
    private Outcome writeLimited(Virtqueue q, byte[] frame, int offset, int length) throws VirtqueueViolation {
        long cost = (long) HEADER_BYTES + length;
        if (!rxLimiter.consume(cost)) {
            wakeup.arm(rxLimiter.nanosUntilAvailable());
            return Outcome.NO_BUFFER;
        }
        Outcome outcome = writeFrame(q, frame, offset, length);
        if (outcome == Outcome.NO_BUFFER) {
            rxLimiter.replenish(cost);
        }
        return outcome;
    }

    private Outcome writeFrame(Virtqueue q, byte[] frame, int offset, int length) throws VirtqueueViolation {
        // Bounds: each pass either returns or gives a chain back to the driver; a queue's worth
        // of unusable chains ends the attempt.
        for (int skipped = 0; skipped <= q.size(); ) {
            DescriptorChain c = q.pop();
            if (c == null) {
                if (q.enableNotification()) {
                    continue;
                }
                return Outcome.NO_BUFFER;
            }
            long room = c.writableBytes();
            if (room < HEADER_BYTES + MIN_FRAME) {
                q.addUsed(c.head(), 0);
                rxUsedSinceSignal = true;
                rxBadBuffers++;
                skipped++;
                continue;
            }
            if (room < HEADER_BYTES + length) {
                q.undoPop();
                rxDropsOversize++;
                return Outcome.DROPPED;
            }
            c.write(0, context.negotiated(VIRTIO_NET_F_GUEST_CSUM) ? RX_HEADER_DATA_VALID : RX_HEADER, 0, HEADER_BYTES);
            c.write(HEADER_BYTES, frame, offset, length);
            q.addUsed(c.head(), HEADER_BYTES + length);
            rxUsedSinceSignal = true;
            rxFrames++;
            rxBytes += length;
            return Outcome.WRITTEN;
        }
        rxDropsOversize++;
        return Outcome.DROPPED;
    }

    private void signalReceived(VirtioContext ctx) {
        if (rxUsedSinceSignal) {
            rxUsedSinceSignal = false;
            if (ctx.queue(RECEIVEQ).needsInterrupt()) {
                ctx.usedBuffers();
            }
        }
    }

    /**
     * The interface's state for snapshots: both rate limiters (configuration and fill). Its MAC
     * and backend are in its configuration; frames on their way are lost, as on a wire.
     */
    public record State(RateLimiter.State rx, RateLimiter.State tx) { }

    @Override
    public Record saveState() {
        return new State(rxLimiter.saveState(), txLimiter.saveState());
    }


    @Override
    public void restoreState(Record state) {
        State s = (State) state;
        if (s.rx() != null) {
            rxLimiter.restoreState(s.rx());
        }
        if (s.tx() != null) {
            txLimiter.restoreState(s.tx());
        }
    }

    /** Firecracker's {@code net_<iface_id>} metrics, but for the backend's own ({@code tap_write_fails}). */
    @Override
    public void reportMetrics(dev.ember.devices.virtio.MetricsSink m, dev.ember.devices.virtio.VirtioMmio transport) {
        var n = metrics();
        m.addPerDevice("net", id, "rx_packets_count", n.rxFrames());
        m.addPerDevice("net", id, "rx_count", n.rxFrames());
        m.addPerDevice("net", id, "rx_bytes_count", n.rxBytes());
        m.addPerDevice("net", id, "tx_packets_count", n.txFrames());
        m.addPerDevice("net", id, "tx_count", n.txFrames());
        m.addPerDevice("net", id, "tx_bytes_count", n.txBytes());
        m.addPerDevice("net", id, "rx_fails", n.rxDropsOversize() + n.rxBadBuffers());
        m.addPerDevice("net", id, "tx_malformed_frames", n.txDropsMalformed() + n.txDropsOversize());
        m.addPerDevice("net", id, "rx_queue_event_count", transport.notifications(0));
        m.addPerDevice("net", id, "tx_queue_event_count", transport.notifications(1));
        m.addPerDevice("net", id, "rx_rate_limiter_throttled", rxLimiter.throttledCount());
        m.addPerDevice("net", id, "tx_rate_limiter_throttled", txLimiter.throttledCount());
    }

    /**
     * The interface {@code config} describes, the {@code index}-th of its VM (which picks the
     * default MAC), on {@code backend}, which the caller built from the same record.
     */
    public static VirtioNet create(dev.ember.config.NetworkInterfaceConfig config, int index, NetBackend backend,
                                   RefillTimer timer) {
        return new VirtioNet(config.ifaceId(), config.macBytes(index), backend, RateLimiter.of(config.rxRateLimiter()),
                RateLimiter.of(config.txRateLimiter()), timer);
    }
}
