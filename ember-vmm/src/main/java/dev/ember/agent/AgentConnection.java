package dev.ember.agent;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * One connection to the agent: a Unix-socket connection to the vsock device's {@code udsPath},
 * turned into a stream to guest port {@value AgentProtocol#PORT} by Firecracker's handshake
 * ({@code CONNECT <port>\n}, answered {@code OK <host port>\n}; see {@code VirtioVsock}).
 *
 * <p>Threads: one thread reads ({@link #readFrame}), any thread writes ({@link #send},
 * serialised here): the channel's read and write sides are independent.
 */
final class AgentConnection implements AutoCloseable {

    /** The longest handshake answer accepted, newline included ({@code OK 4294967295\n} is 14). */
    private static final int MAX_ANSWER = 32;

    private final SocketChannel channel;
    private final InputStream in;
    private final Object writeLock = new Object();

    private AgentConnection(SocketChannel channel) {
        this.channel = channel;
        this.in = new BufferedInputStream(new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return len == 0 ? 0 : channel.read(ByteBuffer.wrap(b, off, len));
            }
        }, 64 * 1024);
    }

    /**
     * Connects to the agent through the vsock device at {@code udsPath}.
     *
     * @throws IOException if the socket is missing, or the guest refused (nothing listens on the
     *         port yet) or did not answer in the device's connect timeout
     */
    static AgentConnection open(Path udsPath) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(udsPath));
            writeAll(ch, ("CONNECT " + AgentProtocol.PORT + "\n").getBytes(StandardCharsets.US_ASCII));
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            ByteBuffer one = ByteBuffer.allocate(1);
            while (line.size() < MAX_ANSWER) {
                one.clear();
                if (ch.read(one) < 0) {
                    throw new EOFException("guest agent: the guest refused the connection to vsock port "
                            + AgentProtocol.PORT + " (agent not listening yet?)");
                }
                if (one.get(0) == '\n') {
                    break;
                }
                line.write(one.get(0));
            }
            String answer = line.toString(StandardCharsets.US_ASCII);
            if (!answer.startsWith("OK ")) {
                throw new IOException("guest agent: unexpected vsock handshake answer '" + answer + "'");
            }
            return new AgentConnection(ch);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Sends one frame; whole frames from concurrent callers never interleave. */
    void send(byte type, byte[] payload, int off, int len) throws IOException {
        ByteBuffer frame = ByteBuffer.allocate(5 + len).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        frame.putInt(len).put(type).put(payload, off, len).flip();
        synchronized (writeLock) {
            writeAll(channel, frame);
        }
    }

    void send(byte type, byte[] payload) throws IOException {
        send(type, payload, 0, payload.length);
    }

    /** {@return the next frame from the agent, or null at the end of the stream} */
    AgentProtocol.Frame readFrame() throws IOException {
        return AgentProtocol.readGuestFrame(in);
    }

    /** {@return the next frame, which must exist} */
    AgentProtocol.Frame requireFrame() throws IOException {
        AgentProtocol.Frame f = readFrame();
        if (f == null) {
            throw new EOFException("guest agent closed the connection without an answer");
        }
        return f;
    }

    private static void writeAll(SocketChannel ch, byte[] bytes) throws IOException {
        writeAll(ch, ByteBuffer.wrap(bytes));
    }

    private static void writeAll(SocketChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // Closing a Unix socket cannot fail in a way the caller could act on.
        }
    }
}
