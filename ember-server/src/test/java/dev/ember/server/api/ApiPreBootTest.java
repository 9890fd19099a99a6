package dev.ember.server.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Firecracker's API before boot, on one real {@code ember --api-sock} process: each endpoint's
 * success and its refusals (unknown fields, wrong types, missing fields, bad ids, path/body id
 * mismatch, oversize bodies, unknown paths and methods), and that a refused request changes
 * nothing. The VM is never started here; {@link ApiBootTest} covers the booted side.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ApiPreBootTest {

    private static final String DESER = "An error occurred when deserializing the json body of a request: ";

    @TempDir
    static Path dir;
    private ApiProcess ember;

    @BeforeAll
    void start() throws Exception {
        ember = ApiProcess.serve(dir.resolve("api.sock"));
    }

    @AfterAll
    void stop() {
        ember.close();
    }

    private ApiProcess.Reply put(String path, String body) throws IOException {
        return ember.request("PUT", path, body);
    }

    private ApiProcess.Reply patch(String path, String body) throws IOException {
        return ember.request("PATCH", path, body);
    }

    private ApiProcess.Reply get(String path) throws IOException {
        return ember.request("GET", path, null);
    }

    private static void assertFault(int status, String message, ApiProcess.Reply reply) {
        assertEquals(status, reply.status(), reply.body());
        assertEquals("{\"fault_message\":" + Json.MAPPER.valueToTree(message) + "}", reply.body());
    }

    /** Asserts that the request is refused with {@code message} and leaves GET /vm/config as it was. */
    private void assertRefusedUnchanged(String method, String path, String body, String message) throws IOException {
        String before = get("/vm/config").body();
        assertFault(400, message, ember.request(method, path, body));
        assertEquals(before, get("/vm/config").body(), "a refused request changed the configuration");
    }

    @Test
    void instanceInfoBeforeBootIsNotStarted() throws IOException {
        ApiProcess.Reply r = get("/");
        assertEquals(200, r.status());
        assertEquals("{\"id\":\"anonymous-instance\",\"state\":\"Not started\",\"vmm_version\":\"0.1.0\",\"app_name\":\"ember\"}", r.body());
    }

    @Test
    void versionNamesEmbersVersion() throws IOException {
        assertEquals(new ApiProcess.Reply(200, "{\"firecracker_version\":\"0.1.0\"}"), get("/version"));
    }

    @Test
    void machineConfigPutThenGetAndPatch() throws IOException {
        assertEquals(204, put("/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256}").status());
        assertEquals("{\"vcpu_count\":2,\"mem_size_mib\":256,\"smt\":false,\"track_dirty_pages\":false,\"huge_pages\":\"None\","
                        + "\"engine\":\"jit\",\"jit_threshold\":20000}",
                get("/machine-config").body());
        assertEquals(204, patch("/machine-config", "{\"mem_size_mib\": 192}").status());
        assertTrue(get("/machine-config").body().contains("\"vcpu_count\":2,\"mem_size_mib\":192"));
    }

    @Test
    void machineConfigRefusalsChangeNothing() throws IOException {
        assertRefusedUnchanged("PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"foo\": 1}",
                DESER + "unknown field `foo`, expected one of `vcpu_count`, `mem_size_mib`, `smt`, `cpu_template`, "
                        + "`track_dirty_pages`, `huge_pages`, `engine`, `jit_threshold`, `cpu_features` at line 1 column 49.");
        assertRefusedUnchanged("PUT", "/machine-config", "{\"vcpu_count\": \"2\", \"mem_size_mib\": 128}",
                DESER + "invalid type: string \"2\", expected u32 at line 1 column 16.");
        assertRefusedUnchanged("PUT", "/machine-config", "{\"mem_size_mib\": 128}",
                DESER + "missing field `vcpu_count` at line 1 column 21.");
        assertRefusedUnchanged("PUT", "/machine-config", "{\"vcpu_count\": 9, \"mem_size_mib\": 128}",
                "Machine config error: The number of vCPUs must be greater than 0, at most 8 and must be 1 or an even "
                        + "number if SMT is enabled.");
        assertRefusedUnchanged("PUT", "/machine-config", "{\"vcpu_count\": -1, \"mem_size_mib\": 128}",
                DESER + "invalid value: integer `-1`, expected u8 at line 1 column 39.");
        assertRefusedUnchanged("PATCH", "/machine-config", "{}", "Empty PATCH request.");
        assertRefusedUnchanged("PUT", "/machine-config", "not json", DESER + "expected value at line 1 column 1.");
    }

    @Test
    void machineConfigChoosesTheExecutionEngine() throws IOException {
        assertEquals(204, put("/machine-config",
                "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"engine\": \"interp\", \"jit_threshold\": 0}").status());
        assertTrue(get("/machine-config").body().endsWith("\"engine\":\"interp\",\"jit_threshold\":0}"),
                get("/machine-config").body());
        assertEquals(204, patch("/machine-config", "{\"engine\": \"jit\"}").status());
        assertTrue(get("/vm/config").body().contains("\"engine\":\"jit\",\"jit_threshold\":0}"),
                get("/vm/config").body());
        assertRefusedUnchanged("PATCH", "/machine-config", "{\"engine\": \"fast\"}",
                "Machine config error: engine must be interp or jit, not 'fast'");
        assertRefusedUnchanged("PATCH", "/machine-config", "{\"jit_threshold\": 2000000}",
                "Machine config error: jit_threshold must be between 0 and 1048576, not 2000000");
        assertRefusedUnchanged("PATCH", "/machine-config", "{\"jit_threshold\": -1}",
                "Machine config error: jit_threshold must be between 0 and 1048576, not -1");
    }

    /** Ember's {@code cpu_features}: the hypervisor extension is asked for as on the command line. */
    @Test
    void machineConfigChoosesCpuFeatures() throws IOException {
        assertEquals(204, put("/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_features\": \"+h\"}").status());
        assertTrue(get("/machine-config").body().endsWith("\"cpu_features\":\"+h\"}"), get("/machine-config").body());
        assertEquals(204, patch("/machine-config", "{\"mem_size_mib\": 256}").status());
        assertTrue(get("/vm/config").body().contains("\"cpu_features\":\"+h\""), get("/vm/config").body());
        assertRefusedUnchanged("PATCH", "/machine-config", "{\"cpu_features\": \"+v\"}",
                "Machine config error: cpu_features: unknown cpu feature 'v' (known: h, the hypervisor extension)");
        assertRefusedUnchanged("PATCH", "/machine-config", "{\"cpu_features\": \"+h,+\"}",
                "Machine config error: cpu_features: cpu feature '+' must be NAME, +NAME or -NAME (known: h)");
        assertEquals(204, patch("/machine-config", "{\"cpu_features\": \"-h\"}").status());
        assertTrue(get("/machine-config").body().endsWith("\"cpu_features\":\"\"}"), get("/machine-config").body());
    }

    @Test
    void drivesPutReplacesAndChecksIds() throws IOException {
        Path disk = Files.write(dir.resolve("disk.img"), new byte[4096]);
        String body = "{\"drive_id\": \"data\", \"path_on_host\": \"" + disk + "\", \"is_root_device\": false}";
        assertEquals(204, put("/drives/data", body).status());
        assertEquals(204, put("/drives/data", body.replace("false}", "false, \"is_read_only\": true}")).status());
        String config = get("/vm/config").body();
        assertTrue(config.contains("{\"drive_id\":\"data\",\"is_root_device\":false,\"is_read_only\":true,\"path_on_host\":\""),
                config);
        assertRefusedUnchanged("PUT", "/drives/other", body, "The id from the path does not match the id from the body!");
        assertRefusedUnchanged("PUT", "/drives/", body, "The ID cannot be empty.");
        assertRefusedUnchanged("PUT", "/drives/bad-id", body,
                "API Resource IDs can only contain alphanumeric characters and underscores.");
        assertRefusedUnchanged("PUT", "/drives/data", "{\"drive_id\": \"data\", \"path_on_host\": \"" + disk + "\"}",
                DESER + "missing field `is_root_device` at line 1 column " + (40 + disk.toString().length()) + ".");
        assertRefusedUnchanged("PUT", "/drives/nofile",
                "{\"drive_id\": \"nofile\", \"path_on_host\": \"/nonexistent/disk\", \"is_root_device\": false}",
                "Drive config error: Unable to create the virtio block device: Virtio backend error: Error manipulating "
                        + "the backing file: No such file or directory (os error 2) /nonexistent/disk");
    }

    @Test
    void onlyOneRootDrive() throws IOException {
        Path disk = Files.write(dir.resolve("root.img"), new byte[4096]);
        assertEquals(204, put("/drives/root1", "{\"drive_id\": \"root1\", \"path_on_host\": \"" + disk
                + "\", \"is_root_device\": true}").status());
        assertRefusedUnchanged("PUT", "/drives/root2", "{\"drive_id\": \"root2\", \"path_on_host\": \"" + disk
                + "\", \"is_root_device\": true}", "Drive config error: A root block device already exists!");
    }

    @Test
    void networkInterfaceNeedsATapName() throws IOException {
        assertRefusedUnchanged("PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\"}",
                DESER + "missing field `host_dev_name` at line 1 column 20.");
        assertEquals(204, put("/network-interfaces/eth0",
                "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"guest_mac\": \"06:00:00:00:00:01\"}").status());
        assertRefusedUnchanged("PUT", "/network-interfaces/eth1",
                "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\", \"guest_mac\": \"06:00:00:00:00:01\"}",
                "Network config error: The MAC address is already in use: 06:00:00:00:00:01");
        assertRefusedUnchanged("PUT", "/network-interfaces/eth1", "{\"iface_id\": \"eth2\", \"host_dev_name\": \"tap1\"}",
                "The id from the path does not match the id from the body!");
        assertRefusedUnchanged("PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\"}", ApiError.PRE_BOOT);
    }

    @Test
    void bootSourceNeedsAReadableKernel() throws IOException {
        assertRefusedUnchanged("PUT", "/boot-source", "{\"kernel_image_path\": \"/nonexistent/Image\"}",
                "Boot source error: The kernel file cannot be opened: No such file or directory (os error 2)");
        assertRefusedUnchanged("PUT", "/boot-source", "{\"boot_args\": \"console=ttyS0\"}",
                DESER + "missing field `kernel_image_path` at line 1 column 30.");
    }

    @Test
    void pathsWithANulCharacterAreRefused() throws IOException {
        // found by ApiFuzzTest#requests: an InvalidPathException escaped the router
        assertRefusedUnchanged("PUT", "/boot-source", "{\"kernel_image_path\": \"/tmp/Ima\\u0000ge\"}",
                "Boot source error: The kernel file cannot be opened: invalid path: Nul character not allowed");
        assertRefusedUnchanged("PUT", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/tmp/d\\u0000isk\", "
                + "\"is_root_device\": true, \"is_read_only\": false}",
                "Drive config error: Unable to create the virtio block device: invalid path: Nul character not allowed");
    }

    @Test
    void bootArgsWithANulCharacterAreRefusedBeforeBoot() throws IOException {
        Path kernel = Files.writeString(dir.resolve("nul-test-Image"), "any readable file");
        String before = get("/vm/config").body();
        ApiProcess.Reply r = put("/boot-source", "{\"kernel_image_path\": \"" + kernel
                + "\", \"boot_args\": \"console=ttyS0\\u0000init=/bin/sh\"}");
        assertEquals(400, r.status(), r.body());
        assertTrue(r.body().contains("NUL character"), r.body());
        assertEquals(before, get("/vm/config").body(), "a refused request changed the configuration");
    }

    @Test
    void instanceStartWithoutKernelIsRefused() throws IOException {
        assertRefusedUnchanged("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}",
                "Start microvm error: Cannot start microvm without kernel configuration.");
        assertEquals("Not started", Json.MAPPER.readTree(get("/").body()).get("state").asText());
    }

    @Test
    void postBootActionsAreRefusedBeforeBoot() throws IOException {
        assertRefusedUnchanged("PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}", ApiError.PRE_BOOT);
        assertRefusedUnchanged("PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}", ApiError.PRE_BOOT);
        assertRefusedUnchanged("PATCH", "/vm", "{\"state\": \"Paused\"}", ApiError.PRE_BOOT);
        assertRefusedUnchanged("PATCH", "/balloon", "{\"amount_mib\": 1}", ApiError.PRE_BOOT);
        assertRefusedUnchanged("PATCH", "/drives/data", "{\"drive_id\": \"data\"}", ApiError.PRE_BOOT);
        assertFault(400, ApiError.PRE_BOOT, get("/balloon/statistics"));
        assertRefusedUnchanged("PUT", "/actions", "{\"action_type\": \"Reboot\"}", DESER
                + "unknown variant `Reboot`, expected one of `FlushMetrics`, `InstanceStart`, `SendCtrlAltDel` at line 1 column 25.");
        assertRefusedUnchanged("PATCH", "/vm", "{\"state\": \"Stopped\"}",
                DESER + "unknown variant `Stopped`, expected `Paused` or `Resumed` at line 1 column 20.");
    }

    @Test
    void unknownPathsMethodsAndBodyRules() throws IOException {
        assertFault(400, "Invalid request method and/or path: GET nothing.", get("/nothing"));
        assertFault(400, "Invalid request method and/or path: PUT nothing.", put("/nothing", "{}"));
        assertFault(400, "Invalid request method and/or path: DELETE drives.", ember.request("DELETE", "/drives/x", null));
        assertFault(400, "Invalid request method and/or path: POST actions.", ember.request("POST", "/actions", "{}"));
        assertFault(400, "Invalid request method and/or path: GET /balloon/nothing.", get("/balloon/nothing"));
        assertFault(400, "GET request cannot have a body.", ember.request("GET", "/machine-config", "{}"));
        assertFault(400, "Empty PUT request.", put("/boot-source", null));
        assertFault(400, "Empty PATCH request.", patch("/machine-config", null));
    }

    @Test
    void snapshotRequestsFollowFirecrackersPreBootRules() throws IOException {
        assertRefusedUnchanged("PUT", "/snapshot/create", "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\"}",
                ApiError.PRE_BOOT);
        assertRefusedUnchanged("PUT", "/snapshot/load", "{\"snapshot_path\": \"s\"}",
                "missing field: either `mem_backend` or `mem_file_path` is required.");
        assertFault(400, "Missing snapshot operation type.", put("/snapshot", "{}"));
    }

    @Test
    void oversizeBodyIsRefusedWithFirecrackersMessage() throws IOException {
        String before = get("/vm/config").body();
        String big = "{\"boot_args\": \"" + "x".repeat(ApiServer.MAX_PAYLOAD) + "\", \"kernel_image_path\": \"/k\"}";
        ApiProcess.Reply r = put("/boot-source", big);
        assertEquals(400, r.status());
        assertEquals("Request payload with size " + big.length() + " is larger than the limit of 51200 allowed by server.\n"
                + "All previous unanswered requests will be dropped.", Json.MAPPER.readTree(r.body()).get("error").asText());
        assertEquals(before, get("/vm/config").body());
    }

    @Test
    void mmdsPatchNeedsAPutThenMergesWithinTheLimit() throws IOException {
        assertEquals(new ApiProcess.Reply(200, "{}"), get("/mmds"));
        assertFault(400, "MMDS error: The MMDS data store is not initialized.", patch("/mmds", "{\"a\": 1}"));
        assertEquals(204, put("/mmds", "{\"latest\": {\"meta-data\": {\"ami-id\": \"ami-1\", \"old\": 1}}}").status());
        assertEquals(204, patch("/mmds", "{\"latest\": {\"meta-data\": {\"old\": null, \"new\": \"x\"}}}").status());
        assertEquals("{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-1\",\"new\":\"x\"}}}", get("/mmds").body());
        assertFault(400, DESER + "expected value at line 1 column 1.", put("/mmds", "nope"));
        // A body at the API limit is accepted; the data store keeps its own limit on the result.
        String prefix = "{\"big\": \"";
        String body = prefix + "x".repeat(ApiServer.MAX_PAYLOAD - prefix.length() - 2) + "\"}";
        assertEquals(ApiServer.MAX_PAYLOAD, body.length());
        assertEquals(204, put("/mmds", body).status());
        assertFault(413, "MMDS limit exceeded error: The MMDS patch request doesn't fit.",
                patch("/mmds", "{\"more\": \"" + "y".repeat(100) + "\"}"));
        assertEquals(ApiServer.MAX_PAYLOAD - 1, get("/mmds").body().length());
        assertEquals(204, put("/mmds", "{}").status());
    }

    @Test
    void mmdsConfigNeedsExistingInterfaces() throws IOException {
        assertRefusedUnchanged("PUT", "/mmds/config", "{\"network_interfaces\": []}",
                "MMDS config error: The list of network interface IDs that allow forwarding MMDS requests is empty.");
        assertRefusedUnchanged("PUT", "/mmds/config", "{\"network_interfaces\": [\"nope\"]}",
                "MMDS config error: The list of network interface IDs provided contains at least one ID that does not "
                        + "correspond to any existing network interface.");
        assertRefusedUnchanged("PUT", "/mmds/config", "{\"network_interfaces\": [\"nope\"], \"version\": \"V3\"}",
                DESER + "unknown variant `V3`, expected `V1` or `V2` at line 1 column 49.");
    }

    @Test
    void sharesPutChecksTagPathAndIdsAndAppearInVmConfig() throws IOException {
        Path shared = Files.createDirectories(dir.resolve("shared"));
        String body = "{\"share_id\": \"work\", \"tag\": \"work\", \"path_on_host\": \"" + shared + "\"}";
        assertEquals(204, put("/shares/work", body).status());
        assertEquals(204, put("/shares/work", body.replace("}", ", \"is_read_only\": true}")).status());
        String config = get("/vm/config").body();
        assertTrue(config.contains("\"shares\":[{\"share_id\":\"work\",\"tag\":\"work\",\"path_on_host\":\"" + shared
                + "\",\"is_read_only\":true}]"), config);
        assertRefusedUnchanged("PUT", "/shares/other", body, "The id from the path does not match the id from the body!");
        assertRefusedUnchanged("PUT", "/shares/docs", body.replace("\"work\", \"tag", "\"docs\", \"tag"),
                "Share config error: tag 'work' is used by share 'work'");
        assertRefusedUnchanged("PUT", "/shares/docs", "{\"share_id\": \"docs\", \"tag\": \"" + "t".repeat(37)
                + "\", \"path_on_host\": \"" + shared + "\"}",
                "Share config error: invalid share tag '" + "t".repeat(37) + "': use 1 to 36 bytes (UTF-8), no NUL");
        assertRefusedUnchanged("PUT", "/shares/docs", "{\"share_id\": \"docs\", \"tag\": \"docs\", \"path_on_host\": "
                + "\"/nonexistent/dir\"}", "Share config error: share 'docs': /nonexistent/dir does not exist");
        assertRefusedUnchanged("PUT", "/shares/docs", "{\"share_id\": \"docs\", \"tag\": \"docs\"}",
                DESER + "missing field `path_on_host` at line 1 column 35.");
    }

    @Test
    void balloonVsockEntropyPut() throws IOException {
        assertRefusedUnchanged("PUT", "/balloon", "{\"amount_mib\": 100000, \"deflate_on_oom\": false}",
                "Balloon config error: Amount of pages requested is too large.");
        assertRefusedUnchanged("PUT", "/balloon", "{\"amount_mib\": 1}",
                DESER + "missing field `deflate_on_oom` at line 1 column 17.");
        assertEquals(204, put("/entropy", "{\"rate_limiter\": {\"ops\": {\"size\": 100, \"refill_time\": 1000}}}").status());
        assertRefusedUnchanged("PUT", "/entropy", "{\"rate_limiter\": {\"ops\": {\"size\": 100}}}",
                DESER + "missing field `refill_time` at line 1 column 40.");
        assertRefusedUnchanged("PUT", "/vsock", "{\"guest_cid\": 2, \"uds_path\": \"/tmp/v.sock\"}",
                "Vsock config error: vsock guest CID must be 3 to 4294967294, not 2");
        assertEquals(204, put("/vsock", "{\"guest_cid\": 3, \"uds_path\": \"" + dir.resolve("v.sock") + "\"}").status());
        assertTrue(get("/vm/config").body().contains("\"entropy\":{\"rate_limiter\":{\"ops\":{\"size\":100,\"refill_time\":1000}}}"));
    }

    @Test
    void loggerWritesFirecrackerLinesWithLevel() throws Exception {
        Path log = dir.resolve("ember.log");
        assertFault(400, "Logger error: Failed to open target file: No such file or directory (os error 2)",
                put("/logger", "{\"log_path\": \"/nonexistent/dir/log\"}"));
        assertEquals(204, put("/logger", "{\"log_path\": \"" + log + "\", \"level\": \"Info\", \"show_level\": true}").status());
        get("/nothing-here");
        String text = Files.readString(log, StandardCharsets.UTF_8);
        assertTrue(text.matches("(?s).*\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9} \\[anonymous-instance:[^:\\]]+:ERROR\\] "
                + "Received Error\\. Status code: 400 Bad Request\\. Message: Invalid request method and/or path: GET nothing-here\\..*"), text);
        assertTrue(text.contains(":INFO] The API server received a Get request on \"/nothing-here\"."), text);
    }

    @Test
    void metricsCannotBeConfiguredTwice() throws IOException {
        Path m = dir.resolve("metrics.json");
        assertEquals(204, put("/metrics", "{\"metrics_path\": \"" + m + "\"}").status());
        assertFault(400, "Metrics error: Cannot initialize the metrics system due to bad user input: "
                + "Reinitialization of metrics not allowed.", put("/metrics", "{\"metrics_path\": \"" + m + "\"}"));
    }
}
