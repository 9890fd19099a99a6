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
    /** H extension: a guest-page fault's guest physical address shifted right by 2, else 0. */
    long tval2;
    /** H extension: the transformed instruction for {@code htinst}/{@code mtinst}, or 0. */
    long tinst;
    /** H extension: {@code tval} is a guest virtual address though V was 0 (a fault of HLV/HSV). */
    boolean gva;

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

    /** {@return the value for {@code htval}/{@code mtval2}: a guest-page fault's address >> 2, else 0} */
    public long tval2() {
        return tval2;
    }

    /** {@return the value for {@code htinst}/{@code mtinst}} */
    public long tinst() {
        return tinst;
    }

    /** {@return whether the trap value is a guest virtual address from a hypervisor load or store} */
    public boolean gva() {
        return gva;
    }
}
