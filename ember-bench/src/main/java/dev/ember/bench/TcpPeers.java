package dev.ember.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The host ends of the TCP workloads: two listeners on the host's 127.0.0.1, which a guest on
 * a user-mode network (QEMU's slirp or Ember's {@code --net user}) reaches as 10.0.2.2.
 * <ul>
 *   <li>The <em>source</em> ({@link #sourcePort()}) sends {@link #sourceBytes()} zero bytes to
 *       each connection, then half-closes it and waits for the peer's end (the guest's
 *       {@code nc HOST PORT </dev/null | wc -c} counts them).</li>
 *   <li>The <em>sink</em> ({@link #sinkPort()}) reads each connection to its end, counting the
 *       bytes, then writes the count and a newline back and closes (the guest's
 *       {@code dd ... | nc HOST PORT} prints what the host saw).</li>
 * </ul>
 *
 * <p>Threads: one acceptor thread per listener and one virtual thread per connection; the
 * harness's main thread only starts and closes this object. Every socket read has a time
 * limit, so a guest that stops sending cannot hold a thread forever.
 */
final class TcpPeers implements AutoCloseable {

    private static final int CHUNK = 256 * 1024;
    private static final int READ_TIMEOUT_MS = 600_000;

    private final long sourceBytes;
    private final ServerSocket source;
    private final ServerSocket sink;
    private final AtomicLong lastSinkCount = new AtomicLong(-1);

    private TcpPeers(long sourceBytes, ServerSocket source, ServerSocket sink) {
        this.sourceBytes = sourceBytes;
        this.source = source;
        this.sink = sink;
        Thread.ofPlatform().daemon().name("tcp-source-accept").start(() -> accept(source, this::serveSource));
        Thread.ofPlatform().daemon().name("tcp-sink-accept").start(() -> accept(sink, this::serveSink));
    }

    /** Opens both listeners on free ports of 127.0.0.1. */
    static TcpPeers start(long sourceBytes) throws IOException {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        ServerSocket source = new ServerSocket(0, 8, loopback);
        try {
            return new TcpPeers(sourceBytes, source, new ServerSocket(0, 8, loopback));
        } catch (IOException | RuntimeException e) {
            source.close();
            throw e;
        }
    }

    /** {@return the port of the listener that sends {@link #sourceBytes()} to each connection} */
    int sourcePort() {
        return source.getLocalPort();
    }

    /** {@return the port of the listener that counts what each connection sends} */
    int sinkPort() {
        return sink.getLocalPort();
    }

    /** {@return how many bytes the source sends to each connection} */
    long sourceBytes() {
        return sourceBytes;
    }

    /** {@return the byte count of the sink's last finished connection, or -1} */
    long lastSinkCount() {
        return lastSinkCount.get();
    }

    private interface Handler {
        void serve(Socket socket) throws IOException;
    }

    private static void accept(ServerSocket server, Handler handler) {
        while (!server.isClosed()) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                return;
            }
            Thread.ofVirtual().start(() -> {
                try (s) {
                    s.setSoTimeout(READ_TIMEOUT_MS);
                    handler.serve(s);
                } catch (IOException e) {
                    // The guest reset or abandoned the connection: its answer shows what arrived.
                }
            });
        }
    }

    private void serveSource(Socket s) throws IOException {
        byte[] zeros = new byte[CHUNK];
        OutputStream out = s.getOutputStream();
        for (long left = sourceBytes; left > 0; ) {
            int n = (int) Math.min(left, CHUNK);
            out.write(zeros, 0, n);
            left -= n;
        }
        out.flush();
        s.shutdownOutput();
        // Closing with unread input would reset the connection and could cut the tail of what
        // was sent; the guest's nc half-closes at once, so this returns quickly.
        drain(s.getInputStream(), new byte[CHUNK]);
    }

    private void serveSink(Socket s) throws IOException {
        long count = drain(s.getInputStream(), new byte[CHUNK]);
        lastSinkCount.set(count);
        OutputStream out = s.getOutputStream();
        out.write((count + "\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        s.shutdownOutput();
    }

    private static long drain(InputStream in, byte[] buf) throws IOException {
        long count = 0;
        int n;
        while ((n = in.read(buf)) >= 0) {
            count += n;
        }
        return count;
    }

    @Override
    public void close() {
        try {
            source.close();
        } catch (IOException e) {
            // nothing left to release
        }
        try {
            sink.close();
        } catch (IOException e) {
            // nothing left to release
        }
    }
}
