package dev.ember.server.api;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code ember} process for API tests: {@code dev.ember.server.EmberCommand} in a child
 * JVM with this test's class path, stdout and stderr merged and collected, stdin a pipe (the
 * guest console). Requests go over the Unix socket with a minimal HTTP/1.1 client on
 * {@link SocketChannel} (one request per connection), or with {@code curl --unix-socket}.
 */
public final class ApiProcess implements AutoCloseable {

    /** An HTTP response: status code and body text. */
    public record Reply(int status, String body) {
    }

    private final Process process;
    private final Path socket;
    private final StringBuilder output = new StringBuilder();
    private final Thread reader;

    private ApiProcess(Process process, Path socket) {
        this.process = process;
        this.socket = socket;
        this.reader = Thread.ofPlatform().daemon().name("api-test-reader").start(this::readLoop);
    }

    /**
     * Follows an {@code ember} process started another way (e.g. through {@code ./ember jailer}),
     * its stdout and stderr merged; with {@code socket} non-null, waits until it accepts.
     */
    public static ApiProcess attach(Process process, Path socket, Duration timeout) throws InterruptedException {
        ApiProcess p = new ApiProcess(process, socket);
        if (socket != null) {
            p.awaitSocket(timeout);
        }
        return p;
    }

    /** {@return the process} */
    public Process process() {
        return process;
    }

    /** Starts {@code ember <args>}; with {@code socket} non-null, waits until it accepts. */
    static ApiProcess start(Path socket, String... args) throws IOException, InterruptedException {
        return startUnder(List.of(), socket, args);
    }

    /**
     * Starts {@code ember <args>} under {@code wrapper} (e.g. {@code ip netns exec NS}); with
     * {@code socket} non-null, waits until it accepts.
     */
    static ApiProcess startUnder(List<String> wrapper, Path socket, String... args) throws IOException, InterruptedException {
        return startWith(java.util.Map.of(), wrapper, socket, args);
    }

    /** Starts {@code ember <args>} with {@code env} added to its environment (e.g. {@code EMBER_FAULT}). */
    static ApiProcess startWith(java.util.Map<String, String> env, List<String> wrapper, Path socket, String... args)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(wrapper);
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.add("--enable-native-access=ALL-UNNAMED");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add("dev.ember.server.EmberCommand");
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().remove("EMBER_GUEST_DIR");
        pb.environment().putAll(env);
        ApiProcess p = new ApiProcess(pb.start(), socket);
        if (socket != null) {
            p.awaitSocket(Duration.ofSeconds(30));
        }
        return p;
    }

    /** Starts {@code ember --api-sock SOCKET}. */
    static ApiProcess serve(Path socket) throws IOException, InterruptedException {
        return start(socket, "--api-sock", socket.toString());
    }

    /** {@return the default guest's directory} */
    public static Path guestDir() {
        Path dir = Path.of(System.getProperty("ember.guest.dir", "guest/out"));
        if (!Files.isRegularFile(dir.resolve("Image")) || !Files.isRegularFile(dir.resolve("initramfs.cpio"))) {
            throw new AssertionError("the default guest is not built in " + dir + "; run guest/build.sh first");
        }
        return dir;
    }

    private void awaitSocket(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(socket)) {
                try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                    return;
                } catch (IOException e) {
                    // Bound but not accepting yet.
                }
            }
            if (!process.isAlive()) {
                throw new AssertionError("ember exited with " + process.exitValue() + ":\n" + output());
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the API socket did not accept within " + timeout.toSeconds() + " s:\n" + output());
    }

    /** Sends one request; {@code body} may be null. */
    public Reply request(String method, String path, String body) throws IOException {
        byte[] bytes = body == null ? null : body.getBytes(StandardCharsets.UTF_8);
        StringBuilder head = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
        if (bytes != null) {
            head.append("Content-Type: application/json\r\nContent-Length: ").append(bytes.length).append("\r\n");
        }
        head.append("\r\n");
        return exchange(head.toString().getBytes(StandardCharsets.US_ASCII), bytes);
    }

    /** Sends raw request bytes (head, then body) and reads the response until the server closes. */
    Reply exchange(byte[] head, byte[] body) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.write(ByteBuffer.wrap(head));
            if (body != null) {
                try {
                    ByteBuffer b = ByteBuffer.wrap(body);
                    while (b.hasRemaining()) {
                        ch.write(b);
                    }
                } catch (IOException e) {
                    // The server may answer and close before reading an oversize body.
                }
            }
            ByteBuffer buf = ByteBuffer.allocate(1 << 20);
            while (ch.read(buf) >= 0 && buf.hasRemaining()) {
                String so = new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8);
                if (complete(so)) {
                    break;
                }
            }
            String text = new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8);
            int status = Integer.parseInt(text.substring(9, 12));
            int split = text.indexOf("\r\n\r\n");
            return new Reply(status, split < 0 ? "" : text.substring(split + 4));
        }
    }

    /** A response is complete when its Content-Length bytes (or none) follow the head. */
    private static boolean complete(String text) {
        int split = text.indexOf("\r\n\r\n");
        if (split < 0) {
            return false;
        }
        String head = text.substring(0, split).toLowerCase();
        int at = head.indexOf("content-length:");
        if (at < 0) {
            return head.startsWith("http/1.1 204");
        }
        int end = head.indexOf("\r\n", at);
        long length = Long.parseLong(head.substring(at + 15, end < 0 ? head.length() : end).trim());
        return text.getBytes(StandardCharsets.UTF_8).length - split - 4 >= length;
    }

    /** Runs {@code curl --unix-socket} with {@code args}; returns status and body. */
    Reply curl(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("curl", "-sS", "--unix-socket", socket.toString(),
                "-w", "\n%{http_code}"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError("curl failed: " + out);
        }
        int nl = out.lastIndexOf('\n');
        return new Reply(Integer.parseInt(out.substring(nl + 1).trim()), out.substring(0, nl));
    }

    private void readLoop() {
        byte[] buf = new byte[4096];
        try (InputStream in = process.getInputStream()) {
            int n;
            while ((n = in.read(buf)) > 0) {
                synchronized (output) {
                    output.append(new String(buf, 0, n, StandardCharsets.UTF_8));
                    output.notifyAll();
                }
            }
        } catch (IOException e) {
            // Process ended.
        }
    }

    /** Waits until the output contains {@code text}. */
    public void await(String text, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (output) {
            while (output.indexOf(text) < 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || (!process.isAlive() && !reader.isAlive())) {
                    throw new AssertionError("did not see '" + text + "'; output:\n" + output);
                }
                output.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 200)));
            }
        }
    }

    /** Types a line at the guest console. */
    void send(String line) throws IOException {
        OutputStream in = process.getOutputStream();
        in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        in.flush();
    }

    /** Waits for exit and returns the status. */
    public int waitFor(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("ember did not exit; output:\n" + output());
        }
        reader.join(5000);
        return process.exitValue();
    }

    public String output() {
        synchronized (output) {
            return output.toString();
        }
    }

    /** Kills the process with SIGKILL, as {@code kill -9}. */
    void kill() {
        process.destroyForcibly();
    }

    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
