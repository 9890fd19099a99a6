package dev.ember.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.config.EngineConfig;
import dev.ember.riscv.jit.TranslationCache;
import dev.ember.riscv.jit.TranslationStats;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hostile guests on the translator: bare-metal programs that generate code without end, jump
 * into device memory, into the middle of translated code and into the second half of a 32-bit
 * instruction, or run thousands of distinct code pages. Each must stay correct (the program's
 * own checks pass and it ends with its own status, not a host failure), translate without
 * failures, and keep the host bounded while it runs: the translation cache's live regions
 * within {@link TranslationCache#MAX_REGIONS}, and the growth of HotSpot's code cache, of
 * Metaspace (where the regions' hidden classes live) and of the Java heap after a GC within
 * the bounds stated below.
 */
class HostileGuestTest {

    private static final long MIB = 1L << 20;
    private static final Duration TIMEOUT = Duration.ofSeconds(180);
    /** How often the watcher samples the host while the guest runs. */
    private static final Duration SAMPLE_EVERY = Duration.ofMillis(100);
    /** Every so many samples, the watcher collects garbage and measures the heap. */
    private static final int GC_EVERY = 10;

    /**
     * The most HotSpot's code cache may grow while a guest runs: a quarter of the 240 MiB it
     * reserves by default, so a guest that could fill it would be caught long before it did.
     */
    static final long CODE_CACHE_BOUND = 64 * MIB;
    /**
     * The most Metaspace may grow: 8 KiB of class metadata for each of the translation cache's
     * {@link TranslationCache#MAX_REGIONS} live regions. Dropped regions must be unloaded.
     */
    static final long METASPACE_BOUND = 8 * 1024L * TranslationCache.MAX_REGIONS;
    /**
     * The most the heap in use after a GC may grow: the interpreter's decoded pages at their
     * bound (DecodedPages.MAX_PAGES of 16 KiB, 32 MiB) plus as much again for the translation
     * cache's bookkeeping and the regions' objects.
     */
    static final long HEAP_BOUND = 96 * MIB;

    /**
     * A case: the program and its guest memory.
     *
     * @param stopWhen    when the watcher ends the run with status 0, for a program that would
     *                    run on (null: the program ends itself)
     * @param expectFlush whether the program must push the translation cache past its bounds
     *                    and rewrite translated code
     */
    record Case(String program, long memoryBytes, Predicate<TranslationStats> stopWhen, boolean expectFlush) {}

    private static final List<Case> CASES = List.of(
            new Case("hostile_codegen", 64 * MIB, t -> t.flushes() > 0 && t.regionsLive() >= 2000, true),
            new Case("hostile_mmio", 64 * MIB, null, false),
            new Case("hostile_midentry", 64 * MIB, null, false),
            new Case("hostile_pages", 64 * MIB, null, false));

    private static final List<EngineConfig> ENGINES = List.of(EngineConfig.jit(0), EngineConfig.jit(8));

    static Stream<Arguments> runs() {
        return CASES.stream().flatMap(c -> ENGINES.stream().map(e ->
                Arguments.of(c.program() + " on jit " + e.jitThreshold(), c, e)));
    }

    /** The host's use of memory, each figure in bytes. */
    record HostMemory(long codeCache, long metaspace, long heap) {

        static HostMemory now(boolean collect) {
            if (collect) {
                System.gc();
            }
            long codeCache = 0;
            long metaspace = 0;
            for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                String name = pool.getName();
                if (pool.getType() == MemoryType.NON_HEAP && (name.contains("CodeHeap") || name.contains("CodeCache"))) {
                    codeCache += pool.getUsage().getUsed();
                } else if (name.equals("Metaspace")) {
                    metaspace += pool.getUsage().getUsed();
                }
            }
            long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            return new HostMemory(codeCache, metaspace, heap);
        }
    }

    /** The peaks the watcher saw while the guest ran. Written by the watcher thread, read after it ends. */
    static final class Peaks {
        volatile int liveRegions;
        volatile long codeCache;
        volatile long metaspace;
        volatile long heapAfterGc;
        volatile int samples;

        private final Predicate<TranslationStats> stopWhen;
        volatile boolean stopped;

        /** Peaks that start at {@code baseline}, so a run too short to sample shows no growth. */
        Peaks(Predicate<TranslationStats> stopWhen, HostMemory baseline) {
            this.stopWhen = stopWhen;
            this.codeCache = baseline.codeCache();
            this.metaspace = baseline.metaspace();
            this.heapAfterGc = baseline.heap();
        }

        void watch(VirtualMachine vm) {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    Thread.sleep(SAMPLE_EVERY);
                    TranslationStats t = vm.engineStats().translation();
                    liveRegions = Math.max(liveRegions, t.regionsLive());
                    if (stopWhen != null && !stopped && stopWhen.test(t)) {
                        stopped = true;
                        vm.finish(0);
                    }
                    boolean collect = ++samples % GC_EVERY == 0;
                    HostMemory m = HostMemory.now(collect);
                    codeCache = Math.max(codeCache, m.codeCache());
                    metaspace = Math.max(metaspace, m.metaspace());
                    if (collect) {
                        heapAfterGc = Math.max(heapAfterGc, m.heap());
                    }
                }
            } catch (InterruptedException e) {
                // the run ended
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("runs")
    void guestStaysCorrectAndTheHostBounded(String title, Case c, EngineConfig engine, @TempDir Path tmp)
            throws Exception {
        BareMetalProgram program = BareMetalProgram.load(c.program());
        HostMemory before = HostMemory.now(true);
        Peaks peaks = new Peaks(c.stopWhen(), before);
        BareMetalProgram.Run run = program.run(tmp, engine, 1, c.memoryBytes(), TIMEOUT, peaks::watch);
        HostMemory after = HostMemory.now(true);
        TranslationStats t = run.stats().translation();
        String report = run.describe() + String.format(
                "%n%s; host, growth from before the run: code cache peak %,d KiB, end %,d KiB; metaspace peak %,d KiB,"
                        + " end %,d KiB; heap after GC peak %,d KiB, end %,d KiB; live regions peak %,d (%d samples)",
                peaks.stopped ? "stopped by the test" : "ended by itself",
                (peaks.codeCache - before.codeCache()) >> 10, (after.codeCache() - before.codeCache()) >> 10,
                (peaks.metaspace - before.metaspace()) >> 10, (after.metaspace() - before.metaspace()) >> 10,
                (peaks.heapAfterGc - before.heap()) >> 10, (after.heap() - before.heap()) >> 10,
                peaks.liveRegions, peaks.samples);
        System.out.println(report);

        assertEquals(0, run.status(), report);
        assertEquals("", run.errors(), report);
        assertEquals("", run.console(), report);
        assertEquals(0, t.failedTranslations(), report);
        assertTrue(peaks.liveRegions <= TranslationCache.MAX_REGIONS, report);
        assertTrue(t.regionsLive() <= TranslationCache.MAX_REGIONS, report);
        assertTrue(t.classBytes() <= TranslationCache.MAX_CLASS_BYTES, report);
        // Above threshold 0 a translator thread works beside the guest, which may end before
        // the thread has translated enough to reach the bound; only the bounds are checked then.
        if (c.expectFlush() && engine.jitThreshold() == 0) {
            assertTrue(t.flushes() > 0 && t.regionsInvalidated() > 0,
                    () -> "the guest did not push the cache past its bounds, or rewrote no translated code\n" + report);
        }
        long codeCache = Math.max(peaks.codeCache, after.codeCache()) - before.codeCache();
        long metaspace = Math.max(peaks.metaspace, after.metaspace()) - before.metaspace();
        long heap = Math.max(peaks.heapAfterGc, after.heap()) - before.heap();
        assertTrue(codeCache <= CODE_CACHE_BOUND, () -> "code cache grew by " + (codeCache >> 10) + " KiB\n" + report);
        assertTrue(metaspace <= METASPACE_BOUND, () -> "metaspace grew by " + (metaspace >> 10) + " KiB\n" + report);
        assertTrue(heap <= HEAP_BOUND, () -> "heap after GC grew by " + (heap >> 10) + " KiB\n" + report);
    }
}
