package dev.ember.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
 * @param bigMapBytes  the bytes of the mapped regions larger than {@value #BIG_MAP_BYTES} bytes (80 MiB):
 *                     the memory of each VM of 96 MiB or more, the Java heap and the code cache's
 *                     reservations, but not glibc's malloc arenas (64 MiB at most) or thread stacks,
 *                     which come and go. Bytes rather than a count, since Linux merges adjacent
 *                     anonymous regions: two guest memories side by side are one line
 * @param directBytes  memory of the JVM's {@code direct} buffer pool, in bytes
 * @param mappedBytes  memory of the JVM's {@code mapped} buffer pool (mapped files), in bytes
 */
record ProcessResources(long rssKib, long heapUsed, int threads, int fds, int maps, long bigMapBytes, long directBytes,
                        long mappedBytes) {

    /** The size above which a mapped region counts in {@link #bigMapBytes}. */
    static final long BIG_MAP_BYTES = 80L << 20;

    /** {@return the figures now} Reads {@code /proc/self}, so Linux only. */
    static ProcessResources sample() {
        try {
            return new ProcessResources(readRssKib(), ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(),
                    ManagementFactory.getThreadMXBean().getThreadCount(), fdCount(), (int) mapped(0, false), mapped(BIG_MAP_BYTES, true),
                    bufferPool("direct"), bufferPool("mapped"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read /proc/self", e);
        }
    }

    /** The figures as table cells, in the order of {@link #HEADERS}. */
    List<String> cells() {
        return List.of(Long.toString(rssKib >> 10), Long.toString(heapUsed >> 20), Integer.toString(threads),
                Integer.toString(fds), Integer.toString(maps), Long.toString(bigMapBytes >> 20), mib(directBytes), mib(mappedBytes));
    }

    /** Column names for {@link #cells}. */
    static final List<String> HEADERS = List.of("RSS MiB", "heap MiB", "threads", "fds", "maps", "big maps MiB", "direct MiB",
            "mapped MiB");

    /**
     * {@return what a leak would be made of, one entry per live platform thread (its name), open
     * descriptor (what it points to) and mapped region (its path, or its kind for anonymous
     * memory)}, to compare two moments with {@link #added}
     */
    static List<String> inventory() {
        List<String> items = new ArrayList<>();
        Thread.getAllStackTraces().keySet().forEach(t -> items.add("thread " + t.getName()));
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    items.add("fd -> " + Files.readSymbolicLink(fd));
                } catch (IOException e) {
                    // Closed between the listing and the read (the listing's own descriptor, for one).
                }
            }
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                String[] f = line.trim().split("\\s+", 6);
                items.add("map " + (f.length == 6 ? f[5] : "[anonymous]") + " " + f[1]);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read /proc/self", e);
        }
        return items;
    }

    /** {@return the entries of {@code now} beyond those of {@code then}, counting repeats} */
    static List<String> added(List<String> then, List<String> now) {
        Map<String, Integer> left = new HashMap<>();
        then.forEach(i -> left.merge(i, 1, Integer::sum));
        List<String> extra = new ArrayList<>();
        for (String i : now) {
            if (left.merge(i, -1, Integer::sum) < 0) {
                extra.add(i);
            }
        }
        Collections.sort(extra);
        return extra;
    }

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

    /** {@return the regions in {@code /proc/self/maps} larger than {@code minBytes}: their count, or with {@code bytes} their size} */
    private static long mapped(long minBytes, boolean bytes) throws IOException {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.mapToLong(ProcessResources::regionBytes).filter(size -> size > minBytes)
                    .map(size -> bytes ? size : 1).sum();
        }
    }

    /** {@return the size of the region a {@code /proc/self/maps} line describes: {@code START-END ...}, hexadecimal} */
    private static long regionBytes(String line) {
        int dash = line.indexOf('-');
        int space = line.indexOf(' ');
        return Long.parseUnsignedLong(line, dash + 1, space, 16) - Long.parseUnsignedLong(line, 0, dash, 16);
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
