package dev.ember.server.api;

import dev.ember.server.EmberCommand;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The training run of the launcher's JVM start-up cache (JDK 25's AOT cache, JEP 483 and 514):
 * what a fresh {@code ember --api-sock} process does before and while it first answers, so the
 * classes it loads and links then come ready-made from the cache. It parses a command line,
 * serves the API on a temporary socket, sends it a handful of pre-boot requests (good and bad
 * ones, so the error paths load too), encodes and decodes a snapshot's state and maps a memory
 * file (what a restore does first), runs {@code ember-oci}'s commands on a throw-away bundle, checks
 * an {@code ember jailer} command line, and stops. It prints nothing and starts no guest.
 *
 * <p>Run by {@code scripts/lib.sh} with {@code -XX:AOTCacheOutput}, once per build of the jars.
 */
public final class StartupTraining {

    private StartupTraining() { }

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("ember-aot-training");
        Path socket = dir.resolve("api.sock");
        try {
            EmberCommand.parseForTraining("--api-sock", socket.toString(), "--id", "training");
            dev.ember.server.jailer.JailerCommand.train();
            PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
            ApiLogger logger = new ApiLogger("training", quiet);
            ApiMetrics metrics = new ApiMetrics();
            VmmController controller = new VmmController("training", logger, metrics, OutputStream.nullOutputStream(),
                    null, quiet, status -> { });
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
            // What a restore does before the guest runs: decode a state file, map a memory file.
            dev.ember.vmm.VmState.exerciseForTraining(dir);
            // What ember-oci's short-lived commands do: parse runc's command line, read a bundle,
            // plan its mounts, keep a container's record, answer state and features.
            dev.ember.server.oci.OciCommand.exerciseForTraining(dir);
        } finally {
            try (var files = Files.list(dir)) {
                for (Path p : files.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
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
