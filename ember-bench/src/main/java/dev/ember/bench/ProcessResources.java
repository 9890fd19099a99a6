package dev.ember.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * What this JVM holds from the host at one moment: the figures a leak shows in, read from
 * {@code /proc/self} and the JVM's management beans.
 *
 * @param rssKib       resident memory, {@code VmRSS} of {@code /proc/self/status}, in KiB
 * @param heapUsed     Java heap in use, in bytes (garbage included unless a GC ran just before)
 * @param threads      live platform threads ({@code ThreadMXBean.getThreadCount}; virtual threads not counted)
 * @param fds          open file descriptors, the entries of {@code /proc/self/fd}
 * @param maps         mapped regions, the lines of {@code /proc/self/maps}
 * @param directBytes  memory of the JVM's {@code direct} buffer pool, in bytes
 * @param mappedBytes  memory of the JVM's {@code mapped} buffer pool (mapped files), in bytes
 */
record ProcessResources(long rssKib, long heapUsed, int threads, int fds, int maps, long directBytes, long mappedBytes) {

    /** {@return the figures now} Reads {@code /proc/self}, so Linux only. */
    static ProcessResources sample() {
        try {
            return new ProcessResources(readRssKib(), ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(),
                    ManagementFactory.getThreadMXBean().getThreadCount(), fdCount(), mapsLines(),
                    bufferPool("direct"), bufferPool("mapped"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read /proc/self", e);
        }
    }

    /** The figures as table cells, in the order of {@link #HEADERS}. */
    List<String> cells() {
        return List.of(Long.toString(rssKib >> 10), Long.toString(heapUsed >> 20), Integer.toString(threads),
                Integer.toString(fds), Integer.toString(maps), mib(directBytes), mib(mappedBytes));
    }

    /** Column names for {@link #cells}. */
    static final List<String> HEADERS = List.of("RSS MiB", "heap MiB", "threads", "fds", "maps", "direct MiB", "mapped MiB");

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f", bytes / 1048576.0);
    }

    private static long readRssKib() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IOException("no VmRSS line in /proc/self/status");
    }

    private static int fdCount() throws IOException {
        // The directory stream holds one descriptor of its own while it lists.
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return (int) fds.count() - 1;
        }
    }

    private static int mapsLines() throws IOException {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/maps"))) {
            return (int) lines.count();
        }
    }

    private static long bufferPool(String name) {
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (pool.getName().equals(name)) {
                return pool.getMemoryUsed();
            }
        }
        return 0;
    }
}
