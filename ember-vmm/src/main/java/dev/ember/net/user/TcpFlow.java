package dev.ember.net.user;

import static dev.ember.net.user.Packets.TCP_ACK;
import static dev.ember.net.user.Packets.TCP_ACK_FLAG;
import static dev.ember.net.user.Packets.TCP_FIN;
import static dev.ember.net.user.Packets.TCP_FLAGS;
import static dev.ember.net.user.Packets.TCP_HLEN;
import static dev.ember.net.user.Packets.TCP_OPT_END;
import static dev.ember.net.user.Packets.TCP_OPT_MSS;
import static dev.ember.net.user.Packets.TCP_OPT_NOP;
import static dev.ember.net.user.Packets.TCP_OPT_WSCALE;
import static dev.ember.net.user.Packets.TCP_PSH;
import static dev.ember.net.user.Packets.TCP_RST;
import static dev.ember.net.user.Packets.TCP_SEQ;
import static dev.ember.net.user.Packets.TCP_SYN;
import static dev.ember.net.user.Packets.TCP_WINDOW;
import static dev.ember.net.user.Packets.seqLe;
import static dev.ember.net.user.Packets.seqLt;
import static dev.ember.net.user.Packets.u16;
import static dev.ember.net.user.Packets.u32;
import static dev.ember.net.user.Packets.u8;

