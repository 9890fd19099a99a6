package dev.ember.mmds;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The stack driven by a fake guest that builds frames by hand and checks every frame it gets back. */
class MmdsNetworkStackTest {

    static final byte[] GUEST_MAC = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    static final int GUEST_IP = 0xC0A8_0002;         // 192.168.0.2
    static final int MMDS_IP = 0xA9FE_A9FE;          // 169.254.169.254
    static final int FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16;

    private final AtomicLong now = new AtomicLong(1_000_000);
    private final Mmds mmds = new Mmds(Mmds.DEFAULT_DATA_STORE_LIMIT, now::get);
    private final MmdsNetworkStack stack = new MmdsNetworkStack(mmds, "169.254.169.254", now::get, false);
    private final List<byte[]> received = new ArrayList<>();
    private final AtomicInteger refuse = new AtomicInteger();

    MmdsNetworkStackTest() {
        stack.setGuestSink((frame, off, len) -> {
            if (refuse.get() > 0) {
                refuse.decrementAndGet();
                return false;
            }
            synchronized (received) {
                received.add(java.util.Arrays.copyOfRange(frame, off, off + len));
            }
            return true;
        });
    }

    @AfterEach
    void close() {
        stack.close();
    }

    // ---- frames ----

    static void put16(byte[] b, int i, int v) {
        b[i] = (byte) (v >>> 8);
        b[i + 1] = (byte) v;
    }

    static void put32(byte[] b, int i, int v) {
        put16(b, i, v >>> 16);
        put16(b, i + 2, v);
    }

    static int u16(byte[] b, int i) {
        return (b[i] & 0xFF) << 8 | b[i + 1] & 0xFF;
    }

    static int i32(byte[] b, int i) {
        return u16(b, i) << 16 | u16(b, i + 2);
    }

    static byte[] arpRequest(int targetIp) {
        byte[] f = new byte[42];
        java.util.Arrays.fill(f, 0, 6, (byte) 0xFF);
        System.arraycopy(GUEST_MAC, 0, f, 6, 6);
        put16(f, 12, 0x0806);
        put16(f, 14, 1);
        put16(f, 16, 0x0800);
        f[18] = 6;
        f[19] = 4;
        put16(f, 20, 1);
        System.arraycopy(GUEST_MAC, 0, f, 22, 6);
        put32(f, 28, GUEST_IP);
        put32(f, 38, targetIp);
        return f;
    }

    static byte[] tcp(int dstIp, int srcPort, int dstPort, int seq, int ack, int flags, int window, int mss,
                      byte[] data) {
        int opt = mss > 0 ? 4 : 0;
        byte[] f = new byte[14 + 20 + 20 + opt + data.length];
        System.arraycopy(MmdsNetworkStack.MAC, 0, f, 0, 6);
        System.arraycopy(GUEST_MAC, 0, f, 6, 6);
        put16(f, 12, 0x0800);
        f[14] = 0x45;
        put16(f, 16, 20 + 20 + opt + data.length);
        f[22] = 64;
        f[23] = 6;
        put32(f, 26, GUEST_IP);
        put32(f, 30, dstIp);
        put16(f, 24, ~MmdsNetworkStack.fold(MmdsNetworkStack.sum(f, 14, 20, 0)) & 0xFFFF);
        int t = 34;
        put16(f, t, srcPort);
        put16(f, t + 2, dstPort);
        put32(f, t + 4, seq);
        put32(f, t + 8, ack);
        f[t + 12] = (byte) ((20 + opt) / 4 << 4);
        f[t + 13] = (byte) flags;
        put16(f, t + 14, window);
        if (mss > 0) {
            f[t + 20] = 2;
            f[t + 21] = 4;
            put16(f, t + 22, mss);
        }
        System.arraycopy(data, 0, f, t + 20 + opt, data.length);
        return f;
    }

