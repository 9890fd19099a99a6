package dev.ember.riscv.differential;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The translator, at both thresholds, ends every random program in exactly the interpreter's
 * state: tens of thousands of programs from a fixed base seed, on every CI run.
 *
 * <p>Program {@code i} has seed {@code base + i}. Programs run in blocks of {@link #BLOCK}: each
 * block on fresh machines, which then run its programs one after another, so that code the
 * engines keep from one program to the next is tested too. System properties change the run:
 * <pre>
 *   -Dember.difftest.programs=N   how many programs (default 20000)
 *   -Dember.difftest.seed=S       the base seed
 *   -Dember.difftest.threads=T    worker threads (default: 2, or 1 on a one-core machine)
 *   -Dember.difftest.reports=R    stop after R failing programs (default 3)
 * </pre>
 * A long run is one command:
 * {@code ./ember test -pl ember-vmm -Dtest=DifferentialTest -Dsurefire.failIfNoSpecifiedTests=false -Dember.difftest.programs=1000000},
 * and a failure names the properties that reproduce it: usually
 * {@code -Dember.difftest.seed=S -Dember.difftest.programs=1}.
 */
class DifferentialTest {

    static final long BASE_SEED = Long.getLong("ember.difftest.seed", 0x5EED_0000L);
    static final int PROGRAMS = Integer.getInteger("ember.difftest.programs", 20_000);
    static final int THREADS = Integer.getInteger("ember.difftest.threads",
            Math.min(2, Runtime.getRuntime().availableProcessors()));
    static final int REPORTS = Integer.getInteger("ember.difftest.reports", 3);
    /** Programs run one after another on the same machines. */
    static final int BLOCK = 100;

    /** A program the engines disagree on, or the generator got wrong, and how to run up to it. */
    private record Failure(long seed, DifferentialTester.Mismatch mismatch, RuntimeException error, String sequence) {}

    @Test
    void translatorEndsEveryRandomProgramInTheInterpretersState() throws Exception {
        long start = System.nanoTime();
        AtomicInteger nextBlock = new AtomicInteger();
        AtomicInteger checked = new AtomicInteger();
        AtomicBoolean enough = new AtomicBoolean();
        List<Failure> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                workers.add(pool.submit(() -> {
                    try (DifferentialTester tester = DifferentialTester.standard()) {
                        for (int b = nextBlock.getAndIncrement(); b * BLOCK < PROGRAMS && !enough.get(); b = nextBlock.getAndIncrement()) {
                            tester.renew();
                            int first = b * BLOCK;
                            for (int i = first; i < Math.min(PROGRAMS, first + BLOCK) && !enough.get(); i++) {
                                long seed = BASE_SEED + i;
                                String sequence = "-Dember.difftest.seed=%d -Dember.difftest.programs=%d -Dember.difftest.threads=1"
                                        .formatted(BASE_SEED + first, i - first + 1);
                                try {
                                    tester.check(Generator.generate(seed))
                                            .ifPresent(m -> failures.add(new Failure(seed, m, null, sequence)));
                                } catch (RuntimeException e) {
                                    failures.add(new Failure(seed, null, e, sequence));
                                    tester.renew();   // a machine may be left in any state
                                }
                                checked.incrementAndGet();
                                if (failures.size() >= REPORTS) {
                                    enough.set(true);
                                }
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> w : workers) {
                w.get();
            }
        } finally {
            pool.shutdownNow();
        }
        System.out.printf("differential test: %d programs from seed %d on %d threads in %.1f s, %d failing%n",
                checked.get(), BASE_SEED, THREADS, (System.nanoTime() - start) / 1e9, failures.size());
        if (failures.isEmpty()) {
            return;
        }
        List<Failure> sorted = new ArrayList<>(failures);
        sorted.sort(Comparator.comparingLong(Failure::seed));
        StringBuilder out = new StringBuilder();
        try (DifferentialTester tester = DifferentialTester.standard()) {
            for (Failure f : sorted.subList(0, Math.min(REPORTS, sorted.size()))) {
                out.append('\n');
                if (f.mismatch() != null) {
                    out.append(tester.report(f.mismatch(), f.sequence()));
                } else {
                    out.append("program %d (reproduce: %s): %s%n".formatted(f.seed(), f.sequence(), f.error()));
                }
            }
        }
        fail(out.toString());
    }
}