import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * One TCP connection between the guest and a host socket: the stack plays the remote end
 * towards the guest (RFC 9293) and relays the byte stream to a {@link SocketChannel}, either
 * one it connected for the guest (NAT) or one a {@link HostForward} listener accepted.
 *
 * <pre>
 *   NAT:      guest SYN → CONNECTING ─host connect─→ SYN_RECEIVED (SYN-ACK sent) ─ACK─→ ESTABLISHED
 *                                     └─fails─→ RST to the guest
 *   hostfwd:  accept → SYN_SENT (SYN sent) ─SYN-ACK─→ ESTABLISHED (ACK sent)
 *                                          └─RST or no answer─→ host client closed
 *   ESTABLISHED: guest FIN → host shutdownOutput; host EOF → FIN to the guest;
 *                both FINs acknowledged → CLOSED, which lingers {@value #LINGER_MILLIS} ms to
 *                re-acknowledge a retransmitted FIN, then the flow is removed
 * </pre>
 *
 * <p>Host to guest: bytes read from the socket wait in a send buffer of
 * {@value #SEND_CAPACITY} bytes until the guest acknowledges them. Segments are as large as
 * the guest's MSS and go out back to back up to the guest's advertised window (window scaling
 * is accepted when the guest offers it; the stack's own shift is 0). A segment the guest's
 * device refuses ({@link dev.ember.net.NetBackend.FrameSink#deliver} false) counts as not sent,
 * and goes out when the guest posts buffers. Unacknowledged data is retransmitted go-back-N
 * after a timeout of {@value #RTO_INITIAL_MILLIS} ms doubling per attempt, or after three
 * duplicate ACKs; a zero window is probed with one byte. The socket is read only while the send
 * buffer has room, so a slow guest slows the host peer instead of growing memory.
 *
 * <p>Guest to host: in-order data is written straight to the socket; what the socket does not
 * take waits in a receive buffer of {@value #RECEIVE_CAPACITY} bytes, and the window advertised
 * to the guest is the room left in it, so a slow host peer shrinks the guest's window. Out-of-
 * order segments are dropped and answered with a duplicate ACK; the guest retransmits. ACKs
 * are sent for every second segment and at the end of each batch of guest frames.
 *
 * <p><b>Guest-controlled.</b> Every header field and option. Options are walked within the
 * header length, MSS is clamped to 64..MTU-40 and the window shift to 14 (RFC 7323 §2.3);
 * acknowledgements beyond what was sent are answered with an ACK and ignored; data beyond the
 * advertised window is not accepted. A guest that stops acknowledging loses the connection after
 * {@value #MAX_RETRIES} retransmissions.
 *
 * <p>Owned by the stack thread.
 */
final class TcpFlow {

    enum State { CONNECTING, SYN_SENT, SYN_RECEIVED, ESTABLISHED, CLOSED }

    static final int SEND_CAPACITY = 256 * 1024;
    static final int RECEIVE_CAPACITY = 64 * 1024 - 1;
    static final int DEFAULT_MSS = 536;
    static final int MIN_MSS = 64;
    static final int MAX_WINDOW_SHIFT = 14;
    static final long RTO_INITIAL_MILLIS = 500;
    static final long RTO_MAX_MILLIS = 8000;
    static final int MAX_RETRIES = 10;
    static final int MAX_SYN_RETRIES = 5;
    static final long CONNECT_TIMEOUT_MILLIS = 30_000;
    static final long LINGER_MILLIS = 2000;
    static final byte[] NO_OPTIONS = new byte[0];

    private static final long RTO_INITIAL = TimeUnit.MILLISECONDS.toNanos(RTO_INITIAL_MILLIS);
    private static final long RTO_MAX = TimeUnit.MILLISECONDS.toNanos(RTO_MAX_MILLIS);

    final UserNetwork net;
    final long key;
    final int guestIp;
    final int guestPort;
    final int remoteIp;
    final int remotePort;
    final SocketChannel channel;
    SelectionKey selectionKey;
    State state;

    // Host to guest. sndBuf[sndStart] holds the byte at sequence number sndUna once established.
    private final int iss;
    private int sndUna;
    private int sndNxt;
    private int sndMax;
    private byte[] sndBuf;
    private int sndStart;
    private int sndEnd;
    private int sndWnd;
    private int sndShift;
    private int mss = DEFAULT_MSS;
    private boolean offerWindowScale;
    private boolean hostEof;
    private boolean finAcked;
    private boolean probe;
    private int dupAcks;

    // Guest to host.
    private int rcvNxt;
    private byte[] rcvBuf;
    private int rcvStart;
    private int rcvEnd;
    private boolean guestFin;
    private boolean outputShut;
    private int advertised;
    private int unackedSegments;

    boolean removed;
    boolean ackPending;
    boolean queuedForSend;
    boolean queuedForAck;

    long deadline;
    private long rto = RTO_INITIAL;
    private int retries;

    TcpFlow(UserNetwork net, long key, int guestIp, int guestPort, int remoteIp, int remotePort, SocketChannel channel) {
        this.net = net;
        this.key = key;
        this.guestIp = guestIp;
        this.guestPort = guestPort;
        this.remoteIp = remoteIp;
        this.remotePort = remotePort;
        this.channel = channel;
        this.iss = ThreadLocalRandom.current().nextInt();
        this.sndUna = iss;
        this.sndNxt = iss;
        this.sndMax = iss;
    }

    // ---------------------------------------------------------------- opening

    /** Takes the guest's SYN that created this NAT flow; the host connect is under way. */
    void guestSyn(byte[] f, int off, int dataOffset) {
        state = State.CONNECTING;
        rcvNxt = u32(f, off + TCP_SEQ) + 1;
        sndWnd = u16(f, off + TCP_WINDOW);
        parseSynOptions(f, off, dataOffset);
        arm(TimeUnit.MILLISECONDS.toNanos(CONNECT_TIMEOUT_MILLIS));
    }

    /** The host connect succeeded: answer the guest's SYN. */
    void connected() {
        state = State.SYN_RECEIVED;
        rto = RTO_INITIAL;
        retries = 0;
        sendSyn();
    }

    /** The host connect failed: refuse the guest's SYN. */
    void connectFailed() {
        net.sendTcp(this, 0, rcvNxt, TCP_RST | TCP_ACK_FLAG, 0, NO_OPTIONS, null, 0, 0);
        net.removeTcp(this);
    }

    /** Opens the guest side of a forwarded connection. */
    void forwardOpen() {
        state = State.SYN_SENT;
        offerWindowScale = true;
        sendSyn();
    }

    private void sendSyn() {
        int flags = state == State.SYN_SENT ? TCP_SYN : TCP_SYN | TCP_ACK_FLAG;
        int ourMss = net.mtu - 40;
        byte[] options = offerWindowScale
                ? new byte[] {TCP_OPT_MSS, 4, (byte) (ourMss >>> 8), (byte) ourMss, TCP_OPT_NOP, TCP_OPT_WSCALE, 3, 0}
                : new byte[] {TCP_OPT_MSS, 4, (byte) (ourMss >>> 8), (byte) ourMss};
        advertised = RECEIVE_CAPACITY;
        net.sendTcp(this, iss, state == State.SYN_SENT ? 0 : rcvNxt, flags, RECEIVE_CAPACITY, options, null, 0, 0);
        sndNxt = iss + 1;
        sndMax = iss + 1;
        arm(rto);
    }

    /** Reads MSS and window scale (RFC 9293 §3.7.1, RFC 7323 §2) from a SYN's options. */
    private void parseSynOptions(byte[] f, int off, int dataOffset) {
        int p = off + TCP_HLEN;
        int end = off + dataOffset;
        int peerMss = DEFAULT_MSS;
        int shift = -1;
        while (p < end) {
            int kind = u8(f, p);
            if (kind == TCP_OPT_END) {
                break;
            }
            if (kind == TCP_OPT_NOP) {
                p++;
                continue;
            }
            if (p + 1 >= end) {
                break;
            }
            int len = u8(f, p + 1);
            if (len < 2 || len > end - p) {
                break;
            }
            if (kind == TCP_OPT_MSS && len == 4) {
                peerMss = u16(f, p + 2);
            } else if (kind == TCP_OPT_WSCALE && len == 3) {
                shift = Math.min(u8(f, p + 2), MAX_WINDOW_SHIFT);
            }
            p += len;
        }
        mss = Math.clamp(peerMss, MIN_MSS, net.mtu - 40);
        if (state == State.CONNECTING) {
            offerWindowScale = shift >= 0;
        }
        sndShift = offerWindowScale && shift >= 0 ? shift : 0;
    }

    // ---------------------------------------------------------------- guest segments

    /** Handles one segment from the guest; {@code off} is where its TCP header starts. */
    void segment(byte[] f, int off, int len, int dataOffset) {
        int seq = u32(f, off + TCP_SEQ);
        int ack = u32(f, off + TCP_ACK);
        int flags = u8(f, off + TCP_FLAGS);
        int window = u16(f, off + TCP_WINDOW);
        int data = off + dataOffset;
        int dataLength = len - dataOffset;
        boolean rst = (flags & TCP_RST) != 0;
        boolean syn = (flags & TCP_SYN) != 0;
        boolean hasAck = (flags & TCP_ACK_FLAG) != 0;
        switch (state) {
            case CONNECTING -> {
                if (rst) {
                    net.removeTcp(this);
                }
            }
            case SYN_SENT -> {
                if (hasAck && ack != iss + 1) {
                    if (!rst) {
                        net.sendTcp(this, ack, 0, TCP_RST, 0, NO_OPTIONS, null, 0, 0);
                    }
                    return;
                }
                if (rst) {
                    if (hasAck) {
                        abortHost();
                    }
                    return;
                }
                if (syn && hasAck) {
                    rcvNxt = seq + 1;
                    sndUna = iss + 1;
                    parseSynOptions(f, off, dataOffset);
                    sndWnd = window;
                    establish();
                    net.wantAck(this);
                }
            }
            case SYN_RECEIVED -> {
                if (rst) {
                    abortHost();
                    return;
                }
                if (syn) {
                    if (seq + 1 == rcvNxt) {
                        sendSyn();
                    }
                    return;
                }
                if (!hasAck || ack != iss + 1) {
                    return;
                }
                sndUna = iss + 1;
                sndWnd = window << sndShift;
                establish();
                established(seq, ack, flags, window, f, data, dataLength);
            }
            case ESTABLISHED -> {
                if (rst) {
                    if (seqLe(rcvNxt, seq) && seqLt(seq, rcvNxt + Math.max(advertised, 1))) {
                        abortHost();
                    }
                    return;
                }
                if (syn) {
                    net.wantAck(this);
                    return;
                }
                if (hasAck) {
                    established(seq, ack, flags, window, f, data, dataLength);
                }
            }
            case CLOSED -> {
                if (rst) {
                    net.removeTcp(this);
                } else if ((flags & TCP_FIN) != 0 || dataLength > 0) {
                    net.sendTcp(this, sndNxt, rcvNxt, TCP_ACK_FLAG, 0, NO_OPTIONS, null, 0, 0);
                }
            }
        }
    }

    private void establish() {
        state = State.ESTABLISHED;
        retries = 0;
        rto = RTO_INITIAL;
        deadline = 0;
        sndBuf = new byte[SEND_CAPACITY];
        updateInterest();
    }

    private void established(int seq, int ack, int flags, int window, byte[] f, int data, int dataLength) {
        if (seqLt(sndMax, ack)) {
            net.wantAck(this);
            return;
        }
        int scaledWindow = window << sndShift;
        if (seqLt(sndUna, ack)) {
            int acked = ack - sndUna;
            int buffered = sndEnd - sndStart;
            int dataAcked = Math.min(acked, buffered);
            sndStart += dataAcked;
            if (sndStart == sndEnd) {
                sndStart = 0;
                sndEnd = 0;
            }
            if (acked > buffered) {
                finAcked = true;
            }
            sndUna = ack;
            if (seqLt(sndNxt, sndUna)) {
                sndNxt = sndUna;
            }
            dupAcks = 0;
            retries = 0;
            rto = RTO_INITIAL;
            deadline = 0;
            if (sndUna != sndMax) {
                arm(rto);
            }
            updateInterest();
        } else if (ack == sndUna && dataLength == 0 && (flags & TCP_FIN) == 0 && sndUna != sndMax
                && scaledWindow == sndWnd && ++dupAcks == 3) {
            sndNxt = sndUna;
        }
        if (scaledWindow == 0) {
            // The guest answers zero-window probes: it is alive, only not reading.
            retries = 0;
        }
        sndWnd = scaledWindow;
        net.wantSend(this);
        receive(seq, flags, f, data, dataLength);
        closeIfDone();
    }

    private void receive(int seq, int flags, byte[] f, int data, int dataLength) {
        boolean fin = (flags & TCP_FIN) != 0;
        if (dataLength == 0 && !fin) {
            return;
        }
        if (guestFin) {
            net.wantAck(this);
            return;
        }
        if (seq != rcvNxt) {
            int skip = rcvNxt - seq;
            if (skip < 0 || skip > dataLength || skip == dataLength && !fin) {
                // Out of order, or an old duplicate: a duplicate ACK tells the guest where we are.
                sendAck();
                return;
            }
            data += skip;
            dataLength -= skip;
        }
        int accepted = Math.min(dataLength, receiveWindow());
        if (accepted > 0) {
            try {
                writeToHost(f, data, accepted);
            } catch (IOException e) {
                resetBoth();
                return;
            }
            rcvNxt += accepted;
        }
        if (fin && accepted == dataLength) {
            rcvNxt++;
            guestFin = true;
            shutdownIfDrained();
        }
        if (++unackedSegments >= 2 || fin || accepted < dataLength) {
            sendAck();
        } else {
            net.wantAck(this);
        }
    }

    private int receiveWindow() {
        return RECEIVE_CAPACITY - (rcvEnd - rcvStart);
    }

    private void writeToHost(byte[] f, int off, int len) throws IOException {
        if (rcvEnd == rcvStart) {
            ByteBuffer bb = ByteBuffer.wrap(f, off, len);
            channel.write(bb);
            if (!bb.hasRemaining()) {
                return;
            }
            off = bb.position();
            len = bb.remaining();
        }
        if (rcvBuf == null) {
            rcvBuf = new byte[RECEIVE_CAPACITY];
        }
        if (rcvEnd + len > rcvBuf.length) {
            System.arraycopy(rcvBuf, rcvStart, rcvBuf, 0, rcvEnd - rcvStart);
            rcvEnd -= rcvStart;
            rcvStart = 0;
        }
        System.arraycopy(f, off, rcvBuf, rcvEnd, len);
        rcvEnd += len;
        updateInterest();
    }

    /** Sends a pure ACK now; {@return false if the guest refused it} */
    boolean sendAck() {
        int window = receiveWindow();
        if (!net.sendTcp(this, sndNxt, rcvNxt, TCP_ACK_FLAG, window, NO_OPTIONS, null, 0, 0)) {
            net.wantAck(this);
            return false;
        }
        acknowledged(window);
        return true;
    }

    private void acknowledged(int window) {
        advertised = window;
        ackPending = false;
        unackedSegments = 0;
    }

    // ---------------------------------------------------------------- host socket

    /** Handles readiness of the host socket. */
    void hostReady(int readyOps) {
        try {
            if ((readyOps & SelectionKey.OP_CONNECT) != 0 && state == State.CONNECTING) {
                boolean done;
                try {
                    done = channel.finishConnect();
                } catch (IOException e) {
                    connectFailed();
                    return;
                }
                if (done) {
                    connected();
                    updateInterest();
                }
                return;
            }
            if ((readyOps & SelectionKey.OP_WRITE) != 0) {
                flushToHost();
            }
            if ((readyOps & SelectionKey.OP_READ) != 0 && state == State.ESTABLISHED) {
                readFromHost();
            }
        } catch (IOException e) {
            resetBoth();
        }
    }

    private void readFromHost() throws IOException {
        int buffered = sndEnd - sndStart;
        if (sndStart > 0 && SEND_CAPACITY - sndEnd < SEND_CAPACITY / 4) {
            System.arraycopy(sndBuf, sndStart, sndBuf, 0, buffered);
            sndStart = 0;
            sndEnd = buffered;
        }
        while (sndEnd < SEND_CAPACITY) {
            int n = channel.read(ByteBuffer.wrap(sndBuf, sndEnd, SEND_CAPACITY - sndEnd));
            if (n < 0) {
                hostEof = true;
                break;
            }
            if (n == 0) {
                break;
            }
            sndEnd += n;
        }
        net.wantSend(this);
        updateInterest();
    }

    private void flushToHost() throws IOException {
        if (rcvEnd > rcvStart) {
            ByteBuffer bb = ByteBuffer.wrap(rcvBuf, rcvStart, rcvEnd - rcvStart);
            channel.write(bb);
            rcvStart = bb.position();
            if (rcvStart == rcvEnd) {
                rcvStart = 0;
                rcvEnd = 0;
            }
            int window = receiveWindow();
            if (state == State.ESTABLISHED && window - advertised >= Math.min(2 * mss, RECEIVE_CAPACITY / 2)) {
                net.wantAck(this);
            }
        }
        shutdownIfDrained();
        updateInterest();
        closeIfDone();
    }

    private void shutdownIfDrained() {
        if (guestFin && !outputShut && rcvEnd == rcvStart) {
            outputShut = true;
            try {
                channel.shutdownOutput();
            } catch (IOException e) {
                // The peer is gone; the read side reports it.
            }
        }
    }

    private void updateInterest() {
        if (selectionKey == null || !selectionKey.isValid()) {
            return;
        }
        int ops = 0;
        if (state == State.CONNECTING) {
            ops = SelectionKey.OP_CONNECT;
        } else if (state == State.ESTABLISHED) {
            if (!hostEof && sndEnd - sndStart < SEND_CAPACITY) {
                ops |= SelectionKey.OP_READ;
            }
            if (rcvEnd > rcvStart) {
                ops |= SelectionKey.OP_WRITE;
            }
        }
        if (selectionKey.interestOps() != ops) {
            selectionKey.interestOps(ops);
        }
    }

    // ---------------------------------------------------------------- to the guest

    /**
     * Sends what the send buffer holds and the guest's window allows, then a FIN once the host
     * has closed and everything is sent.
     *
     * @return false if the guest refused a segment; the rest waits for the next attempt
     */
    boolean pushToGuest() {
        if (state != State.ESTABLISHED || removed) {
            return true;
        }
        while (true) {
            int buffered = sndEnd - sndStart;
            int inFlight = sndNxt - sndUna;
            int unsent = buffered - inFlight;
            if (unsent > 0) {
                int windowLeft = sndWnd - inFlight;
                if (probe && windowLeft <= 0 && inFlight == 0) {
                    windowLeft = 1;
                }
                if (windowLeft <= 0) {
                    if (inFlight == 0 && deadline == 0) {
                        arm(rto);
                    }
                    return true;
                }
                int n = Math.min(Math.min(unsent, mss), windowLeft);
                if (n < mss && n < unsent && inFlight > 0) {
                    // Sender-side silly window avoidance (RFC 9293 §3.8.6.2.1): wait for a wider window.
                    return true;
                }
                int window = receiveWindow();
                int flags = TCP_ACK_FLAG | (n == unsent ? TCP_PSH : 0);
                if (!net.sendTcp(this, sndNxt, rcvNxt, flags, window, NO_OPTIONS, sndBuf, sndStart + inFlight, n)) {
                    return false;
                }
                acknowledged(window);
                probe = false;
                sndNxt += n;
                if (seqLt(sndMax, sndNxt)) {
                    sndMax = sndNxt;
                }
                if (deadline == 0) {
                    arm(rto);
                }
            } else if (unsent == 0 && hostEof && !finAcked) {
                int window = receiveWindow();
                if (!net.sendTcp(this, sndNxt, rcvNxt, TCP_FIN | TCP_ACK_FLAG, window, NO_OPTIONS, null, 0, 0)) {
                    return false;
                }
                acknowledged(window);
                sndNxt++;
                if (seqLt(sndMax, sndNxt)) {
                    sndMax = sndNxt;
                }
                if (deadline == 0) {
                    arm(rto);
                }
            } else {
                return true;
            }
        }
    }

    /** Runs the connection's one timer: connect, SYN, retransmission, persist or linger. */
    void timerExpired() {
        deadline = 0;
        switch (state) {
            case CONNECTING -> connectFailed();
            case SYN_SENT, SYN_RECEIVED -> {
                if (++retries > MAX_SYN_RETRIES) {
                    if (state == State.SYN_RECEIVED) {
                        net.sendTcp(this, iss + 1, rcvNxt, TCP_RST | TCP_ACK_FLAG, 0, NO_OPTIONS, null, 0, 0);
                    }
                    abortHost();
                    return;
                }
                rto = Math.min(rto * 2, RTO_MAX);
                sendSyn();
            }
            case ESTABLISHED -> {
                int unsent = (sndEnd - sndStart) - (sndNxt - sndUna);
                if (sndUna != sndMax || unsent > 0 && sndWnd == 0) {
                    if (++retries > MAX_RETRIES) {
                        resetBoth();
                        return;
                    }
                    rto = Math.min(rto * 2, RTO_MAX);
                    sndNxt = sndUna;
                    probe = sndWnd == 0;
                    arm(rto);
                    net.wantSend(this);
                }
            }
            case CLOSED -> net.removeTcp(this);
        }
    }

    private void arm(long delay) {
        deadline = net.now + delay;
        if (deadline == 0) {
            deadline = 1;
        }
        net.scheduleTimer(deadline);
    }

    // ---------------------------------------------------------------- closing

    private void closeIfDone() {
        if (state == State.ESTABLISHED && !removed && guestFin && finAcked && outputShut) {
            state = State.CLOSED;
            if (selectionKey != null) {
                selectionKey.cancel();
            }
            UserNetwork.closeQuietly(channel);
            arm(TimeUnit.MILLISECONDS.toNanos(LINGER_MILLIS));
        }
    }

    /** The guest reset or refused the connection: reset the host side too. */
    private void abortHost() {
        try {
            channel.setOption(StandardSocketOptions.SO_LINGER, 0);
        } catch (IOException e) {
            // Closing without the option still releases the socket.
        }
        net.removeTcp(this);
    }

    /** The host side failed: reset the guest side and drop the connection. */
    private void resetBoth() {
        net.sendTcp(this, sndNxt, rcvNxt, TCP_RST | TCP_ACK_FLAG, 0, NO_OPTIONS, null, 0, 0);
        abortHost();
    }

    @Override
    public String toString() {
        return "TcpFlow[" + Packets.ipString(guestIp) + ":" + guestPort + " - " + Packets.ipString(remoteIp) + ":"
                + remotePort + " " + state + ", unacked " + (sndMax - sndUna) + ", send buffer " + (sndEnd - sndStart)
                + ", receive buffer " + (rcvEnd - rcvStart) + (hostEof ? ", host EOF" : "")
                + (guestFin ? ", guest FIN" : "") + (outputShut ? ", output shut" : "") + "]";
    }
}