    /** A TCP segment the stack sent, after checking its Ethernet, IPv4 and TCP headers and checksums. */
    record Seg(int srcPort, int dstPort, int seq, int ack, int flags, int window, int mss, byte[] data) { }

    static Seg parse(byte[] f) {
        assertArrayEquals(GUEST_MAC, java.util.Arrays.copyOfRange(f, 0, 6));
        assertArrayEquals(MmdsNetworkStack.MAC, java.util.Arrays.copyOfRange(f, 6, 12));
        assertEquals(0x0800, u16(f, 12));
        assertEquals(0x45, f[14] & 0xFF);
        int total = u16(f, 16);
        assertEquals(f.length - 14, total);
        assertEquals(0xFFFF, MmdsNetworkStack.fold(MmdsNetworkStack.sum(f, 14, 20, 0)), "IPv4 header checksum");
        assertEquals(6, f[23]);
        assertEquals(MMDS_IP, i32(f, 26));
        assertEquals(GUEST_IP, i32(f, 30));
        int tcpLen = total - 20;
        long pseudo = (MMDS_IP >>> 16) + (MMDS_IP & 0xFFFF) + (GUEST_IP >>> 16) + (GUEST_IP & 0xFFFF) + 6 + tcpLen;
        assertEquals(0xFFFF, MmdsNetworkStack.fold(MmdsNetworkStack.sum(f, 34, tcpLen, pseudo)), "TCP checksum");
        int t = 34, hl = (f[t + 12] >>> 4 & 0xF) * 4;
        int mss = hl == 24 && f[t + 20] == 2 ? u16(f, t + 22) : 0;
        return new Seg(u16(f, t), u16(f, t + 2), i32(f, t + 4), i32(f, t + 8), f[t + 13] & 0x3F, u16(f, t + 14), mss,
                java.util.Arrays.copyOfRange(f, t + hl, f.length));
    }

    List<Seg> drain() {
        synchronized (received) {
            List<Seg> out = new ArrayList<>();
            for (byte[] f : received) {
                out.add(parse(f));
            }
            received.clear();
            return out;
        }
    }

    boolean send(byte[] frame) {
        return stack.interceptFromGuest(frame, 0, frame.length);
    }

    /** A guest-side connection: handshake, then in-order reassembly with an ACK per batch. */
    final class GuestConn {
        final int port;
        int sndNxt = 1000, rcvNxt;
        final ByteArrayOutputStream got = new ByteArrayOutputStream();
        boolean finSeen;

        GuestConn(int port, int mss) {
            this.port = port;
            assertTrue(send(tcp(MMDS_IP, port, 80, sndNxt, 0, SYN, 65535, mss, new byte[0])));
            List<Seg> s = drain();
            assertEquals(1, s.size());
            Seg synAck = s.get(0);
            assertEquals(SYN | ACK, synAck.flags());
            assertEquals(sndNxt + 1, synAck.ack());
            assertEquals(MmdsNetworkStack.OWN_MSS, synAck.mss());
            assertEquals(MmdsNetworkStack.RCV_BUF_BYTES, synAck.window());
            sndNxt++;
            rcvNxt = synAck.seq() + 1;
            assertTrue(send(tcp(MMDS_IP, port, 80, sndNxt, rcvNxt, ACK, 65535, 0, new byte[0])));
            assertEquals(List.of(), drain());
        }

        void write(String s) {
            byte[] d = s.getBytes(StandardCharsets.US_ASCII);
            send(tcp(MMDS_IP, port, 80, sndNxt, rcvNxt, ACK | PSH, 65535, 0, d));
            sndNxt += d.length;
        }

        /** Takes what arrived, ACKs it; returns the segments. */
        List<Seg> readAndAck() {
            List<Seg> segs = drain();
            for (Seg s : segs) {
                assertEquals(80, s.srcPort());
                assertEquals(port, s.dstPort());
                if (s.seq() == rcvNxt) {
                    got.writeBytes(s.data());
                    rcvNxt += s.data().length;
                    if ((s.flags() & FIN) != 0) {
                        finSeen = true;
                        rcvNxt++;
                    }
                }
            }
            if (!segs.isEmpty()) {
                send(tcp(MMDS_IP, port, 80, sndNxt, rcvNxt, ACK, 65535, 0, new byte[0]));
            }
            return segs;
        }

