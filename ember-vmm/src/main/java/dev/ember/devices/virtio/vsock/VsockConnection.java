package dev.ember.devices.virtio.vsock;

import dev.ember.devices.virtio.queue.DescriptorChain;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;

/**
 * One stream connection between a guest port and a host Unix socket: its state, the credit
 * counters of both directions (VIRTIO 1.2 §5.10.6.3) and its two bounded buffers.
 *
 * <pre>
 *   host-initiated   CONNECTING_HOST --guest RESPONSE--> ESTABLISHED   (REQUEST sent first)
 *   guest-initiated  CONNECTING_GUEST --Unix connect ok--> ESTABLISHED (RESPONSE sent then)
 *   any state        --RST either way, host socket error, both SHUTDOWN flags--> dead
 * </pre>
 *
 * <p>Guest to host: payloads wait in {@code toHost} until the device thread writes them to the
 * socket; {@code fwdCnt} counts the bytes written, which is what the guest is told it may reuse.
 * The guest may have at most {@link #BUF_ALLOC} bytes unwritten here. Host to guest: the device
 * thread reads at most {@link #HOST_BUFFER} bytes into {@code fromHost}; they leave as RW packets
 * only while the guest's credit, {@code peer_buf_alloc - (tx_cnt - peer_fwd_cnt)}, allows.
 *
 * <p><b>Guest-controlled.</b> {@code peerBufAlloc} and {@code peerFwdCnt} come from the guest's
 * headers; a lying guest can only make this side send it more of the data already buffered, never
 * make the host buffer more. Counters are free-running unsigned 32-bit values, compared modulo
 * 2^32.
 *
 * <p>Threads: fields are guarded by the owning {@link VirtioVsock}'s monitor; socket I/O ({@link
 * #flush}, {@link #readHost}) happens only on the device thread.
 */
final class VsockConnection {

    /** The receive buffer this side advertises per connection, in {@code buf_alloc}. */
    static final int BUF_ALLOC = 128 * 1024;
    /** Bytes read from the host socket and not yet sent to the guest, at most. */
    static final int HOST_BUFFER = 64 * 1024;
    /** A CREDIT_UPDATE goes out once this many consumed bytes have not been advertised. */
    static final int CREDIT_UPDATE_THRESHOLD = BUF_ALLOC / 4;

    enum State { CONNECTING_HOST, CONNECTING_GUEST, ESTABLISHED }

    final int guestPort;
    final int hostPort;
    final long key;
    State state;
    SocketChannel channel;
    SelectionKey selectionKey;
    boolean dead;
    boolean connectPending;
    long deadlineNanos;

    // Guest to host.
    private final ArrayDeque<ByteBuffer> toHost = new ArrayDeque<>();
    private int toHostBytes;
    private ByteBuffer preamble;
    private int fwdCnt;
    private int advertisedFwdCnt;
    int guestShutdown;
    boolean hostOutputShut;

    // Host to guest. Write mode: position() is the number of bytes held.
    final ByteBuffer fromHost = ByteBuffer.allocate(HOST_BUFFER);
    boolean hostEof;
    private boolean shutdownSent;
    private int txCnt;
    private int peerBufAlloc;
    private int peerFwdCnt;

    boolean pendingRequest;
    boolean pendingResponse;
    boolean pendingCreditUpdate;

    // Membership flags of the device's work queues.
    boolean queuedForRx;
    boolean dirty;

    VsockConnection(int guestPort, int hostPort, State state) {
        this.guestPort = guestPort;
        this.hostPort = hostPort;
        this.key = key(guestPort, hostPort);
        this.state = state;
    }

    /** {@return the map key of the flow (guest port, host port)} */
    static long key(int guestPort, int hostPort) {
        return (hostPort & 0xFFFF_FFFFL) << 32 | (guestPort & 0xFFFF_FFFFL);
    }

    /** Takes the guest's credit from a header it sent on this flow (§5.10.6.3: every packet carries it). */
    void updatePeerCredit(VsockHeader h) {
        peerBufAlloc = h.bufAlloc();
        peerFwdCnt = h.fwdCnt();
    }

    /** {@return how many more payload bytes the guest can take} */
    long peerFree() {
        long inFlight = (txCnt - peerFwdCnt) & 0xFFFF_FFFFL;
        return Math.max(0, (peerBufAlloc & 0xFFFF_FFFFL) - inFlight);
    }

    /** {@return whether {@code len} more bytes from the guest stay within the advertised buffer} */
    boolean fitsToHost(long len) {
        return len <= BUF_ALLOC - toHostBytes;
    }

    void appendToHost(byte[] payload) {
        toHost.add(ByteBuffer.wrap(payload));
        toHostBytes += payload.length;
    }

    boolean toHostEmpty() {
        return toHostBytes == 0 && preamble == null;
    }

