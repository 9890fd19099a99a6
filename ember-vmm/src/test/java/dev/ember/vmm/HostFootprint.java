package dev.ember.vmm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Test support: what this JVM holds of the host, for tests that bound a hostile guest's cost.
 *
 * @param rssBytes     the process's resident set ({@code VmRSS} of {@code /proc/self/status}):
 *                     heap, native memory and the guest RAM pages touched so far
 * @param heapBytes    the Java heap in use, after a full collection when one was asked for
 * @param threads      live Java threads
 */
record HostFootprint(long rssBytes, long heapBytes, int threads) {

    static final long MIB = 1L << 20;

    /** {@return the footprint now, after a GC so the heap figure counts only what is reachable} */
    static HostFootprint now() {
        System.gc();
        return new HostFootprint(rss(), ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(),
                Thread.activeCount());
    }

    /** {@return the larger of each figure of this and {@code other}} */
    HostFootprint max(HostFootprint other) {
        return new HostFootprint(Math.max(rssBytes, other.rssBytes), Math.max(heapBytes, other.heapBytes),
                Math.max(threads, other.threads));
    }

    /** {@return how much each figure of this exceeds {@code baseline}} */
    HostFootprint minus(HostFootprint baseline) {
        return new HostFootprint(rssBytes - baseline.rssBytes, heapBytes - baseline.heapBytes, threads - baseline.threads);
    }

    /** {@return the figures in MiB, for reports} */
    String describe() {
        return String.format("RSS %+d MiB, heap %+d MiB, threads %+d", rssBytes / MIB, heapBytes / MIB, threads);
    }

    /** {@return the CPU time this process has used, in nanoseconds: every thread, the GC's and the JIT's too} */
    static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static long rss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
            throw new IllegalStateException("/proc/self/status has no VmRSS line");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** How many samples of {@link Watch} go by between two that collect garbage first. */
    private static final int GC_EVERY = 10;

    /**
     * Samples the footprint every {@code everyMillis} on a daemon thread until closed, keeping the
     * peaks; every {@value #GC_EVERY}th sample collects garbage first and only those count for
     * the heap, so its figure is what stayed reachable.
     */
    static final class Watch implements AutoCloseable {
        private final Thread thread;
        private volatile HostFootprint peak;

        Watch(long everyMillis) {
            peak = now();
            thread = Thread.ofPlatform().daemon().name("host-footprint").start(() -> {
                try {
                    for (int i = 1; !Thread.currentThread().isInterrupted(); i++) {
                        Thread.sleep(everyMillis);
                        HostFootprint sample = i % GC_EVERY == 0 ? now()
                                : new HostFootprint(rss(), peak.heapBytes, Thread.activeCount());
                        peak = peak.max(sample);
                    }
                } catch (InterruptedException e) {
                    // closed
                }
            });
        }

        /** {@return the peaks seen so far} */
        HostFootprint peak() {
            return peak;
        }

        @Override
        public void close() throws InterruptedException {
            thread.interrupt();
            thread.join();
            peak = peak.max(now());
        }
    }
}
