package dev.ember.devices.virtio.vsock;

import dev.ember.devices.virtio.ConfigSpace;
import dev.ember.devices.virtio.VirtioContext;
import dev.ember.devices.virtio.VirtioDevice;
import dev.ember.devices.virtio.queue.DescriptorChain;
import dev.ember.devices.virtio.queue.Virtqueue;
import dev.ember.devices.virtio.queue.VirtqueueViolation;
import dev.ember.devices.virtio.vsock.VsockConnection.State;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The virtio socket device (VIRTIO 1.2 §5.10) with Firecracker's host side: guest {@code
 * AF_VSOCK} stream connections to the host (CID 2) become {@code AF_UNIX} stream connections,
 * as Firecracker's {@code docs/vsock.md} describes.
 *
 * <pre>
 *   queue 0 rx     device-writable chains: header + payload to the guest     (§5.10.2)
 *   queue 1 tx     device-readable chains: header + payload from the guest
 *   queue 2 event  held for VIRTIO_VSOCK_EVENT_TRANSPORT_RESET               (§5.10.6.7)
 *   config         guest_cid:le64                                             (§5.10.4)
 *   features       none: stream sockets are implied (§5.10.3), no SEQPACKET
 * </pre>
 *
 * <p>Host-initiated: a host process connects to the Unix socket at {@code udsPath} and writes
 * {@code CONNECT <port>\n} (at most {@link #MAX_CONNECT_LINE} bytes); the device picks a host
 * port (from {@link #FIRST_HOST_PORT} upwards, as Firecracker does) and sends the guest a
 * REQUEST. On the guest's RESPONSE the host process reads {@code OK <host port>\n}, then the
 * socket is a byte stream; on RST, or no answer within {@link #CONNECT_TIMEOUT_MILLIS}, the
 * socket is closed. Guest-initiated: a REQUEST to host port P makes the device connect to the
 * Unix socket {@code <udsPath>_P}; the guest gets RESPONSE if that works and RST if not.
 *
 * <p>Teardown (§5.10.6.5): SHUTDOWN with F_SEND from the guest half-closes the Unix socket for
 * writing once everything before it was written; F_RECEIVE stops reading it; both flags close
 * it and answer RST. End of stream on the Unix socket becomes a SHUTDOWN with F_SEND to the
 * guest after the data read before it (a Unix stream cannot tell a half-close from a close; if
 * the host side is gone the next write fails and the guest gets RST). A write or read error on
 * the Unix socket resets the connection.
 *
 * <p>The socket file: the constructor creates, binds and listens on {@code udsPath} and fails,
 * before any guest runs, if the path exists (like Firecracker; a stale file is never removed,
 * because it might be another VM's live socket) or its directory does not. {@link #close}
 * deletes it.
 *
 * <p><b>Guest-controlled.</b> Every tx header field. A chain shorter than the header, a {@code
 * len} beyond the chain, a {@code src_cid} other than the guest's, a {@code dst_cid} other than
 * the host's, an unknown {@code type} or {@code op}, data beyond the credit this side
 * advertised (at most {@link VsockConnection#BUF_ALLOC} bytes waiting per connection), and a
 * packet the connection's state does not allow are dropped and counted in {@link
 * VirtioVsockMetrics#droppedPackets}; where the header names a flow it is answered with RST
 * (§5.10.6.4 requires it for an unknown type), and a known connection is torn down. At most
 * {@link #MAX_CONNECTIONS} connections (including host ones still sending their CONNECT line)
 * exist; a REQUEST beyond that gets RST. Replies that cannot be delivered for lack of rx buffers
 * wait in a queue of at most {@link #MAX_PENDING_REPLIES}; when it is full the device stops
 * taking tx chains until the guest gives rx buffers (§5.10.6.1), so a guest that never reads
 * cannot make the host queue grow. An rx chain with fewer than 44 writable bytes is returned
 * empty and counted.
 *
 * <p>Threads: the transport calls in on vCPU threads under this object's monitor; tx packets
 * are parsed there. The device thread {@code ember-vsock} (started on first activation, stopped
 * by {@link #close}) owns the {@link Selector} and does all socket I/O that could wait: accept,
 * connect, read, write, each non-blocking; it takes this object's monitor for everything except
 * {@link Selector#select}. vCPU threads hand it work through the {@code dirty} queue and
 * {@link Selector#wakeup}.
 */
public final class VirtioVsock implements VirtioDevice {

    /** §5: device ID of a socket device. */
    public static final int DEVICE_ID = 19;
    /** §5.10.2: queue indices. */
    public static final int RXQ = 0, TXQ = 1, EVENTQ = 2;
    /** §5.10.4: the host's well-known CID. */
    public static final long HOST_CID = 2;
    /** Connections (established, connecting, or host ones still sending their CONNECT line), at most. */
    public static final int MAX_CONNECTIONS = 1024;
    /** Longest accepted {@code CONNECT <port>\n} line, newline included. */
    public static final int MAX_CONNECT_LINE = 32;
    /** First host port given to a host-initiated connection (Firecracker's choice). */
    public static final int FIRST_HOST_PORT = 1 << 30;
    /** How long the guest has to answer a host-initiated REQUEST (Firecracker's 2 s). */
    public static final long CONNECT_TIMEOUT_MILLIS = 2000;
    /** Replies (RST) waiting for rx buffers, at most, before tx processing pauses. */
    public static final int MAX_PENDING_REPLIES = 256;
    /** Largest payload put in one rx packet (Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE). */
    public static final int MAX_RX_PAYLOAD = 64 * 1024;
    /** §5.10.6.7: the one event. */
    public static final int VIRTIO_VSOCK_EVENT_TRANSPORT_RESET = 0;

    private static final long POLL_MILLIS = 100;

    private final long guestCid;
    private final Path udsPath;
    private final int maxConnections;
    private final long connectTimeoutNanos;
    private final ServerSocketChannel listener;
    private final Selector selector;
    private final VirtioVsockMetrics metrics = new VirtioVsockMetrics();

    private final Map<Long, VsockConnection> connections = new HashMap<>();
    private final Set<Handshake> handshakes = new LinkedHashSet<>();
    private final ArrayDeque<VsockHeader> replies = new ArrayDeque<>();
    private final ArrayDeque<VsockConnection> rxReady = new ArrayDeque<>();
    private final ArrayDeque<VsockConnection> dirty = new ArrayDeque<>();
    private int nextHostPort = FIRST_HOST_PORT;
    private boolean txBlocked;
    private long lastExpiryScan;
    private VirtioContext context;   // non-null while active
    private Thread thread;
    private boolean closed;

    /**
     * A device for guest CID {@code guestCid}, listening on {@code udsPath} from now on.
     *
     * @throws IllegalArgumentException if {@code guestCid} is reserved (§5.10.4: 0, 1, 2 and
     *         2^32-1) or does not fit in 32 bits
     * @throws FileAlreadyExistsException if {@code udsPath} exists
     * @throws NoSuchFileException if the directory of {@code udsPath} does not exist
     * @throws IOException if the socket cannot be created; every message is one line
     */
    public VirtioVsock(long guestCid, Path udsPath) throws IOException {
        this(guestCid, udsPath, MAX_CONNECTIONS, CONNECT_TIMEOUT_MILLIS);
    }

    /** As the public constructor, with the limits tests shrink. */
    VirtioVsock(long guestCid, Path udsPath, int maxConnections, long connectTimeoutMillis) throws IOException {
        if (guestCid < 3 || guestCid >= 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("vsock: guest CID " + guestCid
                    + " is reserved or too large; use 3.." + (0xFFFF_FFFFL - 1));
        }
        Objects.requireNonNull(udsPath, "udsPath");
        if (Files.exists(udsPath, LinkOption.NOFOLLOW_LINKS)) {
            throw new FileAlreadyExistsException(udsPath.toString(), null,
                    "vsock uds_path already exists (remove the stale socket or choose another path)");
        }
        Path dir = udsPath.toAbsolutePath().getParent();
        if (dir != null && !Files.isDirectory(dir)) {
            throw new NoSuchFileException(udsPath.toString(), null, "vsock uds_path's directory does not exist");
        }
        this.guestCid = guestCid;
        this.udsPath = udsPath;
        this.maxConnections = maxConnections;
        this.connectTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(connectTimeoutMillis);
        ServerSocketChannel l = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        Selector s = null;
        try {
            l.bind(UnixDomainSocketAddress.of(udsPath));
            l.configureBlocking(false);
            s = Selector.open();
            l.register(s, SelectionKey.OP_ACCEPT, null);
        } catch (IOException | RuntimeException e) {
            l.close();
            if (s != null) {
                s.close();
            }
            throw new IOException("vsock: cannot listen on " + udsPath + ": " + e.getMessage(), e);
        }
        this.listener = l;
        this.selector = s;
    }

    /** {@return the device's counters} */
    public VirtioVsockMetrics metrics() {
        return metrics;
    }

    /** {@return the guest's context ID} */
    public long guestCid() {
        return guestCid;
    }

    /** {@return the path of the listening Unix socket} */
    public Path udsPath() {
        return udsPath;
    }

    /** {@return the number of live connections, for tests and metrics} */
    public synchronized int connectionCount() {
        return connections.size();
    }

    @Override
    public int deviceType() {
        return DEVICE_ID;
    }

    @Override
    public long deviceFeatures() {
        return 0;
    }

    @Override
    public int queueCount() {
        return 3;
    }

    @Override
    public long readConfig(int offset, int width) {
        // §5.10.4: guest_cid:le64 at 0.
        return ConfigSpace.read(offset, width, 8, at -> (int) (guestCid >>> (8 * at)));
    }

    @Override
    public synchronized void activate(VirtioContext context) throws VirtqueueViolation {
        this.context = context;
        txBlocked = false;
        if (thread == null && !closed) {
            thread = Thread.ofPlatform().name("ember-vsock").daemon().start(this::run);
        }
        service(true);
    }

    @Override
    public synchronized void queueNotify(int index) throws VirtqueueViolation {
        if (index == RXQ || index == TXQ) {
            service(index == TXQ);
        }
        // EVENTQ: the driver added event buffers; they wait for sendTransportReset().
    }

    /**
     * Drops every connection and closes its Unix socket. Host clients still sending their
     * CONNECT line are kept: they belong to no guest yet and are served by the next driver.
     */
    @Override
    public synchronized void reset() {
        context = null;
        dropConnections();
    }

    /**
     * Tells the driver its connections are gone (§5.10.6.7), for use after a snapshot restore:
     * drops every connection and puts VIRTIO_VSOCK_EVENT_TRANSPORT_RESET in an event buffer.
     *
     * @return whether an event buffer was there to take it
     */
    public synchronized boolean sendTransportReset() {
        dropConnections();
        Virtqueue events = context == null ? null : context.queue(EVENTQ);
        if (events == null) {
            return false;
        }
        try {
            DescriptorChain chain = events.pop();
            if (chain == null) {
                return false;
            }
            byte[] id = new byte[4];   // le32 id = VIRTIO_VSOCK_EVENT_TRANSPORT_RESET (0)
            events.addUsed(chain.head(), chain.write(0, id, 0, id.length));
            if (events.needsInterrupt()) {
                context.usedBuffers();
            }
            return true;
        } catch (VirtqueueViolation v) {
            context.fail(v);
            return false;
        }
    }

    @Override
    public void close() {
        Thread t;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            context = null;
            dropConnections();
            for (Handshake h : handshakes) {
                closeQuietly(h.channel);
            }
            handshakes.clear();
            closeQuietly(listener);
            try {
                selector.close();
            } catch (IOException ignored) {
                // Nothing left to release.
            }
            try {
                Files.deleteIfExists(udsPath);
            } catch (IOException ignored) {
                // Best effort: the file is only a name now.
            }
            t = thread;
        }
        // The thread exits as soon as it sees closed; waiting for it under the monitor would
        // deadlock, so only a caller without the monitor waits.
        if (t != null && !Thread.holdsLock(this) && t != Thread.currentThread()) {
            try {
                t.join(TimeUnit.SECONDS.toMillis(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ---------------------------------------------------------------- queues (under the monitor)

    /** Serves tx (if asked, or if it was paused) and rx until neither can make progress. */
    private void service(boolean tx) throws VirtqueueViolation {
        if (context == null) {
            return;
        }
        boolean runTx = tx || txBlocked;
        while (true) {
            if (runTx) {
                processTx();
            }
            fillRx();
            if (!txBlocked || replies.size() >= MAX_PENDING_REPLIES || context == null) {
                return;
            }
            runTx = true;
        }
    }

    private void processTx() throws VirtqueueViolation {
        Virtqueue tx = context.queue(TXQ);
        if (tx == null) {
            return;
        }
        txBlocked = false;
        boolean used = false;
        drain:
        do {
            for (DescriptorChain chain; (chain = tx.pop()) != null; ) {
                if (replies.size() >= MAX_PENDING_REPLIES) {
                    // §5.10.6.1: the extra resources are exhausted; resume when rx drains.
                    tx.undoPop();
                    txBlocked = true;
                    break drain;
                }
                handleTx(chain);
                tx.addUsed(chain.head(), 0);
                used = true;
            }
        } while (tx.enableNotification());
        if (used && tx.needsInterrupt()) {
            context.usedBuffers();
        }
    }

    /** Acts on one packet from the guest. */
    private void handleTx(DescriptorChain chain) {
        if (chain.readableBytes() < VsockHeader.SIZE) {
            metrics.droppedPackets.increment();
            return;
        }
        byte[] raw = new byte[VsockHeader.SIZE];
        chain.read(0, raw, 0, raw.length);
        VsockHeader h = VsockHeader.decode(raw);
        if (h.srcCid() != guestCid) {
            // §5.10.6.4: the driver must use guest_cid; a reply would go to an address that is not the guest.
            metrics.droppedPackets.increment();
            return;
        }
        VsockConnection conn = connections.get(VsockConnection.key(h.srcPort(), h.dstPort()));
        if (h.dstCid() != HOST_CID || h.type() != VsockHeader.TYPE_STREAM
                || h.op() < VsockHeader.OP_REQUEST || h.op() > VsockHeader.OP_CREDIT_REQUEST
                || h.payloadLength() > chain.readableBytes() - VsockHeader.SIZE) {
            reject(h, conn);
            return;
        }
        if (conn == null) {
            switch (h.op()) {
                case VsockHeader.OP_REQUEST -> openGuestConnection(h);
                case VsockHeader.OP_RST -> { }   // never answer a RST
                default -> reply(rstFor(h));
            }
            return;
        }
        conn.updatePeerCredit(h);
        switch (h.op()) {
            case VsockHeader.OP_RESPONSE -> {
                if (conn.state != State.CONNECTING_HOST) {
                    reject(h, conn);
                    return;
                }
                conn.state = State.ESTABLISHED;
                conn.setPreamble();
                metrics.connectionsOpened.increment();
                markDirty(conn);
            }
            case VsockHeader.OP_RST -> {
                kill(conn, false);
                return;
            }
            case VsockHeader.OP_SHUTDOWN -> {
                if (conn.state != State.ESTABLISHED) {
                    reject(h, conn);
                    return;
                }
                conn.guestShutdown |= h.flags() & (VsockHeader.SHUTDOWN_F_RECEIVE | VsockHeader.SHUTDOWN_F_SEND);
                if ((conn.guestShutdown & VsockHeader.SHUTDOWN_F_RECEIVE) != 0) {
                    conn.discardFromHost();
                }
                markDirty(conn);
            }
            case VsockHeader.OP_RW -> {
                if (!receiveData(chain, h, conn)) {
                    reject(h, conn);
                    return;
                }
            }
            case VsockHeader.OP_CREDIT_REQUEST -> conn.pendingCreditUpdate = true;
            case VsockHeader.OP_CREDIT_UPDATE -> { }   // the credit was taken above
            default -> {   // a second REQUEST on a live flow
                reject(h, conn);
                return;
            }
        }
        // Any packet may have opened the guest's credit.
        markRxReady(conn);
    }

    /** Takes an RW payload for the host; {@return false if the connection may not carry it} */
    private boolean receiveData(DescriptorChain chain, VsockHeader h, VsockConnection conn) {
        if (conn.state != State.ESTABLISHED || (conn.guestShutdown & VsockHeader.SHUTDOWN_F_SEND) != 0) {
            return false;
        }
        long len = h.payloadLength();
        // Bounds: the guest may fill the BUF_ALLOC it was told of and no more (§5.10.6.3), so
        // len is below 2^17 before anything is allocated.
        if (!conn.fitsToHost(len)) {
            return false;
        }
        if (len > 0) {
            byte[] payload = new byte[(int) len];
            chain.read(VsockHeader.SIZE, payload, 0, payload.length);
            conn.appendToHost(payload);
            markDirty(conn);
        }
        return true;
    }

    private void openGuestConnection(VsockHeader h) {
        if (connections.size() + handshakes.size() >= maxConnections) {
            metrics.refusedGuestConnections.increment();
            reply(rstFor(h));
            return;
        }
        VsockConnection conn = new VsockConnection(h.srcPort(), h.dstPort(), State.CONNECTING_GUEST);
        conn.updatePeerCredit(h);
        connections.put(conn.key, conn);
        markDirty(conn);   // the device thread connects
    }

    /** Drops a packet the guest should not have sent, resetting its flow. */
    private void reject(VsockHeader h, VsockConnection conn) {
        metrics.droppedPackets.increment();
        if (conn != null) {
            kill(conn, true);
        } else if (h.op() != VsockHeader.OP_RST) {
            reply(rstFor(h));
        }
    }

    /** {@return the RST answering {@code h}, addressed back to its sender} */
    private static VsockHeader rstFor(VsockHeader h) {
        return new VsockHeader(h.dstCid(), h.srcCid(), h.dstPort(), h.srcPort(), 0, h.type(),
                VsockHeader.OP_RST, 0, 0, 0);
    }

    private void reply(VsockHeader h) {
        // Bounds: RSTs from the device thread (expired handshakes, socket errors) are not throttled
        // by the transmit queue, so a guest that posts no receive buffers could let them pile up.
        // Past twice the transmit-side limit they are dropped; the guest's own timeouts cover them.
        if (replies.size() >= 2 * MAX_PENDING_REPLIES) {
            metrics.droppedPackets.increment();
            return;
        }
        replies.add(h);
        if (h.op() == VsockHeader.OP_RST) {
            metrics.resetsSent.increment();
        }
    }

    /** Fills rx chains with replies, then round-robin with each connection's next packet. */
    private void fillRx() throws VirtqueueViolation {
        Virtqueue rx = context == null ? null : context.queue(RXQ);
        if (rx == null) {
            return;
        }
        boolean used = false;
        while (!replies.isEmpty() || !rxReady.isEmpty()) {
            DescriptorChain chain = rx.pop();
            if (chain == null) {
                if (rx.enableNotification()) {
                    continue;
                }
                break;
            }
            long room = chain.writableBytes() - VsockHeader.SIZE;
            if (room < 0) {
                metrics.badRxBuffers.increment();
                rx.addUsed(chain.head(), 0);
                used = true;
                continue;
            }
            int written = writeNextPacket(chain, (int) Math.min(room, MAX_RX_PAYLOAD));
            if (written < 0) {
                rx.undoPop();
                break;
            }
            rx.addUsed(chain.head(), written);
            used = true;
        }
        if (used && rx.needsInterrupt()) {
            context.usedBuffers();
        }
    }

    /** {@return the bytes written into {@code chain}, or -1 if nothing is waiting} */
    private int writeNextPacket(DescriptorChain chain, int maxPayload) {
        VsockHeader reply = replies.poll();
        if (reply != null) {
            chain.write(0, reply.encode(), 0, VsockHeader.SIZE);
            return VsockHeader.SIZE;
        }
        for (VsockConnection conn; (conn = rxReady.poll()) != null; ) {
            conn.queuedForRx = false;
            if (conn.dead) {
                continue;
            }
            boolean wasFull = !conn.fromHost.hasRemaining();
            int written = conn.writeRx(chain, guestCid, maxPayload);
            if (written < 0) {
                continue;
            }
            metrics.bytesToGuest.add(written - VsockHeader.SIZE);
            if (wasFull && conn.fromHost.hasRemaining()) {
                markDirty(conn);   // room to read the host socket again
            }
            markRxReady(conn);
            return written;
        }
        return -1;
    }

    private void markRxReady(VsockConnection conn) {
        if (!conn.queuedForRx && conn.hasRxWork()) {
            conn.queuedForRx = true;
            rxReady.add(conn);
        }
    }

    /** Hands {@code conn} to the device thread for socket work and an interest update. */
    private void markDirty(VsockConnection conn) {
        if (!conn.dirty) {
            conn.dirty = true;
            dirty.add(conn);
            if (Thread.currentThread() != thread && !closed) {
                selector.wakeup();
            }
        }
    }

    /** Ends a connection: closes its socket and, if asked, tells the guest with RST. */
    private void kill(VsockConnection conn, boolean sendRst) {
        if (conn.dead) {
            return;
        }
        conn.dead = true;
        connections.remove(conn.key);
        // Closing a non-blocking channel does not wait, so any thread may do it.
        closeQuietly(conn.channel);
        if (conn.state == State.ESTABLISHED) {
            metrics.connectionsClosed.increment();
        }
        if (sendRst) {
            reply(conn.rst(guestCid));
        }
    }

    private void dropConnections() {
        for (VsockConnection conn : new ArrayList<>(connections.values())) {
            kill(conn, false);
        }
        replies.clear();
        rxReady.clear();
        dirty.clear();
        txBlocked = false;
    }

    // ---------------------------------------------------------------- the device thread

    private void run() {
        while (true) {
            boolean busy;
            synchronized (this) {
                if (closed) {
                    return;
                }
                busy = !dirty.isEmpty();
            }
            try {
                if (busy) {
                    selector.selectNow();
                } else {
                    selector.select(POLL_MILLIS);
                }
            } catch (IOException | ClosedSelectorException e) {
                synchronized (this) {
                    if (closed) {
                        return;
                    }
                }
                continue;
            }
            synchronized (this) {
                if (closed) {
                    return;
                }
                step();
            }
        }
    }

    /** One round of the device thread: socket events, timeouts, queued work, queues. */
    private void step() {
        for (SelectionKey key : selector.selectedKeys()) {
            if (key.isValid()) {
                handleKey(key);
            }
        }
        selector.selectedKeys().clear();
        expireConnects();
        for (int round = 0; round < 4; round++) {
            processDirty();
            if (context != null) {
                try {
                    service(false);
                } catch (VirtqueueViolation v) {
                    context.fail(v);
                }
            }
            if (dirty.isEmpty()) {
                break;
            }
        }
    }

    private void handleKey(SelectionKey key) {
        Object a = key.attachment();
        if (a == null) {
            acceptAll();
        } else if (a instanceof Handshake h) {
            readHandshake(h);
        } else if (a instanceof VsockConnection conn && !conn.dead) {
            int ready = key.readyOps();
            if ((ready & SelectionKey.OP_CONNECT) != 0) {
                finishConnect(conn);
            }
            if (!conn.dead && (ready & SelectionKey.OP_READ) != 0) {
                readHost(conn);
            }
            if (!conn.dead && (ready & SelectionKey.OP_WRITE) != 0) {
                markDirty(conn);
            }
        }
    }

    private void acceptAll() {
        while (true) {
            SocketChannel ch;
            try {
                ch = listener.accept();
            } catch (IOException e) {
                return;
            }
            if (ch == null) {
                return;
            }
            if (connections.size() + handshakes.size() >= maxConnections) {
                metrics.refusedHostConnections.increment();
                closeQuietly(ch);
                continue;
            }
            try {
                ch.configureBlocking(false);
                Handshake h = new Handshake(ch);
                ch.register(selector, SelectionKey.OP_READ, h);
                handshakes.add(h);
            } catch (IOException e) {
                closeQuietly(ch);
            }
        }
    }

    /** Reads the host's {@code CONNECT <port>\n}; when complete, sends the guest a REQUEST. */
    private void readHandshake(Handshake h) {
        int n;
        try {
            n = h.channel.read(h.line);
        } catch (IOException e) {
            n = -1;
        }
        int end = indexOf(h.line, (byte) '\n');
        if (end < 0) {
            if (n < 0 || !h.line.hasRemaining()) {
                refuseHandshake(h);
            }
            return;
        }
        long port = parseConnect(new String(h.line.array(), 0, end, StandardCharsets.US_ASCII));
        if (port < 0) {
            refuseHandshake(h);
            return;
        }
        handshakes.remove(h);
        VsockConnection conn = new VsockConnection((int) port, allocateHostPort((int) port), State.CONNECTING_HOST);
        conn.channel = h.channel;
        conn.selectionKey = h.channel.keyFor(selector);
        conn.selectionKey.attach(conn);
        // Bytes the host sent after the line are the stream's first bytes.
        conn.fromHost.put(h.line.array(), end + 1, h.line.position() - end - 1);
        conn.pendingRequest = true;
        conn.deadlineNanos = System.nanoTime() + connectTimeoutNanos;
        connections.put(conn.key, conn);
        markRxReady(conn);
        updateInterest(conn);
    }

    private void refuseHandshake(Handshake h) {
        metrics.refusedHostConnections.increment();
        handshakes.remove(h);
        closeQuietly(h.channel);
    }

    /** {@return the port in {@code CONNECT <decimal u32>}, or -1 if the line is anything else} */
    static long parseConnect(String line) {
        if (line.endsWith("\r")) {
            line = line.substring(0, line.length() - 1);
        }
        if (!line.startsWith("CONNECT ")) {
            return -1;
        }
        String digits = line.substring("CONNECT ".length());
        if (digits.isEmpty() || digits.length() > 10 || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return -1;
        }
        long port = Long.parseLong(digits);
        return port <= 0xFFFF_FFFFL ? port : -1;
    }

    private static int indexOf(ByteBuffer buf, byte b) {
        byte[] a = buf.array();
        for (int i = 0; i < buf.position(); i++) {
            if (a[i] == b) {
                return i;
            }
        }
        return -1;
    }

    /** {@return a host port in [2^30, 2^31) not used with {@code guestPort} by a live flow} */
    private int allocateHostPort(int guestPort) {
        while (true) {
            int port = nextHostPort;
            nextHostPort = port == Integer.MAX_VALUE ? FIRST_HOST_PORT : port + 1;
            if (!connections.containsKey(VsockConnection.key(guestPort, port))) {
                return port;
            }
        }
    }

    /** Resets host-initiated connections the guest did not answer in time. */
    private void expireConnects() {
        long now = System.nanoTime();
        if (now - lastExpiryScan < TimeUnit.MILLISECONDS.toNanos(POLL_MILLIS / 2)) {
            return;
        }
        lastExpiryScan = now;
        for (VsockConnection conn : new ArrayList<>(connections.values())) {
            if (conn.state == State.CONNECTING_HOST && now - conn.deadlineNanos > 0) {
                metrics.refusedHostConnections.increment();
                kill(conn, true);
            }
        }
    }

    private void processDirty() {
        for (VsockConnection conn; (conn = dirty.poll()) != null; ) {
            conn.dirty = false;
            if (conn.dead) {
                continue;
            }
            if (conn.state == State.CONNECTING_GUEST && conn.channel == null) {
                startConnect(conn);
            } else if (conn.state == State.ESTABLISHED) {
                flushToHost(conn);
            }
            if (!conn.dead) {
                updateInterest(conn);
            }
        }
    }

    /** Connects a guest-initiated connection to {@code <udsPath>_<port>}, without blocking. */
    private void startConnect(VsockConnection conn) {
        try {
            SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            conn.channel = ch;
            ch.configureBlocking(false);
            conn.selectionKey = ch.register(selector, 0, conn);
            Path target = Path.of(udsPath + "_" + Integer.toUnsignedString(conn.hostPort));
            if (ch.connect(UnixDomainSocketAddress.of(target))) {
                established(conn);
            } else {
                conn.connectPending = true;
            }
        } catch (IOException | RuntimeException e) {
            metrics.refusedGuestConnections.increment();
            kill(conn, true);
        }
    }

    private void finishConnect(VsockConnection conn) {
        try {
            if (conn.channel.finishConnect()) {
                conn.connectPending = false;
                established(conn);
                updateInterest(conn);
            }
        } catch (IOException e) {
            metrics.refusedGuestConnections.increment();
            kill(conn, true);
        }
    }

    private void established(VsockConnection conn) {
        conn.state = State.ESTABLISHED;
        conn.pendingResponse = true;
        metrics.connectionsOpened.increment();
        markRxReady(conn);
    }

    /** Writes what the guest sent; applies the guest's SHUTDOWN once all of it is out. */
    private void flushToHost(VsockConnection conn) {
        try {
            int n = conn.flush();
            if (n > 0) {
                metrics.bytesFromGuest.add(n);
                if (conn.creditUpdateDue()) {
                    conn.pendingCreditUpdate = true;
                    markRxReady(conn);
                }
            }
            if (conn.toHostEmpty()) {
                int both = VsockHeader.SHUTDOWN_F_RECEIVE | VsockHeader.SHUTDOWN_F_SEND;
                if ((conn.guestShutdown & both) == both) {
                    kill(conn, true);   // §5.10.6.5: a clean disconnect ends with the peer's RST
                } else if ((conn.guestShutdown & VsockHeader.SHUTDOWN_F_SEND) != 0 && !conn.hostOutputShut) {
                    conn.hostOutputShut = true;
                    conn.channel.shutdownOutput();
                }
            }
        } catch (IOException e) {
            kill(conn, true);
        }
    }

    private void readHost(VsockConnection conn) {
        try {
            if (conn.readHost() != 0) {
                markRxReady(conn);
            }
        } catch (IOException e) {
            kill(conn, true);
            return;
        }
        updateInterest(conn);
    }

    private void updateInterest(VsockConnection conn) {
        SelectionKey key = conn.selectionKey;
        if (key != null && key.isValid()) {
            key.interestOps(conn.interestOps());
        }
    }

    private static void closeQuietly(java.nio.channels.Channel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // Closing is all that was wanted.
            }
        }
    }

    /** A host connection to {@code udsPath} that has not finished its CONNECT line. */
    private static final class Handshake {
        final SocketChannel channel;
        final ByteBuffer line = ByteBuffer.allocate(MAX_CONNECT_LINE);

        Handshake(SocketChannel channel) {
            this.channel = channel;
        }
    }

    /**
     * Host connections do not survive a snapshot (Firecracker's rule): on restore the driver is
     * told with VIRTIO_VSOCK_EVENT_TRANSPORT_RESET (§5.10.6.7) and drops its connections;
     * listening sockets in the guest stay.
     */
    @Override
    public void restored() {
        sendTransportReset();
    }

    /** Firecracker's {@code vsock} metrics. */
    @Override
    public void reportMetrics(dev.ember.devices.virtio.MetricsSink m, dev.ember.devices.virtio.VirtioMmio transport) {
        var v = metrics();
        m.add("vsock", "rx_queue_event_count", transport.notifications(0));
        m.add("vsock", "tx_queue_event_count", transport.notifications(1));
        m.add("vsock", "rx_bytes_count", v.bytesToGuest.sum());
        m.add("vsock", "tx_bytes_count", v.bytesFromGuest.sum());
        m.add("vsock", "conns_added", v.connectionsOpened.sum());
        m.add("vsock", "conns_removed", v.connectionsClosed.sum());
    }

    /**
     * The vsock device {@code config} describes, listening on its Unix socket.
     *
     * @throws IOException if the socket cannot be bound
     */
    public static VirtioVsock create(dev.ember.config.VsockConfig config) throws IOException {
        return new VirtioVsock(config.guestCid(), config.udsPath());
    }
}
