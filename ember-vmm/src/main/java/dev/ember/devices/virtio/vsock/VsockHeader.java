package dev.ember.devices.virtio.vsock;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The header in front of every virtio-vsock packet, {@code struct virtio_vsock_hdr} (VIRTIO 1.2
 * §5.10.6), as a value.
 *
 * <pre>
 *   0 src_cid:le64   8 dst_cid:le64   16 src_port:le32   20 dst_port:le32   24 len:le32
 *  28 type:le16     30 op:le16       32 flags:le32      36 buf_alloc:le32  40 fwd_cnt:le32
 * </pre>
 *
 * <p>Ports, {@code len}, {@code flags}, {@code buf_alloc} and {@code fwd_cnt} are unsigned 32-bit
 * values held in {@code int}s; {@code type} and {@code op} are zero-extended.
 *
 * <p><b>Guest-controlled.</b> A header decoded from the tx queue may hold anything; {@link
 * #decode} only splits the bytes, and {@link VirtioVsock} checks every field before acting on it.
 */
public record VsockHeader(long srcCid, long dstCid, int srcPort, int dstPort, int len, int type,
                          int op, int flags, int bufAlloc, int fwdCnt) {

    /** Size of the header in bytes. */
    public static final int SIZE = 44;

    /** §5.10.6.2: the one socket type offered. */
    public static final int TYPE_STREAM = 1;

    /** §5.10.6: operations. */
    public static final int OP_INVALID = 0, OP_REQUEST = 1, OP_RESPONSE = 2, OP_RST = 3,
            OP_SHUTDOWN = 4, OP_RW = 5, OP_CREDIT_UPDATE = 6, OP_CREDIT_REQUEST = 7;

    /** §5.10.6.5: SHUTDOWN flags (bit 0: will not receive, bit 1: will not send). */
    public static final int SHUTDOWN_F_RECEIVE = 1, SHUTDOWN_F_SEND = 2;

    /** {@return the header in {@code bytes}, which holds at least {@link #SIZE} bytes} */
    public static VsockHeader decode(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        return new VsockHeader(b.getLong(0), b.getLong(8), b.getInt(16), b.getInt(20), b.getInt(24),
                b.getShort(28) & 0xFFFF, b.getShort(30) & 0xFFFF, b.getInt(32), b.getInt(36), b.getInt(40));
    }

    /** {@return the {@link #SIZE} little-endian bytes of this header} */
    public byte[] encode() {
        byte[] out = new byte[SIZE];
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(srcCid).putLong(dstCid).putInt(srcPort).putInt(dstPort).putInt(len)
                .putShort((short) type).putShort((short) op).putInt(flags).putInt(bufAlloc).putInt(fwdCnt);
        return out;
    }

    /** {@return the header's {@code len} as an unsigned value} */
    public long payloadLength() {
        return len & 0xFFFF_FFFFL;
    }

    /** {@return the name of {@code op} for log lines and test failures} */
    public static String opName(int op) {
        return switch (op) {
            case OP_REQUEST -> "REQUEST";
            case OP_RESPONSE -> "RESPONSE";
            case OP_RST -> "RST";
            case OP_SHUTDOWN -> "SHUTDOWN";
            case OP_RW -> "RW";
            case OP_CREDIT_UPDATE -> "CREDIT_UPDATE";
            case OP_CREDIT_REQUEST -> "CREDIT_REQUEST";
            default -> "op " + op;
        };
    }
}
