package dev.ember.mmds;

import dev.ember.net.NetBackend;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The metadata service's network stack on one virtio-net interface, after Firecracker's
 * {@code MmdsNetworkStack} (src/vmm/src/mmds/ns.rs) and its "dumbo" TCP
 * (src/vmm/src/dumbo/tcp/{handler,endpoint,connection}.rs): it takes, out of the frames the
 * guest transmits, those for the MMDS address, and answers them itself, so they never reach the
 * interface's backend.
 *
 * <ul>
 *   <li>ARP: a request whose target protocol address is the MMDS address gets a reply from
 *       {@link #MAC} ({@code 06:01:23:45:67:01}, ns.rs DEFAULT_MAC_ADDR).
 *   <li>IPv4 to the MMDS address: TCP to port 80 is served by a minimal passive TCP endpoint
 *       (at most {@value #MAX_CONNECTIONS} connections, as dumbo); TCP to any other port, and
 *       segments of no connection, get a RST; other protocols are swallowed.
 *   <li>Each connection buffers at most {@value #RCV_BUF_BYTES} bytes of request (dumbo's
 *       RCV_BUF_MAX_SIZE; the advertised window says so); a request that does not end within
 *       them resets the connection. Requests are answered one at a time by {@link MmdsHttp}, in
 *       segments of the guest's MSS at most, within the guest's window, with checksums computed.
 *       A response is kept until acknowledged and resent from the first unacknowledged byte
 *       (go-back-N) after {@value #RTO_MILLIS} ms, or at once when the device refused a frame
 *       ({@link NetBackend.FrameSink#deliver} returned false), at most {@value #RTO_COUNT_MAX}
 *       times in a row before the connection is reset (dumbo's CONNECTION_RTO_COUNT_MAX).
 *   <li>The guest's FIN is acknowledged, and answered with a FIN once the pending response is
 *       acknowledged; the connection ends when both FINs are acknowledged. HTTP keep-alive
 *       works as in Firecracker: several requests may use one connection.
 * </ul>
 *
 * <p>What the guest needs: a route to the MMDS address through this interface, since the
 * address is link-local and no gateway answers for it, e.g.
 * {@code ip route add 169.254.169.254 dev eth0} (Firecracker's MMDS user guide). The guest's
 * ARP request is answered here; its TCP checksums are not verified (the device completes
 * offloaded checksums before this stack sees a frame; dumbo does not verify either).
 *
 * <p>Hook: wrap the interface's backend in {@link MmdsNetBackend}, or, in {@code VirtioNet}'s
 * transmit path, where the backend would get the frame:
 * <pre>{@code
 * if (mmds == null || !mmds.interceptFromGuest(txFrame, 0, length)) {
 *     backend.transmit(txFrame, 0, length);
 * }
 * }</pre>
 * and, when the device is built, {@code mmds.setGuestSink(sink)} with the device's own
 * {@link NetBackend.FrameSink}.
 *
 * <p><b>Guest-controlled.</b> Every frame. Each header is bounds-checked against the frame
 * length before it is read; ports, sequence numbers, windows and options are taken as data, and
 * every path ends in consuming, passing on or ignoring the frame: {@link #interceptFromGuest}
 * never throws. Memory is bounded by {@value #MAX_CONNECTIONS} connections × (one
 * {@value #RCV_BUF_BYTES}-byte receive buffer + one response, itself bounded by the data store
 * limit); when all slots are busy a SYN evicts a finished or idle (10 s) connection, or gets a
 * RST.
 *
 * <p>Threads: {@link #interceptFromGuest} runs on a vCPU thread under the device's monitor;
 * retransmission runs on one shared daemon timer thread, scheduled only while some connection
 * has unacknowledged data.
 * State is guarded by this object's monitor; frames for the guest are built under it and
 * delivered after it is released, so the device's monitor is never taken while holding it.
 */
public final class MmdsNetworkStack implements AutoCloseable {

    /** The MMDS MAC address (ns.rs DEFAULT_MAC_ADDR). */
    public static final byte[] MAC = {0x06, 0x01, 0x23, 0x45, 0x67, 0x01};
    /** The TCP port served (ns.rs DEFAULT_TCP_PORT). */
    public static final int PORT = 80;
    /** Concurrent connections (ns.rs DEFAULT_MAX_CONNECTIONS). */
    public static final int MAX_CONNECTIONS = 30;
    /** Request bytes buffered per connection (endpoint.rs RCV_BUF_MAX_SIZE). */
    public static final int RCV_BUF_BYTES = 2500;
    /** The MSS this side announces: a 1500-byte MTU less IPv4 and TCP headers. */
    public static final int OWN_MSS = 1460;
    /** The MSS assumed when the guest's SYN carries none (RFC 9293 §3.7.1). */
    public static final int DEFAULT_MSS = 536;
    static final long RTO_MILLIS = 300;
    static final int RTO_COUNT_MAX = 15;
    static final long EVICTION_MILLIS = 10_000;
    private static final long TICK_MILLIS = 50;

    private static final int ETH_HLEN = 14, ETHERTYPE_IPV4 = 0x0800, ETHERTYPE_ARP = 0x0806;
    private static final int ARP_LEN = 28, IP_HLEN = 20, TCP_HLEN = 20, PROTO_TCP = 6;
    private static final int FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10;

    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "ember-mmds-timer");
        t.setDaemon(true);
        return t;
    });

    private final Mmds mmds;
    private final int ipv4;
    private final LongSupplier clockMillis;
    private final boolean timerThread;
    private final Map<Long, Connection> connections = new HashMap<>();
    private volatile NetBackend.FrameSink sink;
    private ScheduledFuture<?> tick;
    private boolean closed;
    private int ipId;
    private long rxFrames, txFrames, txDropped, connectionsCreated, connectionsDestroyed, resetsSent, rxIgnored;

    /** Counters since creation. */
    public record Metrics(long rxFrames, long txFrames, long txDropped, long connectionsCreated,
                          long connectionsDestroyed, long resetsSent, long rxIgnored) { }

    /**
     * A stack answering at ipv4Address (dotted quad, e.g. {@value dev.ember.config.MmdsConfig#DEFAULT_ADDRESS}).
     *
     * @throws IllegalArgumentException if the address is not an IPv4 address
     */
    public MmdsNetworkStack(Mmds mmds, String ipv4Address) {
        this(mmds, ipv4Address, () -> System.nanoTime() / 1_000_000, true);
    }

    /** For tests: clockMillis drives timeouts; without the timer thread, only {@link #tick} calls do. */
    MmdsNetworkStack(Mmds mmds, String ipv4Address, LongSupplier clockMillis, boolean timerThread) {
        this.mmds = java.util.Objects.requireNonNull(mmds);
        this.ipv4 = parseIpv4(ipv4Address);
        this.clockMillis = clockMillis;
        this.timerThread = timerThread;
    }

    /** Where frames for the guest go: the device's sink. Until set, they are dropped. */
    public void setGuestSink(NetBackend.FrameSink sink) {
        this.sink = sink;
    }

    /** {@return the counters} */
    public synchronized Metrics metrics() {
        return new Metrics(rxFrames, txFrames, txDropped, connectionsCreated, connectionsDestroyed, resetsSent,
                rxIgnored);
    }

    /** {@return how many connections are open} */
    public synchronized int connectionCount() {
        return connections.size();
    }

    /**
     * Takes a frame the guest transmitted if it is for the MMDS.
     *
     * @return true if the frame was for the MMDS and is consumed; false if it should go to the
     *         backend as usual
     */
    public boolean interceptFromGuest(byte[] frame, int off, int len) {
        List<Out> out = new ArrayList<>(4);
        boolean consumed;
        try {
            if (off < 0 || len < ETH_HLEN || off > frame.length - len) {
                return false;
            }
            synchronized (this) {
                if (closed) {
                    return false;
                }
                consumed = receive(frame, off, len, out);
                if (consumed) {
                    rxFrames++;
                }
            }
        } catch (RuntimeException e) {
            // Bounds: every read is checked above; this only keeps a bug from reaching the vCPU.
            synchronized (this) {
                rxIgnored++;
            }
            return false;
        }
        deliver(out);
        return consumed;
    }

    /** Stops the timer and drops every connection. */
    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            connections.clear();
            if (tick != null) {
                tick.cancel(false);
                tick = null;
            }
        }
    }

    /** Runs timers: retransmission and resets after too many. Called by the timer thread; tests call it. */
    void tick() {
        List<Out> out = new ArrayList<>();
        synchronized (this) {
            long now = clockMillis.getAsLong();
            for (Iterator<Connection> it = connections.values().iterator(); it.hasNext(); ) {
                Connection c = it.next();
                if (c.lost || c.outstanding() && now >= c.rtoDeadline) {
                    if (!c.lost && ++c.rtoCount > RTO_COUNT_MAX) {
                        out.add(c.segment(RST, c.sndNxt, new byte[0], 0, 0, false));
                        resetsSent++;
                        connectionsDestroyed++;
                        it.remove();
                        continue;
                    }
                    c.lost = false;
                    c.goBack(now);
                    c.pump(out, now, true);
                }
            }
            tick = null;
            scheduleTick();
        }
        deliver(out);
    }

    // ---- receive path, under the monitor ----

    private boolean receive(byte[] f, int off, int len, List<Out> out) {
        int type = u16(f, off + 12);
        if (type == ETHERTYPE_ARP) {
            return receiveArp(f, off, len, out);
        }
        if (type != ETHERTYPE_IPV4 || len < ETH_HLEN + IP_HLEN || i32(f, off + ETH_HLEN + 16) != ipv4) {
            return false;
        }
        int ip = off + ETH_HLEN;
        int ihl = (f[ip] & 0x0F) * 4;
        int totalLen = u16(f, ip + 2);
        if ((f[ip] & 0xF0) != 0x40 || ihl < IP_HLEN || totalLen < ihl || totalLen > len - ETH_HLEN) {
            return false;   // not a valid IPv4 packet: not ours (ns.rs detour_ipv4)
        }
        if ((f[ip + 9] & 0xFF) != PROTO_TCP || (u16(f, ip + 6) & 0x3FFF) != 0) {
            rxIgnored++;    // non-TCP or fragmented: swallowed, as dumbo
            return true;
        }
        int tcp = ip + ihl;
        int tcpLen = totalLen - ihl;
        if (tcpLen < TCP_HLEN) {
            rxIgnored++;
            return true;
        }
        int dataOff = (f[tcp + 12] >>> 4 & 0x0F) * 4;
        if (dataOff < TCP_HLEN || dataOff > tcpLen) {
            rxIgnored++;
            return true;
        }
        byte[] srcMac = java.util.Arrays.copyOfRange(f, off + 6, off + 12);
        receiveTcp(new Segment(srcMac, i32(f, ip + 12), u16(f, tcp), u16(f, tcp + 2), i32(f, tcp + 4),
                i32(f, tcp + 8), f[tcp + 13] & 0x3F, u16(f, tcp + 14), mssOption(f, tcp + TCP_HLEN, tcp + dataOff),
                f, tcp + dataOff, tcpLen - dataOff), out);
        return true;
    }

    private boolean receiveArp(byte[] f, int off, int len, List<Out> out) {
        int a = off + ETH_HLEN;
        if (len < ETH_HLEN + ARP_LEN || i32(f, a + 24) != ipv4) {
            return false;
        }
        // ns.rs detour_arp: only a well-formed Ethernet/IPv4 request is consumed.
        if (u16(f, a) != 1 || u16(f, a + 2) != ETHERTYPE_IPV4 || f[a + 4] != 6 || f[a + 5] != 4 || u16(f, a + 6) != 1) {
            return false;
        }
        byte[] r = new byte[ETH_HLEN + ARP_LEN];
        System.arraycopy(f, a + 8, r, 0, 6);          // to the requester's hardware address
        System.arraycopy(MAC, 0, r, 6, 6);
        put16(r, 12, ETHERTYPE_ARP);
        put16(r, 14, 1);
        put16(r, 16, ETHERTYPE_IPV4);
        r[18] = 6;
        r[19] = 4;
        put16(r, 20, 2);                               // reply
        System.arraycopy(MAC, 0, r, 22, 6);
        put32(r, 28, ipv4);
        System.arraycopy(f, a + 8, r, 32, 10);         // tha, tpa = requester's sha, spa
        out.add(new Out(null, r));
        return true;
    }

    /** One received TCP segment's fields; payload is f[dataAt, dataAt+dataLen). */
    private record Segment(byte[] srcMac, int srcIp, int srcPort, int dstPort, int seq, int ack, int flags,
                           int window, int mss, byte[] f, int dataAt, int dataLen) { }

    private void receiveTcp(Segment s, List<Out> out) {
        long now = clockMillis.getAsLong();
        long key = (s.srcIp & 0xFFFF_FFFFL) << 16 | s.srcPort;
        Connection c = connections.get(key);
        boolean syn = (s.flags & SYN) != 0, rst = (s.flags & RST) != 0, ack = (s.flags & ACK) != 0;
        if (s.dstPort != PORT) {
            replyReset(s, out);
            return;
        }
        if (c != null && syn && !ack && !rst && c.irs != s.seq) {
            connections.remove(key);              // the guest reused the port: start afresh
            connectionsDestroyed++;
            c = null;
        }
        if (c == null) {
            if (syn && !ack && !rst) {
                open(key, s, now, out);
            } else {
                replyReset(s, out);
            }
            return;
        }
        c.lastReceived = now;
        if (rst) {
            if (inWindow(c, s.seq)) {
                connections.remove(key);
                connectionsDestroyed++;
            }
            return;
        }
        if (syn) {
            if (c.state == State.SYN_RCVD) {
                c.goBack(now);                   // our SYN-ACK was lost: send it again
                c.pump(out, now, false);
            }
            return;
        }
        if (!ack) {
            return;
        }
        if (c.lost) {
            c.lost = false;
            c.goBack(now);
        }
        if (!c.acknowledge(s, now)) {
            c.needAck = true;                    // acknowledges what we never sent
            c.pump(out, now, false);
            return;
        }
        c.take(s);
        if (c.process()) {
            out.add(c.segment(RST | ACK, c.sndNxt, new byte[0], 0, 0, false));
            resetsSent++;
            connections.remove(key);
            connectionsDestroyed++;
            return;
        }
        c.pump(out, now, false);
        if (c.done()) {
            connections.remove(key);
            connectionsDestroyed++;
        }
        scheduleTick();
    }

    private void open(long key, Segment s, long now, List<Out> out) {
        if (connections.size() >= MAX_CONNECTIONS && !evictOne(now)) {
            replyReset(s, out);
            return;
        }
        Connection c = new Connection(s, now);
        connections.put(key, c);
        connectionsCreated++;
        c.pump(out, now, false);
        scheduleTick();
    }

    private boolean evictOne(long now) {
        for (Iterator<Connection> it = connections.values().iterator(); it.hasNext(); ) {
            Connection c = it.next();
            if (c.done() || now - c.lastReceived > EVICTION_MILLIS) {
                it.remove();
                connectionsDestroyed++;
                return true;
            }
        }
        return false;
    }

    /** RFC 9293 §3.10.7.1: the reset for a segment that belongs to no connection. */
    private void replyReset(Segment s, List<Out> out) {
        if ((s.flags & RST) != 0) {
            return;
        }
        int segLen = s.dataLen + ((s.flags & SYN) != 0 ? 1 : 0) + ((s.flags & FIN) != 0 ? 1 : 0);
        byte[] frame = (s.flags & ACK) != 0
                ? tcpFrame(s.srcMac, s.srcIp, s.dstPort, s.srcPort, s.ack, 0, RST, 0, -1, new byte[0], 0, 0)
                : tcpFrame(s.srcMac, s.srcIp, s.dstPort, s.srcPort, 0, s.seq + segLen, RST | ACK, 0, -1,
                        new byte[0], 0, 0);
        resetsSent++;
        out.add(new Out(null, frame));
    }

    private static boolean inWindow(Connection c, int seq) {
        int d = seq - c.rcvNxt;
        return d >= 0 && d <= Math.max(1, c.rcvWindow());
    }

    /** Arms the timer while some connection has unacknowledged or refused segments. */
    private void scheduleTick() {
        if (timerThread && tick == null && !closed && connections.values().stream().anyMatch(c -> c.lost || c.outstanding())) {
            tick = TIMER.schedule(this::tick, TICK_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    // ---- transmit path, outside the monitor ----

    /** A frame for the guest; conn, if any, is told when the device refuses it. */
    private record Out(Connection conn, byte[] frame) { }

    private void deliver(List<Out> out) {
        if (out.isEmpty()) {
            return;
        }
        NetBackend.FrameSink s = sink;
        List<Connection> refused = null;
        long sent = 0;
        for (Out o : out) {
            if (s != null && s.deliver(o.frame, 0, o.frame.length)) {
                sent++;
            } else if (o.conn != null) {
                if (refused == null) {
                    refused = new ArrayList<>();
                }
                refused.add(o.conn);
            }
        }
        synchronized (this) {
            txFrames += sent;
            txDropped += out.size() - sent;
            if (refused != null) {
                for (Connection c : refused) {
                    c.lost = true;                // resent from the first unacknowledged byte
                }
                scheduleTick();
            }
        }
    }

    // ---- one connection ----

    private enum State { SYN_RCVD, ESTABLISHED }

    /** A passive TCP connection (RFC 9293) carrying HTTP requests; guarded by the stack's monitor. */
    private final class Connection {
        final byte[] mac;
        final int ip, port, irs, iss, mss;
        State state = State.SYN_RCVD;
        int rcvNxt;
        int sndUna, sndNxt, sndMax;           // sndMax: highest sequence number sent + 1
        int peerWindow;
        final byte[] rcvBuf = new byte[RCV_BUF_BYTES];
        int rcvLen;
        byte[] response = new byte[0];        // the response being sent; [responseSeq, +length)
        int responseSeq;
        boolean finReceived, finQueued, needAck, lost;
        int finSeq;
        long lastReceived, rtoDeadline;
        int rtoCount;

        Connection(Segment s, long now) {
            mac = s.srcMac;
            ip = s.srcIp;
            port = s.srcPort;
            irs = s.seq;
            rcvNxt = s.seq + 1;
            iss = ThreadLocalRandom.current().nextInt();
            sndUna = iss;
            sndNxt = iss;
            sndMax = iss;
            responseSeq = iss + 1;
            peerWindow = s.window;
            mss = Math.min(OWN_MSS, s.mss > 0 ? s.mss : DEFAULT_MSS);
            lastReceived = now;
        }

        int rcvWindow() {
            return RCV_BUF_BYTES - rcvLen;
        }

        boolean outstanding() {
            return sndMax != sndUna;
        }

        boolean done() {
            return finReceived && finQueued && sndUna == finSeq + 1;
        }

        /** Sends again from the first unacknowledged byte. */
        void goBack(long now) {
            sndNxt = sndUna;
            rtoDeadline = now + RTO_MILLIS;
        }

        /** Processes the ACK field; false if it acknowledges data never sent. */
        boolean acknowledge(Segment s, long now) {
            if (after(s.ack, sndMax)) {
                return false;
            }
            if (after(s.ack, sndUna)) {
                sndUna = s.ack;
                rtoCount = 0;
                rtoDeadline = now + RTO_MILLIS;
                if (state == State.SYN_RCVD) {
                    state = State.ESTABLISHED;
                }
                if (after(sndUna, sndNxt)) {
                    sndNxt = sndUna;
                }
            }
            peerWindow = s.window;
            return true;
        }

        /** Takes the in-order part of the segment's data and its FIN. */
        void take(Segment s) {
            if (state != State.ESTABLISHED) {
                return;
            }
            int skip = rcvNxt - s.seq;
            if (s.dataLen > 0 || (s.flags & FIN) != 0) {
                needAck = true;
            }
            if (skip < 0 || skip > s.dataLen) {
                return;                         // out of order or old: the ACK says what we expect
            }
            int n = Math.min(s.dataLen - skip, rcvWindow());
            if (finReceived) {
                n = 0;
            }
            System.arraycopy(s.f, s.dataAt + skip, rcvBuf, rcvLen, n);
            rcvLen += n;
            rcvNxt += n;
            if ((s.flags & FIN) != 0 && !finReceived && skip + n == s.dataLen) {
                finReceived = true;
                rcvNxt += 1;
            }
        }

        /**
         * Answers the next buffered request once the previous response is acknowledged
         * (endpoint.rs receive_segment).
         *
         * @return true if the connection must be reset: the buffer is full and holds no request
         */
        boolean process() {
            if (response.length > 0 && sndUna == responseSeq + response.length) {
                responseSeq = sndUna;
                response = new byte[0];
            }
            if (response.length == 0) {
                int end = MmdsHttp.findRequestEnd(rcvBuf, 0, rcvLen);
                if (end >= 0) {
                    response = MmdsHttp.respond(mmds, rcvBuf, 0, end).toBytes();
                    responseSeq = sndUna;
                    System.arraycopy(rcvBuf, end, rcvBuf, 0, rcvLen - end);
                    rcvLen -= end;
                    needAck = true;             // the window opened
                } else if (rcvLen == RCV_BUF_BYTES) {
                    return true;
                }
            }
            if (finReceived && response.length == 0 && !finQueued) {
                finQueued = true;
                finSeq = sndUna;
            }
            return false;
        }

        /** Sends what the window allows: SYN-ACK, response data, FIN, or a bare ACK if one is owed. */
        void pump(List<Out> out, long now, boolean probe) {
            boolean sentAny = false;
            if (state == State.SYN_RCVD) {
                if (sndNxt == iss) {
                    out.add(segment(SYN | ACK, iss, new byte[0], 0, 0, true));
                    sndNxt = iss + 1;
                    sentAny = true;
                }
            } else {
                int end = responseSeq + response.length;
                int windowEnd = sndUna + Math.max(peerWindow, probe ? 1 : 0);
                while (before(sndNxt, end) && before(sndNxt, windowEnd)) {
                    int n = Math.min(mss, Math.min(end - sndNxt, windowEnd - sndNxt));
                    int from = sndNxt - responseSeq;
                    out.add(segment(ACK | PSH, sndNxt, response, from, n, false));
                    sndNxt += n;
                    sentAny = true;
                }
                if (finQueued && sndNxt == finSeq) {
                    out.add(segment(FIN | ACK, finSeq, new byte[0], 0, 0, false));
                    sndNxt = finSeq + 1;
                    sentAny = true;
                }
            }
            if (after(sndNxt, sndMax)) {
                sndMax = sndNxt;
            }
            if (sentAny && rtoDeadline - now <= 0) {
                rtoDeadline = now + RTO_MILLIS;
            }
            if (!sentAny && needAck) {
                out.add(segment(ACK, sndNxt, new byte[0], 0, 0, false));
            }
            needAck = false;
        }

        Out segment(int flags, int seq, byte[] data, int from, int n, boolean withMss) {
            return new Out(this, tcpFrame(mac, ip, PORT, port, seq, rcvNxt, flags, rcvWindow(),
                    withMss ? OWN_MSS : -1, data, from, n));
        }
    }

    /** Builds Ethernet + IPv4 + TCP with both checksums. */
    private byte[] tcpFrame(byte[] dstMac, int dstIp, int srcPort, int dstPort, int seq, int ack, int flags,
                            int window, int mssOption, byte[] data, int from, int n) {
        int tcpHlen = TCP_HLEN + (mssOption >= 0 ? 4 : 0);
        int ipLen = IP_HLEN + tcpHlen + n;
        byte[] f = new byte[ETH_HLEN + ipLen];
        System.arraycopy(dstMac, 0, f, 0, 6);
        System.arraycopy(MAC, 0, f, 6, 6);
        put16(f, 12, ETHERTYPE_IPV4);
        int ip = ETH_HLEN;
        f[ip] = 0x45;
        put16(f, ip + 2, ipLen);
        put16(f, ip + 4, ipId++ & 0xFFFF);
        put16(f, ip + 6, 0x4000);                      // DF
        f[ip + 8] = 64;
        f[ip + 9] = PROTO_TCP;
        put32(f, ip + 12, ipv4);
        put32(f, ip + 16, dstIp);
        put16(f, ip + 10, ~fold(sum(f, ip, IP_HLEN, 0)) & 0xFFFF);
        int tcp = ip + IP_HLEN;
        put16(f, tcp, srcPort);
        put16(f, tcp + 2, dstPort);
        put32(f, tcp + 4, seq);
        put32(f, tcp + 8, (flags & ACK) != 0 ? ack : 0);
        f[tcp + 12] = (byte) (tcpHlen / 4 << 4);
        f[tcp + 13] = (byte) flags;
        put16(f, tcp + 14, Math.min(window, 0xFFFF));
        if (mssOption >= 0) {
            f[tcp + 20] = 2;
            f[tcp + 21] = 4;
            put16(f, tcp + 22, mssOption);
        }
        System.arraycopy(data, from, f, tcp + tcpHlen, n);
        long pseudo = (ipv4 >>> 16) + (ipv4 & 0xFFFF) + (dstIp >>> 16) + (dstIp & 0xFFFF) + PROTO_TCP + tcpHlen + n;
        put16(f, tcp + 16, ~fold(sum(f, tcp, tcpHlen + n, pseudo)) & 0xFFFF);
        return f;
    }

    // ---- bytes ----

    /** The guest's MSS option in f[from, to), or 0 if absent or malformed. */
    private static int mssOption(byte[] f, int from, int to) {
        int i = from;
        while (i < to) {
            int kind = f[i] & 0xFF;
            if (kind == 0) {
                break;
            }
            if (kind == 1) {
                i++;
                continue;
            }
            if (i + 1 >= to) {
                break;
            }
            int olen = f[i + 1] & 0xFF;
            if (olen < 2 || i + olen > to) {
                break;
            }
            if (kind == 2 && olen == 4) {
                return u16(f, i + 2);
            }
            i += olen;
        }
        return 0;
    }

    static long sum(byte[] b, int from, int n, long acc) {
        int i = from, end = from + n;
        for (; i + 1 < end; i += 2) {
            acc += (b[i] & 0xFF) << 8 | (b[i + 1] & 0xFF);
        }
        if (i < end) {
            acc += (b[i] & 0xFF) << 8;
        }
        return acc;
    }

    static int fold(long sum) {
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int) sum;
    }

    private static boolean after(int a, int b) {
        return a - b > 0;
    }

    private static boolean before(int a, int b) {
        return a - b < 0;
    }

    private static int u16(byte[] b, int i) {
        return (b[i] & 0xFF) << 8 | (b[i + 1] & 0xFF);
    }

    private static int i32(byte[] b, int i) {
        return (b[i] & 0xFF) << 24 | (b[i + 1] & 0xFF) << 16 | (b[i + 2] & 0xFF) << 8 | (b[i + 3] & 0xFF);
    }

    private static void put16(byte[] b, int i, int v) {
        b[i] = (byte) (v >>> 8);
        b[i + 1] = (byte) v;
    }

    private static void put32(byte[] b, int i, int v) {
        b[i] = (byte) (v >>> 24);
        b[i + 1] = (byte) (v >>> 16);
        b[i + 2] = (byte) (v >>> 8);
        b[i + 3] = (byte) v;
    }

    private static int parseIpv4(String address) {
        if (address == null || !address.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
            throw new IllegalArgumentException("Invalid IPv4 address: " + address);
        }
        try {
            InetAddress a = InetAddress.getByName(address);
            if (!(a instanceof Inet4Address)) {
                throw new IllegalArgumentException("Invalid IPv4 address: " + address);
            }
            byte[] b = a.getAddress();
            return i32(b, 0);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("Invalid IPv4 address: " + address, e);
        }
    }
}
