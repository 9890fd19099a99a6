package dev.ember.riscv.interp;

import dev.ember.memory.GuestMemory;
import dev.ember.riscv.cpu.Hart;
import dev.ember.riscv.isa.Op;
import java.lang.foreign.MemorySegment;

/**
 * The A extension (unprivileged ISA chapter 14), shared by both execution engines. AMOs are
 * single atomic operations on guest RAM through {@link GuestMemory#ATOMIC_U64}/{@code
 * ATOMIC_U32}, so they are atomic against other harts on other host threads. LR/SC is a
 * reservation on the loaded value plus a compare-and-swap, as QEMU does: an SC succeeds only if
 * memory still holds the value LR saw.
 *
 * <p>Each method translates the address itself and throws the hart's {@code Trap} for
 * misaligned addresses, faults and anything but RAM. Every write is reported to the MMU
 * ({@code atomicWritten}), so an AMO on a page of code drops that code.
 */
public final class Amo {

    private Amo() {}

    /** LR.W / LR.D: loads, sign-extended for LR.W, and reserves the address. */
    public static long loadReserved(Hart h, long gva, boolean doubleword) {
        long off = h.mmu.atomicOffset(gva, doubleword ? 8 : 4, false);
        MemorySegment seg = h.mmu.seg;
        long v = doubleword ? (long) GuestMemory.ATOMIC_U64.getVolatile(seg, off)
                            : (int) GuestMemory.ATOMIC_U32.getVolatile(seg, off);
        h.reservationOffset = off;
        h.reservationValue = v;
        return v;
    }

    /** SC.W / SC.D: {@return 0 if the store happened, 1 if not}; always clears the reservation. */
    public static long storeConditional(Hart h, long gva, long src, boolean doubleword) {
        long off = h.mmu.atomicOffset(gva, doubleword ? 8 : 4, true);
        MemorySegment seg = h.mmu.seg;
        boolean ok = false;
        if (h.reservationOffset == off) {
            ok = doubleword
                    ? GuestMemory.ATOMIC_U64.compareAndSet(seg, off, h.reservationValue, src)
                    : GuestMemory.ATOMIC_U32.compareAndSet(seg, off, (int) h.reservationValue, (int) src);
        }
        h.reservationOffset = -1;
        if (ok) {
            h.mmu.atomicWritten(off, doubleword ? 8 : 4);
        }
        return ok ? 0 : 1;
    }

    /** A 64-bit read-modify-write AMO; {@return the value memory held before} */
    public static long apply64(Hart h, Op op, long gva, long src) {
        long off = h.mmu.atomicOffset(gva, 8, true);
        var vh = GuestMemory.ATOMIC_U64;
        MemorySegment seg = h.mmu.seg;
        long old = switch (op) {
            case AMOSWAP_D -> (long) vh.getAndSet(seg, off, src);
            case AMOADD_D -> (long) vh.getAndAdd(seg, off, src);
            case AMOXOR_D -> (long) vh.getAndBitwiseXor(seg, off, src);
            case AMOAND_D -> (long) vh.getAndBitwiseAnd(seg, off, src);
            case AMOOR_D -> (long) vh.getAndBitwiseOr(seg, off, src);
            case AMOMIN_D, AMOMAX_D, AMOMINU_D, AMOMAXU_D -> {
                long v;
                do {
                    v = (long) vh.getVolatile(seg, off);
                } while (!vh.compareAndSet(seg, off, v, minMax(op, v, src)));
                yield v;
            }
            default -> throw new IllegalArgumentException("not a 64-bit AMO: " + op);
        };
        h.mmu.atomicWritten(off, 8);
        return old;
    }

    /** A 32-bit read-modify-write AMO; {@return the value memory held before, sign-extended} */
    public static long apply32(Hart h, Op op, long gva, long src) {
        long off = h.mmu.atomicOffset(gva, 4, true);
        var vh = GuestMemory.ATOMIC_U32;
        MemorySegment seg = h.mmu.seg;
        int s = (int) src;
        int old = switch (op) {
            case AMOSWAP_W -> (int) vh.getAndSet(seg, off, s);
            case AMOADD_W -> (int) vh.getAndAdd(seg, off, s);
            case AMOXOR_W -> (int) vh.getAndBitwiseXor(seg, off, s);
            case AMOAND_W -> (int) vh.getAndBitwiseAnd(seg, off, s);
            case AMOOR_W -> (int) vh.getAndBitwiseOr(seg, off, s);
            case AMOMIN_W, AMOMAX_W, AMOMINU_W, AMOMAXU_W -> {
                int v;
                do {
                    v = (int) vh.getVolatile(seg, off);
                } while (!vh.compareAndSet(seg, off, v, (int) minMax(op, v, s)));
                yield v;
            }
            default -> throw new IllegalArgumentException("not a 32-bit AMO: " + op);
        };
        h.mmu.atomicWritten(off, 4);
        return old;
    }

    /** MIN, MAX, MINU, MAXU on values already sign-extended from their width. */
    private static long minMax(Op op, long a, long b) {
        return switch (op) {
            case AMOMIN_W, AMOMIN_D -> Math.min(a, b);
            case AMOMAX_W, AMOMAX_D -> Math.max(a, b);
            case AMOMINU_W, AMOMINU_D -> Long.compareUnsigned(a, b) <= 0 ? a : b;
            default -> Long.compareUnsigned(a, b) >= 0 ? a : b;
        };
    }
}
