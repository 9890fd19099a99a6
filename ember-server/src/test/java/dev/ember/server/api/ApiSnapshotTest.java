package dev.ember.server.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A guest keeps state in RAM (a log in tmpfs) and on disk (records written to a raw drive). It
 * is paused and snapshotted through {@code PUT /snapshot/create} in one {@code ember} process,
 * that process is killed, and the snapshot is restored in a new process, first through
 * {@code PUT /snapshot/load} and then through {@code ember run --restore}. Each time the work
 * continues where it was and ends with the checksums of the uninterrupted computation, and
 * the host's disk image holds every record.
 */
class ApiSnapshotTest {

    private static final Duration BOOT = Duration.ofSeconds(120);
    private static final int RECORDS = 150;

    @TempDir
    Path dir;

    private static String fault(ApiProcess.Reply reply) throws Exception {
        return Json.MAPPER.readTree(reply.body()).get("fault_message").asText();
    }

    /** The guest's loop: record i holds "i s" with s a running hash, in /tmp/log and in sector i. */
    private static final String WORK = "s=0; i=0; while [ $i -lt " + RECORDS + " ]; do i=$((i+1)); s=$(( (s*31 + i) % 1000003 ));"
            + " echo \"$i $s\" >> /tmp/log; echo \"$i $s\" | dd of=/dev/vda bs=512 seek=$i conv=sync,notrunc 2>/dev/null;"
            + " [ $i = 20 ] && echo \"mid\"\"way\"; done;"
            + " sync; echo \"res\"\"ult-$s-$(md5sum < /tmp/log | cut -c1-8)-$(dd if=/dev/vda bs=512 count=" + (RECORDS + 1)
            + " 2>/dev/null | md5sum | cut -c1-8)\"";

    private static String expectedResult(byte[] disk) throws Exception {
        long s = 0;
        StringBuilder log = new StringBuilder();
        for (int i = 1; i <= RECORDS; i++) {
            s = (s * 31 + i) % 1000003;
            String line = i + " " + s + "\n";
            log.append(line);
            byte[] b = line.getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(b, 0, disk, 512 * i, b.length);
        }
        return "result-" + s + "-" + md5(log.toString().getBytes(StandardCharsets.US_ASCII)).substring(0, 8) + "-"
                + md5(java.util.Arrays.copyOf(disk, 512 * (RECORDS + 1))).substring(0, 8);
    }

