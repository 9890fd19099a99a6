package dev.ember.riscv.differential;

import dev.ember.riscv.isa.Decoder;
import dev.ember.riscv.isa.Disassembler;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Runs a program on a reference engine and on candidate engines, from the same starting state,
 * and compares the complete architectural state they end in ({@link Snapshot}); on a mismatch,
 * shrinks the program ({@link Minimizer}) and writes a reproducer.
 *
 * <p>A run ends at the program's {@code wfi}, which every engine reaches at the same
 * instruction, so final states are comparable however far translated code runs past a slice's
 * budget. On the way, a candidate stops at its first slice boundaries past the program's
 * {@link Program.Stop stops}; the reference, which stops exactly where told, is brought to the
 * same instruction count and pc, and the states there are compared too (a lockstep comparison,
 * sampled). A program the reference cannot finish within {@link #LIMIT} instructions is the
 * generator's bug, not the engines', and is reported as such.
 *
 * <p>Not thread-safe; one per thread.
 */
final class DifferentialTester implements AutoCloseable {

    /** Instructions a program may attempt: generated ones take a few hundred to a few thousand. */
    static final long LIMIT = 200_000;

    private final Engine reference;
    private final List<Engine> candidates;
    private final long limit;
    /** Machines kept from program to program by {@link #check}, one per engine; empty after {@link #renew}. */
    private final Map<Engine, Machine> machines = new HashMap<>();

    DifferentialTester(Engine reference, List<Engine> candidates) {
        this(reference, candidates, LIMIT);
    }

    /** A tester whose programs may attempt {@code limit} instructions each. */
    DifferentialTester(Engine reference, List<Engine> candidates, long limit) {
        this.reference = reference;
        this.candidates = List.copyOf(candidates);
        this.limit = limit;
    }

    /** The translator at both thresholds, against the interpreter. */
    static DifferentialTester standard() {
        return new DifferentialTester(Engine.INTERPRETER, List.of(Engine.TRANSLATOR, Engine.HOT_TRANSLATOR));
    }

    /** Drops the machines {@link #check} keeps, so that the next program runs on fresh ones. */
    void renew() {
        machines.values().forEach(Machine::close);
        machines.clear();
    }

    @Override
    public void close() {
        renew();
    }

    /**
     * A candidate engine disagreed with the reference on a program.
     *
     * @param differences one line per differing field: "field: reference value vs candidate value"
     */
    record Mismatch(Program program, Engine engine, List<String> differences) {}

    /**
     * {@return the first candidate's disagreement with the reference on {@code program}, if any}
     * Runs on the machines this tester keeps, which may have run other programs before: a
     * mismatch that {@link #differences} does not reproduce on fresh machines comes from what
     * an engine kept from those.
     */
    Optional<Mismatch> check(Program program) {
        return check(program, true);
    }

    /**
     * As {@link #check}, for programs not made by the {@link Generator}, such as a fuzzer's,
     * which may never end: a program the reference cannot finish has no differences.
     */
    Optional<Mismatch> checkArbitrary(Program program) {
        return check(program, false);
    }

    private Optional<Mismatch> check(Program program, boolean strict) {
        Program.Image image = program.link();
        Run[] plain = new Run[1];
        for (Engine candidate : candidates) {
            List<String> differences = compare(program, image, candidate, plain, strict, true);
            if (!differences.isEmpty()) {
                return Optional.of(new Mismatch(program, candidate, differences));
            }
        }
        return Optional.empty();
    }

    /**
     * {@return the differences between the reference and {@code candidate} on {@code program},
     * run on fresh machines; empty if none, or if the reference cannot finish it}
     */
    List<String> differences(Program program, Engine candidate) {
        return compare(program, program.link(), candidate, new Run[1], false, false);
    }

    /**
     * Runs {@code candidate}, then the reference, stopped exactly where the candidate stopped
     * for the program's {@link Program.Stop stops}, and compares the states at every stop and at
     * the end.
     *
     * @param plain  the reference's run without stops, once computed
     * @param strict whether a reference that does not finish is an error rather than no difference
     * @param reuse  whether to run on this tester's machines rather than fresh ones
     */
    private List<String> compare(Program program, Program.Image image, Engine candidate, Run[] plain, boolean strict,
                                 boolean reuse) {
        Run actual = run(program, image, candidate, program.stops(), null, reuse);
        Run expected;
        if (actual.stops().isEmpty()) {
            if (plain[0] == null) {
                plain[0] = run(program, image, reference, List.of(), null, reuse);
            }
            expected = plain[0];
        } else {
            expected = run(program, image, reference, program.stops(), actual.stops(), reuse);
        }
        if (expected.outcome() == Machine.Outcome.BUDGET) {
            if (strict) {
                throw new IllegalStateException("generator bug: program %d does not finish on the %s; it is at pc 0x%x%n%s"
                        .formatted(program.seed(), reference, expected.end().pc(), listing(program, image)));
            }
            return List.of();
        }
        List<String> differences = new ArrayList<>();
        if (actual.outcome() != Machine.Outcome.DONE) {
            differences.add("the %s did not reach the end in %d instructions; it is at pc 0x%x"
                    .formatted(candidate, limit, actual.end().pc()));
        }
        for (int k = 0; k < expected.states().size(); k++) {
            Snapshot e = expected.states().get(k);
            if (!e.sameAs(actual.states().get(k))) {
                Machine.Point at = actual.stops().get(k);
                differences.add("at a stop after %d instructions, at pc 0x%x:".formatted(at.instret(), at.pc()));
                differences.addAll(e.diff(actual.states().get(k), reference.name(), candidate.name()));
                return differences;
            }
        }
        if (expected.outcome() == Machine.Outcome.MISSED) {
            Machine.Point missed = actual.stops().get(expected.stops().size());
            differences.add("the %s stopped after %d instructions at pc 0x%x; the %s does not pass there"
                    .formatted(candidate, missed.instret(), missed.pc(), reference));
            return differences;
        }
        if (!expected.end().sameAs(actual.end())) {
            differences.add("at the end:");
            differences.addAll(expected.end().diff(actual.end(), reference.name(), candidate.name()));
        }
        return differences;
    }

    /** What one engine did: how the run ended, its final state, where it stopped on the way and its states there. */
    private record Run(Machine.Outcome outcome, Snapshot end, List<Machine.Point> stops, List<Snapshot> states) {}

    /** {@return {@code engine}'s run of {@code program}, making {@code stops} where {@code at} says, or where it may} */
    private Run run(Program program, Program.Image image, Engine engine, List<Program.Stop> stops, List<Machine.Point> at,
                    boolean reuse) {
        if (reuse) {
            Machine m = machines.computeIfAbsent(engine, Machine::new);
            m.load(program, image);
            return run(m, program, stops, at);
        }
        try (Machine m = new Machine(program, image, engine)) {
            return run(m, program, stops, at);
        }
    }

    private Run run(Machine m, Program program, List<Program.Stop> stops, List<Machine.Point> at) {
        Machine.Outcome outcome = m.run(program.chunk(), limit, stops, at);
        return new Run(outcome, m.snapshot(), List.copyOf(m.reached()), List.copyOf(m.states()));
    }

    private static String describe(Program.Stop stop) {
        return stop.interrupt() < 0 ? "%d".formatted(stop.instret())
                : "%d (raising interrupt %d)".formatted(stop.instret(), stop.interrupt());
    }

    /** {@return {@code mismatch} described by {@link #report(Mismatch, String)}, as one found on fresh machines} */
    String report(Mismatch mismatch) {
        return report(mismatch, null);
    }

    /**
     * {@return {@code mismatch} shrunk by the minimizer, and described for a human: how to
     * reproduce it, the program, the differences}
     *
     * @param sequence the system properties that rerun the programs the machines ran before this
     *                 one and then this one, for a mismatch fresh machines do not reproduce
     */
    String report(Mismatch mismatch, String sequence) {
        Program original = mismatch.program();
        Program small = original;
        List<String> differences = mismatch.differences();
        boolean alone = !differences(original, mismatch.engine()).isEmpty();
        StringBuilder out = new StringBuilder();
        if (alone) {
            small = Minimizer.minimize(original, p -> !differences(p, mismatch.engine()).isEmpty());
            differences = differences(small, mismatch.engine());
            out.append("%s disagrees with the %s on program %d (reproduce: -Dember.difftest.seed=%d -Dember.difftest.programs=1)%n"
                    .formatted(mismatch.engine(), reference, original.seed(), original.seed()));
        } else {
            out.append("%s disagrees with the %s on program %d, but only on machines that ran the programs before it (reproduce: %s)%n"
                    .formatted(mismatch.engine(), reference, original.seed(), sequence));
        }
        out.append("run in slices of %d instructions%s; minimized from %d to %d items%n"
                .formatted(original.chunk(), original.stops().isEmpty() ? "" : ", stopping to compare states once instret reaches "
                        + original.stops().stream().map(DifferentialTester::describe).collect(java.util.stream.Collectors.joining(", ")),
                        original.count(), small.count()));
        out.append(listing(small, small.link()));
        out.append(startingState(small));
        out.append("differences (%s vs %s):%n".formatted(reference, mismatch.engine()));
        for (String d : differences) {
            out.append("  ").append(d).append('\n');
        }
        return out.toString();
    }

    /** {@return the program's code with addresses, from its first instruction; the trap handlers are left out} */
    static String listing(Program program, Program.Image image) {
        StringBuilder out = new StringBuilder("program (M-mode trap handler at 0x%x, S-mode at 0x%x):%n"
                .formatted(Layout.M_HANDLER, Layout.S_HANDLER));
        for (Code.Line l : image.lines()) {
            if (l.pc() < program.start()) {
                continue;
            }
            String bits = l.length() == 4 ? "%08x".formatted(l.bits()) : "    %04x".formatted(l.bits() & 0xFFFF);
            String mark = l.pc() == image.end() ? "   <- end" : "";
            out.append("  %x: %s  %s%s%n".formatted(l.pc(), bits, Disassembler.format(Decoder.decode(l.bits()), l.pc()), mark));
        }
        return out.toString();
    }

    /** {@return the starting values of the registers the program names, and of the CSRs set before it runs} */
    private static String startingState(Program program) {
        boolean[] x = new boolean[32];
        boolean[] f = new boolean[32];
        for (Code.Line l : program.link().lines()) {
            if (l.pc() >= program.start()) {
                long insn = Decoder.decode(l.bits());
                mark(insn, x, f);
            }
        }
        StringBuilder out = new StringBuilder("starting state:\n");
        Program.InitialState init = program.init();
        List<String> parts = new ArrayList<>();
        for (int r = 1; r < 32; r++) {
            if (x[r]) {
                parts.add("%s=0x%x".formatted(Disassembler.xName(r), init.x()[r]));
            }
        }
        for (int r = 0; r < 32; r++) {
            if (f[r]) {
                parts.add("%s=0x%x".formatted(Disassembler.fName(r), init.f()[r]));
            }
        }
        for (int k = 0; k < init.csrs().length; k += 2) {
            parts.add("%s=0x%x".formatted(Disassembler.csrName((int) init.csrs()[k]), init.csrs()[k + 1]));
        }
        parts.add("frm=%d".formatted(init.frm()));
        parts.add("fflags=0x%x".formatted(init.fflags()));
        for (int k = 0; k < parts.size(); k += 6) {
            out.append("  ").append(String.join(" ", parts.subList(k, Math.min(parts.size(), k + 6)))).append('\n');
        }
        return out.toString();
    }

    /** Marks the registers {@code insn} names. */
    private static void mark(long insn, boolean[] x, boolean[] f) {
        String text = Disassembler.format(insn).toLowerCase(Locale.ROOT);
        for (String token : text.split("[ ,()]+")) {
            int i = Disassembler.xNames().indexOf(token);
            if (i > 0) {
                x[i] = true;
            }
            int j = Disassembler.fNames().indexOf(token);
            if (j >= 0) {
                f[j] = true;
            }
        }
    }
}
