package dev.ember.devices.virtio.block;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Opening raw images: the checks made before the guest starts, locking, capacity, I/O. */
class DiskImageTest {

    @TempDir
    Path dir;

    private Path image(String name, int bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, new byte[bytes]);
        return p;
    }

    private static String openError(Path path, boolean readOnly) {
        DiskImageException e = assertThrows(DiskImageException.class, () -> DiskImage.open("rootfs", path, readOnly));
        assertThat(e.getMessage()).doesNotContain("\n");
        return e.getMessage();
    }

    /** {@return whether permissions do not stop this process (root reads and writes anything)} */
    private static boolean permissionsIgnored(Path unreadable) {
        return Files.isReadable(unreadable);
    }

    @Test
    void missingFileIsRefusedNamingDriveAndPath() {
        Path missing = dir.resolve("nope.img");
        assertEquals("drive rootfs: cannot open " + missing + ": no such file", openError(missing, false));
    }

    @Test
    void directoryIsRefused() {
        assertEquals("drive rootfs: cannot use " + dir + ": is a directory", openError(dir, true));
    }

    @Test
    void emptyFileIsRefused() throws IOException {
        Path empty = image("empty.img", 0);
        assertThat(openError(empty, false)).startsWith("drive rootfs: cannot use " + empty).contains("empty");
    }

    @Test
    void fileSmallerThanOneSectorIsRefused() throws IOException {
        Path tiny = image("tiny.img", 100);
        assertThat(openError(tiny, true)).contains("100 bytes is less than one 512-byte sector");
    }

    @Test
    void deviceNodeIsRefusedAsNotARegularFile() {
        Path devNull = Path.of("/dev/null");
        assumeTrue(Files.exists(devNull));
        assertThat(openError(devNull, true)).endsWith("not a regular file");
    }

    @Test
    void unreadableFileIsRefusedWhenPermissionsApply() throws IOException {
        Path p = image("secret.img", 4096);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("---------"));
        assumeFalse(permissionsIgnored(p), "running as root: permissions do not apply");
        assertThat(openError(p, true)).contains("permission denied");
    }

    @Test
    void readOnlyFileIsRefusedForAWritableDriveButOpensReadOnly() throws Exception {
        Path p = image("ro.img", 4096);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("r--r--r--"));
        assumeFalse(Files.isWritable(p), "running as root: permissions do not apply");
        assertThat(openError(p, false)).contains("for writing").contains("read-only");
        try (DiskImage image = DiskImage.open("rootfs", p, true)) {
            assertTrue(image.readOnly());
        }
    }

    @Test
    void capacityIsTheSizeRoundedDownToWholeSectors() throws Exception {
        try (DiskImage image = DiskImage.open("rootfs", image("odd.img", 5 * 512 + 511), false)) {
            assertEquals(5, image.capacitySectors());
        }
    }

    @Test
    void readAndWriteAreAtTheGivenPosition() throws Exception {
        Path p = image("rw.img", 4096);
        try (DiskImage image = DiskImage.open("rootfs", p, false)) {
            image.write(ByteBuffer.wrap("hello".getBytes(StandardCharsets.US_ASCII)), 1000);
            ByteBuffer back = ByteBuffer.allocate(5);
            image.read(back, 1000);
            assertEquals("hello", new String(back.array(), StandardCharsets.US_ASCII));
        }
        assertEquals("hello", new String(Files.readAllBytes(p), 1000, 5, StandardCharsets.US_ASCII));
    }

    @Test
    void readPastTheEndOfTheFileThrows() throws Exception {
        try (DiskImage image = DiskImage.open("rootfs", image("short.img", 1024), true)) {
            assertThrows(IOException.class, () -> image.read(ByteBuffer.allocate(512), 768));
        }
    }

    @Test
    void writeToAReadOnlyImageThrowsAndChangesNothing() throws Exception {
        Path p = image("ro2.img", 1024);
        try (DiskImage image = DiskImage.open("rootfs", p, true)) {
            assertThrows(IOException.class, () -> image.write(ByteBuffer.wrap(new byte[] {1}), 0));
            image.flush();
        }
        assertArrayEquals(new byte[1024], Files.readAllBytes(p));
    }

    @Test
    void secondWritableOpenInThisProcessIsRefused() throws Exception {
        Path p = image("shared.img", 4096);
        try (DiskImage first = DiskImage.open("a", p, false)) {
            DiskImageException e = assertThrows(DiskImageException.class, () -> DiskImage.open("b", p, false));
            assertThat(e.getMessage()).startsWith("drive b: cannot lock " + p).contains("in use");
        }
    }

    @Test
    void writableOpenWhileReadOnlyOpenInThisProcessIsRefused() throws Exception {
        Path p = image("shared2.img", 4096);
        try (DiskImage reader = DiskImage.open("a", p, true)) {
            assertThrows(DiskImageException.class, () -> DiskImage.open("b", p, false));
        }
    }

    @Test
    void twoReadOnlyOpensShareTheImage() throws Exception {
        Path p = image("base.img", 4096);
        try (DiskImage a = DiskImage.open("a", p, true); DiskImage b = DiskImage.open("b", p, true)) {
            assertEquals(a.capacitySectors(), b.capacitySectors());
        }
    }

    @Test
    void closeReleasesTheLockAndIsIdempotent() throws Exception {
        Path p = image("again.img", 4096);
        DiskImage first = DiskImage.open("a", p, false);
        first.close();
        first.close();
        assertTrue(first.isClosed());
        try (DiskImage second = DiskImage.open("a", p, false)) {
            assertEquals(8, second.capacitySectors());
        }
    }

    @Test
    void imageLockedByAnotherProcessIsRefused() throws Exception {
        Path p = image("other.img", 4096);
        Path locker = dir.resolve("Locker.java");
        Files.writeString(locker, """
                import java.nio.channels.FileChannel;
                import java.nio.file.*;
                public class Locker {
                    public static void main(String[] a) throws Exception {
                        try (FileChannel c = FileChannel.open(Path.of(a[0]), StandardOpenOption.READ, StandardOpenOption.WRITE);
                             var lock = c.lock()) {
                            System.out.println("locked");
                            System.out.flush();
                            System.in.read();
                        }
                    }
                }
                """);
        String java = ProcessHandle.current().info().command().orElse(null);
        assumeFalse(java == null, "cannot find the java launcher");
        Process process = new ProcessBuilder(java, locker.toString(), p.toString()).redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("locked", out.readLine());
            DiskImageException writable = assertThrows(DiskImageException.class, () -> DiskImage.open("rootfs", p, false));
            assertEquals("drive rootfs: cannot lock " + p + ": in use by another process", writable.getMessage());
            DiskImageException readOnly = assertThrows(DiskImageException.class, () -> DiskImage.open("rootfs", p, true));
            assertThat(readOnly.getMessage()).endsWith("in use by another process that writes it");
        } finally {
            process.getOutputStream().close();
            assertTrue(process.waitFor(10, TimeUnit.SECONDS));
        }
        try (DiskImage afterwards = DiskImage.open("rootfs", p, false)) {
            assertEquals(8, afterwards.capacitySectors(), "the lock went with the other process");
        }
    }
}
