package dev.ember.riscv.differential;

import dev.ember.riscv.isa.Decoder;
import dev.ember.riscv.isa.Disassembler;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Runs a program on a reference engine and on candidate engines, from the same starting state,
 * and compares the complete architectural state they end in ({@link Snapshot}); on a mismatch,
 * shrinks the program ({@link Minimizer}) and writes a reproducer.
 *
 * <p>A run ends at the program's {@code wfi}, which every engine reaches at the same
 * instruction, so final states are comparable however far translated code runs past a slice's
 * budget. A program the reference cannot finish within {@link #LIMIT} instructions is the
 * generator's bug, not the engines', and is reported as such.
 *
 * <p>Not thread-safe; one per thread.
 */
final class DifferentialTester {

    /** Instructions a program may attempt: generated ones take a few hundred to a few thousand. */
    static final long LIMIT = 200_000;

    private final Engine reference;
    private final List<Engine> candidates;

    DifferentialTester(Engine reference, List<Engine> candidates) {
        this.reference = reference;
        this.candidates = List.copyOf(candidates);
    }

    /** The translator at both thresholds, against the interpreter. */
    static DifferentialTester standard() {
        return new DifferentialTester(Engine.INTERPRETER, List.of(Engine.TRANSLATOR, Engine.HOT_TRANSLATOR));
    }

    /**
     * A candidate engine disagreed with the reference on a program.
     *
     * @param differences one line per differing field: "field: reference value vs candidate value"
     */
    record Mismatch(Program program, Engine engine, List<String> differences) {}

    /** {@return the first candidate's disagreement with the reference on {@code program}, if any} */
    Optional<Mismatch> check(Program program) {
        Program.Image image = program.link();
        Snapshot[] plain = new Snapshot[1];
        for (Engine candidate : candidates) {
            List<String> differences = compare(program, image, candidate, plain, true);
            if (!differences.isEmpty()) {
                return Optional.of(new Mismatch(program, candidate, differences));
            }
        }
        return Optional.empty();
    }

    /** {@return the differences between the reference and {@code candidate} on {@code program}; empty if none, or if the reference cannot finish it} */
    List<String> differences(Program program, Engine candidate) {
        return compare(program, program.link(), candidate, new Snapshot[1], false);
    }

    /**
     * Runs {@code candidate}, then the reference, which raises the program's interrupts (if any)
     * exactly where the candidate did, and compares.
     *
     * @param plain  the reference's state without an interrupt, once computed
     * @param strict whether a reference that does not finish is an error rather than no difference
     */
    private List<String> compare(Program program, Program.Image image, Engine candidate, Snapshot[] plain, boolean strict) {
        List<String> differences = new ArrayList<>();
        Snapshot actual;
        List<Machine.Point> raised;
        try (Machine m = new Machine(program, image, candidate)) {
            Machine.Outcome outcome = m.run(program.chunk(), LIMIT, program.irqs(), null);
            actual = m.snapshot();
            raised = m.raised();
            if (outcome != Machine.Outcome.DONE) {
                differences.add("%s did not reach the end in %d instructions; it is at pc 0x%x"
                        .formatted(candidate, LIMIT, actual.pc()));
            }
        }
        Snapshot expected;
        if (raised.isEmpty()) {
            if (plain[0] == null) {
                plain[0] = reference(program, image, null, strict);
            }
            expected = plain[0];
        } else {
            expected = reference(program, image, raised, strict);
        }
        if (expected == null) {
            return List.of();
        }
        if (expected == MISSED) {
            differences.add(0, "the %s stopped to raise interrupts at %s; the %s does not pass all those points"
                    .formatted(candidate, points(raised), reference));
            return differences;
        }
        if (!expected.sameAs(actual)) {
            if (!raised.isEmpty()) {
                differences.add("(interrupts were raised at %s)".formatted(points(raised)));
            }
            differences.addAll(expected.diff(actual, reference.name(), candidate.name()));
        }
        return differences;
    }

    private static String points(List<Machine.Point> points) {
        return points.stream().map(p -> "instret %d pc 0x%x".formatted(p.instret(), p.pc()))
                .collect(java.util.stream.Collectors.joining(", "));
    }

    /** Stands for a reference run that could not stop where the candidate raised its interrupt. */
    private static final Snapshot MISSED = new Snapshot(new long[32], new long[32], 0, 0, 0, 0, 0, new long[0], 0, 0, new byte[0]);

    /**
     * {@return the reference's final state, raising the program's interrupts at {@code at} if
     * given; {@link #MISSED} if it cannot stop there; null (or, with {@code strict}, an exception)
     * if it does not finish}
     */
    private Snapshot reference(Program program, Program.Image image, List<Machine.Point> at, boolean strict) {
        try (Machine m = new Machine(program, image, reference)) {
            Machine.Outcome outcome = at == null ? m.run(program.chunk(), LIMIT)
                    : m.run(program.chunk(), LIMIT, program.irqs(), at);
            if (outcome == Machine.Outcome.MISSED) {
                return MISSED;
            }
            if (outcome != Machine.Outcome.DONE) {
                if (strict) {
                    throw new IllegalStateException("generator bug: program %d does not finish on the %s; it is at pc 0x%x%n%s"
                            .formatted(program.seed(), reference, m.snapshot().pc(), listing(program, image)));
                }
                return null;
            }
            return m.snapshot();
        }
    }

    /** {@return {@code mismatch} shrunk by the minimizer, and described for a human: seed, program, differences} */
    String report(Mismatch mismatch) {
        Program original = mismatch.program();
        Program small = Minimizer.minimize(original, p -> !differences(p, mismatch.engine()).isEmpty());
        List<String> differences = differences(small, mismatch.engine());
        if (differences.isEmpty()) {
            small = original;   // cannot happen unless the engines are not deterministic
            differences = mismatch.differences();
        }
        StringBuilder out = new StringBuilder();
        out.append("%s disagrees with the %s on program %d (reproduce: -Dember.difftest.seed=%d -Dember.difftest.programs=1)%n"
                .formatted(mismatch.engine(), reference, original.seed(), original.seed()));
        out.append("run in slices of %d instructions%s; minimized from %d to %d items%n"
                .formatted(original.chunk(), original.irqs().isEmpty() ? "" : ", interrupts raised from outside: "
                        + original.irqs().stream().map(i -> "%d once instret reaches %d".formatted(i.bit(), i.instret()))
                                .collect(java.util.stream.Collectors.joining(", ")),
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
