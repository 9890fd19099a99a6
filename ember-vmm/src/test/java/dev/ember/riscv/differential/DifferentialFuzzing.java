package dev.ember.riscv.differential;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The differential check for a fuzzer ({@code dev.ember.fuzz.DifferentialFuzzTest}): straight
 * code of the fuzzer's choosing, run from the starting state of a generated program (registers
 * full of edge cases, CSRs, page tables, sometimes interrupts raised at stops) on the interpreter
 * and on the translator at both thresholds.
 *
 * <p>The code may do anything, jump anywhere or never reach its end; the handlers step over its
 * traps, and a program the interpreter cannot finish within {@link #LIMIT} instructions is
 * skipped, not compared. A disagreement is rechecked on fresh machines, as in
 * {@link DifferentialTester#check}, so that only one that reproduces is reported.
 *
 * <p>Not thread-safe; one per thread.
 */
public final class DifferentialFuzzing implements AutoCloseable {

    /** Instructions a fuzzed program may attempt: most end in a few hundred, or loop. */
    public static final long LIMIT = 20_000;

    private final DifferentialTester tester = new DifferentialTester(Engine.INTERPRETER,
            List.of(Engine.TRANSLATOR, Engine.HOT_TRANSLATOR), LIMIT);

    /**
     * {@return the engines' disagreement on {@code code} (32-bit words and, where the low two
     * bits are not 11, 16-bit halfwords) run from the starting state of generated program
     * {@code seed}: a listing of the program and the differing fields; empty if they agree}
     */
    public List<String> differences(long seed, int[] code) {
        Program generated = Generator.generate(seed);
        Program program = generated.with(List.of(new Item.Straight(code)), List.of());
        Optional<DifferentialTester.Mismatch> mismatch = tester.checkArbitrary(program);
        if (mismatch.isEmpty()) {
            return List.of();
        }
        List<String> fresh = tester.differences(program, mismatch.get().engine());
        if (fresh.isEmpty()) {
            tester.renew();
            return List.of();
        }
        List<String> out = new ArrayList<>();
        out.add("the interpreter and the " + mismatch.get().engine() + " disagree on seed " + seed + ":");
        out.add(DifferentialTester.listing(program, program.link()));
        out.addAll(fresh);
        return out;
    }

    @Override
    public void close() {
        tester.close();
    }
}
