package dev.ember.server.api;

import dev.ember.log.LogSink;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The API's part of the launcher's JVM start-up training run ({@code dev.ember.server.StartupTraining}):
 * serves the API on a temporary socket and sends it a handful of pre-boot requests (good and
 * bad ones, so the error paths load too), then stops. It prints nothing and starts no guest.
 */
final class ApiTraining {

    private ApiTraining() { }

    /** Serves the API on a socket in {@code dir} and sends it three rounds of requests. */
    static void exercise(Path dir) throws IOException {
        Path socket = dir.resolve("api.sock");
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        ApiLogger logger = new ApiLogger("training", quiet);
        ApiMetrics metrics = new ApiMetrics();
        VmmController controller = new VmmController("training", logger, metrics, OutputStream.nullOutputStream(),
                null, LogSink.discard(), status -> { });
        ApiServer server = ApiServer.start(socket, new ApiRouter(controller, logger, metrics));
        try {
            for (int round = 0; round < 3; round++) {
                request(socket, "GET", "/", null);
                request(socket, "GET", "/machine-config", null);
                request(socket, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 128}");
                request(socket, "PUT", "/boot-source", "{\"kernel_image_path\": \"" + dir.resolve("no-kernel") + "\"}");
                request(socket, "PUT", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"path_on_host\": \""
                        + dir.resolve("no-disk") + "\", \"is_root_device\": true, \"is_read_only\": false}");
                request(socket, "PUT", "/logger", "{\"level\": \"Info\"}");
                request(socket, "PUT", "/snapshot/load", "{\"snapshot_path\": \"" + dir.resolve("none") + "\"}");
                request(socket, "GET", "/vm/config", null);
                request(socket, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}");
            }
        } finally {
            server.close();
            metrics.close();
        }
    }

    /** One HTTP/1.1 request over the socket; the answer is read and dropped. */
    private static void request(Path socket, String method, String path, String body) throws IOException {
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
            String head = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
                    + (body == null ? "" : "Content-Type: application/json\r\nContent-Length: " + b.length + "\r\n")
                    + "Connection: close\r\n\r\n";
            ch.write(ByteBuffer.wrap(head.getBytes(StandardCharsets.US_ASCII)));
            ch.write(ByteBuffer.wrap(b));
            ByteBuffer in = ByteBuffer.allocate(8192);
            while (ch.read(in) >= 0) {
                if (!in.hasRemaining()) {
                    in.clear();
                }
            }
        }
    }
}
