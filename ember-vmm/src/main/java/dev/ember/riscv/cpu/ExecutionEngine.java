package dev.ember.riscv.cpu;

/**
 * What runs a hart's instructions: the interpreter ({@code riscv.interp}) or the translator
 * ({@code riscv.jit}). The vCPU loop calls {@link #run} in slices and does what hardware does
 * asynchronously in between (interrupts, remote fences, WFI), whichever engine it holds.
 *
 * <p>Both engines leave exactly the same architectural state: the same registers, {@code pc},
 * CSRs, memory and {@code instret} after every instruction that retires, and the same trap
 * state after every instruction that does not.
 *
 * <p>Owned by the hart's vCPU thread.
 */
public interface ExecutionEngine {

    /**
     * Executes instructions until about {@code budget} have been attempted, or an instruction
     * ends the slice early ({@link Hart#sliceEnd}: a CSR write that may unmask an interrupt,
     * WFI, xRET, a TLB flush, an SBI call that changes run state). Synchronous exceptions are
     * taken inside. The interpreter stops exactly at the budget; translated code may run past it
     * by up to one region's straight-line length, never round a loop.
     *
     * @return the number of instructions attempted
     */
    int run(int budget);

    /** {@return instructions this engine has attempted in its interpreter} */
    long interpretedInstructions();

    /** {@return instructions this engine has attempted in translated code} */
    default long translatedInstructions() {
        return 0;
    }
}
