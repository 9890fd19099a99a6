package dev.ember.server.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ember.server.api.ApiHarness;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * The REST API's request handling and the config file ({@code dev.ember.server.api}) given
 * arbitrary requests: any method and path, bodies that are arbitrary bytes or JSON objects
 * built from each route's fields with arbitrary values, unknown keys and nesting. Requests go
 * to the router directly, without the socket and Jetty, so that thousands run each second; the
 * HTTP layer itself is Jetty's (ApiStalledClientsTest and ApiPreBootTest drive it over the socket).
 *
 * <p>Every file path in a generated body lies in a temporary directory, and arbitrary bytes only
 * go to routes that do not open host files when configured, so a campaign writes nothing
 * elsewhere on the host.
 *
 * <p>Invariants: every reply is 200, 204 or a 4xx whose body is a Firecracker
 * {@code {"fault_message": "..."}} with a message; no exception escapes (the API server would
 * answer it with a 500 or not at all); a refused request leaves the configuration, the
 * instance info and the metadata store as they were; the config file either starts the VM or
 * is refused with a fault message.
 */
class ApiFuzzTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final Path DIR = tempDir();

    /** Resources that open no host file when configured: raw-byte bodies may go there. */
    private static final List<String> RAW_PATHS = List.of("/actions", "/balloon", "/balloon/statistics",
            "/boot-source", "/drives/rootfs", "/drives/x", "/shares/tag0", "/machine-config", "/mmds", "/mmds/config",
            "/network-interfaces/eth0", "/entropy", "/vm", "/", "/version", "/vm/config", "/nothing", "/drives/",
            "/drives/a/b", "/snapshot");
    private static final List<String> METHODS = List.of("GET", "PUT", "PATCH", "POST", "DELETE", "HEAD");

    private static final String RATE_LIMITER = "rate_limiter";

    /** One route: method, path, and its body's fields as name:kind ('i' number, 'b' boolean, 's:A|B' enum, 'p' path, 'r' rate limiter, 'j' any JSON, 't' text). */
    private record Route(String method, String path, String... fields) { }

    private static final List<Route> ROUTES = List.of(
            new Route("PUT", "/machine-config", "vcpu_count:i", "mem_size_mib:i", "smt:b", "track_dirty_pages:b",
                    "huge_pages:s:None|2M", "cpu_template:s:None|T2"),
            new Route("PATCH", "/machine-config", "vcpu_count:i", "mem_size_mib:i", "smt:b", "track_dirty_pages:b"),
            new Route("PUT", "/boot-source", "kernel_image_path:p", "initrd_path:p", "boot_args:t"),
            new Route("PUT", "/drives/rootfs", "drive_id:s:rootfs|other|", "path_on_host:p", "is_root_device:b",
                    "is_read_only:b", "partuuid:t", "cache_type:s:Unsafe|Writeback", "io_engine:s:Sync|Async",
                    "rate_limiter:r"),
            new Route("PATCH", "/drives/rootfs", "drive_id:s:rootfs|other", "path_on_host:p", "rate_limiter:r"),
            new Route("PUT", "/network-interfaces/eth0", "iface_id:s:eth0|eth1", "host_dev_name:t", "guest_mac:t",
                    "rx_rate_limiter:r", "tx_rate_limiter:r"),
            new Route("PATCH", "/network-interfaces/eth0", "iface_id:s:eth0|eth1", "rx_rate_limiter:r",
                    "tx_rate_limiter:r"),
            new Route("PUT", "/vsock", "guest_cid:i", "uds_path:p", "vsock_id:t"),
            new Route("PUT", "/balloon", "amount_mib:i", "deflate_on_oom:b", "stats_polling_interval_s:i"),
            new Route("PATCH", "/balloon", "amount_mib:i"),
            new Route("PATCH", "/balloon/statistics", "stats_polling_interval_s:i"),
            new Route("PUT", "/entropy", "rate_limiter:r"),
            new Route("PUT", "/mmds/config", "version:s:V1|V2", "network_interfaces:j", "ipv4_address:t"),
            new Route("PUT", "/logger", "log_path:p", "level:s:Error|Warning|Info|Debug|Trace|Off", "show_level:b",
                    "show_log_origin:b", "module:t"),
            new Route("PUT", "/metrics", "metrics_path:p"),
            new Route("PUT", "/serial", "serial_out_path:p"),
            new Route("PUT", "/shares/tag0", "share_id:s:tag0|tag1", "path_on_host:p", "tag:t", "read_only:b"),
            new Route("PUT", "/actions", "action_type:s:InstanceStart|SendCtrlAltDel|FlushMetrics|Pause"),
            new Route("PATCH", "/vm", "state:s:Paused|Resumed"),
            new Route("PUT", "/snapshot/create", "snapshot_type:s:Full|Diff", "snapshot_path:p", "mem_file_path:p"),
            new Route("PUT", "/snapshot/load", "snapshot_path:p", "mem_file_path:p", "enable_diff_snapshots:b",
                    "resume_vm:b"),
            new Route("PUT", "/mmds", "latest:j", "x:j"),
            new Route("PATCH", "/mmds", "latest:j", "y:j"));

    private static final Set<Integer> ANSWERS = Set.of(200, 204, 400);

    @FuzzTest(maxDuration = "15s")
    void requests(FuzzedDataProvider data) {
        try (ApiHarness api = new ApiHarness()) {
            for (int i = 0; i < 16 && data.remainingBytes() > 0; i++) {
                String method;
                String path;
                byte[] body;
                if (data.consumeInt(0, 3) == 0) {
                    method = METHODS.get(data.consumeInt(0, METHODS.size() - 1));
                    path = RAW_PATHS.get(data.consumeInt(0, RAW_PATHS.size() - 1));
                    body = data.consumeBoolean() ? null : data.consumeBytes(data.consumeInt(0, 300));
                } else {
                    Route route = ROUTES.get(data.consumeInt(0, ROUTES.size() - 1));
                    method = route.method();
                    path = route.path();
                    body = body(data, route).getBytes(StandardCharsets.UTF_8);
                }
                request(api, method, path, body);
            }
        }
    }

    @FuzzTest(maxDuration = "15s")
    void configFile(FuzzedDataProvider data) {
        ObjectNode file = NODES.objectNode();
        String[] sections = {"machine-config", "boot-source", "drives", "network-interfaces", "vsock", "balloon",
            "entropy", "mmds-config", "logger", "metrics"};
        Route[] routes = {ROUTES.get(0), ROUTES.get(2), ROUTES.get(3), ROUTES.get(5), ROUTES.get(7), ROUTES.get(8),
            ROUTES.get(11), ROUTES.get(12), ROUTES.get(13), ROUTES.get(14)};
        for (int i = 0; i < sections.length; i++) {
            if (data.consumeBoolean()) {
                JsonNode section = parse(body(data, routes[i]));
                boolean list = sections[i].equals("drives") || sections[i].equals("network-interfaces");
                file.set(sections[i], list ? NODES.arrayNode().add(section) : section);
            }
        }
        if (data.consumeBoolean()) {
            file.set(data.consumeString(12), value(data, 2));
        }
        byte[] json = data.consumeBoolean() ? file.toString().getBytes(StandardCharsets.UTF_8)
                : data.consumeRemainingAsBytes();
        try (ApiHarness api = new ApiHarness()) {
            ApiHarness.Reply fault = api.configFile(confined(json));
            if (fault != null) {
                assertFault(fault);
            }
        }
    }

    private static void request(ApiHarness api, String method, String path, byte[] fuzzed) {
        byte[] body = confined(fuzzed);
        List<ApiHarness.Reply> before = state(api);
        ApiHarness.Reply reply = api.route(method, path, body);
        assertTrue(ANSWERS.contains(reply.status()), () -> method + " " + path + " answered " + reply);
        if (reply.status() >= 400) {
            assertFault(reply);
            assertEquals(before, state(api), () -> "refused " + method + " " + path + " changed the VM's state");
        }
    }

    /** What a refused request must not change. */
    private static List<ApiHarness.Reply> state(ApiHarness api) {
        return List.of(api.route("GET", "/vm/config", null), api.route("GET", "/", null),
                api.route("GET", "/mmds", null), api.route("GET", "/machine-config", null));
    }

    private static void assertFault(ApiHarness.Reply reply) {
        JsonNode fault = parse(reply.body());
        assertTrue(fault.isObject() && fault.size() == 1 && fault.path("fault_message").isTextual()
                && !fault.path("fault_message").asText().isBlank(), () -> "not a fault message: " + reply);
    }

    /** A JSON object with some of {@code route}'s fields, plausible or arbitrary, and maybe an unknown one. */
    private static String body(FuzzedDataProvider data, Route route) {
        ObjectNode body = NODES.objectNode();
        for (String field : route.fields()) {
            String[] parts = field.split(":", 3);
            switch (data.consumeInt(0, 2)) {
                case 0 -> { }
                case 1 -> body.set(parts[0], plausible(data, parts[1], parts.length > 2 ? parts[2] : ""));
                default -> body.set(parts[0], value(data, 2));
            }
        }
        if (data.consumeInt(0, 7) == 0) {
            body.set(data.consumeString(16), value(data, 1));
        }
        return body.toString();
    }

    private static JsonNode plausible(FuzzedDataProvider data, String kind, String choices) {
        return switch (kind) {
            case "i" -> NODES.numberNode(data.consumeInt(0, 3) == 0 ? data.consumeLong() : data.consumeInt(0, 4096));
            case "b" -> NODES.booleanNode(data.consumeBoolean());
            case "s" -> {
                String[] options = choices.split("\\|", -1);
                yield NODES.textNode(options[data.consumeInt(0, options.length - 1)]);
            }
            case "p" -> NODES.textNode(DIR.resolve(data.consumeBoolean() ? "file" : safeName(data)).toString());
            case "r" -> rateLimiter(data);
            case "t" -> NODES.textNode(data.consumeString(64));
            default -> value(data, 2);
        };
    }

    private static JsonNode rateLimiter(FuzzedDataProvider data) {
        ObjectNode limiter = NODES.objectNode();
        for (String bucket : new String[] {"bandwidth", "ops"}) {
            if (data.consumeBoolean()) {
                ObjectNode b = limiter.putObject(bucket);
                b.put("size", data.consumeLong()).put("refill_time", data.consumeLong());
                if (data.consumeBoolean()) {
                    b.put("one_time_burst", data.consumeLong());
                }
            }
        }
        return limiter;
    }

    /** An arbitrary JSON value, nested at most {@code depth} deep. */
    private static JsonNode value(FuzzedDataProvider data, int depth) {
        return switch (data.consumeInt(0, depth > 0 ? 9 : 7)) {
            case 0 -> NODES.textNode(data.consumeString(40));
            case 1 -> NODES.numberNode(data.consumeInt());
            case 2 -> NODES.numberNode(data.consumeLong());
            case 3 -> NODES.booleanNode(data.consumeBoolean());
            case 4 -> NODES.nullNode();
            case 5 -> NODES.numberNode(data.consumeDouble());
            case 6 -> NODES.numberNode(BigInteger.valueOf(data.consumeLong()).shiftLeft(data.consumeInt(0, 80)));
            case 7 -> NODES.textNode(DIR.resolve(safeName(data)).toString());
            case 8 -> {
                ArrayNode array = NODES.arrayNode();
                for (int i = data.consumeInt(0, 3); i > 0; i--) {
                    array.add(value(data, depth - 1));
                }
                yield array;
            }
            default -> {
                ObjectNode object = NODES.objectNode();
                for (int i = data.consumeInt(0, 3); i > 0; i--) {
                    object.set(data.consumeString(12), value(data, depth - 1));
                }
                yield object;
            }
        };
    }

    /**
     * {@return {@code body} with every {@code log_path} and {@code metrics_path} outside the
     * temporary directory moved into it}: the API creates those files, and a fuzzed relative name
     * would land in the working directory (the module's checkout), an absolute one anywhere root
     * can write. Bodies that are not JSON objects cannot name a file and pass unchanged.
     */
    private static byte[] confined(byte[] body) {
        if (body == null) {
            return null;
        }
        JsonNode tree;
        try {
            tree = JSON.readTree(body);
        } catch (IOException | RuntimeException notJson) {
            return body;
        }
        return tree != null && confine(tree) ? tree.toString().getBytes(StandardCharsets.UTF_8) : body;
    }

    /** Rewrites file-creating path fields anywhere in {@code node}; {@return whether one changed} */
    private static boolean confine(JsonNode node) {
        boolean changed = false;
        if (node instanceof ObjectNode object) {
            for (String field : List.of("log_path", "metrics_path")) {
                JsonNode value = object.get(field);
                if (value != null && value.isTextual() && !inside(value.asText())) {
                    object.put(field, DIR.resolve(value.asText().replaceAll("[^A-Za-z0-9]", "") + "-confined").toString());
                    changed = true;
                }
            }
        }
        for (JsonNode child : node) {
            changed |= confine(child);
        }
        return changed;
    }

    private static boolean inside(String path) {
        if (path.indexOf('\0') >= 0) {
            return true;   // refused by the API before any file is made
        }
        return Path.of(path).toAbsolutePath().normalize().startsWith(DIR);
    }

    /** {@return a file name of letters and digits, so a path stays inside the temporary directory} */
    private static String safeName(FuzzedDataProvider data) {
        String name = data.consumeString(12).replaceAll("[^A-Za-z0-9]", "");
        return name.isEmpty() ? "f" : name;
    }

    private static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON: " + json, e);
        }
    }

    private static Path tempDir() {
        try {
            Path dir = Files.createTempDirectory("ember-api-fuzz");
            Files.writeString(dir.resolve("file"), "not a kernel, disk or snapshot");
            // the logs and metrics files the API made there go too (deleteOnExit needs an empty directory)
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try (var entries = Files.list(dir)) {
                    entries.forEach(f -> f.toFile().delete());
                } catch (IOException ignored) {
                    // best effort
                }
                dir.toFile().delete();
            }, "api-fuzz-cleanup"));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
