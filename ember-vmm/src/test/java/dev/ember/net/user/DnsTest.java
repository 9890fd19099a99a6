package dev.ember.net.user;

import static dev.ember.net.user.TestFrames.DNS_IP;
import static dev.ember.net.user.TestFrames.GUEST_IP;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.Arrays;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class DnsTest {

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

    private ByteBuffer ask(byte[] query) {
        byte[] frame = TestFrames.udp(GUEST_IP, DNS_IP, 40053, 53, query);
        net.transmit(frame, 0, frame.length);
        TestFrames.Frame reply = guest.await(f -> f.isUdp() && f.dstPort() == 40053, "DNS answer");
        assertEquals(DNS_IP, reply.ipSrc());
        assertEquals(53, reply.srcPort());
        return ByteBuffer.wrap(reply.payload());
    }

    private static int rcode(ByteBuffer answer) {
        return answer.getShort(2) & 0xF;
    }

    @Test
    void localhostResolvesToLoopback() {
        byte[] query = TestFrames.dnsQuery(0x4242, "localhost", 1);
        ByteBuffer a = ask(query);
        assertEquals(0x4242, a.getShort(0) & 0xFFFF);
        assertEquals(0x8180, a.getShort(2) & 0xFFFF);        // QR, RD echoed, RA, NOERROR
        assertEquals(1, a.getShort(4));
        assertEquals(1, a.getShort(6));
        int answer = query.length;
        assertArrayEquals(Arrays.copyOfRange(query, 12, query.length), Arrays.copyOfRange(a.array(), 12, answer));
        assertEquals(0xC00C, a.getShort(answer) & 0xFFFF);
        assertEquals(1, a.getShort(answer + 2));
        assertEquals(1, a.getShort(answer + 4));
        assertEquals(4, a.getShort(answer + 10));
        assertArrayEquals(new byte[] {127, 0, 0, 1}, Arrays.copyOfRange(a.array(), answer + 12, answer + 16));
        assertEquals(1, net.metrics().dnsQueries());
    }

    @Test
    void nameThatIsNoHostNameIsNxdomain() {
        assertEquals(3, rcode(ask(TestFrames.dnsQuery(7, "bad!name.example", 1))));
    }

    @Test
    void twoQuestionsAreFormerr() {
        byte[] query = TestFrames.dnsQuery(7, "localhost", 1);
        query[5] = 2;
        assertEquals(1, rcode(ask(query)));
    }

    @Test
    void otherOpcodeIsNotimp() {
        byte[] query = TestFrames.dnsQuery(7, "localhost", 1);
        query[2] = 0x28;                                     // opcode 5, UPDATE
        assertEquals(4, rcode(ask(query)));
    }

    @Test
    void compressionPointerLoopIsFormerr() {
        // The name is a pointer to itself.
        byte[] query = {0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, (byte) 0xC0, 12, 0, 1, 0, 1};
        assertEquals(1, rcode(ask(query)));
    }

    @Test
    void forwardCompressionPointerIsRejected() {
        byte[] query = {0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, (byte) 0xC0, 14, 1, 'a', 0, 0, 1, 0, 1};
        assertInstanceOf(byte[].class, DnsQuery.parse(query, 0, query.length));
    }

    @Test
    void pointerBackToTheNameItselfIsRejected() {
        byte[] query = {0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'x', (byte) 0xC0, 12, 0, 1, 0, 1};
        assertInstanceOf(byte[].class, DnsQuery.parse(query, 0, query.length));
    }

    @Test
    void backwardPointerIsFollowed() {
        // Label "x", then a pointer to offset 11, the zero low byte of ARCOUNT: the name is "x".
        byte[] query = {0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'x', (byte) 0xC0, 11, 0, 1, 0, 1};
        DnsQuery q = assertInstanceOf(DnsQuery.class, DnsQuery.parse(query, 0, query.length));
        assertEquals("x", q.name());
        assertEquals(1, q.qtype());
    }

    @Test
    void nameLongerThan255BytesIsFormerr() {
        StringBuilder name = new StringBuilder();
        for (int i = 0; i < 5; i++) {
            name.append("a".repeat(60)).append('.');
        }
        name.append("com");
        assertEquals(1, rcode(ask(TestFrames.dnsQuery(7, name.toString(), 1))));
    }

    @Test
    void truncatedQuestionIsFormerr() {
        byte[] query = TestFrames.dnsQuery(7, "localhost", 1);
        assertEquals(1, rcode(ask(Arrays.copyOf(query, query.length - 3))));
    }

    @Test
    void responsesAndShortMessagesAreIgnored() {
        assertNull(DnsQuery.parse(new byte[11], 0, 11));
        byte[] response = TestFrames.dnsQuery(7, "localhost", 1);
        response[2] |= (byte) 0x80;
        assertNull(DnsQuery.parse(response, 0, response.length));
    }

    @Test
    void aaaaAnswerCarriesOnlyIpv6Addresses() throws Exception {
        DnsQuery q = (DnsQuery) DnsQuery.parse(TestFrames.dnsQuery(1, "host", 28), 0, TestFrames.dnsQuery(1, "host", 28).length);
        byte[] answer = q.answer(new InetAddress[] {InetAddress.ofLiteral("192.0.2.1"), InetAddress.ofLiteral("2001:db8::1")});
        ByteBuffer a = ByteBuffer.wrap(answer);
        assertEquals(1, a.getShort(6));
        assertEquals(16, a.getShort(answer.length - 18));
        assertArrayEquals(InetAddress.ofLiteral("2001:db8::1").getAddress(), Arrays.copyOfRange(answer, answer.length - 16, answer.length));
    }

    @Test
    void knownNameWithNoAddressOfTheTypeIsAnEmptyAnswer() {
        byte[] query = TestFrames.dnsQuery(1, "host", 15);
        DnsQuery q = (DnsQuery) DnsQuery.parse(query, 0, query.length);
        ByteBuffer a = ByteBuffer.wrap(q.answer(new InetAddress[] {InetAddress.ofLiteral("192.0.2.1")}));
        assertEquals(0, rcode(a));
        assertEquals(0, a.getShort(6));
    }
}
