package dev.ember.fuzz;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.BugDetectors;
import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.api.SilentCloseable;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ember.net.user.UserNetworkHarness;
import dev.ember.net.user.UserNetworkMetrics;
import java.nio.ByteBuffer;

/**
 * The user-mode network stack ({@code dev.ember.net.user}) fed sequences of arbitrary guest
 * frames: raw bytes, and Ethernet, ARP, IPv4 (with options and fragment fields), ICMP, TCP
 * (any flags, sequence and acknowledgment numbers, windows and options, some of them near the
 * stack's own numbers so that connections change state), UDP, DHCP and DNS frames built with
 * correct checksums around fuzzed contents.
 *
 * <p>Every connection, datagram and name lookup goes to a local echo sink through
 * {@link UserNetworkHarness}; nothing reaches another host.
 *
 * <p>Invariants after each input: no exception was raised inside the stack (it catches them so
 * a guest cannot stop it; the harness hands them back); every frame the stack sent has correct
 * lengths and checksums; flows stay within their limits; the stack still answers a ping.
 */
class UserNetworkFuzzTest {

    private static final int MAX_FRAMES = 64;
    private static final int EXTERNAL_IP = 0x5DB8_D822;     // 93.184.216.34, routed to the sink
    private static final int[] GUEST_PORTS = {40000, 40001, 40002};
    private static final int[] REMOTE_PORTS = {80, 22, 53};

    @FuzzTest(maxDuration = "15s")
    void guestFrames(FuzzedDataProvider data) {
        int sinkPort = UserNetworkHarness.sinkPort();
        try (SilentCloseable onlyTheSink = BugDetectors.allowNetworkConnections((host, port) -> port == sinkPort);
             UserNetworkHarness net = new UserNetworkHarness()) {
            for (int i = 0; i < MAX_FRAMES && data.remainingBytes() > 0; i++) {
                switch (data.consumeInt(0, 8)) {
                    case 0 -> net.transmit(data.consumeBytes(data.consumeInt(0, 1600)));
                    case 1 -> net.transmit(arp(data));
                    case 2 -> net.transmit(ipv4(data));
                    case 3, 4 -> net.transmit(tcp(data, net));
                    case 5 -> net.transmit(udp(data, pick(data, UserNetworkHarness.GATEWAY_IP, EXTERNAL_IP, -1),
                            pick(data, GUEST_PORTS), pick(data, REMOTE_PORTS), data.consumeBytes(data.consumeInt(0, 1500))));
                    case 6 -> net.transmit(udp(data, pick(data, -1, UserNetworkHarness.GATEWAY_IP), 68, 67, dhcp(data)));
                    case 7 -> net.transmit(udp(data, UserNetworkHarness.DNS_IP, pick(data, GUEST_PORTS), 53,
                            data.consumeBytes(data.consumeInt(0, 600))));
                    default -> {
                        // Let host events (connects, echoes, timers) interleave with guest frames.
                        net.awaitHandled();
                        net.takeReceived();
                    }
                }
            }
            net.awaitHandled();
            net.takeReceived();
            assertNull(net.internalError(), "the stack raised an exception on guest input");
            UserNetworkMetrics m = net.metrics();
            assertTrue(m.tcpFlows() <= UserNetworkHarness.MAX_TCP_FLOWS, () -> "TCP flows " + m.tcpFlows());
            assertTrue(m.udpFlows() <= UserNetworkHarness.MAX_UDP_FLOWS, () -> "UDP flows " + m.udpFlows());
            net.assertAnswersPing();
            assertNull(net.internalError(), "the stack raised an exception on guest input");
        }
    }

    private static byte[] gatewayOrBroadcast(FuzzedDataProvider data) {
        return data.consumeBoolean() ? UserNetworkHarness.GATEWAY_MAC : new byte[] {-1, -1, -1, -1, -1, -1};
    }

    private static byte[] arp(FuzzedDataProvider data) {
        ByteBuffer b = ByteBuffer.allocate(14 + 28);
        b.put(gatewayOrBroadcast(data)).put(UserNetworkHarness.GUEST_MAC).putShort((short) 0x0806);
        b.putShort((short) 1).putShort((short) 0x0800).put((byte) 6).put((byte) 4)
                .putShort((short) data.consumeInt(0, 3)).put(UserNetworkHarness.GUEST_MAC)
                .putInt(pick(data, UserNetworkHarness.GUEST_IP, data.consumeInt()))
                .put(new byte[6]).putInt(pick(data, UserNetworkHarness.GATEWAY_IP, UserNetworkHarness.DNS_IP,
                        data.consumeInt()));
        byte[] f = b.array();
        if (data.consumeBoolean()) {
            // A header field or address off by a byte.
            f[data.consumeInt(14, f.length - 1)] = data.consumeByte();
        }
        return f;
    }

