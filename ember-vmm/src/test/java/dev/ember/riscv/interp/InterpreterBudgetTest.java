package dev.ember.riscv.interp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ember.riscv.cpu.Hart;
import dev.ember.riscv.testing.HartFixture;
import org.junit.jupiter.api.Test;

/**
 * {@link Interpreter#run}'s contract with the vCPU loop: a slice attempts at most its budget
 * of instructions, however often they trap, since the budget bounds interrupt latency and
 * the delay before a pause request is seen.
 */
class InterpreterBudgetTest {

    /** A trap every third instruction; the handler returns with a jump, not an xRET, so nothing ends the slice. */
    private static final String TRAP_LOOP = """
            la t0, handler
            csrw mtvec, t0
            loop: ecall
            handler: addi a0, a0, 1
            j loop
            """;

    @Test
    void sliceWithTrapsAttemptsExactlyItsBudget() {
        Hart hart = HartFixture.load(HartFixture.Engine.INTERPRETER, TRAP_LOOP).hart();
        assertEquals(300, new Interpreter(hart).run(300));
    }

    /**
     * Of those 300: 3 set-up instructions, then 99 rounds of ecall, addi, j. The 99 ecalls
     * raise exceptions and do not retire, so instret grows by 3 + 2 * 99 = 201.
     */
    @Test
    void trappingInstructionsDoNotRetire() {
        Hart hart = HartFixture.load(HartFixture.Engine.INTERPRETER, TRAP_LOOP).hart();
        long before = hart.instret;
        new Interpreter(hart).run(300);
        assertEquals(201, hart.instret - before);
    }

    /** A fetch that faults into a handler that faults again must still use up the budget. */
    @Test
    void sliceOfFaultingFetchesEnds() {
        Hart hart = HartFixture.load(HartFixture.Engine.INTERPRETER, "li t0, 0x10000000\n csrw mtvec, t0\n jr t0").hart();
        assertEquals(100, new Interpreter(hart).run(100));
    }
}
