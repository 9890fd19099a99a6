package dev.ember.net.user;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Wire formats the stack reads and writes: field offsets of Ethernet II, ARP (RFC 826),
 * IPv4 (RFC 791), UDP (RFC 768) and TCP (RFC 9293), big-endian accessors, the Internet
 * checksum (RFC 1071), and builders for the frames sent to the guest.
 *
 * <p>Builders return a fresh array per frame: {@link dev.ember.net.NetBackend.FrameSink} may
 * keep a frame it accepted, so no frame buffer is ever reused. Every frame sent to the guest
 * carries complete IPv4, TCP and UDP checksums, since the guest is not offered checksum
 * offload.
 *
 * <p>Stateless apart from the IPv4 identification counter; the builders are called only on the
 * stack thread.
 */
final class Packets {

    static final int ETH_HLEN = 14;
    static final int ETH_DST = 0, ETH_SRC = 6, ETH_TYPE = 12;
    static final int ETHERTYPE_IPV4 = 0x0800, ETHERTYPE_ARP = 0x0806;

    static final int IP_HLEN = 20;
    static final int IP_VHL = 0, IP_TOTAL_LENGTH = 2, IP_ID = 4, IP_FRAG = 6, IP_TTL = 8;
    static final int IP_PROTO = 9, IP_CHECKSUM = 10, IP_SRC = 12, IP_DST = 16;
    static final int IP_FLAG_MF = 0x2000, IP_OFFSET_MASK = 0x1FFF;
    static final int PROTO_ICMP = 1, PROTO_TCP = 6, PROTO_UDP = 17;

    static final int UDP_HLEN = 8;
    static final int UDP_SRC_PORT = 0, UDP_DST_PORT = 2, UDP_LENGTH = 4, UDP_CHECKSUM = 6;

    static final int TCP_HLEN = 20;
    static final int TCP_SRC_PORT = 0, TCP_DST_PORT = 2, TCP_SEQ = 4, TCP_ACK = 8;
    static final int TCP_OFFSET = 12, TCP_FLAGS = 13, TCP_WINDOW = 14, TCP_CHECKSUM = 16;
    static final int TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08, TCP_ACK_FLAG = 0x10;
    static final int TCP_OPT_END = 0, TCP_OPT_NOP = 1, TCP_OPT_MSS = 2, TCP_OPT_WSCALE = 3;

    static final byte[] BROADCAST_MAC = {-1, -1, -1, -1, -1, -1};

