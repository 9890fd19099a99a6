package dev.ember.riscv.interp;

import dev.ember.memory.GuestMemory;
import java.lang.foreign.MemorySegment;

/**
 * The read-modify-write AMOs (unprivileged ISA §14.4) as atomic operations on guest RAM.
 * {@code funct5} selects the operation; each returns the value memory held before,
 * sign-extended for the 32-bit forms.
 */
final class Amo {

    private Amo() {}

    static boolean isOp(int funct5) {
        return switch (funct5) {
            case 0b00001, 0b00000, 0b00100, 0b01100, 0b01000, 0b10000, 0b10100, 0b11000, 0b11100 -> true;
            default -> false;
        };
    }

    static long apply64(int funct5, MemorySegment seg, long off, long src) {
        var vh = GuestMemory.ATOMIC_U64;
        return switch (funct5) {
            case 0b00001 -> (long) vh.getAndSet(seg, off, src);
            case 0b00000 -> (long) vh.getAndAdd(seg, off, src);
            case 0b00100 -> (long) vh.getAndBitwiseXor(seg, off, src);
            case 0b01100 -> (long) vh.getAndBitwiseAnd(seg, off, src);
            case 0b01000 -> (long) vh.getAndBitwiseOr(seg, off, src);
            case 0b10000, 0b10100, 0b11000, 0b11100 -> {
                long old;
                do {
                    old = (long) vh.getVolatile(seg, off);
                } while (!vh.compareAndSet(seg, off, old, minMax64(funct5, old, src)));
                yield old;
            }
            default -> throw new IllegalArgumentException("not an AMO: " + funct5);
        };
    }

    static long apply32(int funct5, MemorySegment seg, long off, int src) {
        var vh = GuestMemory.ATOMIC_U32;
        return switch (funct5) {
            case 0b00001 -> (int) vh.getAndSet(seg, off, src);
            case 0b00000 -> (int) vh.getAndAdd(seg, off, src);
            case 0b00100 -> (int) vh.getAndBitwiseXor(seg, off, src);
            case 0b01100 -> (int) vh.getAndBitwiseAnd(seg, off, src);
            case 0b01000 -> (int) vh.getAndBitwiseOr(seg, off, src);
            case 0b10000, 0b10100, 0b11000, 0b11100 -> {
                int old;
                do {
                    old = (int) vh.getVolatile(seg, off);
                } while (!vh.compareAndSet(seg, off, old, (int) minMax64(funct5, old, src)));
                yield old;
            }
            default -> throw new IllegalArgumentException("not an AMO: " + funct5);
        };
    }

    /** MIN, MAX, MINU, MAXU on values already sign-extended from their width. */
    private static long minMax64(int funct5, long a, long b) {
        return switch (funct5) {
            case 0b10000 -> Math.min(a, b);
            case 0b10100 -> Math.max(a, b);
            case 0b11000 -> Long.compareUnsigned(a, b) <= 0 ? a : b;
            default -> Long.compareUnsigned(a, b) >= 0 ? a : b;
        };
    }
}
