package dev.ember.net.user;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Builds the frames a guest would send and parses the frames the stack sends back, checking
 * every IPv4, TCP and UDP checksum on the way in. Written independently of {@code Packets}:
 * 16-bit checksum sums and {@link ByteBuffer} field access, so a bug in one is not mirrored in
 * the other.
 */
final class TestFrames {

    static final byte[] GUEST_MAC = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    static final byte[] GATEWAY_MAC = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};
    static final byte[] BROADCAST = {-1, -1, -1, -1, -1, -1};
    static final int GUEST_IP = ip(10, 0, 2, 15);
    static final int GATEWAY_IP = ip(10, 0, 2, 2);
    static final int DNS_IP = ip(10, 0, 2, 3);

    static final int FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10;
    static final int TCP = 6, UDP = 17, ICMP = 1;

    private TestFrames() { }

    static int ip(int a, int b, int c, int d) {
        return a << 24 | b << 16 | c << 8 | d;
    }

    static int checksum(byte[] b, int off, int len, long initial) {
        long sum = initial;
        for (int i = 0; i + 1 < len; i += 2) {
            sum += (b[off + i] & 0xFF) << 8 | (b[off + i + 1] & 0xFF);
        }
        if ((len & 1) != 0) {
            sum += (b[off + len - 1] & 0xFF) << 8;
        }
        while (sum > 0xFFFF) {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (int) (~sum & 0xFFFF);
    }

    static long pseudo(int src, int dst, int proto, int len) {
        return (src >>> 16) + (src & 0xFFFF) + (dst >>> 16) + (dst & 0xFFFF) + proto + len;
    }

    static byte[] ethernet(byte[] dst, byte[] src, int type, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(14 + payload.length);
        b.put(dst).put(src).putShort((short) type).put(payload);
        return b.array();
    }

    /** An IPv4 frame from the guest to the gateway MAC. */
    static byte[] ipv4(int proto, int src, int dst, byte[] payload) {
        return ethernet(GATEWAY_MAC, GUEST_MAC, 0x0800, ipPacket(proto, src, dst, payload, 0));
    }

    static byte[] ipPacket(int proto, int src, int dst, byte[] payload, int fragField) {
        ByteBuffer b = ByteBuffer.allocate(20 + payload.length);
        b.put((byte) 0x45).put((byte) 0).putShort((short) (20 + payload.length)).putShort((short) 1)
                .putShort((short) fragField).put((byte) 64).put((byte) proto).putShort((short) 0)
                .putInt(src).putInt(dst).put(payload);
        byte[] p = b.array();
        int c = checksum(p, 0, 20, 0);
        p[10] = (byte) (c >> 8);
        p[11] = (byte) c;
        return p;
    }

    static byte[] udp(int src, int dst, int srcPort, int dstPort, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(8 + data.length);
        b.putShort((short) srcPort).putShort((short) dstPort).putShort((short) (8 + data.length)).putShort((short) 0).put(data);
        byte[] u = b.array();
        int c = checksum(u, 0, u.length, pseudo(src, dst, UDP, u.length));
        u[6] = (byte) (c >> 8);
        u[7] = (byte) c;
        return ipv4(UDP, src, dst, u);
    }

    static byte[] tcp(int src, int dst, int srcPort, int dstPort, int seq, int ack, int flags, int window,
                      byte[] options, byte[] data, int dataOff, int dataLen) {
        int hlen = 20 + options.length;
        ByteBuffer b = ByteBuffer.allocate(hlen + dataLen);
        b.putShort((short) srcPort).putShort((short) dstPort).putInt(seq).putInt(ack)
                .put((byte) ((hlen / 4) << 4)).put((byte) flags).putShort((short) window).putInt(0)
                .put(options).put(data, dataOff, dataLen);
        byte[] t = b.array();
        int c = checksum(t, 0, t.length, pseudo(src, dst, TCP, t.length));
        t[16] = (byte) (c >> 8);
        t[17] = (byte) c;
        return ipv4(TCP, src, dst, t);
    }

    static byte[] mssOption(int mss) {
        return new byte[] {2, 4, (byte) (mss >> 8), (byte) mss};
    }

    /** A DNS query with one question. */
    static byte[] dnsQuery(int id, String name, int qtype) {
        ByteBuffer b = ByteBuffer.allocate(512);
        b.putShort((short) id).putShort((short) 0x0100).putShort((short) 1).putShort((short) 0).putInt(0);
        for (String label : name.split("\\.")) {
            b.put((byte) label.length()).put(label.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }
        b.put((byte) 0).putShort((short) qtype).putShort((short) 1);
        return Arrays.copyOf(b.array(), b.position());
    }

    /** A frame the stack sent, parsed; the constructor asserts every checksum. */
    record Frame(byte[] raw, byte[] dstMac, byte[] srcMac, int etherType, int ipSrc, int ipDst, int proto,
                 int fragField, int srcPort, int dstPort, int seq, int ack, int flags, int window,
                 byte[] tcpOptions, byte[] payload) {

        static Frame parse(byte[] f) {
            ByteBuffer b = ByteBuffer.wrap(f);
            byte[] dst = Arrays.copyOfRange(f, 0, 6);
            byte[] src = Arrays.copyOfRange(f, 6, 12);
            int type = b.getShort(12) & 0xFFFF;
            if (type != 0x0800) {
                return new Frame(f, dst, src, type, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, new byte[0],
                        Arrays.copyOfRange(f, 14, f.length));
            }
            int ihl = (f[14] & 0xF) * 4;
            int total = b.getShort(16) & 0xFFFF;
            assertEquals(f.length - 14, total, "IPv4 total length");
            assertEquals(0, checksum(f, 14, ihl, 0), "IPv4 header checksum");
            int proto = f[23] & 0xFF;
            int ipSrc = b.getInt(26);
            int ipDst = b.getInt(30);
            int frag = b.getShort(20) & 0xFFFF;
            int l4 = 14 + ihl;
            int l4len = total - ihl;
            if ((frag & 0x3FFF) != 0) {
                return new Frame(f, dst, src, type, ipSrc, ipDst, proto, frag, 0, 0, 0, 0, 0, 0, new byte[0],
                        Arrays.copyOfRange(f, l4, l4 + l4len));
            }
            if (proto == TCP) {
                assertEquals(0, checksum(f, l4, l4len, pseudo(ipSrc, ipDst, TCP, l4len)), "TCP checksum");
                int off = ((f[l4 + 12] & 0xFF) >> 4) * 4;
                return new Frame(f, dst, src, type, ipSrc, ipDst, proto, frag, b.getShort(l4) & 0xFFFF,
                        b.getShort(l4 + 2) & 0xFFFF, b.getInt(l4 + 4), b.getInt(l4 + 8), f[l4 + 13] & 0xFF,
                        b.getShort(l4 + 14) & 0xFFFF, Arrays.copyOfRange(f, l4 + 20, l4 + off),
                        Arrays.copyOfRange(f, l4 + off, l4 + l4len));
            }
            if (proto == UDP) {
                assertEquals(l4len, b.getShort(l4 + 4) & 0xFFFF, "UDP length");
                assertEquals(0, checksum(f, l4, l4len, pseudo(ipSrc, ipDst, UDP, l4len)), "UDP checksum");
                return new Frame(f, dst, src, type, ipSrc, ipDst, proto, frag, b.getShort(l4) & 0xFFFF,
                        b.getShort(l4 + 2) & 0xFFFF, 0, 0, 0, 0, new byte[0], Arrays.copyOfRange(f, l4 + 8, l4 + l4len));
            }
            if (proto == ICMP) {
                assertEquals(0, checksum(f, l4, l4len, 0), "ICMP checksum");
            }
            return new Frame(f, dst, src, type, ipSrc, ipDst, proto, frag, 0, 0, 0, 0, 0, 0, new byte[0],
                    Arrays.copyOfRange(f, l4, l4 + l4len));
        }

        boolean isTcp() {
            return etherType == 0x0800 && proto == TCP && (fragField & 0x3FFF) == 0;
        }

        boolean isUdp() {
            return etherType == 0x0800 && proto == UDP && (fragField & 0x3FFF) == 0;
        }

        boolean has(int flag) {
            return (flags & flag) != 0;
        }

        /** {@return the MSS option's value, or -1} */
        int mssOption() {
            for (int i = 0; i + 3 < tcpOptions.length; ) {
                int kind = tcpOptions[i] & 0xFF;
                if (kind == 0) {
                    break;
                }
                if (kind == 1) {
                    i++;
                    continue;
                }
                if (kind == 2) {
                    return (tcpOptions[i + 2] & 0xFF) << 8 | (tcpOptions[i + 3] & 0xFF);
                }
                i += tcpOptions[i + 1] & 0xFF;
            }
            return -1;
        }
    }
}
