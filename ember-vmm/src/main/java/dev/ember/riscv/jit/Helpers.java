package dev.ember.riscv.jit;

import dev.ember.memory.GuestMemory;
import dev.ember.riscv.cpu.Hart;
import dev.ember.riscv.cpu.Mmu;
import dev.ember.riscv.cpu.Trap;
import dev.ember.riscv.interp.Amo;
import dev.ember.riscv.interp.FloatOps;
import dev.ember.riscv.isa.Op;
import java.lang.foreign.MemorySegment;

/**
 * The run-time helpers: the only methods translated code calls, besides the shared
 * instruction semantics in {@code FloatOps} and {@code IntegerOps} (QEMU's {@code helper_*}).
 *
 * <p>Guest traps: the memory helpers let the MMU's slow path throw the hart's preallocated
 * {@code Trap}, which the region catches at that access (a fault is never on a fast path). The
 * other helpers record a trap in the {@link JitContext} and return; the caller checks
 * {@link JitContext#trapPending} after the call and leaves through its trap exit, which calls
 * {@link #raise}. Helpers that may end the slice (a store to a page of code, a CSR write that
 * may unmask an interrupt) return so that the region can leave after the instruction.
 *
 * <p>Run on the hart's vCPU thread, from generated code.
 */
public final class Helpers {

    private Helpers() {}

    /** Records {@code t} for the region to raise; {@return 0, the value a faulting load yields} */
    private static long pending(JitContext c, Trap t) {
        c.trapPending = true;
        c.trapCause = t.cause();
        c.trapTval = t.tval();
        c.trapTval2 = t.tval2();
        c.trapTinst = t.tinst();
        c.trapGva = t.gva();
        return 0;
    }

    /** Takes the trap a memory access threw; the region has already written back its state, with h.pc at the faulting instruction. */
    public static void raise(JitContext c, Trap t) {
        c.hart.takeTrap(t);
    }

    /** Takes the trap a helper recorded; the region has already written back its state, with h.pc at the faulting instruction. */
    public static void raise(JitContext c) {
        c.trapPending = false;
        c.hart.takeTrap(c.trapCause, c.trapTval, c.trapTval2, c.trapTinst, c.trapGva);
    }

    /**
     * {@return the region the jump cache holds for virtual pc {@code pc} in {@code mode}, or
     * null} Called at a region's indirect exits and exits to other pages, to go on without the
     * dispatcher (QEMU's {@code lookup_and_goto_ptr}).
     */
    public static Region next(JitContext c, long pc, int mode) {
        int j = JitContext.jumpIndex(pc);
        Region r = c.jumpRegion[j];
        return r != null && c.jumpPc[j] == pc && r.mode == mode && r.valid ? r : null;
    }

    /** Runs the instruction at h.pc in the interpreter: SYSTEM instructions, illegal ones, and others a region leaves to it. */
    public static void interpretOne(JitContext c) {
        c.interpretedInRegions++;
        c.interpreter.runBlock(1);
    }

    // ---- memory: the TLB hit path, small enough for C2 to inline; the MMU on a miss ----------

    /*
     * Each load returns the value as its instruction writes it to rd. Each store returns false
     * when the region must stop because the slice ended (the store changed code). A fault throws
     * the hart's preallocated Trap from the MMU's slow path, which the region catches (see
     * RegionCompiler). The tag compare uses the page of the access's last byte, so an access
     * that crosses into the next page misses and the MMU splits it.
     */

    private static int index(long va) {
        return (int) (va >>> 12) & (Mmu.TLB_SIZE - 1);
    }

    private static long tag(JitContext c, long va, int width) {
        return ((va + width - 1) & ~0xFFFL) | c.mmu.dataKey;
    }

    public static long lb(MemorySegment seg, JitContext c, long va) {
        int i = index(va);
        if (c.readTag[i] == tag(c, va, 1)) {
            return seg.get(GuestMemory.U8, va + c.readAddend[i]);
        }
        return (byte) c.mmu.loadMiss(va, 1);
    }

    public static long lbu(MemorySegment seg, JitContext c, long va) {
        int i = index(va);
        if (c.readTag[i] == tag(c, va, 1)) {
            return seg.get(GuestMemory.U8, va + c.readAddend[i]) & 0xFF;
        }
        return c.mmu.loadMiss(va, 1);
    }

    public static long lh(MemorySegment seg, JitContext c, long va) {
        int i = index(va);
        if (c.readTag[i] == tag(c, va, 2)) {
            return seg.get(GuestMemory.U16, va + c.readAddend[i]);
        }
        return (short) c.mmu.loadMiss(va, 2);
    }