        String response(int expectedLength) {
            for (int i = 0; i < 1000 && got.size() < expectedLength; i++) {
                if (readAndAck().isEmpty()) {
                    now.addAndGet(MmdsNetworkStack.RTO_MILLIS);
                    stack.tick();
                }
            }
            String r = got.toString(StandardCharsets.UTF_8);
            got.reset();
            return r;
        }
    }

    static String expected(Mmds m, String request) {
        byte[] b = request.getBytes(StandardCharsets.US_ASCII);
        return new String(MmdsHttp.respond(m, b, 0, b.length).toBytes(), StandardCharsets.UTF_8);
    }

    static String bigMetadata() {
        StringBuilder sb = new StringBuilder("{\"latest\":{\"meta-data\":{");
        for (int i = 0; i < 300; i++) {
            sb.append(i == 0 ? "" : ",").append("\"key-").append(i).append("\":\"value-").append(i).append('"');
        }
        return sb.append("}}}").toString();
    }

    // ---- tests ----

    @Test
    void arpRequestForMmdsAddressGetsReplyFromMmdsMac() {
        assertTrue(send(arpRequest(MMDS_IP)));
        byte[] r;
        synchronized (received) {
            assertEquals(1, received.size());
            r = received.remove(0);
        }
        assertArrayEquals(GUEST_MAC, java.util.Arrays.copyOfRange(r, 0, 6));
        assertArrayEquals(MmdsNetworkStack.MAC, java.util.Arrays.copyOfRange(r, 6, 12));
        assertEquals(0x0806, u16(r, 12));
        assertEquals(2, u16(r, 20));
        assertArrayEquals(MmdsNetworkStack.MAC, java.util.Arrays.copyOfRange(r, 22, 28));
        assertEquals(MMDS_IP, i32(r, 28));
        assertArrayEquals(GUEST_MAC, java.util.Arrays.copyOfRange(r, 32, 38));
        assertEquals(GUEST_IP, i32(r, 38));
    }

    @Test
    void framesForOtherAddressesPassThrough() {
        assertFalse(send(arpRequest(0xC0A8_0001)));
        assertFalse(send(tcp(0xC0A8_0001, 1234, 80, 1, 0, SYN, 1000, 0, new byte[0])));
        byte[] ipv6 = new byte[60];
        put16(ipv6, 12, 0x86DD);
        assertFalse(send(ipv6));
        assertEquals(List.of(), drain());
    }

    @Test
    void getMetaDataOverTcpMatchesHttpResponse() {
        mmds.put(bigMetadata());
        GuestConn c = new GuestConn(40000, 536);
        String req = "GET /latest/meta-data HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n";
        c.write(req);
        String want = expected(mmds, req);
        assertTrue(want.length() > 3 * 536, "the response spans several segments");
        List<Seg> first = c.readAndAck();
        assertTrue(first.stream().allMatch(s -> s.data().length <= 536));
        String got = c.response(want.length() - c.got.size());
        assertEquals(want, got);
    }

    @Test
    void requestSplitAcrossSegmentsAndKeepAlive() {
        mmds.put("{\"a\":{\"b\":\"c\"}}");
        GuestConn c = new GuestConn(40001, 0);
        c.write("GET /a/b HT");
        c.readAndAck();
        c.write("TP/1.1\r\nAccept: application/json\r\n");
        c.readAndAck();
        c.write("\r\n");
        String want = expected(mmds, "GET /a/b HTTP/1.1\r\nAccept: application/json\r\n\r\n");
        assertEquals(want, c.response(want.length()));
        c.write("GET /a HTTP/1.1\r\n\r\n");
        String want2 = expected(mmds, "GET /a HTTP/1.1\r\n\r\n");
        assertEquals(want2, c.response(want2.length()));
    }

