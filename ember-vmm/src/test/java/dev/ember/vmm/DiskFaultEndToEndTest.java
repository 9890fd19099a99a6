package dev.ember.vmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ember.config.DriveConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Host storage that fails under a running guest (issue 12, injected host faults): a drive on a
 * file system that fills up (ENOSPC), one on a file system that answers EIO, and one whose image
 * is truncated while the guest uses it. In each case the guest sees an I/O error (the device
 * answers VIRTIO_BLK_S_IOERR, VIRTIO 1.2 §5.2.6), never data it did not write; what it wrote
 * and flushed before the fault is on the image afterwards; the VM keeps running.
 *
 * <p>One VM serves the class, one drive per fault. The guest moves data with {@code dd} using
 * {@code O_DIRECT}, so every write is a request to the device and every error reaches the
 * command, not just the guest's page cache. Needs root (mount, loop devices); skipped with a
 * message otherwise.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DiskFaultEndToEndTest {

    private static final Duration T = Duration.ofSeconds(120);
    private static final int MIB = 1 << 20;
    private static final int BLOCK = 64 * 1024;

    private Path dir;
    private Path fullMount;
    private Path failingMount;
    private Path failingFs;
    private Path fullImage;
    private Path failingImage;
    private Path shrinkingImage;
    private final ByteArrayOutputStream errors = new ByteArrayOutputStream();
    private MicroVm vm;

    @BeforeAll
    void boot() throws Exception {
        assumeTrue(HostFaults.isRoot(), "needs root to mount a tmpfs and a loop device");
        dir = Files.createTempDirectory("ember-disk-faults");
        fullMount = dir.resolve("full");
        failingMount = dir.resolve("failing");
        failingFs = dir.resolve("failing.ext4");
        try {
            HostFaults.mountTmpfs(fullMount, 3 * MIB);
            HostFaults.mountExt4(failingFs, failingMount, 32 * MIB);
        } catch (java.io.IOException e) {
            assumeTrue(false, "this host cannot mount a tmpfs or an ext4 loop device: " + e.getMessage());
        }
        fullImage = sparse(fullMount.resolve("full.img"), 16 * MIB);
        failingImage = sparse(failingMount.resolve("failing.img"), 4 * MIB);
        shrinkingImage = dir.resolve("shrinking.img");
        byte[] content = new byte[4 * MIB];
        new java.util.Random(12).nextBytes(content);
        Files.write(shrinkingImage, content);

        vm = AgentGuest.boot(AgentGuest.builder("disk-faults", 128)
                .drive(new DriveConfig("full", fullImage, false, false))
                .drive(new DriveConfig("failing", failingImage, false, false))
                .drive(new DriveConfig("shrinking", shrinkingImage, false, false))
                .log(dev.ember.log.LogSink.stream(new PrintStream(errors, true))), T);
    }

    @AfterAll
    void close() throws Exception {
        if (vm != null) {
            vm.close();
        }
        if (dir != null) {
            HostFaults.unmount(fullMount);
            HostFaults.unmount(failingMount);
            HostFaults.run("rm", "-rf", dir.toString());
        }
    }

    @Test
    void aDriveOnAFullFileSystemFailsTheWriteAndKeepsWhatWasFlushed() throws Exception {
        String dev = device("full");
        byte[] flushed = toGuest("/tmp/flushed", MIB);
        assertEquals(0, sh("dd if=/tmp/flushed of=" + dev + " bs=" + BLOCK + " oflag=direct conv=fsync").exitCode());

        // 4 MiB from 2 MiB on: the 3 MiB tmpfs, already holding 1 MiB, fills part way.
        byte[] more = toGuest("/tmp/more", 4 * MIB);
        ExecResult past = sh("dd if=/tmp/more of=" + dev + " bs=" + BLOCK + " seek=32 oflag=direct");
        assertThat(past.exitCode()).as(past.toString()).isNotZero();
        assertThat(past.stderrText()).contains("Input/output error");
        long reported = recordsOut(past.stderrText());
        assertThat(reported).isLessThan(4 * MIB / BLOCK);

        assertEquals("alive\n", sh("echo alive").stdoutText());
        assertArrayEquals(flushed, sh("dd if=" + dev + " bs=" + BLOCK + " count=16 iflag=direct 2>/dev/null").stdout());
        byte[] onHost = Files.readAllBytes(fullImage);
        assertArrayEquals(flushed, Arrays.copyOf(onHost, MIB));
        // Every block the guest was told was written holds what it wrote.
        int written = (int) (reported * BLOCK);
        assertArrayEquals(Arrays.copyOf(more, written), Arrays.copyOfRange(onHost, 2 * MIB, 2 * MIB + written));
        assertThat(vm.metrics().get("block_full", "invalid_reqs_count")).isPositive();
    }

    @Test
    void aDriveOnAFileSystemAnsweringEioFailsReadsAndWritesAndKeepsWhatWasFlushed() throws Exception {
        String dev = device("failing");
        byte[] flushed = toGuest("/tmp/eio", MIB);
        assertEquals(0, sh("dd if=/tmp/eio of=" + dev + " bs=" + BLOCK + " oflag=direct conv=fsync").exitCode());

        HostFaults.shutDownExt4(failingImage);
        ExecResult read = sh("dd if=" + dev + " of=/dev/null bs=" + BLOCK + " count=1 iflag=direct");
        assertThat(read.exitCode()).as(read.toString()).isNotZero();
        assertThat(read.stderrText()).contains("Input/output error");
        ExecResult write = sh("dd if=/tmp/eio of=" + dev + " bs=" + BLOCK + " count=1 oflag=direct");
        assertThat(write.exitCode()).as(write.toString()).isNotZero();
        assertThat(write.stderrText()).contains("Input/output error");
        assertThat(sh("sync; echo alive").stdoutText()).isEqualTo("alive\n");

        // What the guest flushed before the fault is on the failed disk: a copy of it, mounted (its
        // journal replayed), holds it. The original stays busy while the VM holds the image open.
        Path copy = Files.copy(failingFs, dir.resolve("after-fault.ext4"));
        Path copyMount = Files.createDirectories(dir.resolve("after-fault"));
        HostFaults.must("mount", "-o", "loop", copy.toString(), copyMount.toString());
        try {
            assertArrayEquals(flushed, Arrays.copyOf(Files.readAllBytes(copyMount.resolve("failing.img")), MIB));
        } finally {
            HostFaults.unmount(copyMount);
        }
    }

    @Test
    void readsPastTheEndOfAnImageTruncatedUnderTheGuestFailAndTheRestReadsOn() throws Exception {
        String dev = device("shrinking");
        byte[] before = Files.readAllBytes(shrinkingImage);
        try (RandomAccessFile f = new RandomAccessFile(shrinkingImage.toFile(), "rw")) {
            f.setLength(MIB + 512 * 3);   // ends inside a 64 KiB block, on a sector boundary
        }
        ExecResult beyond = sh("dd if=" + dev + " of=/dev/null bs=" + BLOCK + " skip=32 count=1 iflag=direct");
        assertThat(beyond.exitCode()).as(beyond.toString()).isNotZero();
        assertThat(beyond.stderrText()).contains("Input/output error");
        ExecResult across = sh("dd if=" + dev + " of=/dev/null bs=" + BLOCK + " skip=16 count=1 iflag=direct");
        assertThat(across.exitCode()).as(across.toString()).isNotZero();
        assertArrayEquals(Arrays.copyOf(before, MIB),
                sh("dd if=" + dev + " bs=" + BLOCK + " count=16 iflag=direct 2>/dev/null").stdout());
        assertEquals("alive\n", sh("echo alive").stdoutText());
    }

    /** {@return the guest's block device whose serial (VIRTIO_BLK_T_GET_ID) is {@code driveId}} */
    private String device(String driveId) throws Exception {
        String path = sh("grep -lx " + driveId + " /sys/block/vd*/serial").stdoutText().strip();
        assertThat(path).as("no device for drive " + driveId).matches("/sys/block/vd[a-z]/serial");
        return "/dev/" + path.split("/")[3];
    }

    /** {@return {@code bytes} random bytes, also written to the guest's file {@code path}} */
    private byte[] toGuest(String path, int bytes) throws Exception {
        byte[] data = new byte[bytes];
        new java.util.Random(path.hashCode()).nextBytes(data);
        assertEquals(0, vm.exec(java.util.List.of("/bin/sh", "-c", "cat > " + path), data, T).exitCode());
        return data;
    }

    private ExecResult sh(String command) throws Exception {
        return vm.exec(java.util.List.of("/bin/sh", "-c", command), null, T);
    }

    /** {@return the whole records dd reports written: its {@code N+M records out} line} */
    private static long recordsOut(String ddReport) {
        Matcher m = Pattern.compile("(\\d+)\\+\\d+ records out").matcher(ddReport);
        assertThat(m.find()).as(ddReport).isTrue();
        return Long.parseLong(m.group(1));
    }

    private static Path sparse(Path file, long bytes) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(bytes);
        }
        return file;
    }
}
