package dev.ember.net.user;

import static dev.ember.net.user.TestFrames.BROADCAST;
import static dev.ember.net.user.TestFrames.DNS_IP;
import static dev.ember.net.user.TestFrames.GATEWAY_IP;
import static dev.ember.net.user.TestFrames.GATEWAY_MAC;
import static dev.ember.net.user.TestFrames.GUEST_IP;
import static dev.ember.net.user.TestFrames.GUEST_MAC;
import static dev.ember.net.user.TestFrames.ICMP;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class UserNetworkTest {

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

    private void send(byte[] frame) {
        net.transmit(frame, 0, frame.length);
    }

    static byte[] arpRequest(int senderIp, int targetIp) {
        ByteBuffer b = ByteBuffer.allocate(28);
        b.putShort((short) 1).putShort((short) 0x0800).put((byte) 6).put((byte) 4).putShort((short) 1)
                .put(GUEST_MAC).putInt(senderIp).put(new byte[6]).putInt(targetIp);
        return TestFrames.ethernet(BROADCAST, GUEST_MAC, 0x0806, b.array());
    }

    // ---------------------------------------------------------------- ARP

    @Test
    void arpRequestForTheGatewayIsAnswered() {
        send(arpRequest(GUEST_IP, GATEWAY_IP));
        TestFrames.Frame reply = guest.await(f -> f.etherType() == 0x0806, "ARP reply");
        assertArrayEquals(GUEST_MAC, reply.dstMac());
        assertArrayEquals(GATEWAY_MAC, reply.srcMac());
        ByteBuffer p = ByteBuffer.wrap(reply.payload());
        assertEquals(2, p.getShort(6));
        assertArrayEquals(GATEWAY_MAC, Arrays.copyOfRange(reply.payload(), 8, 14));
        assertEquals(GATEWAY_IP, p.getInt(14));
        assertArrayEquals(GUEST_MAC, Arrays.copyOfRange(reply.payload(), 18, 24));
        assertEquals(GUEST_IP, p.getInt(24));
    }

    @Test
    void arpRequestForTheDnsAddressIsAnswered() {
        send(arpRequest(GUEST_IP, DNS_IP));
        TestFrames.Frame reply = guest.await(f -> f.etherType() == 0x0806, "ARP reply");
        assertEquals(DNS_IP, ByteBuffer.wrap(reply.payload()).getInt(14));
    }

    @Test
    void arpRequestForAnotherAddressIsIgnored() {
        send(arpRequest(GUEST_IP, TestFrames.ip(10, 0, 2, 99)));
        guest.assertNone(f -> true, 300, "frame");
    }

    // ---------------------------------------------------------------- DHCP

    static byte[] dhcp(int type, int requestedIp, int serverId, boolean broadcastFlag) {
        ByteBuffer b = ByteBuffer.allocate(300);
        b.put((byte) 1).put((byte) 1).put((byte) 6).put((byte) 0).putInt(0x12345678).putShort((short) 0)
                .putShort((short) (broadcastFlag ? 0x8000 : 0)).putInt(0).putInt(0).putInt(0).putInt(0)
                .put(GUEST_MAC).put(new byte[10]).put(new byte[192]).putInt(0x63825363);
        b.put((byte) 53).put((byte) 1).put((byte) type);
        if (requestedIp != 0) {
            b.put((byte) 50).put((byte) 4).putInt(requestedIp);
        }
        if (serverId != 0) {
            b.put((byte) 54).put((byte) 4).putInt(serverId);
        }
        b.put((byte) 55).put((byte) 4).put((byte) 1).put((byte) 3).put((byte) 6).put((byte) 15);
        b.put((byte) 255);
        byte[] frame = TestFrames.udp(0, -1, 68, 67, b.array());
        System.arraycopy(BROADCAST, 0, frame, 0, 6);
        return frame;
    }

    /** {@return the DHCP options of a reply, by code} */
    static Map<Integer, byte[]> options(byte[] bootp) {
        Map<Integer, byte[]> options = new HashMap<>();
        int p = 240;
        while (p < bootp.length && (bootp[p] & 0xFF) != 255) {
            int code = bootp[p] & 0xFF;
            if (code == 0) {
                p++;
                continue;
            }
            int len = bootp[p + 1] & 0xFF;
            options.put(code, Arrays.copyOfRange(bootp, p + 2, p + 2 + len));
            p += 2 + len;
        }
        return options;
    }

    private TestFrames.Frame awaitDhcpReply() {
        return guest.await(f -> f.isUdp() && f.dstPort() == 68, "DHCP reply");
    }

    @Test
    void discoverGetsAnOfferOfTheGuestAddress() {
        send(dhcp(1, 0, 0, false));
        TestFrames.Frame offer = awaitDhcpReply();
        assertArrayEquals(GUEST_MAC, offer.dstMac());
        assertArrayEquals(GATEWAY_MAC, offer.srcMac());
        assertEquals(GATEWAY_IP, offer.ipSrc());
        assertEquals(-1, offer.ipDst());
        assertEquals(67, offer.srcPort());
        byte[] bootp = offer.payload();
        assertTrue(bootp.length >= 300);
        ByteBuffer b = ByteBuffer.wrap(bootp);
        assertEquals(2, bootp[0]);
        assertEquals(0x12345678, b.getInt(4));
        assertEquals(GUEST_IP, b.getInt(16));
        assertArrayEquals(GUEST_MAC, Arrays.copyOfRange(bootp, 28, 34));
        Map<Integer, byte[]> options = options(bootp);
        assertArrayEquals(new byte[] {2}, options.get(53));
        assertEquals(GATEWAY_IP, ByteBuffer.wrap(options.get(54)).getInt());
        assertEquals(0xFFFFFF00, ByteBuffer.wrap(options.get(1)).getInt());
        assertEquals(GATEWAY_IP, ByteBuffer.wrap(options.get(3)).getInt());
        assertEquals(DNS_IP, ByteBuffer.wrap(options.get(6)).getInt());
        assertEquals(86400, ByteBuffer.wrap(options.get(51)).getInt());
    }

    @Test
    void requestForTheOfferedAddressIsAcknowledged() {
        send(dhcp(3, GUEST_IP, GATEWAY_IP, false));
        TestFrames.Frame ack = awaitDhcpReply();
        assertArrayEquals(new byte[] {5}, options(ack.payload()).get(53));
        assertEquals(GUEST_IP, ByteBuffer.wrap(ack.payload()).getInt(16));
    }

    @Test
    void requestForAnotherAddressIsRefused() {
        send(dhcp(3, TestFrames.ip(10, 0, 2, 50), GATEWAY_IP, false));
        TestFrames.Frame nak = awaitDhcpReply();
        assertArrayEquals(new byte[] {6}, options(nak.payload()).get(53));
        assertEquals(0, ByteBuffer.wrap(nak.payload()).getInt(16));
    }

    @Test
    void requestNamingAnotherServerIsIgnored() {
        send(dhcp(3, GUEST_IP, TestFrames.ip(10, 0, 2, 9), false));
        guest.assertNone(f -> f.isUdp(), 300, "DHCP reply");
    }

    @Test
    void broadcastFlagMakesTheReplyBroadcast() {
        send(dhcp(1, 0, 0, true));
        assertArrayEquals(BROADCAST, awaitDhcpReply().dstMac());
    }

    // ---------------------------------------------------------------- ICMP

    @Test
    void pingToTheGatewayIsAnswered() {
        byte[] echo = {8, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'i', 'n', 'g'};
        int c = TestFrames.checksum(echo, 0, echo.length, 0);
        echo[2] = (byte) (c >> 8);
        echo[3] = (byte) c;
        send(TestFrames.ipv4(ICMP, GUEST_IP, GATEWAY_IP, echo));
        TestFrames.Frame reply = guest.await(f -> f.proto() == ICMP, "echo reply");
        assertEquals(GATEWAY_IP, reply.ipSrc());
        assertEquals(GUEST_IP, reply.ipDst());
        assertEquals(0, reply.payload()[0]);
        assertArrayEquals(Arrays.copyOfRange(echo, 4, echo.length), Arrays.copyOfRange(reply.payload(), 4, echo.length));
    }

    // ---------------------------------------------------------------- hostile frames

    static Stream<Arguments> malformedFrames() {
        byte[] udp = TestFrames.udp(GUEST_IP, GATEWAY_IP, 1000, 2000, new byte[16]);
        byte[] tcp = TestFrames.tcp(GUEST_IP, GATEWAY_IP, 1000, 2000, 1, 0, TestFrames.SYN, 1000, new byte[0], new byte[0], 0, 0);
        byte[] hugeIhl = udp.clone();
        hugeIhl[14] = 0x4F;
        byte[] smallIhl = udp.clone();
        smallIhl[14] = 0x44;
        byte[] longTotal = udp.clone();
        longTotal[16] = 0x7F;
        byte[] badChecksum = udp.clone();
        badChecksum[24] ^= 0x55;
        byte[] ipv6Version = udp.clone();
        ipv6Version[14] = 0x65;
        byte[] udpTooLong = TestFrames.udp(GUEST_IP, GATEWAY_IP, 1000, 2000, new byte[16]);
        udpTooLong[14 + 20 + 4] = 0x40;
        byte[] tcpOffset = tcp.clone();
        tcpOffset[14 + 20 + 12] = (byte) 0xF0;
        return Stream.of(
                Arguments.of("IPv4 ethertype, no header", Arrays.copyOf(udp, 14)),
                Arguments.of("truncated IPv4 header", Arrays.copyOf(udp, 30)),
                Arguments.of("IHL 60 beyond the frame", Arrays.copyOf(hugeIhl, 40)),
                Arguments.of("IHL below 20", smallIhl),
                Arguments.of("total length beyond the frame", longTotal),
                Arguments.of("bad header checksum", badChecksum),
                Arguments.of("version 6 in an IPv4 ethertype", ipv6Version),
                Arguments.of("UDP length beyond the datagram", udpTooLong),
                Arguments.of("TCP data offset beyond the segment", tcpOffset),
                Arguments.of("truncated ARP", Arrays.copyOf(arpRequest(GUEST_IP, GATEWAY_IP), 30)),
                Arguments.of("unknown ethertype", TestFrames.ethernet(GATEWAY_MAC, GUEST_MAC, 0x1234, new byte[46])),
                Arguments.of("not addressed to the gateway", TestFrames.ethernet(GUEST_MAC, GUEST_MAC, 0x0800, new byte[46])));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedFrames")
    void malformedFrameIsDroppedAndCounted(String name, byte[] frame) {
        assertDoesNotThrow(() -> send(frame));
        awaitDropped(1);
        guest.assertNone(f -> f.etherType() == 0x0800, 100, "answer to a malformed frame");
        assertStillAnswers();
    }

    @Test
    void fragmentsAreDroppedAndCounted() {
        byte[] payload = new byte[24];
        byte[] packet = TestFrames.ipPacket(TestFrames.UDP, GUEST_IP, GATEWAY_IP, payload, 0x2000);
        send(TestFrames.ethernet(GATEWAY_MAC, GUEST_MAC, 0x0800, packet));
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (net.metrics().fragmentsDropped() == 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(1, net.metrics().fragmentsDropped());
    }

    @Test
    void transmitOutsideTheContractIsDroppedWithoutThrowing() {
        assertDoesNotThrow(() -> net.transmit(new byte[10], 0, 10));
        assertDoesNotThrow(() -> net.transmit(new byte[100], 90, 20));
        assertDoesNotThrow(() -> net.transmit(new byte[100], -1, 20));
        assertEquals(3, net.metrics().framesDropped());
    }

    @Test
    void randomGarbageAndMutatedFramesNeverThrow() {
        Random random = new Random(42);
        byte[][] seeds = {
                TestFrames.udp(GUEST_IP, DNS_IP, 5353, 53, TestFrames.dnsQuery(1, "localhost", 1)),
                TestFrames.tcp(GUEST_IP, GATEWAY_IP, 1000, 1, 1, 0, TestFrames.SYN, 1000, TestFrames.mssOption(1460),
                        new byte[0], 0, 0),
                dhcp(1, 0, 0, false),
                arpRequest(GUEST_IP, GATEWAY_IP)};
        for (int i = 0; i < 5000; i++) {
            byte[] frame;
            if (i % 2 == 0) {
                frame = new byte[14 + random.nextInt(200)];
                random.nextBytes(frame);
                System.arraycopy(GATEWAY_MAC, 0, frame, 0, 6);
                frame[12] = 0x08;
                frame[13] = (byte) (random.nextBoolean() ? 0x00 : 0x06);
            } else {
                frame = seeds[random.nextInt(seeds.length)].clone();
                for (int j = 1 + random.nextInt(4); j > 0; j--) {
                    frame[14 + random.nextInt(frame.length - 14)] = (byte) random.nextInt();
                }
                frame = Arrays.copyOf(frame, 14 + random.nextInt(frame.length - 13));
            }
            byte[] f = frame;
            assertDoesNotThrow(() -> send(f));
        }
        assertStillAnswers();
        assertTrue(net.metrics().framesDropped() > 1000, () -> net.metrics().toString());
    }

    private void awaitDropped(long count) {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (net.metrics().framesDropped() < count && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(count, net.metrics().framesDropped());
    }

    /** The stack still works: an ARP request for the gateway is answered. */
    private void assertStillAnswers() {
        send(arpRequest(GUEST_IP, GATEWAY_IP));
        guest.await(f -> f.etherType() == 0x0806 && ByteBuffer.wrap(f.payload()).getShort(6) == 2, "ARP reply");
    }

    // ---------------------------------------------------------------- lifecycle

    @Test
    void closeIsIdempotentAndStopsTheThread() {
        long before = stackThreads();
        net.close();
        net.close();
        assertEquals(before - 1, stackThreads());
        assertThrows(IllegalStateException.class, () -> net.start(guest));
    }

    private static long stackThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals(UserNetwork.THREAD_NAME) && t.isAlive()).count();
    }

    @Test
    void configRejectsAGuestOutsideTheNetwork() {
        UserNetworkConfig d = UserNetworkConfig.defaults();
        assertThrows(IllegalArgumentException.class, () -> new UserNetworkConfig(d.network(), 24, d.gateway(), d.dns(),
                (java.net.Inet4Address) java.net.InetAddress.ofLiteral("10.0.3.15"), d.gatewayMac(), 1500, d.hostForwards(),
                1024, 1024));
    }
}