    @Test
    void v2TokenFlowOverTcp() {
        mmds.put("{\"x\":\"y\"}");
        mmds.setVersion(MmdsVersion.V2);
        GuestConn c = new GuestConn(40002, 1460);
        c.write("PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 21600\r\n\r\n");
        String put = c.response(150);
        assertTrue(put.startsWith("HTTP/1.1 200 \r\n"), put);
        String token = put.substring(put.indexOf("\r\n\r\n") + 4);
        c.write("GET /x HTTP/1.1\r\nX-metadata-token: " + token + "\r\n\r\n");
        assertTrue(c.response(10).endsWith("\r\n\r\ny"));
        c.write("GET /x HTTP/1.1\r\n\r\n");
        assertTrue(c.response(10).startsWith("HTTP/1.1 401 "));
    }

    @Test
    void finIsAnsweredAndConnectionEnds() {
        mmds.put("{}");
        GuestConn c = new GuestConn(40003, 0);
        assertEquals(1, stack.connectionCount());
        send(tcp(MMDS_IP, 40003, 80, c.sndNxt, c.rcvNxt, FIN | ACK, 65535, 0, new byte[0]));
        c.sndNxt++;
        List<Seg> s = drain();
        assertEquals(1, s.size());
        assertEquals(FIN | ACK, s.get(0).flags());
        assertEquals(c.sndNxt, s.get(0).ack());
        send(tcp(MMDS_IP, 40003, 80, c.sndNxt, s.get(0).seq() + 1, ACK, 65535, 0, new byte[0]));
        assertEquals(0, stack.connectionCount());
    }

    @Test
    void oversizeRequestResetsConnection() {
        GuestConn c = new GuestConn(40004, 0);
        String chunk = "X".repeat(500);
        for (int i = 0; i < 5; i++) {
            c.write(chunk);
        }
        List<Seg> s = drain();
        assertTrue(s.stream().anyMatch(x -> (x.flags() & RST) != 0), s.toString());
        assertEquals(0, stack.connectionCount());
    }

    @Test
    void otherPortAndStraySegmentsGetReset() {
        send(tcp(MMDS_IP, 40005, 8080, 77, 0, SYN, 1000, 0, new byte[0]));
        Seg r = drain().get(0);
        assertEquals(RST | ACK, r.flags());
        assertEquals(78, r.ack());
        send(tcp(MMDS_IP, 40006, 80, 5, 1234, ACK, 1000, 0, new byte[0]));
        Seg r2 = drain().get(0);
        assertEquals(RST, r2.flags());
        assertEquals(1234, r2.seq());
        send(tcp(MMDS_IP, 40006, 80, 5, 1234, RST, 1000, 0, new byte[0]));
        assertEquals(List.of(), drain());
    }

    @Test
    void refusedDeliveryIsResent() {
        mmds.put(bigMetadata());
        GuestConn c = new GuestConn(40007, 536);
        String req = "GET /latest/meta-data/ HTTP/1.1\r\n\r\n";
        String want = expected(mmds, req);
        refuse.set(3);
        c.write(req);
        assertEquals(want, c.response(want.length()));
    }

