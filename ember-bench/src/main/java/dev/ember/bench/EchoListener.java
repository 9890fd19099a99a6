package dev.ember.bench;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A host echo service for the soak's guests: every connection gets back exactly the bytes it
 * sent, and after the peer's end of input the echo closes, so a guest's
 * {@code nc HOST PORT | sha256sum} or {@code vsock-cat connect 2 PORT | sha256sum} ends and
 * prints the checksum of what came back. Listens on TCP (127.0.0.1, which a guest on the
 * user-mode network reaches as 10.0.2.2) or on a Unix socket ({@code UDS_PORT}, where Ember's
 * vsock device delivers a guest's connection to host port {@code PORT}).
 *
 * <p>Threads: one virtual thread accepts, one virtual thread per connection echoes. A
 * connection the guest never ends holds its thread until the VM closes (then the VMM closes
 * the connection); the soak's own guests always end theirs.
 */
final class EchoListener implements AutoCloseable {

    private static final int CHUNK = 64 * 1024;

    private final ServerSocketChannel server;
    private final AtomicLong bytes = new AtomicLong();

    private EchoListener(ServerSocketChannel server) {
        this.server = server;
        Thread.ofVirtual().name("echo-accept").start(this::accept);
    }

    /** {@return an echo on a free TCP port of 127.0.0.1} */
    static EchoListener tcp() throws IOException {
        ServerSocketChannel s = ServerSocketChannel.open();
        try {
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        } catch (IOException e) {
            s.close();
            throw e;
        }
        return new EchoListener(s);
    }

    /** {@return an echo on a new Unix socket at {@code path}} */
    static EchoListener unix(Path path) throws IOException {
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            s.bind(UnixDomainSocketAddress.of(path), 8);
        } catch (IOException e) {
            s.close();
            throw e;
        }
        return new EchoListener(s);
    }

    /** {@return the TCP port this echo listens on} */
    int port() throws IOException {
        return ((InetSocketAddress) server.getLocalAddress()).getPort();
    }

    /** {@return the bytes echoed so far, over all connections} */
    long bytes() {
        return bytes.get();
    }

    private void accept() {
        while (true) {
            SocketChannel c;
            try {
                c = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                System.err.println("soak: echo listener stopped: " + e);
                return;
            }
            Thread.ofVirtual().name("echo").start(() -> echo(c));
        }
    }

    private void echo(SocketChannel c) {
        try (c) {
            ByteBuffer buf = ByteBuffer.allocate(CHUNK);
            while (c.read(buf) >= 0) {
                buf.flip();
                bytes.addAndGet(buf.remaining());
                while (buf.hasRemaining()) {
                    c.write(buf);
                }
                buf.clear();
            }
        } catch (IOException e) {
            // The guest's side went away mid-transfer: its command fails and is counted there.
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
