package dev.ember.server.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ember.config.MetricsConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The metrics file as Firecracker writes it: one JSON object per flush, counters as differences
 * since the previous flush (API counters and the VM's device totals alike), stored values as
 * they are, and nothing lost when a write fails.
 */
class ApiMetricsTest {

    @TempDir
    Path dir;

    private final ApiMetrics metrics = new ApiMetrics();
    private final AtomicReference<Map<String, Map<String, Long>>> totals = new AtomicReference<>();

    @AfterEach
    void close() {
        metrics.close();
    }

    private List<JsonNode> lines(Path file) throws IOException {
        return Files.readAllLines(file).stream().map(l -> {
            try {
                return Json.MAPPER.readTree(l);
            } catch (IOException e) {
                throw new AssertionError(l, e);
            }
        }).toList();
    }

    @Test
    void deviceTotalsAreWrittenAsDifferencesSinceTheLastFlush() throws IOException {
        Path file = dir.resolve("metrics.json");
        metrics.configure(new MetricsConfig(file));
        metrics.devices(totals::get);
        totals.set(Map.of("block_rootfs", Map.of("read_count", 5L, "read_bytes", 2048L),
                "block", Map.of("read_count", 5L, "read_bytes", 2048L)));
        metrics.flush();
        totals.set(Map.of("block_rootfs", Map.of("read_count", 8L, "read_bytes", 2048L),
                "block", Map.of("read_count", 8L, "read_bytes", 2048L)));
        metrics.flush();
        metrics.flush();
        List<JsonNode> written = lines(file);
        assertEquals(3, written.size());
        assertEquals(5, written.get(0).get("block_rootfs").get("read_count").asLong());
        assertEquals(2048, written.get(0).get("block").get("read_bytes").asLong());
        assertEquals(3, written.get(1).get("block_rootfs").get("read_count").asLong());
        assertEquals(0, written.get(1).get("block_rootfs").get("read_bytes").asLong());
        assertEquals(0, written.get(2).get("block").get("read_count").asLong());
    }

    @Test
    void apiCountersResetAtEachFlushAndStoredValuesStay() throws IOException {
        Path file = dir.resolve("metrics.json");
        metrics.configure(new MetricsConfig(file));
        metrics.inc("put_api_requests", "actions_count");
        metrics.inc("put_api_requests", "actions_count");
        metrics.store("latencies_us", "pause_vm", 1234);
        metrics.flush();
        metrics.flush();
        List<JsonNode> written = lines(file);
        assertEquals(2, written.get(0).get("put_api_requests").get("actions_count").asLong());
        assertEquals(0, written.get(1).get("put_api_requests").get("actions_count").asLong());
        assertEquals(1234, written.get(0).get("latencies_us").get("pause_vm").asLong());
        assertEquals(1234, written.get(1).get("latencies_us").get("pause_vm").asLong());
        assertTrue(written.get(0).get("utc_timestamp_ms").asLong() > 0);
        for (String group : new String[] {"api_server", "block", "net", "vcpu", "vmm", "uart", "seccomp", "signals"}) {
            assertTrue(written.get(0).has(group), group);
        }
    }

    @Test
    void aFailedWriteLosesNoCounts() throws IOException {
        ByteArrayOutputStream written = new ByteArrayOutputStream();
        AtomicBoolean failNext = new AtomicBoolean(true);
        metrics.writeTo(new OutputStream() {
            @Override
            public void write(int b) {
                written.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                if (failNext.getAndSet(false)) {
                    throw new IOException("No space left on device (os error 28)");
                }
                written.write(b, off, len);
            }
        });
        metrics.devices(totals::get);
        metrics.inc("put_api_requests", "drive_count");
        totals.set(Map.of("uart", Map.of("write_count", 100L)));
        ApiError e = assertThrows(ApiError.class, metrics::flush);
        assertEquals("Internal VMM error: Metrics error: No space left on device (os error 28)", e.getMessage());
        totals.set(Map.of("uart", Map.of("write_count", 130L)));
        metrics.flush();
        JsonNode line = Json.MAPPER.readTree(written.toString(StandardCharsets.UTF_8));
        assertEquals(1, line.get("put_api_requests").get("drive_count").asLong());
        assertEquals(130, line.get("uart").get("write_count").asLong());
        assertEquals(1, line.get("logger").get("metrics_fails").asLong());
    }
    @Test
    void aRecordTornByAKilledProcessIsCutOffBeforeTheNextIsAppended() throws IOException {
        Path file = dir.resolve("metrics.json");
        String whole = "{\"utc_timestamp_ms\":1,\"api_server\":{}}\n";
        Files.writeString(file, whole + "{\"utc_timestamp_ms\":2,\"api_ser");
        metrics.configure(new MetricsConfig(file));
        metrics.flush();
        List<JsonNode> written = lines(file);
        assertEquals(2, written.size());
        assertEquals(1, written.get(0).get("utc_timestamp_ms").asLong());
        assertTrue(Files.readString(file).startsWith(whole));
    }

    @Test
    void aFileSystemThatFillsUpLeavesOnlyWholeRecords() throws Exception {
        assumeTrue(((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0,
                "needs root to mount a small tmpfs");
        Path small = Files.createDirectories(dir.resolve("small"));
        assumeTrue(new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=16k", "ember-metrics", small.toString())
                .inheritIO().start().waitFor() == 0, "this host cannot mount a tmpfs");
        try {
            Path file = small.resolve("metrics.json");
            metrics.configure(new MetricsConfig(file));
            int flushed = 0;
            ApiError full = null;
            while (full == null && flushed < 1000) {
                try {
                    metrics.flush();
                    flushed++;
                } catch (ApiError e) {
                    full = e;
                }
            }
            assertTrue(full != null && full.getMessage().contains("No space left on device"), String.valueOf(full));
            assertEquals(flushed, lines(file).size());
            assertTrue(Files.readString(file).endsWith("}\n"));
        } finally {
            metrics.close();
            new ProcessBuilder("umount", small.toString()).inheritIO().start().waitFor();
        }
    }
}
