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
 * <p>Program {@code i} has seed {@code base + i}. System properties change the run:
 * <pre>
 *   -Dember.difftest.programs=N   how many programs (default 20000)
 *   -Dember.difftest.seed=S       the base seed
 *   -Dember.difftest.threads=T    worker threads (default: 2, or 1 on a one-core machine)
 *   -Dember.difftest.reports=R    stop after R failing programs (default 3)
 * </pre>
 * A long run is one command:
 * {@code ./ember test -pl ember-vmm -Dtest=DifferentialTest -Dsurefire.failIfNoSpecifiedTests=false -Dember.difftest.programs=1000000},
 * and a failure names the seed that reproduces it alone:
 * {@code -Dember.difftest.seed=S -Dember.difftest.programs=1}.
 */
class DifferentialTest {

    static final long BASE_SEED = Long.getLong("ember.difftest.seed", 0x5EED_0000L);
    static final int PROGRAMS = Integer.getInteger("ember.difftest.programs", 20_000);
    static final int THREADS = Integer.getInteger("ember.difftest.threads",
            Math.min(2, Runtime.getRuntime().availableProcessors()));
    static final int REPORTS = Integer.getInteger("ember.difftest.reports", 3);

    /** A program the engines disagree on, or the generator got wrong. */
    private record Failure(long seed, DifferentialTester.Mismatch mismatch, RuntimeException error) {}

    @Test
    void translatorEndsEveryRandomProgramInTheInterpretersState() throws Exception {
        long start = System.nanoTime();
        AtomicInteger next = new AtomicInteger();
        AtomicInteger checked = new AtomicInteger();
        AtomicBoolean enough = new AtomicBoolean();
        List<Failure> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                workers.add(pool.submit(() -> {
                    DifferentialTester tester = DifferentialTester.standard();
                    for (int i = next.getAndIncrement(); i < PROGRAMS && !enough.get(); i = next.getAndIncrement()) {
                        long seed = BASE_SEED + i;
                        try {
                            tester.check(Generator.generate(seed))
                                    .ifPresent(m -> failures.add(new Failure(seed, m, null)));
                        } catch (RuntimeException e) {
                            failures.add(new Failure(seed, null, e));
                        }
                        checked.incrementAndGet();
                        if (failures.size() >= REPORTS) {
                            enough.set(true);
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
        DifferentialTester tester = DifferentialTester.standard();
        StringBuilder out = new StringBuilder();
        for (Failure f : sorted.subList(0, Math.min(REPORTS, sorted.size()))) {
            out.append('\n');
            if (f.mismatch() != null) {
                out.append(tester.report(f.mismatch()));
            } else {
                out.append("program %d: %s%n".formatted(f.seed(), f.error()));
            }
        }
        fail(out.toString());
    }
}