    private static final VarHandle U32_BE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);

    private Packets() { }

    static int u8(byte[] b, int off) {
        return b[off] & 0xFF;
    }

    static int u16(byte[] b, int off) {
        return (b[off] & 0xFF) << 8 | (b[off + 1] & 0xFF);
    }

    static int u32(byte[] b, int off) {
        return (int) U32_BE.get(b, off);
    }

    static void put16(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 8);
        b[off + 1] = (byte) v;
    }

    static void put32(byte[] b, int off, int v) {
        U32_BE.set(b, off, v);
    }

    /** {@return the one's-complement sum of {@code len} bytes, unfolded, added to {@code sum}} */
    static long sum(byte[] b, int off, int len, long sum) {
        int end = off + len;
        int i = off;
        for (; i + 4 <= end; i += 4) {
            sum += (int) U32_BE.get(b, i) & 0xFFFF_FFFFL;
        }
        if (i + 2 <= end) {
            sum += u16(b, i);
            i += 2;
        }
        if (i < end) {
            sum += (b[i] & 0xFF) << 8;
        }
        return sum;
    }

    /** {@return the Internet checksum (RFC 1071) of a sum from {@link #sum}} */
    static int fold(long sum) {
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return ~(int) sum & 0xFFFF;
    }

    /** {@return the sum of the TCP/UDP pseudo-header (RFC 9293 §3.1, RFC 768)} */
    static long pseudoHeaderSum(int srcIp, int dstIp, int proto, int length) {
        return (srcIp >>> 16) + (srcIp & 0xFFFF) + (dstIp >>> 16) + (dstIp & 0xFFFF) + proto + length;
    }

    /**
     * Writes the Ethernet and IPv4 headers of a frame whose IPv4 datagram starts at
     * {@link #ETH_HLEN} and is {@code ipLength} bytes long, with no options.
     */
    static void writeHeaders(byte[] f, byte[] dstMac, byte[] srcMac, int proto, int srcIp, int dstIp,
                             int ipLength, int ipId, int fragField) {
        System.arraycopy(dstMac, 0, f, ETH_DST, 6);
        System.arraycopy(srcMac, 0, f, ETH_SRC, 6);
        put16(f, ETH_TYPE, ETHERTYPE_IPV4);
        int ip = ETH_HLEN;
        f[ip + IP_VHL] = 0x45;
        f[ip + 1] = 0;
        put16(f, ip + IP_TOTAL_LENGTH, ipLength);
        put16(f, ip + IP_ID, ipId);
        put16(f, ip + IP_FRAG, fragField);
        f[ip + IP_TTL] = 64;
        f[ip + IP_PROTO] = (byte) proto;
        put16(f, ip + IP_CHECKSUM, 0);
        put32(f, ip + IP_SRC, srcIp);
        put32(f, ip + IP_DST, dstIp);
        put16(f, ip + IP_CHECKSUM, fold(sum(f, ip, IP_HLEN, 0)));
    }

    /**
     * Builds one TCP segment for the guest.
     *
     * @param ipId    the IPv4 identification field, from the sending stack's own counter
     * @param options TCP options, a multiple of 4 bytes long, or an empty array
     */
    static byte[] tcpFrame(int ipId, byte[] dstMac, byte[] srcMac, int srcIp, int dstIp, int srcPort, int dstPort,
                           int seq, int ack, int flags, int window, byte[] options,
                           byte[] data, int dataOffset, int dataLength) {
        int tcpLength = TCP_HLEN + options.length + dataLength;
        byte[] f = new byte[ETH_HLEN + IP_HLEN + tcpLength];
        writeHeaders(f, dstMac, srcMac, PROTO_TCP, srcIp, dstIp, IP_HLEN + tcpLength, ipId, 0x4000);
        int t = ETH_HLEN + IP_HLEN;
        put16(f, t + TCP_SRC_PORT, srcPort);
        put16(f, t + TCP_DST_PORT, dstPort);
        put32(f, t + TCP_SEQ, seq);
        put32(f, t + TCP_ACK, ack);
        f[t + TCP_OFFSET] = (byte) (((TCP_HLEN + options.length) / 4) << 4);
        f[t + TCP_FLAGS] = (byte) flags;
        put16(f, t + TCP_WINDOW, window);
        System.arraycopy(options, 0, f, t + TCP_HLEN, options.length);
        if (dataLength > 0) {
            System.arraycopy(data, dataOffset, f, t + TCP_HLEN + options.length, dataLength);
        }
        long s = pseudoHeaderSum(srcIp, dstIp, PROTO_TCP, tcpLength);
        put16(f, t + TCP_CHECKSUM, fold(sum(f, t, tcpLength, s)));
        return f;
    }

    /**
     * Builds the frames of one UDP datagram for the guest, fragmenting it (RFC 791 §3.2) when
     * it does not fit in {@code mtu}.
     *
     * @return one frame, or several fragments in offset order
     */
    static byte[][] udpFrames(int ipId, byte[] dstMac, byte[] srcMac, int srcIp, int dstIp, int srcPort, int dstPort,
                              byte[] data, int dataOffset, int dataLength, int mtu) {
        int udpLength = UDP_HLEN + dataLength;
        byte[] udp = new byte[udpLength];
        put16(udp, UDP_SRC_PORT, srcPort);
        put16(udp, UDP_DST_PORT, dstPort);
        put16(udp, UDP_LENGTH, udpLength);
        System.arraycopy(data, dataOffset, udp, UDP_HLEN, dataLength);
        int checksum = fold(sum(udp, 0, udpLength, pseudoHeaderSum(srcIp, dstIp, PROTO_UDP, udpLength)));
        put16(udp, UDP_CHECKSUM, checksum == 0 ? 0xFFFF : checksum);
        return ipv4Frames(ipId, dstMac, srcMac, PROTO_UDP, srcIp, dstIp, udp, mtu);
    }

    /**
     * Wraps one IPv4 payload in as many frames as {@code mtu} requires (RFC 791 §3.2), every
     * fragment with the same identification {@code ipId}.
     */
    static byte[][] ipv4Frames(int ipId, byte[] dstMac, byte[] srcMac, int proto, int srcIp, int dstIp, byte[] payload, int mtu) {
        int maxPayload = mtu - IP_HLEN;
        if (payload.length <= maxPayload) {
            byte[] f = new byte[ETH_HLEN + IP_HLEN + payload.length];
            writeHeaders(f, dstMac, srcMac, proto, srcIp, dstIp, IP_HLEN + payload.length, ipId, 0);
            System.arraycopy(payload, 0, f, ETH_HLEN + IP_HLEN, payload.length);
            return new byte[][] {f};
        }
        int chunk = maxPayload & ~7;
        int count = (payload.length + chunk - 1) / chunk;
        byte[][] frames = new byte[count][];
        for (int i = 0; i < count; i++) {
            int offset = i * chunk;
            int length = Math.min(chunk, payload.length - offset);
            boolean more = i + 1 < count;
            byte[] f = new byte[ETH_HLEN + IP_HLEN + length];
            writeHeaders(f, dstMac, srcMac, proto, srcIp, dstIp, IP_HLEN + length, ipId,
                    (more ? IP_FLAG_MF : 0) | offset >>> 3);
            System.arraycopy(payload, offset, f, ETH_HLEN + IP_HLEN, length);
            frames[i] = f;
        }
        return frames;
    }

    /** {@return the address as a dotted quad, for messages} */
    static String ipString(int ip) {
        return (ip >>> 24) + "." + (ip >>> 16 & 0xFF) + "." + (ip >>> 8 & 0xFF) + "." + (ip & 0xFF);
    }

    /** {@return true if sequence number {@code a} comes before {@code b} (RFC 9293 §3.4)} */
    static boolean seqLt(int a, int b) {
        return a - b < 0;
    }

    static boolean seqLe(int a, int b) {
        return a - b <= 0;
    }
}
