package dev.ember.riscv.cpu;

/**
 * A synchronous guest exception on its way from the instruction that caused it to the hart's
 * trap entry.
 *
 * <p>Each hart owns one preallocated instance without a stack trace, and {@link Hart#trap}
 * fills in the cause and trap value before throwing it, so raising a guest page fault costs no
 * allocation. It is only ever thrown on slow paths (TLB misses, illegal instructions, ecalls):
 * the fast paths of the interpreter never throw.
 *
 * <p>Owned by its hart's vCPU thread.
 */
public final class Trap extends RuntimeException {

    long cause;
    long tval;

    Trap() {
        super(null, null, false, false);
    }

    /** {@return the exception code, as written to {@code mcause}} */
    public long cause() {
        return cause;
    }

    /** {@return the trap value, as written to {@code mtval}} */
    public long tval() {
        return tval;
    }
}
