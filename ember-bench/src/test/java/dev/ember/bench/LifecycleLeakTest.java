package dev.ember.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * No leaks (issue 12): {@code ember.leak.cycles} (default 20) create, boot and destroy cycles
 * of a {@link dev.ember.vmm.MicroVm} with a drive, a network interface, an entropy device and
 * the agent's vsock ({@link LeakFigures#cycle}) leave this JVM holding no more threads, file
 * descriptors, direct or mapped buffer memory or large mapped regions (guest memory), and hardly
 * more mapped regions of any size, than after the
 * first {@value LeakFigures#WARM_UP_CYCLES} cycles. {@code ./ember bench leak --cycles 1000}
 * is the full run.
 *
 * <p>Slack: none for threads, descriptors, buffer memory and regions over 80 MiB (guest
 * memory). Small anonymous regions may grow by {@link #MAPS_SLACK} lines (16 per core): glibc
 * adds malloc arenas for contending threads (up to eight per core, two lines each), and the
 * JVM likely maps more for metaspace, the code cache and the GC as they grow. Measured on 2 cores
 * under load: 100 cycles ended 31 lines above the baseline, 40 cycles with
 * {@code MALLOC_ARENA_MAX=2} 21, all small anonymous regions, flat between samples rather
 * than rising per cycle. A leaked guest memory shows in {@link ProcessResources#bigMapBytes} at
 * once, by its whole size (the bound is half of it, since Linux merges a small anonymous region
 * into a big neighbour with the same flags), a leaked thread in the thread count.
 */
class LifecycleLeakTest {

    private static final Path GUEST = Path.of(System.getProperty("ember.guest.dir", "guest/out"));
    private static final int CYCLES = Integer.getInteger("ember.leak.cycles", 20);
    static final int MAPS_SLACK = 2 * 8 * Runtime.getRuntime().availableProcessors();
    /** The guest memory of one cycle's VM: what a leaked guest memory would add to the big regions. */
    private static final long GUEST_MEMORY_BYTES = (long) LeakFigures.MEM_MIB << 20;

    @Test
    void createBootDestroyCyclesLeaveThreadsFdsBuffersAndMappingsWhereTheyWere() throws Exception {
        Path scratch = Files.createTempFile("ember-leak-test", ".img");
        try {
            for (int c = 1; c <= LeakFigures.WARM_UP_CYCLES; c++) {
                LeakFigures.cycle(GUEST, scratch, c);
            }
            ProcessResources baseline = LeakFigures.settle(null);
            List<String> held = ProcessResources.inventory();
            for (int c = LeakFigures.WARM_UP_CYCLES + 1; c <= CYCLES; c++) {
                LeakFigures.cycle(GUEST, scratch, c);
            }
            ProcessResources end = LeakFigures.settle(baseline);
            String report = "after " + CYCLES + " cycles " + end + ", baseline " + baseline
                    + "; held now, not at the baseline: " + ProcessResources.added(held, ProcessResources.inventory());
            assertTrue(end.threads() <= baseline.threads(), report);
            assertTrue(end.fds() <= baseline.fds(), report);
            assertTrue(end.directBytes() <= baseline.directBytes(), report);
            assertTrue(end.mappedBytes() <= baseline.mappedBytes(), report);
            // A leaked guest memory adds its whole size; a small anonymous region that the kernel
            // merged into a big neighbour with the same flags adds a few MiB (CI saw +9.2 MiB).
            assertTrue(end.bigMapBytes() - baseline.bigMapBytes() < GUEST_MEMORY_BYTES / 2, report);
            assertTrue(end.maps() <= baseline.maps() + MAPS_SLACK, report);
        } finally {
            Files.deleteIfExists(scratch);
        }
    }
}