    public static long lhu(MemorySegment seg, JitContext c, long va) {
        int i = index(va);
        if (c.readTag[i] == tag(c, va, 2)) {
            return seg.get(GuestMemory.U16, va + c.readAddend[i]) & 0xFFFF;
        }
        return c.mmu.loadMiss(va, 2);
    }

    public static long lw(MemorySegment seg, JitContext c, long va) {
        int i = index(va);
        if (c.readTag[i] == tag(c, va, 4)) {
            return seg.get(GuestMemory.U32, va + c.readAddend[i]);
        }
        return (int) c.mmu.loadMiss(va, 4);
    }

    public static long lwu(MemorySegment seg, JitContext c, long va) {
        return lw(seg, c, va) & 0xFFFF_FFFFL;
    }

    public static long ld(MemorySegment seg, JitContext c, long va) {
        int i = index(va);
        if (c.readTag[i] == tag(c, va, 8)) {
            return seg.get(GuestMemory.U64, va + c.readAddend[i]);
        }
        return c.mmu.loadMiss(va, 8);
    }

    public static long flw(MemorySegment seg, JitContext c, long va) {
        return FloatOps.box((int) lw(seg, c, va));
    }

    public static long fld(MemorySegment seg, JitContext c, long va) {
        return ld(seg, c, va);
    }

    public static boolean sb(MemorySegment seg, JitContext c, long va, long value) {
        int i = index(va);
        if (c.writeTag[i] == tag(c, va, 1)) {
            seg.set(GuestMemory.U8, va + c.writeAddend[i], (byte) value);
            return true;
        }
        c.mmu.storeMiss(va, 1, value);
        return !c.hart.sliceEnd;
    }

    public static boolean sh(MemorySegment seg, JitContext c, long va, long value) {
        int i = index(va);
        if (c.writeTag[i] == tag(c, va, 2)) {
            seg.set(GuestMemory.U16, va + c.writeAddend[i], (short) value);
            return true;
        }
        c.mmu.storeMiss(va, 2, value);
        return !c.hart.sliceEnd;
    }

    public static boolean sw(MemorySegment seg, JitContext c, long va, long value) {
        int i = index(va);
        if (c.writeTag[i] == tag(c, va, 4)) {
            seg.set(GuestMemory.U32, va + c.writeAddend[i], (int) value);
            return true;
        }
        c.mmu.storeMiss(va, 4, value);
        return !c.hart.sliceEnd;
    }

    public static boolean sd(MemorySegment seg, JitContext c, long va, long value) {
        int i = index(va);
        if (c.writeTag[i] == tag(c, va, 8)) {
            seg.set(GuestMemory.U64, va + c.writeAddend[i], value);
            return true;
        }
        c.mmu.storeMiss(va, 8, value);
        return !c.hart.sliceEnd;
    }

    public static boolean fsw(MemorySegment seg, JitContext c, long va, long value) {
        return sw(seg, c, va, value);
    }

    public static boolean fsd(MemorySegment seg, JitContext c, long va, long value) {
        return sd(seg, c, va, value);
    }

    // ---- Zicsr and A

    /** One Zicsr access (see {@link Hart#csrAccess}); h.instret already counts this instruction. */
    public static long csr(JitContext c, int csr, long newValue, long writeMask, boolean writes) {
        try {
            return c.hart.csrAccess(csr, newValue, writeMask, writes);
        } catch (Trap t) {
            pending(c, t);
            return 0;
        }
    }

    public static long lr(JitContext c, long va, boolean doubleword) {
        try {
            return Amo.loadReserved(c.hart, va, doubleword);
        } catch (Trap t) {
            pending(c, t);
            return 0;
        }
    }

    public static long sc(JitContext c, long va, long value, boolean doubleword) {
        try {
            return Amo.storeConditional(c.hart, va, value, doubleword);
        } catch (Trap t) {
            pending(c, t);
            return 0;
        }
    }

    public static long amo32(JitContext c, long va, long value, int op) {
        try {
            return Amo.apply32(c.hart, Op.of(op), va, value);
        } catch (Trap t) {
            pending(c, t);
            return 0;
        }
    }

    public static long amo64(JitContext c, long va, long value, int op) {
        try {
            return Amo.apply64(c.hart, Op.of(op), va, value);
        } catch (Trap t) {
            pending(c, t);
            return 0;
        }
    }
}