    /** Queues the {@code OK <host port>\n} line a host-initiated connection's client expects. */
    void setPreamble() {
        preamble = ByteBuffer.wrap(("OK " + Integer.toUnsignedString(hostPort) + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    /** The guest will receive no more: drop what was read for it. */
    void discardFromHost() {
        fromHost.clear();
    }

    /**
     * Writes what the guest sent to the host socket, without blocking.
     *
     * @return the guest payload bytes written (the preamble does not count)
     */
    int flush() throws IOException {
        if (preamble != null) {
            channel.write(preamble);
            if (preamble.hasRemaining()) {
                return 0;
            }
            preamble = null;
        }
        int total = 0;
        while (!toHost.isEmpty()) {
            ByteBuffer b = toHost.peek();
            total += channel.write(b);
            if (b.hasRemaining()) {
                break;
            }
            toHost.poll();
        }
        toHostBytes -= total;
        fwdCnt += total;
        return total;
    }

    /** {@return whether enough has been consumed since the guest last heard fwd_cnt} */
    boolean creditUpdateDue() {
        return Integer.compareUnsigned(fwdCnt - advertisedFwdCnt, CREDIT_UPDATE_THRESHOLD) >= 0;
    }

    /** Reads from the host socket into {@code fromHost}; {@return the bytes read, -1 at end of stream} */
    int readHost() throws IOException {
        int n = channel.read(fromHost);
        if (n < 0) {
            hostEof = true;
        }
        return n;
    }

    boolean wantsHostRead() {
        return state == State.ESTABLISHED && !hostEof && (guestShutdown & VsockHeader.SHUTDOWN_F_RECEIVE) == 0
                && fromHost.hasRemaining();
    }

    private boolean canSendData() {
        return state == State.ESTABLISHED && fromHost.position() > 0
                && (guestShutdown & VsockHeader.SHUTDOWN_F_RECEIVE) == 0 && peerFree() > 0;
    }

    private boolean shutdownDue() {
        return state == State.ESTABLISHED && hostEof && fromHost.position() == 0 && !shutdownSent;
    }

    /** {@return whether this connection has a packet for the rx queue now} */
    boolean hasRxWork() {
        return !dead && (pendingRequest || pendingResponse || canSendData() || shutdownDue() || pendingCreditUpdate);
    }

    /**
     * Writes this connection's next packet into an rx chain: a REQUEST or RESPONSE first, then
     * data within the guest's credit, then SHUTDOWN once the host stream ended and everything
     * read was sent, then a CREDIT_UPDATE. Every packet carries the current buf_alloc and fwd_cnt.
     *
     * @param maxPayload how much payload the chain can take after the header
     * @return the bytes written into the chain, or -1 if there was nothing to send
     */
    int writeRx(DescriptorChain chain, long guestCid, int maxPayload) {
        int op;
        int flags = 0;
        int n = 0;
        if (pendingRequest) {
            op = VsockHeader.OP_REQUEST;
            pendingRequest = false;
        } else if (pendingResponse) {
            op = VsockHeader.OP_RESPONSE;
            pendingResponse = false;
        } else if (canSendData()) {
            op = VsockHeader.OP_RW;
            // Bounds: never more than the guest's credit (§5.10.6.3), the chain, or what is held.
            n = (int) Math.min(Math.min(fromHost.position(), peerFree()), maxPayload);
        } else if (shutdownDue()) {
            op = VsockHeader.OP_SHUTDOWN;
            flags = VsockHeader.SHUTDOWN_F_SEND;
            shutdownSent = true;
        } else if (pendingCreditUpdate) {
            op = VsockHeader.OP_CREDIT_UPDATE;
        } else {
            return -1;
        }
        pendingCreditUpdate = false;
        advertisedFwdCnt = fwdCnt;
        VsockHeader h = new VsockHeader(VirtioVsock.HOST_CID, guestCid, hostPort, guestPort, n,
                VsockHeader.TYPE_STREAM, op, flags, BUF_ALLOC, fwdCnt);
        chain.write(0, h.encode(), 0, VsockHeader.SIZE);
        if (n > 0) {
            chain.write(VsockHeader.SIZE, fromHost.array(), 0, n);
            fromHost.flip().position(n);
            fromHost.compact();
            txCnt += n;
        }
        return VsockHeader.SIZE + n;
    }

    /** {@return the RST that ends this connection, with its credit fields} */
    VsockHeader rst(long guestCid) {
        return new VsockHeader(VirtioVsock.HOST_CID, guestCid, hostPort, guestPort, 0,
                VsockHeader.TYPE_STREAM, VsockHeader.OP_RST, 0, BUF_ALLOC, fwdCnt);
    }

    /** {@return the selector interest this connection needs now} */
    int interestOps() {
        if (connectPending) {
            return SelectionKey.OP_CONNECT;
        }
        int ops = 0;
        if (wantsHostRead()) {
            ops |= SelectionKey.OP_READ;
        }
        if (state == State.ESTABLISHED && !toHostEmpty()) {
            ops |= SelectionKey.OP_WRITE;
        }
        return ops;
    }
}
