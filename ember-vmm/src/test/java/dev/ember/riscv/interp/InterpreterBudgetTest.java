package dev.ember.riscv.interp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
    void sliceWithTrapsAttemptsNoMoreThanItsBudget() {
        Hart hart = HartFixture.load(TRAP_LOOP).hart();
        long before = hart.instret;
        new Interpreter(hart).run(300);
        assertTrue(hart.instret - before <= 300, () -> (hart.instret - before) + " instructions attempted");
    }

    @Test
    void sliceWithTrapsReportsWhatItAttempted() {
        Hart hart = HartFixture.load(TRAP_LOOP).hart();
        long before = hart.instret;
        int attempted = new Interpreter(hart).run(300);
        assertEquals(hart.instret - before, attempted);
    }

    /** A fetch that faults into a handler that faults again must still use up the budget. */
    @Test
    void sliceOfFaultingFetchesEnds() {
        Hart hart = HartFixture.load("li t0, 0x10000000\n csrw mtvec, t0\n jr t0").hart();
        assertEquals(100, new Interpreter(hart).run(100));
    }
}
