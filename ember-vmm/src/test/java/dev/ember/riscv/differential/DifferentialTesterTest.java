package dev.ember.riscv.differential;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.memory.GuestMemory;
import dev.ember.riscv.cpu.ExecutionEngine;
import dev.ember.riscv.cpu.Hart;
import dev.ember.riscv.cpu.Trap;
import dev.ember.riscv.interp.Interpreter;
import dev.ember.riscv.isa.Decoder;
import dev.ember.riscv.isa.Insn;
import dev.ember.riscv.isa.Op;
import dev.ember.riscv.isa.TrapCause;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The differential tester itself: it catches engines that disagree, shrinks what it caught to
 * the instructions that matter, and the programs it generates do what it claims; so a green
 * {@link DifferentialTest} means something.
 */
class DifferentialTesterTest {

    @Test
    void anEngineThatStartsInAnotherStateIsCaughtAndTheProgramShrunkAway() {
        Engine skewed = Engine.INTERPRETER.withTweak("skewed interpreter", h -> h.x[7] ^= 1);
        DifferentialTester tester = new DifferentialTester(Engine.INTERPRETER, List.of(skewed));
        DifferentialTester.Mismatch m = firstMismatch(tester, 0);

        String report = tester.report(m);

        assertTrue(report.contains("x7 (t2): interpreter"), report);
        assertTrue(report.contains("minimized from %d to 0 items".formatted(m.program().count())), report);
    }

    @Test
    void anEngineThatMisexecutesOneInstructionIsCaughtAndTheProgramShrunkToWhatRunsIt() {
        Engine buggy = new Engine("mulhu-flipping interpreter", MisexecutingEngine::new, h -> { });
        DifferentialTester tester = new DifferentialTester(Engine.INTERPRETER, List.of(buggy));
        DifferentialTester.Mismatch m = firstMismatch(tester, 100);

        Program small = Minimizer.minimize(m.program(), p -> !tester.differences(p, buggy).isEmpty());
        String listing = DifferentialTester.listing(small, small.link());

        assertTrue(small.count() <= 3, listing);
        assertFalse(tester.differences(small, buggy).isEmpty(), listing);
        for (int k = 0; k < small.main().size(); k++) {
            List<Item> without = new ArrayList<>(small.main());
            without.remove(k);
            assertTrue(tester.differences(small.with(without, small.subs()), buggy).isEmpty(), "item " + k + " is not needed: " + listing);
        }
    }

    @Test
    void theInterpreterAlwaysAgreesWithItself() {
        DifferentialTester tester = new DifferentialTester(Engine.INTERPRETER, List.of(Engine.INTERPRETER));
        for (long seed = 0; seed < 50; seed++) {
            assertEquals(Optional.empty(), tester.check(Generator.generate(seed)), "program " + seed);
        }
    }

    @Test
    void aSeedAlwaysGivesTheSameProgram() {
        for (long seed = 0; seed < 20; seed++) {
            Program a = Generator.generate(seed);
            Program b = Generator.generate(seed);
            assertArrayEquals(a.link().ram(), b.link().ram());
            assertArrayEquals(a.init().x(), b.init().x());
            assertArrayEquals(a.init().f(), b.init().f());
            assertArrayEquals(a.init().csrs(), b.init().csrs());
        }
    }

    @Test
    void programsTakeEveryKindOfTrapTheHandlersServe() {
        Set<Long> seen = new HashSet<>();
        for (long seed = 0; seed < 400; seed++) {
            Program p = Generator.generate(seed);
            try (Machine m = new Machine(p, p.link(), Engine.INTERPRETER)) {
                assertEquals(Machine.Outcome.DONE, m.run(p.chunk(), DifferentialTester.LIMIT), "program " + seed);
                ByteBuffer log = ByteBuffer.wrap(m.snapshot().ram()).order(ByteOrder.LITTLE_ENDIAN);
                int base = (int) (Layout.LOG - Layout.RAM_BASE);
                long count = log.getLong(base);
                for (int k = 0; k < Math.min(count, Layout.LOG_ENTRIES); k++) {
                    seen.add(log.getLong(base + 16 + 16 * k));
                }
            }
        }
        long[] expected = {TrapCause.INSTRUCTION_ACCESS_FAULT, TrapCause.ILLEGAL_INSTRUCTION, TrapCause.BREAKPOINT,
            TrapCause.LOAD_MISALIGNED, TrapCause.LOAD_ACCESS_FAULT, TrapCause.STORE_MISALIGNED,
            TrapCause.STORE_ACCESS_FAULT, TrapCause.ECALL_FROM_U, TrapCause.ECALL_FROM_S, TrapCause.ECALL_FROM_M,
            TrapCause.INSTRUCTION_PAGE_FAULT, TrapCause.LOAD_PAGE_FAULT, TrapCause.STORE_PAGE_FAULT,
            TrapCause.INTERRUPT | TrapCause.SSI, TrapCause.INTERRUPT | TrapCause.STI, TrapCause.INTERRUPT | TrapCause.SEI};
        for (long cause : expected) {
            assertTrue(seen.contains(cause), "no trap with cause 0x" + Long.toHexString(cause) + " in " + seen);
        }
    }

    private static DifferentialTester.Mismatch firstMismatch(DifferentialTester tester, long from) {
        for (long seed = from; seed < from + 200; seed++) {
            Optional<DifferentialTester.Mismatch> m = tester.check(Generator.generate(seed));
            if (m.isPresent()) {
                return m.get();
            }
        }
        throw new AssertionError("no program in 200 shows the difference");
    }

    /** An engine with one bug: the interpreter, one instruction at a time, but MULHU's result has its low bit flipped. */
    private static final class MisexecutingEngine implements ExecutionEngine {
        private final Hart hart;
        private final Interpreter interpreter;

        MisexecutingEngine(Hart hart, GuestMemory ram) {
            this.hart = hart;
            this.interpreter = (Interpreter) Engine.INTERPRETER.build().apply(hart, ram);
        }

        @Override
        public int run(int budget) {
            int done = 0;
            while (done < budget) {
                long insn;
                try {
                    insn = Decoder.decode(hart.mmu.fetch(hart.pc));
                } catch (Trap t) {
                    insn = 0;
                }
                long retired = hart.instret;
                done += interpreter.run(1);
                if (insn != 0 && Insn.op(insn) == Op.MULHU && hart.instret != retired && Insn.rd(insn) != 0) {
                    hart.x[Insn.rd(insn)] ^= 1;
                }
                if (hart.sliceEnd) {
                    break;
                }
            }
            return done;
        }

        @Override
        public long interpretedInstructions() {
            return interpreter.interpretedInstructions();
        }
    }
}