    private static String md5(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(b));
    }

    @Test
    void aSnapshotTakenThroughTheApiContinuesInNewProcessesThroughTheApiAndRestore() throws Exception {
        Path guest = ApiProcess.guestDir();
        Path disk = Files.write(dir.resolve("data.img"), new byte[1 << 20]);
        Path state = dir.resolve("vm.state");
        Path mem = dir.resolve("vm.mem");
        Path diffState = dir.resolve("diff.state");
        Path diffMem = dir.resolve("diff.mem");
        String expected = expectedResult(new byte[1 << 20]);

        Path socket = dir.resolve("first.socket");
        try (ApiProcess first = ApiProcess.serve(socket)) {
            assertEquals(204, first.request("PUT", "/boot-source", "{\"kernel_image_path\": \"" + guest.resolve("Image")
                    + "\", \"initrd_path\": \"" + guest.resolve("initramfs.cpio") + "\"}").status());
            assertEquals(204, first.request("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 128}").status());
            assertEquals(204, first.request("PUT", "/drives/data", "{\"drive_id\": \"data\", \"path_on_host\": \"" + disk
                    + "\", \"is_root_device\": false, \"is_read_only\": false}").status());
            assertEquals(204, first.request("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}").status());
            first.await("ember-guest: userspace up", BOOT);
            first.await("# ", BOOT);
            first.send("echo \"sta\"\"rted\"; " + WORK);
            // Snapshot a fifth of the way through, however fast this machine is.
            first.await("midway", BOOT);

            ApiProcess.Reply running = first.request("PUT", "/snapshot/create",
                    "{\"snapshot_path\": \"" + state + "\", \"mem_file_path\": \"" + mem + "\"}");
            assertEquals(400, running.status());
            assertThat(fault(running)).contains("save/restore unavailable while running");
            assertThat(Files.exists(state)).isFalse();

            assertEquals(204, first.request("PATCH", "/vm", "{\"state\": \"Paused\"}").status());
            ApiProcess.Reply diff = first.request("PUT", "/snapshot/create", "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \""
                    + state + "\", \"mem_file_path\": \"" + mem + "\"}");
            assertThat(fault(diff)).isEqualTo("Diff snapshots are not allowed on uVMs with dirty page tracking disabled.");
            assertEquals(204, first.request("PUT", "/snapshot/create", "{\"snapshot_type\": \"Full\", \"snapshot_path\": \""
                    + state + "\", \"mem_file_path\": \"" + mem + "\"}").status());
            ApiProcess.Reply load = first.request("PUT", "/snapshot/load", "{\"snapshot_path\": \"" + state
                    + "\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"" + mem + "\"}}");
            assertThat(fault(load)).isEqualTo(ApiError.POST_BOOT);
            assertThat(first.output()).doesNotContain("result-");
        }   // killed: the disk is left as the snapshot's guest last wrote it

        // A crash while a new snapshot replaces this one must leave this one loadable: first at the
        // worst moment (between the memory file's and the state file's renames), then with a real
        // SIGKILL at some moment of the write. The loads below continue from this snapshot.
        String load = "{\"snapshot_path\": \"" + state + "\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \""
                + mem + "\"}}";
        String create = "{\"snapshot_path\": \"" + state + "\", \"mem_file_path\": \"" + mem + "\"}";
        Path faulty = dir.resolve("faulty.socket");
        try (ApiProcess crashing = ApiProcess.startWith(java.util.Map.of("EMBER_FAULT", "snapshot-between-renames"), java.util.List.of(),
                faulty, "--api-sock", faulty.toString())) {
            assertEquals(204, crashing.request("PUT", "/snapshot/load", load).status());
            try {
                crashing.request("PUT", "/snapshot/create", create);
            } catch (java.io.IOException | RuntimeException halted) {
                // The process halted mid-request.
            }
            assertEquals(137, crashing.waitFor(BOOT));
        }
        Path killed = dir.resolve("killed.socket");
        try (ApiProcess victim = ApiProcess.serve(killed)) {
            assertEquals(204, victim.request("PUT", "/snapshot/load", load).status());
            Thread writer = Thread.ofPlatform().start(() -> {
                try {
                    victim.request("PUT", "/snapshot/create", create);
                } catch (java.io.IOException | RuntimeException halted) {
                    // Killed mid-request.
                }
            });
            Thread.sleep(new java.util.Random().nextInt(80));
            victim.kill();
            writer.join(30_000);
        }

        Path second = dir.resolve("second.socket");
        try (ApiProcess restored = ApiProcess.serve(second)) {
            ApiProcess.Reply both = restored.request("PUT", "/snapshot/load", "{\"snapshot_path\": \"" + state
                    + "\", \"mem_file_path\": \"" + mem + "\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \""
                    + mem + "\"}}");
            assertThat(fault(both)).contains("either `mem_backend` or `mem_file_path`");
            assertEquals(204, restored.request("PUT", "/snapshot/load", "{\"snapshot_path\": \"" + state
                    + "\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"" + mem
                    + "\"}, \"resume_vm\": true, \"track_dirty_pages\": true}").status());
            restored.await(expected, BOOT);
            assertThat(restored.output()).doesNotContain("ember-guest: userspace up");   // continued, not booted
            // A Diff snapshot of what changed since the load: the rest of the work.
            assertEquals(204, restored.request("PATCH", "/vm", "{\"state\": \"Paused\"}").status());
            assertEquals(204, restored.request("PUT", "/snapshot/create", "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \""
                    + diffState + "\", \"mem_file_path\": \"" + diffMem + "\"}").status());
            assertEquals(204, restored.request("PATCH", "/vm", "{\"state\": \"Resumed\"}").status());
            restored.send("poweroff");
            assertEquals(0, restored.waitFor(BOOT));
        }
        byte[] image = Files.readAllBytes(disk);
        assertThat(expectedResult(image.clone())).isEqualTo(expected);
        assertThat(java.util.Arrays.copyOf(image, 512 * (RECORDS + 1)))
                .isEqualTo(java.util.Arrays.copyOf(expectedDisk(), 512 * (RECORDS + 1)));

        try (ApiProcess describe = ApiProcess.start(null, "--describe-snapshot", state.toString())) {
            assertEquals(0, describe.waitFor(BOOT));
            assertThat(describe.output().strip()).endsWith("v1.0.0");
        }
        try (ApiProcess cli = ApiProcess.start(null, "run", "--restore", state + "," + mem)) {
            cli.await(expected, BOOT);
            cli.send("poweroff");
            assertEquals(0, cli.waitFor(BOOT));
        }

        // The Diff applied to the snapshot it followed continues after the end of the work.
        Path rebased = Files.copy(mem, dir.resolve("rebased.mem"));
        try (ApiProcess rebase = ApiProcess.start(null, "rebase-snap", "--base-file", rebased.toString(), "--diff-file",
                diffMem.toString())) {
            assertEquals(0, rebase.waitFor(BOOT));
        }
        try (ApiProcess cli = ApiProcess.start(null, "run", "--restore", diffState + "," + rebased)) {
            cli.send("tail -1 /tmp/log | sed 's/^/last-/'");
            cli.await("last-" + RECORDS + " ", BOOT);
            cli.send("poweroff");
            assertEquals(0, cli.waitFor(BOOT));
        }
    }

    @Test
    void theCommandLineRefusesBadRestoresWithOneLine() throws Exception {
        Path state = Files.write(dir.resolve("bad.state"), "not a snapshot".getBytes(StandardCharsets.US_ASCII));
        try (ApiProcess version = ApiProcess.start(null, "--snapshot-version")) {
            assertEquals(0, version.waitFor(BOOT));
            assertThat(version.output().strip()).endsWith("v1.0.0");
        }
        try (ApiProcess describe = ApiProcess.start(null, "--describe-snapshot", state.toString())) {
            assertEquals(1, describe.waitFor(BOOT));
            assertThat(describe.output()).contains("ember: snapshot state file " + state + " is truncated");
        }
        try (ApiProcess bad = ApiProcess.start(null, "run", "--restore", state + "," + dir.resolve("mem"))) {
            assertEquals(1, bad.waitFor(BOOT));
            assertThat(bad.output()).contains("ember: cannot restore the snapshot: snapshot state file");
        }
        try (ApiProcess usage = ApiProcess.start(null, "run", "--restore", state.toString())) {
            assertEquals(2, usage.waitFor(BOOT));
            assertThat(usage.output()).contains("--restore takes STATE,MEMORY");
        }
        try (ApiProcess usage = ApiProcess.start(null, "run", "--restore", state + ",m", "--vcpus", "2")) {
            assertEquals(2, usage.waitFor(BOOT));
            assertThat(usage.output()).contains("cannot be combined with --vcpus");
        }
    }

    private static byte[] expectedDisk() throws Exception {
        byte[] disk = new byte[1 << 20];
        expectedResult(disk);
        return disk;
    }

    @Test
    void damagedSnapshotsAreRefusedWithOneLineAndTheVmmStaysUsable() throws Exception {
        Path state = Files.write(dir.resolve("bad.state"), "EMBERVM\0garbage".getBytes(StandardCharsets.ISO_8859_1));
        Path mem = Files.write(dir.resolve("bad.mem"), new byte[4096]);
        Path socket = dir.resolve("bad.socket");
        try (ApiProcess ember = ApiProcess.serve(socket)) {
            ApiProcess.Reply r = ember.request("PUT", "/snapshot/load", "{\"snapshot_path\": \"" + state
                    + "\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"" + mem + "\"}}");
            assertEquals(400, r.status());
            assertThat(fault(r)).startsWith("Load snapshot error: Failed to restore from snapshot: ").doesNotContain("\n");
            ApiProcess.Reply missing = ember.request("PUT", "/snapshot/load", "{\"snapshot_path\": \"" + dir.resolve("none")
                    + "\", \"mem_file_path\": \"" + mem + "\"}");
            assertThat(fault(missing)).contains("does not exist");
            // Still pre-boot and answering.
            assertEquals(200, ember.request("GET", "/", null).status());
            assertThat(ember.request("GET", "/", null).body()).contains("Not started");
            // Firecracker's rule: a snapshot loads only into a VMM that has not been configured.
            assertEquals(204, ember.request("PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 64}").status());
            ApiProcess.Reply configured = ember.request("PUT", "/snapshot/load", "{\"snapshot_path\": \"" + state
                    + "\", \"mem_file_path\": \"" + mem + "\"}");
            assertThat(fault(configured)).isEqualTo(
                    "Loading a microVM snapshot not allowed after configuring boot-specific resources.");
        }
    }
}
