package dev.ember.devices.virtio.block;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ember.vmm.HostFaults;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DiskImage on real failing storage (issue 12, injected host faults). Needs root (tmpfs, loop
 * device); skipped with a message otherwise.
 */
class DiskImageHostFaultTest {

    @TempDir
    Path dir;

    /**
     * Linux reports a write-back error to fsync once: after it the lost pages are clean, and the
     * next fsync succeeds once the storage has room again. Were the image to pass that on, a
     * guest that retried its flush would be told that data already lost is safe.
     */
    @Test
    void aFlushThatFailedStaysFailedAfterTheStorageRecovers() throws Exception {
        assumeTrue(HostFaults.isRoot(), "needs root to mount a tmpfs and a loop device");
        Path storage = dir.resolve("storage");
        Path fs = dir.resolve("fs");
        try {
            HostFaults.mountExt4OnFullStorage(storage, fs, 1 << 20);
        } catch (IOException e) {
            HostFaults.unmount(storage);
            assumeTrue(false, "this host cannot mount a tmpfs or an ext4 loop device: " + e.getMessage());
        }
        try {
            Path file = fs.resolve("disk.img");
            try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
                f.setLength(8 << 20);
            }
            try (DiskImage image = DiskImage.open("data", file, false)) {
                image.write(ByteBuffer.wrap(new byte[4 << 20]).put(0, (byte) 1), 0);
                IOException lost = assertThrows(IOException.class, image::flush);
                assertThat(lost.getMessage()).contains("No space left on device");
                Files.delete(HostFaults.filler(storage));
                IOException still = assertThrows(IOException.class, image::flush);
                assertThat(still.getMessage()).contains("an earlier flush").contains("No space left on device");
            } catch (IOException closing) {
                // close() flushes, and that flush fails too: expected here.
            }
        } finally {
            HostFaults.unmount(fs);
            HostFaults.unmount(storage);
        }
    }
}
