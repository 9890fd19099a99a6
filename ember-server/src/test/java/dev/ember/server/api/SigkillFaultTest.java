package dev.ember.server.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ember.devices.virtio.block.DiskImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ember} killed with SIGKILL in the middle of its work (issue 12, injected host faults):
 * during a guest's disk writes, what the guest flushed before is on the image and the image is
 * free for the next VM; during metrics flushes, the metrics file holds only whole records once
 * the next process appends to it. (SIGKILL during a snapshot is {@link ApiSnapshotTest}'s.)
 */
class SigkillFaultTest {

    private static final Duration BOOT = Duration.ofSeconds(120);
    private static final int MIB = 1 << 20;
    /** What the guest writes and syncs before the kill: the first 256 KiB of its disk. */
    private static final int FLUSHED = 256 * 1024;

    @TempDir
    Path dir;

    @Test
    void sigkillDuringGuestDiskWritesKeepsWhatTheGuestFlushed() throws Exception {
        Path guest = ApiProcess.guestDir();
        Path disk = Files.write(dir.resolve("data.img"), new byte[4 * MIB]);
        Path socket = dir.resolve("disk.socket");
        try (ApiProcess ember = ApiProcess.serve(socket)) {
            assertEquals(204, ember.request("PUT", "/boot-source", "{\"kernel_image_path\": \"" + guest.resolve("Image")
                    + "\", \"initrd_path\": \"" + guest.resolve("initramfs.cpio") + "\"}").status());
            assertEquals(204, ember.request("PUT", "/drives/data", "{\"drive_id\": \"data\", \"path_on_host\": \"" + disk
                    + "\", \"is_root_device\": false, \"is_read_only\": false}").status());
            assertEquals(204, ember.request("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}").status());
            ember.await("# ", BOOT);
            ember.send("yes ember-flushed-0123456789 | head -c " + FLUSHED + " > /dev/vda && sync && echo \"flu\"\"shed\"");
            ember.await("flushed", BOOT);
            // Then the guest rewrites the next 256 KiB without end, and the process dies under it.
            ember.send("yes overwrite | head -c 262144 > /tmp/o; while :; do dd if=/tmp/o of=/dev/vda bs=65536 seek=4"
                    + " conv=fsync 2>/dev/null; echo \"rew\"\"rote\"; done");
            ember.await("rewrote", BOOT);
            Thread.sleep(new Random().nextInt(500));
            ember.kill();
            ember.waitFor(BOOT);
        }
        byte[] expected = new byte[FLUSHED];
        byte[] line = "ember-flushed-0123456789\n".getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < FLUSHED; i++) {
            expected[i] = line[i % line.length];
        }
        byte[] image = Files.readAllBytes(disk);
        assertEquals(4 * MIB, image.length);
        assertArrayEquals(expected, Arrays.copyOf(image, FLUSHED));
        // The dead process's lock went with it: the image serves the next VM.
        try (DiskImage next = DiskImage.open("data", disk, false)) {
            assertEquals(4 * MIB / DiskImage.SECTOR_SIZE, next.capacitySectors());
        }
    }

    @Test
    void sigkillDuringMetricsFlushesLeavesOnlyWholeRecords() throws Exception {
        Path metrics = dir.resolve("metrics.json");
        for (int round = 0; round < 2; round++) {
            Path socket = dir.resolve("metrics-" + round + ".socket");
            try (ApiProcess ember = ApiProcess.serve(socket)) {
                // FlushMetrics is served once the VM has started; the guest's boot need not finish.
                long before = Files.exists(metrics) ? Files.size(metrics) : 0;
                start(ember, metrics);
                Thread flusher = Thread.ofPlatform().start(() -> {
                    try {
                        while (ember.request("PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}").status() == 204) {
                            // Flush again: the kill lands somewhere in one of these writes.
                        }
                    } catch (IOException | RuntimeException killed) {
                        // The process died mid-request.
                    }
                });
                awaitGrowth(metrics, before);
                Thread.sleep(new Random().nextInt(100));
                ember.kill();
                flusher.join(30_000);
            }
        }
        // The next process appends after whatever the last one left.
        Path socket = dir.resolve("last.socket");
        try (ApiProcess ember = ApiProcess.serve(socket)) {
            start(ember, metrics);
            assertEquals(new ApiProcess.Reply(204, ""),
                    ember.request("PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}"));
        }
        List<String> lines = Files.readAllLines(metrics);
        assertThat(lines.size()).isGreaterThan(2);
        for (String l : lines) {
            JsonNode record = Json.MAPPER.readTree(l);
            assertThat(record.has("utc_timestamp_ms") && record.has("vsock")).as(l).isTrue();
        }
    }

    /** Configures the metrics file {@code metrics} and starts the default guest. */
    private static void start(ApiProcess ember, Path metrics) throws IOException {
        Path guest = ApiProcess.guestDir();
        assertEquals(204, ember.request("PUT", "/boot-source", "{\"kernel_image_path\": \"" + guest.resolve("Image")
                + "\", \"initrd_path\": \"" + guest.resolve("initramfs.cpio") + "\"}").status());
        assertEquals(new ApiProcess.Reply(204, ""), ember.request("PUT", "/metrics", "{\"metrics_path\": \"" + metrics + "\"}"));
        assertEquals(204, ember.request("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}").status());
    }

    /** Waits until {@code file} is longer than {@code size} bytes: flushes are being written. */
    private static void awaitGrowth(Path file, long size) throws Exception {
        long deadline = System.nanoTime() + BOOT.toNanos();
        while (!(Files.exists(file) && Files.size(file) > size)) {
            assertThat(System.nanoTime() - deadline).as("no flush reached " + file).isNegative();
            Thread.sleep(10);
        }
    }
}
