package dev.ember.net.user;

import static dev.ember.net.user.TestFrames.GATEWAY_IP;
import static dev.ember.net.user.TestFrames.GUEST_IP;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class UdpNatTest {

    private UserNetwork net;
    private FakeGuest guest;
    private DatagramSocket echo;

    @BeforeEach
    void setUp() throws Exception {
        net = new UserNetwork(UserNetworkConfig.defaults());
        guest = new FakeGuest();
        net.start(guest);
        echo = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        Thread.ofPlatform().daemon(true).start(() -> {
            byte[] buf = new byte[65536];
            try {
                while (true) {
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    echo.receive(p);
                    echo.send(new DatagramPacket(p.getData(), p.getLength(), p.getSocketAddress()));
                }
            } catch (SocketException e) {
                // Closed by tearDown.
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    @AfterEach
    void tearDown() {
        echo.close();
        net.close();
    }

    private void send(int srcPort, byte[] data) {
        byte[] frame = TestFrames.udp(GUEST_IP, GATEWAY_IP, srcPort, echo.getLocalPort(), data);
        net.transmit(frame, 0, frame.length);
    }

    @Test
    void datagramToTheGatewayIsEchoedFromTheGateway() {
        send(5000, "hello udp".getBytes());
        TestFrames.Frame reply = guest.await(f -> f.isUdp() && f.dstPort() == 5000, "echo");
        assertEquals(GATEWAY_IP, reply.ipSrc());
        assertEquals(GUEST_IP, reply.ipDst());
        assertEquals(echo.getLocalPort(), reply.srcPort());
        assertArrayEquals("hello udp".getBytes(), reply.payload());
        assertEquals(1, net.metrics().udpFlows());
    }

    @Test
    void eachGuestSourcePortGetsItsOwnFlow() {
        send(5001, new byte[] {1});
        send(5002, new byte[] {2});
        // The two echoes may come back in either order, and await discards what it does not
        // match, so wait for both with one predicate.
        java.util.Set<Integer> echoed = new java.util.HashSet<>();
        while (echoed.size() < 2) {
            TestFrames.Frame f = guest.await(x -> x.isUdp() && (x.dstPort() == 5001 || x.dstPort() == 5002)
                    && !echoed.contains(x.dstPort()), "echoes to 5001 and 5002");
            echoed.add(f.dstPort());
        }
        assertEquals(2, net.metrics().udpFlows());
    }

    private static int ipIdentification(TestFrames.Frame f) {
        return (f.raw()[14 + 4] & 0xFF) << 8 | (f.raw()[14 + 5] & 0xFF);
    }

    @Test
    void replyLargerThanTheMtuIsFragmented() {
        byte[] data = TcpNatTest.pattern(4000, 9);
        send(5003, data);
        List<TestFrames.Frame> fragments = new ArrayList<>();
        int total = 0;
        while (total < 8 + data.length) {
            TestFrames.Frame f = guest.await(x -> x.proto() == TestFrames.UDP && x.ipDst() == GUEST_IP, "fragment");
            fragments.add(f);
            total += f.payload().length;
            assertEquals(true, f.raw().length <= 1514, "fragment fits the MTU");
        }
        fragments.sort(Comparator.comparingInt(f -> f.fragField() & 0x1FFF));
        ByteArrayOutputStream whole = new ByteArrayOutputStream();
        for (TestFrames.Frame f : fragments) {
            assertEquals(whole.size(), (f.fragField() & 0x1FFF) * 8);
            whole.writeBytes(f.payload());
        }
        assertEquals(0, fragments.getLast().fragField() & 0x2000);
        // The guest reassembles by identification: every fragment of one datagram carries the same.
        for (TestFrames.Frame f : fragments) {
            assertEquals(ipIdentification(fragments.getFirst()), ipIdentification(f));
        }
        byte[] udp = whole.toByteArray();
        int source = GATEWAY_IP;
        assertEquals(0, TestFrames.checksum(udp, 0, udp.length, TestFrames.pseudo(source, GUEST_IP, TestFrames.UDP, udp.length)));
        assertArrayEquals(data, java.util.Arrays.copyOfRange(udp, 8, udp.length));
    }

    @Test
    void datagramToAnotherAddressOfTheVirtualNetworkIsDropped() {
        byte[] frame = TestFrames.udp(GUEST_IP, TestFrames.ip(10, 0, 2, 77), 5004, 7, new byte[4]);
        net.transmit(frame, 0, frame.length);
        guest.assertNone(f -> f.isUdp(), 300, "reply");
        assertEquals(0, net.metrics().udpFlows());
    }
}
