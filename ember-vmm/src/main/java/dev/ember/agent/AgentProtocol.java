package dev.ember.agent;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The guest agent's wire format ({@code guest/agent/PROTOCOL.md}): frames of {@code u32 length
 * (LE) | u8 type | payload} in both directions, and request payloads made of fields
 * {@code u8 tag | u32 length (LE) | bytes}.
 *
 * <p><b>Guest-controlled.</b> Every frame the host reads comes from the guest. A length above
 * {@link #MAX_PAYLOAD} or a type this side does not know is rejected before anything is
 * allocated ({@link ProtocolException}), so a hostile guest can make the host hold at most one
 * 1 MiB payload per connection; a stream that ends inside a frame is an {@link EOFException}.
 */
public final class AgentProtocol {

    /** The vsock port the agent listens on. */
    public static final int PORT = 1024;
    /** The largest payload either side sends or accepts: 1 MiB. */
    public static final int MAX_PAYLOAD = 1 << 20;

    /** Requests, host to guest. */
    public static final byte SPAWN = 'S', MOUNT = 'M', HOSTNAME = 'H', PING = 'Q', POWEROFF = 'P';
    /** After a SPAWN, host to guest: stdin data, stdin end, a signal, a window size. */
    public static final byte STDIN = 'I', STDIN_END = 'i', SIGNAL = 'K', WINDOW = 'W';
    /** Answers, guest to host. */
    public static final byte STARTED = 'p', FAILED = 'f', OK = 'k', STDOUT = 'O', STDERR = 'E', EXIT = 'x';

    private static final String GUEST_TYPES = "pfkOEx";
    private static final String HOST_TYPES = "SMHQPIiKW";

    private AgentProtocol() {
    }

    /** A frame's type and payload. */
    public record Frame(byte type, byte[] payload) {

        /** {@return the payload as the little-endian u32 it holds} @throws ProtocolException if it is not 4 bytes */
        public int u32() throws ProtocolException {
            if (payload.length != 4) {
                throw new ProtocolException("frame '" + (char) type + "' should carry 4 bytes, not " + payload.length);
            }
            return ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN).getInt();
        }

        /** {@return the payload as UTF-8 text} */
        public String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return "Frame[" + (char) type + ", " + payload.length + " bytes]";
        }
    }

    /** The peer broke the protocol: an oversized frame, an unknown type, a malformed payload. */
    public static final class ProtocolException extends IOException {
        public ProtocolException(String message) {
            super(message);
        }
    }

    /**
     * Reads one frame the guest sent.
     *
     * @return the frame, or null if the stream ended cleanly between frames
     * @throws EOFException      if the stream ends inside a frame
     * @throws ProtocolException if the length exceeds {@link #MAX_PAYLOAD} or the type is not a guest's
     */
    public static Frame readGuestFrame(InputStream in) throws IOException {
        return readFrame(in, GUEST_TYPES);
    }

    /** Reads one frame as the agent does (host types only); for tests of the codec and fake agents. */
    static Frame readHostFrame(InputStream in) throws IOException {
        return readFrame(in, HOST_TYPES);
    }

    private static Frame readFrame(InputStream in, String types) throws IOException {
        byte[] head = in.readNBytes(5);
        if (head.length == 0) {
            return null;
        }
        if (head.length < 5) {
            throw new EOFException("stream ended inside a frame header (" + head.length + " of 5 bytes)");
        }
        long length = Integer.toUnsignedLong(ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).getInt());
        byte type = head[4];
        if (length > MAX_PAYLOAD) {
            throw new ProtocolException("frame of " + length + " bytes exceeds the " + MAX_PAYLOAD + "-byte limit");
        }
        if (types.indexOf(type & 0xFF) < 0) {
            throw new ProtocolException(String.format("unknown frame type 0x%02x", type & 0xFF));
        }
        byte[] payload = in.readNBytes((int) length);
        if (payload.length < length) {
            throw new EOFException("stream ended inside a frame (" + payload.length + " of " + length + " bytes)");
        }
        return new Frame(type, payload);
    }

    /** Writes one frame ({@code payload[off, off+len)}); the caller flushes. */
    public static void writeFrame(OutputStream out, byte type, byte[] payload, int off, int len) throws IOException {
        if (len > MAX_PAYLOAD) {
            throw new IllegalArgumentException("frame payload of " + len + " bytes exceeds " + MAX_PAYLOAD);
        }
        byte[] head = ByteBuffer.allocate(5).order(ByteOrder.LITTLE_ENDIAN).putInt(len).put(type).array();
        out.write(head);
        out.write(payload, off, len);
    }

    /** Writes one frame with a whole payload. */
    public static void writeFrame(OutputStream out, byte type, byte[] payload) throws IOException {
        writeFrame(out, type, payload, 0, payload.length);
    }

    /** {@return {@code value} as 4 little-endian bytes} */
    public static byte[] u32(int value) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(value).array();
    }

    /** Builds a request payload field by field. */
    public static final class Fields {
        private byte[] bytes = new byte[256];
        private int size;

        /** Adds a text field (UTF-8). */
        public Fields add(char tag, String value) {
            return add(tag, value.getBytes(StandardCharsets.UTF_8));
        }

        /** Adds a binary field. @throws IllegalArgumentException if the payload would exceed {@link #MAX_PAYLOAD} */
        public Fields add(char tag, byte[] value) {
            if ((long) size + 5 + value.length > MAX_PAYLOAD) {
                throw new IllegalArgumentException("request exceeds the agent's " + MAX_PAYLOAD + "-byte frame limit");
            }
            if (size + 5 + value.length > bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + 5 + value.length));
            }
            ByteBuffer.wrap(bytes, size, 5 + value.length).order(ByteOrder.LITTLE_ENDIAN)
                    .put((byte) tag).putInt(value.length).put(value);
            size += 5 + value.length;
            return this;
        }

        /** {@return the payload} */
        public byte[] toBytes() {
            return Arrays.copyOf(bytes, size);
        }
    }
}
