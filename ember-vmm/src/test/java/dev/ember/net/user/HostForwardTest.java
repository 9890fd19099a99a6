package dev.ember.net.user;

import static dev.ember.net.user.TestFrames.ACK;
import static dev.ember.net.user.TestFrames.GATEWAY_IP;
import static dev.ember.net.user.TestFrames.GUEST_IP;
import static dev.ember.net.user.TestFrames.RST;
import static dev.ember.net.user.TestFrames.SYN;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HostForwardTest {

    private UserNetwork net;
    private final FakeGuest guest = new FakeGuest();

    @AfterEach
    void tearDown() {
        if (net != null) {
            net.close();
        }
    }

    private int startForwarding(int guestPort) {
        net = new UserNetwork(UserNetworkConfig.defaults().withHostForwards(List.of(HostForward.tcp(0, guestPort))));
        net.start(guest);
        return net.boundHostPorts().getFirst();
    }

    /** The guest announces itself, as any frame from its address does. */
    private void guestHasAddress() {
        byte[] arp = UserNetworkTest.arpRequest(GUEST_IP, GATEWAY_IP);
        net.transmit(arp, 0, arp.length);
        guest.await(f -> f.etherType() == 0x0806, "ARP reply");
    }

    private static boolean isSynTo(TestFrames.Frame f, int port) {
        return f.isTcp() && f.has(SYN) && f.dstPort() == port && f.ipDst() == GUEST_IP;
    }

    @Test
    void hostClientReachesTheGuestAndDataFlowsBothWays() throws Exception {
        int hostPort = startForwarding(80);
        guestHasAddress();
        byte[] fromClient = TcpNatTest.pattern(300_000, 11);
        byte[] fromGuest = TcpNatTest.pattern(250_000, 12);
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), hostPort)) {
            CompletableFuture<byte[]> clientReceived = CompletableFuture.supplyAsync(() -> {
                try {
                    InputStream in = client.getInputStream();
                    return in.readAllBytes();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            Thread.ofPlatform().daemon(true).start(() -> {
                try {
                    client.getOutputStream().write(fromClient);
                    client.shutdownOutput();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            TestFrames.Frame syn = guest.await(f -> isSynTo(f, 80), "SYN to the guest");
            assertEquals(GATEWAY_IP, syn.ipSrc());
            assertEquals(SYN, syn.flags());
            assertEquals(1460, syn.mssOption());
            GuestTcp tcp = new GuestTcp(net, guest, 80, GATEWAY_IP, syn.srcPort(), 65535, 1460);
            tcp.acceptSyn(syn, 7000);
            tcp.write(fromGuest);
            tcp.close();
            tcp.runUntil(() -> tcp.finReceived && tcp.allSentAcked(), 30_000);
            assertArrayEquals(fromClient, tcp.received.toByteArray());
            assertArrayEquals(fromGuest, clientReceived.get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void guestRefusalClosesTheHostClient() throws Exception {
        int hostPort = startForwarding(81);
        guestHasAddress();
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), hostPort)) {
            client.setSoTimeout(10_000);
            TestFrames.Frame syn = guest.await(f -> isSynTo(f, 81), "SYN to the guest");
            byte[] rst = TestFrames.tcp(GUEST_IP, GATEWAY_IP, 81, syn.srcPort(), 0, syn.seq() + 1, RST | ACK, 0,
                    new byte[0], new byte[0], 0, 0);
            net.transmit(rst, 0, rst.length);
            assertClosed(client);
        }
        assertEquals(0, net.metrics().tcpFlows());
    }

    @Test
    void clientIsClosedWhileTheGuestHasNoAddress() throws Exception {
        int hostPort = startForwarding(82);
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), hostPort)) {
            client.setSoTimeout(10_000);
            assertClosed(client);
        }
        guest.assertNone(f -> f.isTcp(), 100, "SYN to a guest without an address");
    }

    private static void assertClosed(Socket client) {
        try {
            assertEquals(-1, client.getInputStream().read());
        } catch (IOException e) {
            assertTrue(e.getMessage() != null && e.getMessage().contains("reset"), e::toString);
        }
    }

    @Test
    void portAlreadyInUseIsAOneLineError() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            HostForwardException e = assertThrows(HostForwardException.class, () -> new UserNetwork(
                    UserNetworkConfig.defaults().withHostForwards(List.of(HostForward.tcp(port, 80)))));
            assertEquals("host port " + port + " for forwarding to guest port 80 is already in use", e.getMessage());
            assertEquals(port, e.rule().hostPort());
        }
    }

    @Test
    void failedBindReleasesEarlierRules() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int free = probe.getLocalPort();
            probe.close();
            assertThrows(HostForwardException.class, () -> new UserNetwork(UserNetworkConfig.defaults()
                    .withHostForwards(List.of(HostForward.tcp(free, 22), HostForward.tcp(taken.getLocalPort(), 80)))));
            try (ServerSocket again = new ServerSocket(free, 1, InetAddress.getLoopbackAddress())) {
                assertEquals(free, again.getLocalPort());
            }
        }
    }

    @Test
    void parseReadsQemuSyntax() {
        assertEquals(new HostForward(HostForward.Protocol.TCP, InetAddress.getLoopbackAddress(), 8080, 80),
                HostForward.parse("tcp::8080-:80"));
        assertEquals(new HostForward(HostForward.Protocol.UDP, InetAddress.ofLiteral("0.0.0.0"), 5353, 53),
                HostForward.parse("udp:0.0.0.0:5353-:53"));
        assertEquals(HostForward.tcp(2222, 22), HostForward.parse(":2222-:22"));
    }

    @Test
    void parseRejectsMalformedRules() {
        for (String rule : List.of("tcp:8080:80", "tcp::http-:80", "tcp::8080-10.0.2.15:80", "tcp::80-:0",
                "tcp:host.example:80-:80", "tcp::70000-:80")) {
            assertThrows(IllegalArgumentException.class, () -> HostForward.parse(rule), rule);
        }
    }
}
