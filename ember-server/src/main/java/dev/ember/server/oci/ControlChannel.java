package dev.ember.server.oci;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * How the runtime's short-lived commands ({@code start}, {@code kill}) reach a container's VM
 * process: a Unix stream socket, {@code ctl.sock} in the container's socket directory, carrying one
 * JSON request line and one JSON answer line per connection: {@code {"op":"start"}},
 * {@code {"op":"kill","signal":15}}; the answer is {@code {"ok":true}} or
 * {@code {"ok":false,"error":"..."}}. Only the socket's owner (root, mode 0600) can connect.
 */
public final class ControlChannel implements AutoCloseable {

    /** The longest request line read. */
    private static final int MAX_LINE = 4096;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ServerSocketChannel server;
    private final Path path;

    private ControlChannel(ServerSocketChannel server, Path path) {
        this.server = server;
        this.path = path;
    }

    /** Binds the socket at {@code path} (replacing nothing: it must not exist). */
    public static ControlChannel bind(Path path) throws IOException {
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        s.bind(UnixDomainSocketAddress.of(path));
        try {
            Files.setPosixFilePermissions(path, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException | IOException ignored) {
            // the state directory is root's already
        }
        return new ControlChannel(s, path);
    }

    /**
     * Serves requests on a daemon thread, one at a time, answering each with {@code handler}'s
     * result: null for success, else the error message.
     */
    public void serve(Function<JsonNode, String> handler) {
        Thread t = new Thread(() -> {
            while (server.isOpen()) {
                try (SocketChannel c = server.accept()) {
                    BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8), MAX_LINE);
                    String line = readLine(in);
                    String error;
                    try {
                        error = line == null ? "empty request" : handler.apply(JSON.readTree(line));
                    } catch (IOException | RuntimeException e) {
                        error = "bad request: " + e.getMessage();
                    }
                    ObjectNode answer = JSON.createObjectNode().put("ok", error == null);
                    if (error != null) {
                        answer.put("error", error);
                    }
                    OutputStream out = Channels.newOutputStream(c);
                    out.write((answer + "\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                } catch (IOException e) {
                    if (!server.isOpen()) {
                        return;
                    }
                }
            }
        }, "ember-oci-control");
        t.setDaemon(true);
        t.start();
    }

    private static String readLine(BufferedReader in) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int ch; (ch = in.read()) >= 0 && ch != '\n'; ) {
            if (sb.length() >= MAX_LINE) {
                throw new IOException("request line longer than " + MAX_LINE);
            }
            sb.append((char) ch);
        }
        return sb.isEmpty() ? null : sb.toString();
    }

    /**
     * Sends one request to the VM process listening at {@code path}.
     *
     * @throws OciException with the VM process's error, or when it cannot be reached
     */
    public static void request(Path path, ObjectNode request) throws OciException {
        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
            OutputStream out = Channels.newOutputStream(c);
            out.write((request + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
            String line = in.readLine();
            if (line == null) {
                throw new OciException("the container's VM process closed the control socket without answering");
            }
            JsonNode answer = JSON.readTree(line);
            if (!answer.path("ok").asBoolean(false)) {
                throw new OciException(answer.path("error").asText("request refused"));
            }
        } catch (IOException e) {
            throw new OciException("cannot reach the container's VM process at " + path + ": " + e.getMessage());
        }
    }

    /** {@return a request object for {@code op}} */
    public static ObjectNode op(String op) {
        return JSON.createObjectNode().put("op", op);
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // nothing to do at exit
        }
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // the state directory goes with delete
        }
    }
}
