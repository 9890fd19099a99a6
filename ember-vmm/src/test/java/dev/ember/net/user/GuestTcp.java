package dev.ember.net.user;

import static dev.ember.net.user.TestFrames.ACK;
import static dev.ember.net.user.TestFrames.FIN;
import static dev.ember.net.user.TestFrames.GUEST_IP;
import static dev.ember.net.user.TestFrames.PSH;
import static dev.ember.net.user.TestFrames.RST;
import static dev.ember.net.user.TestFrames.SYN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A deliberately plain TCP endpoint playing the guest's side of one connection through a
 * {@link UserNetwork}: it sends its data in MSS-sized segments up to the stack's window,
 * accepts only in-order data, acknowledges every segment, and checks on every segment the
 * stack sends that it fits the MSS and the window this endpoint advertised.
 */
final class GuestTcp {

    private final UserNetwork net;
    private final FakeGuest guest;
    final int localPort;
    final int remoteIp;
    int remotePort;
    private final int receiveWindow;
    private final int mss;

    private int sndUna;
    private int sndNxt;
    private int rcvNxt;
    private int rightEdge;
    private int peerWindow;
    private int peerMss = 536;
    private byte[] toSend = new byte[0];
    private int iss;
    private boolean closeRequested;
    private boolean finSent;
    private long lastProgress;

    final ByteArrayOutputStream received = new ByteArrayOutputStream();
    boolean finReceived;
    boolean reset;
    boolean sawZeroWindow;
    int dropEvery;
    private int dataSegments;
    int largestSegment;

    GuestTcp(UserNetwork net, FakeGuest guest, int localPort, int remoteIp, int remotePort, int receiveWindow, int mss) {
        this.net = net;
        this.guest = guest;
        this.localPort = localPort;
        this.remoteIp = remoteIp;
        this.remotePort = remotePort;
        this.receiveWindow = receiveWindow;
        this.mss = mss;
    }

    private void send(int seq, int flags, byte[] options, byte[] data, int off, int len) {
        byte[] frame = TestFrames.tcp(GUEST_IP, remoteIp, localPort, remotePort, seq, rcvNxt, flags,
                receiveWindow, options, data, off, len);
        net.transmit(frame, 0, frame.length);
        if ((flags & ACK) != 0) {
            rightEdge = rcvNxt + receiveWindow;
        }
    }

    /** Sends the SYN of an outgoing connection; {@link #awaitSynAck} completes it. */
    void sendSyn(int initialSeq) {
        iss = initialSeq;
        send(iss, SYN, TestFrames.mssOption(mss), new byte[0], 0, 0);
        sndUna = iss + 1;
        sndNxt = iss + 1;
    }

    /** Waits for the stack's SYN-ACK and acknowledges it. */
    TestFrames.Frame awaitSynAck() {
        TestFrames.Frame synAck = guest.await(f -> mine(f) && (f.has(SYN) || f.has(RST)), "SYN-ACK");
        assertTrue(synAck.has(SYN) && synAck.has(ACK), () -> "expected SYN-ACK, got flags " + synAck.flags());
        assertEquals(iss + 1, synAck.ack());
        established(synAck);
        send(sndNxt, ACK, new byte[0], new byte[0], 0, 0);
        return synAck;
    }

    /** Answers the stack's SYN of a forwarded connection with a SYN-ACK. */
    void acceptSyn(TestFrames.Frame syn, int initialSeq) {
        iss = initialSeq;
        remotePort = syn.srcPort();
        established(syn);
        send(iss, SYN | ACK, TestFrames.mssOption(mss), new byte[0], 0, 0);
        sndUna = iss + 1;
        sndNxt = iss + 1;
    }

    private void established(TestFrames.Frame syn) {
        rcvNxt = syn.seq() + 1;
        peerWindow = syn.window();
        int option = syn.mssOption();
        peerMss = option > 0 ? option : 536;
        lastProgress = System.nanoTime();
    }

    boolean mine(TestFrames.Frame f) {
        return f.isTcp() && f.dstPort() == localPort && f.srcPort() == remotePort && f.ipSrc() == remoteIp;
    }

    void write(byte[] data) {
        byte[] joined = new byte[toSend.length + data.length];
        System.arraycopy(toSend, 0, joined, 0, toSend.length);
        System.arraycopy(data, 0, joined, toSend.length, data.length);
        toSend = joined;
    }

    void close() {
        closeRequested = true;
    }

    boolean allSentAcked() {
        return (finSent || !closeRequested) && sndUna == iss + 1 + toSend.length + (finSent ? 1 : 0);
    }

    /** Runs this endpoint until {@code done} holds; fails after the timeout. */
    void runUntil(BooleanSupplier done, long timeoutMillis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail("connection did not finish: received " + received.size() + " bytes, sent and acked "
                        + (sndUna - iss - 1) + " of " + toSend.length + ", finReceived=" + finReceived + ", reset=" + reset);
            }
            pushData();
            TestFrames.Frame f = guest.poll(2);
            if (f != null && mine(f)) {
                handle(f);
            }
            if (System.nanoTime() - lastProgress > TimeUnit.MILLISECONDS.toNanos(300) && sndNxt != sndUna) {
                sndNxt = sndUna;      // our own go-back-N retransmission
                lastProgress = System.nanoTime();
            }
        }
    }

    private void pushData() {
        int sent = sndNxt - (iss + 1);
        while (sent < toSend.length) {
            int inFlight = sndNxt - sndUna;
            int n = Math.min(Math.min(peerMss, toSend.length - sent), peerWindow - inFlight);
            if (n <= 0) {
                return;
            }
            send(sndNxt, ACK | PSH, new byte[0], toSend, sent, n);
            sndNxt += n;
            sent += n;
        }
        if (closeRequested && !finSent && sndUna == iss + 1 + toSend.length) {
            send(sndNxt, FIN | ACK, new byte[0], new byte[0], 0, 0);
            sndNxt++;
            finSent = true;
        }
    }

    private void handle(TestFrames.Frame f) {
        if (f.has(RST)) {
            reset = true;
            return;
        }
        if (f.has(ACK) && f.ack() - sndUna > 0 && f.ack() - sndNxt <= 0) {
            sndUna = f.ack();
            lastProgress = System.nanoTime();
        }
        if (f.has(ACK)) {
            peerWindow = f.window();
            sawZeroWindow |= peerWindow == 0;
        }
        int len = f.payload().length;
        if (len > 0) {
            assertTrue(len <= mss, () -> "segment of " + len + " bytes exceeds the guest's MSS " + mss);
            assertTrue(f.seq() + len - rightEdge <= 0,
                    () -> "segment ends " + (f.seq() + len - rightEdge) + " bytes beyond the advertised window");
            largestSegment = Math.max(largestSegment, len);
            if (f.seq() == rcvNxt && (dropEvery == 0 || ++dataSegments % dropEvery != 0)) {
                received.write(f.payload(), 0, len);
                rcvNxt += len;
                lastProgress = System.nanoTime();
            }
        }
        if (f.has(FIN) && f.seq() + len == rcvNxt) {
            rcvNxt++;
            finReceived = true;
        }
        if (len > 0 || f.has(FIN)) {
            send(sndNxt, ACK, new byte[0], new byte[0], 0, 0);
        }
    }
}