    private static byte[] ipv4(FuzzedDataProvider data) {
        return UserNetworkHarness.ipv4Frame(gatewayOrBroadcast(data), data.consumeInt(0, 255),
                UserNetworkHarness.GUEST_IP, pick(data, UserNetworkHarness.GATEWAY_IP, UserNetworkHarness.DNS_IP,
                        EXTERNAL_IP, data.consumeInt()),
                data.consumeBytes(data.consumeInt(0, 40)), data.consumeInt(0, 0xFFFF),
                data.consumeBytes(data.consumeInt(0, 1500)));
    }

    private static byte[] tcp(FuzzedDataProvider data, UserNetworkHarness net) {
        int dst = pick(data, UserNetworkHarness.GATEWAY_IP, EXTERNAL_IP, UserNetworkHarness.DNS_IP);
        int seq;
        int ack;
        if (data.consumeBoolean()) {
            // Near the stack's numbers, so that handshakes complete and data is acknowledged.
            net.awaitHandled();
            net.takeReceived();
            seq = net.lastStackAck() + data.consumeInt(-2, 2);
            ack = net.lastStackSeq() + data.consumeInt(-2, 1);
        } else {
            seq = data.consumeInt();
            ack = data.consumeInt();
        }
        int flags = data.consumeInt(0, 255);
        int window = data.consumeInt(0, 0xFFFF);
        byte[] options = data.consumeBytes(data.consumeInt(0, 40));
        byte[] payload = data.consumeBytes(data.consumeInt(0, 1460));
        byte[] segment = UserNetworkHarness.tcpSegment(UserNetworkHarness.GUEST_IP, dst, pick(data, GUEST_PORTS),
                pick(data, REMOTE_PORTS), seq, ack, flags, window, options, payload);
        int frag = data.consumeInt(0, 7) == 0 ? data.consumeInt(0, 0xFFFF) : 0x4000;
        return UserNetworkHarness.ipv4Frame(UserNetworkHarness.GATEWAY_MAC, 6, UserNetworkHarness.GUEST_IP, dst,
                new byte[0], frag, segment);
    }

    private static byte[] udp(FuzzedDataProvider data, int dst, int srcPort, int dstPort, byte[] payload) {
        byte[] segment = UserNetworkHarness.udpSegment(UserNetworkHarness.GUEST_IP, dst, srcPort, dstPort, payload);
        if (data.consumeInt(0, 7) == 0) {
            // A UDP length field that disagrees with the IP length.
            int length = data.consumeInt(0, 0xFFFF);
            segment[4] = (byte) (length >> 8);
            segment[5] = (byte) length;
        }
        int src = dst == -1 ? 0 : UserNetworkHarness.GUEST_IP;
        return UserNetworkHarness.ipv4Frame(dst == -1 ? new byte[] {-1, -1, -1, -1, -1, -1}
                : UserNetworkHarness.GATEWAY_MAC, 17, src, dst, new byte[0], 0, segment);
    }

    /** A BOOTP message with the magic cookie and fuzzed fields and options (RFC 2131 §2, RFC 2132). */
    private static byte[] dhcp(FuzzedDataProvider data) {
        byte[] options = data.consumeBytes(data.consumeInt(0, 400));
        ByteBuffer b = ByteBuffer.allocate(240 + options.length);
        b.put((byte) data.consumeInt(0, 2)).put((byte) 1).put((byte) data.consumeInt(0, 16)).put((byte) 0)
                .putInt(data.consumeInt()).putShort((short) 0).putShort((short) (data.consumeBoolean() ? 0x8000 : 0))
                .putInt(0).putInt(0).putInt(0).putInt(0).put(UserNetworkHarness.GUEST_MAC);
        b.position(236);
        b.putInt(data.consumeInt(0, 3) == 0 ? data.consumeInt() : 0x6382_5363).put(options);
        return b.array();
    }

    private static int pick(FuzzedDataProvider data, int... choices) {
        return choices[data.consumeInt(0, choices.length - 1)];
    }
}
