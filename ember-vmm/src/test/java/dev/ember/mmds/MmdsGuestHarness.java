package dev.ember.mmds;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The metadata service's guest network stack for fuzz tests in other packages: a
 * {@link MmdsNetworkStack} on a test clock (no timer thread) with some metadata, and a guest
 * that sends TCP segments to it and collects what comes back. Every frame the stack sends is
 * checked (headers, lengths, checksums) as {@link MmdsNetworkStackTest} does.
 *
 * <p>Threads: the caller's only.
 */
public final class MmdsGuestHarness implements AutoCloseable {

    public static final int SYN = MmdsNetworkStackTest.SYN, ACK = MmdsNetworkStackTest.ACK,
            FIN = MmdsNetworkStackTest.FIN, RST = MmdsNetworkStackTest.RST, PSH = MmdsNetworkStackTest.PSH;
    /** How long a connection must be idle before a SYN may evict it. */
    public static final long EVICTION_MILLIS = MmdsNetworkStack.EVICTION_MILLIS;
    public static final String METADATA = "{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-1\",\"tags\":[\"a\",\"b\"]}}}";

    private final AtomicLong now = new AtomicLong(1_000_000);
    private final Mmds mmds = new Mmds(Mmds.DEFAULT_DATA_STORE_LIMIT, now::get);
    private final MmdsNetworkStack stack = new MmdsNetworkStack(mmds, "169.254.169.254", now::get, false);
    private final List<byte[]> received = new ArrayList<>();

    /** A TCP segment the stack sent, as the guest sees it. */
    public record Segment(int guestPort, int seq, int ack, int flags, byte[] data) { }

    public MmdsGuestHarness(MmdsVersion version) {
        mmds.put(METADATA);
        mmds.setVersion(version);
        stack.setGuestSink((frame, off, len) -> received.add(java.util.Arrays.copyOfRange(frame, off, off + len)));
    }

    /** {@return the service behind the stack} */
    public Mmds mmds() {
        return mmds;
    }

    /**
     * Sends one TCP segment from the guest to port 80 of the MMDS address.
     *
     * @throws AssertionError if the stack did not take it as its own
     */
    public void send(int guestPort, int seq, int ack, int flags, int window, int mss, byte[] data) {
        byte[] frame = MmdsNetworkStackTest.tcp(MmdsNetworkStackTest.MMDS_IP, guestPort, MmdsNetworkStack.PORT,
                seq, ack, flags, window, mss, data);
        if (!stack.interceptFromGuest(frame, 0, frame.length)) {
            throw new AssertionError("the stack passed on a TCP segment for its own address");
        }
    }

    /** {@return every segment sent to the guest since the last call, each checked} */
    public List<Segment> takeReceived() {
        List<Segment> out = new ArrayList<>();
        for (byte[] f : received) {
            MmdsNetworkStackTest.Seg s = MmdsNetworkStackTest.parse(f);
            out.add(new Segment(s.dstPort(), s.seq(), s.ack(), s.flags(), s.data()));
        }
        received.clear();
        return out;
    }

    /** Moves the clock on and runs the retransmission timer. */
    public void advance(long millis) {
        now.addAndGet(millis);
        stack.tick();
    }

    /** {@return the stack's counters} */
    public MmdsNetworkStack.Metrics metrics() {
        return stack.metrics();
    }

    /** {@return how many connections are open} */
    public int connectionCount() {
        return stack.connectionCount();
    }

    /**
     * Opens a fresh connection from {@code guestPort}, sends {@code request} in one segment and
     * collects the response, acknowledging as it arrives.
     *
     * @return the response bytes as text, or "" if the handshake was not answered
     */
    public String exchange(int guestPort, String request) {
        takeReceived();
        int iss = 7000;
        send(guestPort, iss, 0, SYN, 65535, 1460, new byte[0]);
        Segment synAck = null;
        for (Segment s : takeReceived()) {
            if (s.guestPort() == guestPort && s.flags() == (SYN | ACK)) {
                synAck = s;
            }
        }
        if (synAck == null) {
            return "";
        }
        int rcvNxt = synAck.seq() + 1;
        byte[] d = request.getBytes(StandardCharsets.US_ASCII);
        send(guestPort, iss + 1, rcvNxt, ACK | PSH, 65535, 0, d);
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        for (int round = 0; round < 100; round++) {
            List<Segment> segs = takeReceived();
            if (segs.isEmpty()) {
                break;
            }
            for (Segment s : segs) {
                if (s.guestPort() == guestPort && s.seq() == rcvNxt) {
                    got.writeBytes(s.data());
                    rcvNxt += s.data().length;
                }
            }
            send(guestPort, iss + 1 + d.length, rcvNxt, ACK, 65535, 0, new byte[0]);
        }
        send(guestPort, iss + 1 + d.length, rcvNxt, RST, 0, 0, new byte[0]);
        takeReceived();
        return got.toString(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        stack.close();
    }
}
