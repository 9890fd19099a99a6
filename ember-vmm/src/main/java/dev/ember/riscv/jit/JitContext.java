package dev.ember.riscv.jit;

import dev.ember.riscv.cpu.Hart;
import dev.ember.riscv.cpu.Mmu;
import dev.ember.riscv.interp.Interpreter;

/**
 * One hart's state as translated code sees it, beyond the {@link Hart} itself: the trap a
 * run-time helper recorded instead of throwing it, and the exit a region left by, so the
 * dispatcher can chain it to the region it finds there.
 *
 * <p>Guest traps raised inside helpers are caught there and recorded here
 * ({@link #trapPending}); the generated code checks the flag only after a slow-path call, never
 * on a fast path, and leaves the region through its trap exit, which writes the registers back
 * and calls {@link Helpers#raise}.
 *
 * <p>Owned by the hart's vCPU thread.
 */
final class JitContext {

    final Hart hart;
    final Mmu mmu;
    final Interpreter interpreter;
    /** The MMU's TLB arrays, which never change identity. */
    final long[] readTag;
    final long[] readAddend;
    final long[] writeTag;
    final long[] writeAddend;

    /** A helper caught a guest trap; its cause and value are below. */
    boolean trapPending;
    long trapCause;
    long trapTval;
    /** The recorded trap's H-extension fields: {@code htval}, {@code htinst}, GVA. */
    long trapTval2;
    long trapTinst;
    boolean trapGva;

    /** Instructions that regions left to the interpreter ({@link Helpers#interpretOne}). */
    long interpretedInRegions;

    /**
     * The jump cache (QEMU's {@code tb_jmp_cache}): by virtual pc, the region last found there.
     * Cleared whenever the TLBs are flushed, so a hit is still mapped as it was.
     */
    static final int JUMP_CACHE_BITS = 12;
    final long[] jumpPc = new long[1 << JUMP_CACHE_BITS];
    final Region[] jumpRegion = new Region[1 << JUMP_CACHE_BITS];

    static int jumpIndex(long pc) {
        return (int) (pc >>> 1) & ((1 << JUMP_CACHE_BITS) - 1);
    }

    /** The region whose unlinked direct exit was taken last, or null; and that exit's slot. */
    Region linkFrom;
    int linkSlot;

    JitContext(Hart hart, Interpreter interpreter) {
        this.hart = hart;
        this.mmu = hart.mmu;
        this.interpreter = interpreter;
        this.readTag = mmu.readTag;
        this.readAddend = mmu.readAddend;
        this.writeTag = mmu.writeTag;
        this.writeAddend = mmu.writeAddend;
    }
}
