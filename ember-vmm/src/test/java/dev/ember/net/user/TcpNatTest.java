package dev.ember.net.user;

import static dev.ember.net.user.TestFrames.ACK;
import static dev.ember.net.user.TestFrames.GATEWAY_IP;
import static dev.ember.net.user.TestFrames.GUEST_IP;
import static dev.ember.net.user.TestFrames.RST;
import static dev.ember.net.user.TestFrames.SYN;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TcpNatTest {

    private UserNetwork net;
    private FakeGuest guest;

    @BeforeEach
    void setUp() {
        net = new UserNetwork(UserNetworkConfig.defaults());
        guest = new FakeGuest();
        net.start(guest);
    }

    @AfterEach
    void tearDown() {
        net.close();
    }

    static byte[] pattern(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** A host server on 127.0.0.1 that sends {@code toSend}, closes its output, and collects what it reads. */
    static final class HostPeer implements AutoCloseable {
        final ServerSocket server;
        final CompletableFuture<byte[]> received = new CompletableFuture<>();
        final CountDownLatch startReading = new CountDownLatch(1);
        volatile Socket socket;

        HostPeer(byte[] toSend, int receiveBuffer, boolean readAtOnce) throws IOException {
            server = new ServerSocket();
            if (receiveBuffer > 0) {
                server.setReceiveBufferSize(receiveBuffer);
            }
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            if (readAtOnce) {
                startReading.countDown();
            }
            Thread.ofPlatform().daemon(true).start(() -> {
                try {
                    Socket s = server.accept();
                    socket = s;
                    Thread.ofPlatform().daemon(true).start(() -> {
                        try {
                            s.getOutputStream().write(toSend);
                            s.shutdownOutput();
                        } catch (IOException e) {
                            received.completeExceptionally(e);
                        }
                    });
                    startReading.await();
                    InputStream in = s.getInputStream();
                    received.complete(in.readAllBytes());
                } catch (IOException | InterruptedException e) {
                    received.completeExceptionally(e);
                }
            });
        }

        int port() {
            return server.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            server.close();
            Socket s = socket;
            if (s != null) {
                s.close();
            }
        }
    }

    private void transferBothWays(int download, int upload, int window, int mss) throws Exception {
        byte[] fromHost = pattern(download, 1);
        byte[] fromGuest = pattern(upload, 2);
        try (HostPeer peer = new HostPeer(fromHost, 0, true)) {
            GuestTcp tcp = new GuestTcp(net, guest, 40000, GATEWAY_IP, peer.port(), window, mss);
            tcp.sendSyn(1000);
            tcp.awaitSynAck();
            tcp.write(fromGuest);
            tcp.close();
            tcp.runUntil(() -> tcp.finReceived && tcp.allSentAcked(), 30_000);
            assertArrayEquals(fromHost, tcp.received.toByteArray());
            assertArrayEquals(fromGuest, peer.received.get(10, TimeUnit.SECONDS));
            assertEquals(Math.min(mss, 1460), tcp.largestSegment);
        }
    }

    @Test
    void bulkDataFlowsBothWaysThroughTheGateway() throws Exception {
        transferBothWays(600_000, 400_000, 65535, 1460);
    }

    @Test
    void smallGuestWindowAndMssAreRespected() throws Exception {
        transferBothWays(100_000, 50_000, 1000, 536);
    }

    @Test
    void segmentsTheGuestRefusedAreSentAgain() throws Exception {
        guest.refuseEvery = 3;
        transferBothWays(200_000, 20_000, 65535, 1460);
        assertTrue(guest.refused.get() > 0);
        assertTrue(net.metrics().deliveryRefused() > 0);
    }

    @Test
    void segmentsTheGuestDroppedAreRetransmitted() throws Exception {
        byte[] fromHost = pattern(200_000, 3);
        try (HostPeer peer = new HostPeer(fromHost, 0, true)) {
            GuestTcp tcp = new GuestTcp(net, guest, 40001, GATEWAY_IP, peer.port(), 65535, 1460);
            tcp.dropEvery = 7;
            tcp.sendSyn(5);
            tcp.awaitSynAck();
            tcp.close();
            tcp.runUntil(() -> tcp.finReceived && tcp.allSentAcked(), 30_000);
            assertArrayEquals(fromHost, tcp.received.toByteArray());
        }
    }

    @Test
    void slowHostPeerClosesTheGuestWindowWithoutLosingData() throws Exception {
        byte[] fromGuest = pattern(8_000_000, 4);
        try (HostPeer peer = new HostPeer(new byte[0], 4096, false)) {
            GuestTcp tcp = new GuestTcp(net, guest, 40002, GATEWAY_IP, peer.port(), 65535, 1460);
            tcp.sendSyn(77);
            tcp.awaitSynAck();
            tcp.write(fromGuest);
            tcp.close();
            tcp.runUntil(() -> tcp.sawZeroWindow, 30_000);
            peer.startReading.countDown();
            tcp.runUntil(() -> tcp.finReceived && tcp.allSentAcked(), 30_000);
            assertArrayEquals(fromGuest, peer.received.get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void synToAClosedHostPortIsAnsweredWithReset() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        GuestTcp tcp = new GuestTcp(net, guest, 40003, GATEWAY_IP, port, 65535, 1460);
        tcp.sendSyn(123);
        TestFrames.Frame rst = guest.await(tcp::mine, "answer to SYN");
        assertTrue(rst.has(RST) && rst.has(ACK), () -> "flags " + rst.flags());
        assertEquals(124, rst.ack());
        // The stack sends the RST and then forgets the flow, on its own thread.
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (net.metrics().tcpFlows() != 0 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(0, net.metrics().tcpFlows());
    }

    @Test
    void synToAnotherAddressOfTheVirtualNetworkIsReset() {
        GuestTcp tcp = new GuestTcp(net, guest, 40004, TestFrames.ip(10, 0, 2, 77), 80, 65535, 1460);
        tcp.sendSyn(9);
        TestFrames.Frame rst = guest.await(tcp::mine, "answer to SYN");
        assertTrue(rst.has(RST), () -> "flags " + rst.flags());
    }

    @Test
    void guestResetClosesTheHostConnection() throws Exception {
        try (HostPeer peer = new HostPeer(new byte[0], 0, true)) {
            GuestTcp tcp = new GuestTcp(net, guest, 40005, GATEWAY_IP, peer.port(), 65535, 1460);
            tcp.sendSyn(500);
            TestFrames.Frame synAck = tcp.awaitSynAck();
            byte[] rst = TestFrames.tcp(GUEST_IP, GATEWAY_IP, 40005, peer.port(), 501, synAck.seq() + 1, RST | ACK,
                    0, new byte[0], new byte[0], 0, 0);
            net.transmit(rst, 0, rst.length);
            try {
                byte[] got = peer.received.get(10, TimeUnit.SECONDS);
                assertEquals(0, got.length);
            } catch (java.util.concurrent.ExecutionException e) {
                assertTrue(e.getCause() instanceof IOException, e::toString);
            }
        }
    }

    @Test
    void segmentForNoConnectionIsAnsweredWithReset() {
        byte[] stray = TestFrames.tcp(GUEST_IP, GATEWAY_IP, 40006, 9, 10, 20, ACK, 1000, new byte[0], new byte[5], 0, 5);
        net.transmit(stray, 0, stray.length);
        TestFrames.Frame rst = guest.await(f -> f.isTcp() && f.dstPort() == 40006, "RST");
        assertEquals(RST, rst.flags());
        assertEquals(20, rst.seq());
    }

    @Test
    void synAckAdvertisesMssAndNoScalingUnlessOffered() throws Exception {
        try (HostPeer peer = new HostPeer(new byte[0], 0, true)) {
            GuestTcp tcp = new GuestTcp(net, guest, 40007, GATEWAY_IP, peer.port(), 65535, 1460);
            tcp.sendSyn(1);
            TestFrames.Frame synAck = tcp.awaitSynAck();
            assertEquals(SYN | ACK, synAck.flags());
            assertEquals(1460, synAck.mssOption());
            assertEquals(4, synAck.tcpOptions().length);
            assertEquals(1, net.metrics().tcpFlows());
        }
    }

    @Test
    void scaledGuestWindowIsFilledWithoutWaitingForAcks() throws Exception {
        try (HostPeer peer = new HostPeer(pattern(200_000, 5), 0, true)) {
            byte[] synOptions = {2, 4, 0x05, (byte) 0xB4, 1, 3, 3, 2};     // MSS 1460, NOP, window shift 2
            byte[] syn = TestFrames.tcp(GUEST_IP, GATEWAY_IP, 40008, peer.port(), 100, 0, SYN, 65535, synOptions,
                    new byte[0], 0, 0);
            net.transmit(syn, 0, syn.length);
            TestFrames.Frame synAck = guest.await(f -> f.isTcp() && f.dstPort() == 40008, "SYN-ACK");
            assertEquals(SYN | ACK, synAck.flags());
            assertEquals(8, synAck.tcpOptions().length, "MSS and window scale options");
            assertEquals(3, synAck.tcpOptions()[5]);
            byte[] ack = TestFrames.tcp(GUEST_IP, GATEWAY_IP, 40008, peer.port(), 101, synAck.seq() + 1, ACK, 10_000,
                    new byte[0], new byte[0], 0, 0);
            net.transmit(ack, 0, ack.length);
            int bytes = 0;
            int segments = 0;
            TestFrames.Frame f;
            while ((f = guest.poll(200)) != null) {      // silence well before the 500 ms retransmission
                if (f.isTcp() && f.dstPort() == 40008 && f.payload().length > 0) {
                    assertEquals(synAck.seq() + 1 + bytes, f.seq());
                    bytes += f.payload().length;
                    segments++;
                }
            }
            // 10,000 << 2 bytes of window; the last partial segment waits for the window to open.
            assertEquals(40_000 / 1460 * 1460, bytes);
            assertEquals(40_000 / 1460, segments);
        }
    }
}