    @Test
    void timerThreadResendsRefusedFrames() throws InterruptedException {
        Mmds real = new Mmds();
        real.put("{\"k\":\"v\"}");
        List<byte[]> got = new java.util.concurrent.CopyOnWriteArrayList<>();
        AtomicInteger refusals = new AtomicInteger(1);
        try (MmdsNetworkStack s = new MmdsNetworkStack(real, "169.254.169.254")) {
            s.setGuestSink((frame, off, len) -> {
                Seg seg = parse(java.util.Arrays.copyOfRange(frame, off, off + len));
                if (seg.data().length > 0 && refusals.getAndDecrement() > 0) {
                    return false;
                }
                got.add(java.util.Arrays.copyOfRange(frame, off, off + len));
                return true;
            });
            byte[] syn = tcp(MMDS_IP, 41000, 80, 10, 0, SYN, 65535, 0, new byte[0]);
            s.interceptFromGuest(syn, 0, syn.length);
            Seg synAck = parse(got.get(0));
            byte[] req = tcp(MMDS_IP, 41000, 80, 11, synAck.seq() + 1, ACK | PSH, 65535, 0,
                    "GET /k HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            s.interceptFromGuest(req, 0, req.length);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (got.size() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertEquals(2, got.size(), "the refused response segment was resent by the timer");
            assertTrue(new String(parse(got.get(1)).data(), StandardCharsets.UTF_8).endsWith("\r\n\r\nv"));
        }
    }

    @Test
    void unacknowledgedDataIsRetransmittedAfterRto() {
        mmds.put("{\"k\":\"v\"}");
        GuestConn c = new GuestConn(40008, 0);
        c.write("GET /k HTTP/1.1\r\n\r\n");
        List<Seg> first = drain();
        assertEquals(1, first.size());
        stack.tick();
        assertEquals(List.of(), drain());          // not yet due
        now.addAndGet(MmdsNetworkStack.RTO_MILLIS);
        stack.tick();
        List<Seg> again = drain();
        assertEquals(1, again.size());
        assertEquals(first.get(0).seq(), again.get(0).seq());
        assertArrayEquals(first.get(0).data(), again.get(0).data());
    }

    @Test
    void connectionsAreBoundedAndExtraSynIsReset() {
        for (int i = 0; i < MmdsNetworkStack.MAX_CONNECTIONS; i++) {
            send(tcp(MMDS_IP, 20000 + i, 80, 1, 0, SYN, 1000, 0, new byte[0]));
        }
        drain();
        assertEquals(MmdsNetworkStack.MAX_CONNECTIONS, stack.connectionCount());
        send(tcp(MMDS_IP, 30000, 80, 1, 0, SYN, 1000, 0, new byte[0]));
        assertEquals(RST | ACK, drain().get(0).flags());
        now.addAndGet(MmdsNetworkStack.EVICTION_MILLIS + 1);
        send(tcp(MMDS_IP, 30000, 80, 1, 0, SYN, 1000, 0, new byte[0]));
        assertEquals(SYN | ACK, drain().get(0).flags());
        assertEquals(MmdsNetworkStack.MAX_CONNECTIONS, stack.connectionCount());
    }

    @Test
    void hostileFramesNeverThrow() {
        Random rnd = new Random(7);
        mmds.put("{\"a\":\"b\"}");
        for (int i = 0; i < 20_000; i++) {
            byte[] f = new byte[14 + rnd.nextInt(120)];
            rnd.nextBytes(f);
            if (rnd.nextBoolean()) {
                put16(f, 12, 0x0800);
                if (f.length >= 34) {
                    put32(f, 30, MMDS_IP);
                    f[14] = (byte) (0x40 | rnd.nextInt(16));
                    if (rnd.nextBoolean()) {
                        f[23] = 6;
                        put16(f, 20, 0);
                        if (f.length >= 38) {
                            put16(f, 36, 80);
                        }
                    }
                }
            } else if (rnd.nextInt(4) == 0 && f.length >= 42) {
                put16(f, 12, 0x0806);
                put32(f, 38, MMDS_IP);
            }
            stack.interceptFromGuest(f, 0, f.length);
            if (i % 100 == 0) {
                stack.tick();
            }
        }
        stack.interceptFromGuest(new byte[10], 0, 10);
        stack.interceptFromGuest(new byte[100], 90, 20);
        drain();   // every frame sent back parses and has valid checksums
        assertTrue(stack.connectionCount() <= MmdsNetworkStack.MAX_CONNECTIONS);
    }
}
