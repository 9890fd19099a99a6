package dev.ember.server.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Firecracker's getting-started flow through {@code curl --unix-socket} on a real
 * {@code ember --api-sock} process, then the post-boot rules on the same booted VM: what may
 * change (pause, resume, balloon, MMDS, metrics flush) and what may not (boot source, machine
 * config, devices, a second start), ending with the guest's poweroff ending the process.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ApiBootTest {

    private static final Duration BOOT = Duration.ofSeconds(60);

    @TempDir
    static Path dir;
    private ApiProcess ember;
    private Path socket;
    private Path metrics;
    private MetricsFile metricsFile;

    @BeforeAll
    void start() throws Exception {
        socket = dir.resolve("firecracker.socket");
        metrics = dir.resolve("metrics.json");
        metricsFile = new MetricsFile(metrics);
        ember = ApiProcess.serve(socket);
    }

    @AfterAll
    void stop() {
        ember.close();
    }

    private static void assertFault(String message, ApiProcess.Reply reply) {
        assertEquals(400, reply.status(), reply.body());
        assertEquals(message, readFault(reply.body()));
    }

    private static String readFault(String body) {
        try {
            return Json.MAPPER.readTree(body).get("fault_message").asText();
        } catch (Exception e) {
            throw new AssertionError(body, e);
        }
    }

    @Test
    @Order(1)
    void gettingStartedFlowBootsTheGuestThroughCurl() throws Exception {
        Path guest = ApiProcess.guestDir();
        assertEquals(204, ember.curl("-X", "PUT", "http://localhost/boot-source", "-H", "Content-Type: application/json",
                "-d", "{\"kernel_image_path\": \"" + guest.resolve("Image") + "\", \"initrd_path\": \""
                        + guest.resolve("initramfs.cpio") + "\", \"boot_args\": \"console=ttyS0\"}").status());
        assertEquals(204, ember.curl("-X", "PUT", "http://localhost/machine-config",
                "-d", "{\"vcpu_count\": 1, \"mem_size_mib\": 128}").status());
        assertEquals(204, ember.curl("-X", "PUT", "http://localhost/balloon",
                "-d", "{\"amount_mib\": 0, \"deflate_on_oom\": true, \"stats_polling_interval_s\": 1}").status());
        Path disk = Files.write(dir.resolve("data.img"), new byte[1 << 20]);
        assertEquals(204, ember.curl("-X", "PUT", "http://localhost/drives/data", "-d", "{\"drive_id\": \"data\", "
                + "\"path_on_host\": \"" + disk + "\", \"is_root_device\": false, \"is_read_only\": false}").status());
        assertEquals(204, ember.curl("-X", "PUT", "http://localhost/metrics",
                "-d", "{\"metrics_path\": \"" + metrics + "\"}").status());
        assertEquals(204, ember.curl("-X", "PUT", "http://localhost/actions",
                "-d", "{\"action_type\": \"InstanceStart\"}").status());
        ember.await("ember-guest: userspace up", BOOT);
        ApiProcess.Reply info = ember.curl("http://localhost/");
        assertEquals(200, info.status());
        assertEquals("Running", Json.MAPPER.readTree(info.body()).get("state").asText());
    }

    @Test
    @Order(2)
    void preBootResourcesAreRefusedAfterBootAndChangeNothing() throws Exception {
        String before = ember.request("GET", "/vm/config", null).body();
        Path disk = Files.write(dir.resolve("late.img"), new byte[4096]);
        assertFault(ApiError.POST_BOOT, ember.request("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256}"));
        assertFault(ApiError.POST_BOOT, ember.request("PATCH", "/machine-config", "{\"vcpu_count\": 2}"));
        assertFault(ApiError.POST_BOOT, ember.request("PUT", "/boot-source", "{\"kernel_image_path\": \"" + disk + "\"}"));
        assertFault(ApiError.POST_BOOT, ember.request("PUT", "/drives/late",
                "{\"drive_id\": \"late\", \"path_on_host\": \"" + disk + "\", \"is_root_device\": false}"));
        assertFault(ApiError.POST_BOOT, ember.request("PUT", "/network-interfaces/eth0",
                "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}"));
        assertFault(ApiError.POST_BOOT, ember.request("PUT", "/entropy", "{}"));
        assertFault(ApiError.POST_BOOT, ember.request("PUT", "/balloon", "{\"amount_mib\": 1, \"deflate_on_oom\": false}"));
        assertFault(ApiError.POST_BOOT, ember.request("PUT", "/logger", "{\"log_path\": \"" + dir.resolve("l") + "\"}"));
        assertFault(ApiError.POST_BOOT, ember.request("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"));
        assertFault("Drive config error: Invalid block device ID!",
                ember.request("PATCH", "/drives/nope", "{\"drive_id\": \"nope\"}"));
        assertEquals(before, ember.request("GET", "/vm/config", null).body());
    }

    @Test
    @Order(3)
    void vmConfigShowsWhatWasConfigured() throws Exception {
        JsonNode config = Json.MAPPER.readTree(ember.request("GET", "/vm/config", null).body());
        assertEquals(ApiProcess.guestDir().resolve("Image").toString(), config.get("boot-source").get("kernel_image_path").asText());
        assertEquals(128, config.get("machine-config").get("mem_size_mib").asInt());
        assertEquals(metrics.toString(), config.get("metrics").get("metrics_path").asText());
        assertTrue(config.get("drives").isArray());
        assertTrue(config.get("vsock").isNull());
    }

    @Test
    @Order(4)
    void pauseAndResumeChangeTheState() throws Exception {
        assertEquals(204, ember.request("PATCH", "/vm", "{\"state\": \"Paused\"}").status());
        assertEquals("Paused", Json.MAPPER.readTree(ember.request("GET", "/", null).body()).get("state").asText());
        assertEquals(204, ember.request("PATCH", "/vm", "{\"state\": \"Resumed\"}").status());
        assertEquals("Running", Json.MAPPER.readTree(ember.request("GET", "/", null).body()).get("state").asText());
    }

    @Test
    @Order(5)
    void balloonTargetAndStatisticsAfterBoot() throws Exception {
        assertEquals(204, ember.request("PATCH", "/balloon", "{\"amount_mib\": 8}").status());
        assertEquals("{\"amount_mib\":8,\"deflate_on_oom\":true,\"stats_polling_interval_s\":1}",
                ember.request("GET", "/balloon", null).body());
        assertFault("Balloon update error: Amount of pages requested is too large.",
                ember.request("PATCH", "/balloon", "{\"amount_mib\": 4096}"));
        assertFault("Balloon update error: Cannot enable/disable the statistics after boot.",
                ember.request("PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 0}"));
        assertEquals(204, ember.request("PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 2}").status());
        ApiProcess.Reply stats = ember.request("GET", "/balloon/statistics", null);
        assertEquals(200, stats.status());
        assertEquals(8, Json.MAPPER.readTree(stats.body()).get("target_mib").asInt());
    }


    @Test
    @Order(6)
    void flushMetricsWritesOneJsonObjectWithFirecrackersGroups() throws Exception {
        JsonNode last = metricsFile.flush(ember);
        for (String group : new String[] {"utc_timestamp_ms", "api_server", "block", "block_data", "net", "vcpu", "vmm",
                "uart", "balloon", "vsock", "entropy", "put_api_requests", "patch_api_requests", "get_api_requests",
                "latencies_us"}) {
            assertTrue(last.has(group), group + " missing in " + last);
        }
        assertTrue(last.get("put_api_requests").get("actions_count").asLong() >= 1, last.toString());
        assertTrue(last.get("put_api_requests").get("machine_cfg_fails").asLong() >= 1, last.toString());
        // Linux read the data drive's partition table while booting, and wrote its log to the UART.
        long dataReads = last.get("block_data").get("read_count").asLong();
        assertTrue(dataReads > 0, last.toString());
        assertEquals(dataReads, last.get("block").get("read_count").asLong(), "the aggregate of the only drive");
        assertTrue(last.get("block_data").get("queue_event_count").asLong() > 0, last.toString());
        assertTrue(last.get("uart").get("write_count").asLong() > 1000, last.toString());
        assertTrue(last.get("vcpu").get("exit_mmio_write").asLong() > 0, last.toString());
        assertEquals(0, last.get("vcpu").get("failures").asLong());
        assertTrue(last.get("latencies_us").has("pause_vm"), last.toString());
        assertTrue(last.get("api_server").get("process_startup_time_us").asLong() > 0, last.toString());
    }

    @Test
    @Order(7)
    void driveMetricsCountWhatTheGuestReadSinceTheLastFlush() throws Exception {
        metricsFile.flush(ember);
        // The data drive is 1 MiB: with the page cache dropped, reading it all reads 1 MiB at most.
        ember.send("echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda of=/dev/null bs=64k; echo read-$((40 + 2))");
        ember.await("read-42", BOOT);
        JsonNode afterRead = metricsFile.flush(ember);
        long bytes = afterRead.get("block_data").get("read_bytes").asLong();
        assertTrue(bytes > 0 && bytes <= 1 << 20, afterRead.toString());
        assertTrue(afterRead.get("block_data").get("read_count").asLong() > 0, afterRead.toString());
        assertEquals(0, afterRead.get("block_data").get("write_count").asLong(), afterRead.toString());
        JsonNode idle = metricsFile.flush(ember);
        assertEquals(0, idle.get("block_data").get("read_bytes").asLong(), "nothing read since the last flush: " + idle);
    }

    @Test
    @Order(8)
    void mmdsDataCanBeWrittenAfterBoot() throws Exception {
        assertEquals(204, ember.request("PUT", "/mmds", "{\"k\": \"v\"}").status());
        assertEquals("{\"k\":\"v\"}", ember.request("GET", "/mmds", null).body());
    }

    @Test
    @Order(9)
    void driveRateLimiterCanBePatchedButNotItsPath() throws Exception {
        assertEquals(204, ember.request("PATCH", "/drives/data", "{\"drive_id\": \"data\", \"rate_limiter\": "
                + "{\"bandwidth\": {\"size\": 1048576, \"refill_time\": 1000}}}").status());
        assertTrue(ember.request("GET", "/vm/config", null).body()
                .contains("\"rate_limiter\":{\"bandwidth\":{\"size\":1048576,\"one_time_burst\":0,\"refill_time\":1000}}"));
        assertEquals(204, ember.request("PATCH", "/drives/data", "{\"drive_id\": \"data\", \"rate_limiter\": "
                + "{\"bandwidth\": {\"size\": 0, \"refill_time\": 0}}}").status());
        assertFalse(ember.request("GET", "/vm/config", null).body().contains("rate_limiter"));
        String before = ember.request("GET", "/vm/config", null).body();
        assertFault("Drive config error: Unable to patch the block device: changing path_on_host of a running VM is not "
                + "supported by Ember.", ember.request("PATCH", "/drives/data", "{\"drive_id\": \"data\", \"path_on_host\": \"/x\"}"));
        assertFault("The id from the path does not match the id from the body!",
                ember.request("PATCH", "/drives/data", "{\"drive_id\": \"other\"}"));
        assertEquals(before, ember.request("GET", "/vm/config", null).body());
    }

    @Test
    @Order(100)
    void sendCtrlAltDelShutsTheGuestDownAndEndsTheProcess() throws Exception {
        assertEquals(204, ember.request("PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}").status());
        assertEquals(0, ember.waitFor(Duration.ofSeconds(30)));
        assertFalse(Files.exists(socket), "the API socket is removed at exit");
    }
}
