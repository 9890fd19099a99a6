package dev.ember.vmm;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Real host faults for tests that run as root: a file system that fills up (a small tmpfs), a
 * file system that answers every I/O with EIO (an ext4 image, loop-mounted, then shut down with
 * {@code EXT4_IOC_SHUTDOWN} as xfstests' {@code godown} does), and host commands ({@code mount},
 * {@code ip}) run as child processes.
 *
 * <p>Device-mapper's {@code error} target would be the classic EIO source, but the kernel of
 * this sandbox has no device-mapper ({@code /dev/mapper/control} is missing); an ext4 shutdown is
 * as real: the file system itself fails every later read, write and fsync with EIO.
 */
public final class HostFaults {

    /** linux/ext4.h: {@code EXT4_IOC_SHUTDOWN = _IOR('X', 125, __u32)}; the same number as XFS_IOC_GOINGDOWN. */
    private static final long EXT4_IOC_SHUTDOWN = 0x8004_587DL;
    /** linux/ext4.h: shut down without flushing the journal, as a failing disk would. */
    private static final int EXT4_GOING_FLAGS_NOLOGFLUSH = 2;
    private static final int O_RDONLY = 0;

    private HostFaults() { }

    /** {@return whether this process runs as root} */
    public static boolean isRoot() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** The result of a host command: its exit status and its merged output. */
    public record Result(int status, String output) {
        public boolean ok() {
            return status == 0;
        }
    }

    /** Runs {@code argv} on the host and waits up to 60 seconds for it. */
    public static Result run(String... argv) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(argv)).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", argv) + ": still running after 60 s");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    /** Runs {@code argv} and fails with its output unless it exits 0. */
    public static String must(String... argv) throws IOException, InterruptedException {
        Result r = run(argv);
        if (!r.ok()) {
            throw new IOException(String.join(" ", argv) + " exited " + r.status + ": " + r.output.strip());
        }
        return r.output;
    }

    /** Mounts a tmpfs of {@code bytes} at {@code dir}. */
    public static void mountTmpfs(Path dir, long bytes) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        must("mount", "-t", "tmpfs", "-o", "size=" + bytes, "ember-fault", dir.toString());
    }

    /** Makes an ext4 file system of {@code bytes} in the file {@code image} and loop-mounts it at {@code dir}. */
    public static void mountExt4(Path image, Path dir, long bytes) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(bytes);
        }
        must("mkfs.ext4", "-q", "-F", image.toString());
        must("mount", "-o", "loop", image.toString(), dir.toString());
    }

    /**
     * Mounts at {@code dir} an ext4 file system whose storage runs out while it believes it has
     * room: its 64 MiB image is a sparse file on a tmpfs with only {@code roomBytes} free, so
     * writes are taken into the page cache and fail at write-back (fsync answers ENOSPC once)
     * until {@code filler} is deleted; {@code tmpfsDir} is where the tmpfs is mounted.
     */
    public static void mountExt4OnFullStorage(Path tmpfsDir, Path dir, long roomBytes) throws IOException, InterruptedException {
        mountTmpfs(tmpfsDir, 12L << 20);
        Path image = tmpfsDir.resolve("storage.ext4");
        try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(64L << 20);
        }
        must("mkfs.ext4", "-q", "-F", image.toString());
        long free = Files.getFileStore(tmpfsDir).getUsableSpace();
        try (var f = new java.io.FileOutputStream(filler(tmpfsDir).toFile())) {
            f.write(new byte[(int) Math.max(0, free - roomBytes)]);
        }
        Files.createDirectories(dir);
        must("mount", "-o", "loop,errors=continue", image.toString(), dir.toString());
    }

    /** {@return the file whose deletion gives {@link #mountExt4OnFullStorage}'s storage room again} */
    public static Path filler(Path tmpfsDir) {
        return tmpfsDir.resolve("filler");
    }

    /** Unmounts {@code dir} if it is mounted; a loop device is detached with it. */
    public static void unmount(Path dir) throws IOException, InterruptedException {
        run("umount", dir.toString());
    }

    /**
     * Shuts down the ext4 file system that holds {@code file}: from here on the kernel answers
     * every read, write and fsync on it with EIO, including pages already cached.
     */
    public static void shutDownExt4(Path file) throws IOException {
        Linker linker = Linker.nativeLinker();
        MethodHandle open = linker.downcallHandle(linker.defaultLookup().find("open").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        MethodHandle ioctl = linker.downcallHandle(linker.defaultLookup().find("ioctl").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), Linker.Option.firstVariadicArg(2));
        MethodHandle close = linker.downcallHandle(linker.defaultLookup().find("close").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        try (Arena arena = Arena.ofConfined()) {
            int fd = (int) open.invokeExact(arena.allocateFrom(file.toString()), O_RDONLY);
            if (fd < 0) {
                throw new IOException("cannot open " + file);
            }
            MemorySegment flags = arena.allocateFrom(JAVA_INT, EXT4_GOING_FLAGS_NOLOGFLUSH);
            int r = (int) ioctl.invokeExact(fd, EXT4_IOC_SHUTDOWN, flags);
            int ignored = (int) close.invokeExact(fd);
            if (r < 0) {
                throw new IOException("EXT4_IOC_SHUTDOWN failed on " + file);
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("native call failed: " + t, t);
        }
    }
}
