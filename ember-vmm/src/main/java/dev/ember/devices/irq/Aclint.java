package dev.ember.devices.irq;

import java.util.Objects;
import java.util.function.LongSupplier;

import dev.ember.memory.MmioDevice;

/**
 * The SiFive CLINT as on QEMU's {@code virt} board: an ACLINT MSWI device followed by an
 * MTIMER device in one 64 KiB window (RISC-V ACLINT Specification v1.0, chapters 2 "MTIMER"
 * and 3 "MSWI"; QEMU {@code hw/intc/riscv_aclint.c}).
 *
 * <pre>
 *   0x0000 + 4*hart   msip[hart]       32 bits; bit 0 drives mip.MSIP, bits 31:1 read zero
 *   0x4000 + 8*hart   mtimecmp[hart]   64 bits, or its two 32-bit halves
 *   0xBFF8            mtime            64 bits, or its two 32-bit halves; read-only here
 * </pre>
 *
 * <p>{@code mtimecmp} lives with the hart ({@link HartInterruptInputs#setTimerCompare}): the
 * hart compares it with the time itself and raises {@code MTIP}, so this device never has to
 * poll. {@code mtime} is the VMM's clock, the supplier given to the constructor; the spec
 * makes {@code mtime} writable, but here writes are ignored, because the clock is shared by
 * all harts and by {@code rdtime}, and no boot path (OpenSBI, Linux, the built-in SBI) ever
 * writes it.
 *
 * <p><b>Guest-controlled.</b> Only naturally aligned 32-bit accesses, and 64-bit accesses to
 * {@code mtimecmp}/{@code mtime}, are decoded; anything else, and registers of harts that do
 * not exist, read as zero and ignore writes. Hart numbers come from the offset and are
 * bounds-checked before use.
 *
 * <p>Threads: any vCPU thread; state is guarded by this object's monitor, so two harts
 * writing halves of the same {@code mtimecmp} cannot lose an update.
 */
public final class Aclint implements MmioDevice {

    /** Size of the register window. */
    public static final long SIZE = 0x1_0000;

    static final long MSIP_BASE = 0x0000;
    static final long MTIMECMP_BASE = 0x4000;
    static final long MTIME = 0xBFF8;

    private final int hartCount;
    private final HartInterruptInputs harts;
    private final LongSupplier mtime;
    private final boolean[] msip;

    /**
     * Creates the device with every {@code msip} clear; the harts' {@code MSIP} bits are
     * assumed clear too.
     *
     * @param mtime the machine timer, ticking at the device tree's {@code timebase-frequency}
     * @throws IllegalArgumentException if the harts' registers would not fit in the window
     */
    public Aclint(int hartCount, HartInterruptInputs harts, LongSupplier mtime) {
        if (hartCount < 1 || MTIMECMP_BASE + 8L * hartCount > MTIME) {
            throw new IllegalArgumentException("hartCount " + hartCount + " does not fit the CLINT window");
        }
        this.hartCount = hartCount;
        this.harts = Objects.requireNonNull(harts, "harts");
        this.mtime = Objects.requireNonNull(mtime, "mtime");
        this.msip = new boolean[hartCount];
    }

    /** Clears every {@code msip} for a machine reset; the harts clear their own {@code mip}. */
    public synchronized void reset() {
        java.util.Arrays.fill(msip, false);
    }

    @Override
    public long size() {
        return SIZE;
    }

    @Override
    public synchronized long read(long offset, int width) {
        if (!decoded(offset, width)) {
            return 0;
        }
        if (offset < MTIMECMP_BASE) {
            int hart = (int) ((offset - MSIP_BASE) >>> 2);
            return width == 4 && hart < hartCount && msip[hart] ? 1 : 0;
        }
        if (offset >= MTIME) {
            return select(mtime.getAsLong(), offset - MTIME, width);
        }
        int hart = (int) ((offset - MTIMECMP_BASE) >>> 3);
        return hart < hartCount ? select(harts.timerCompare(hart), offset - MTIMECMP_BASE, width) : 0;
    }

    @Override
    public synchronized void write(long offset, int width, long value) {
        if (!decoded(offset, width)) {
            return;
        }
        if (offset < MTIMECMP_BASE) {
            int hart = (int) ((offset - MSIP_BASE) >>> 2);
            boolean level = (value & 1) != 0;
            if (width == 4 && hart < hartCount && msip[hart] != level) {
                msip[hart] = level;
                harts.setPending(hart, HartInterruptInputs.MSIP, level);
            }
            return;
        }
        if (offset >= MTIME) {
            return;   // mtime is read-only in Ember; see the class comment
        }
        int hart = (int) ((offset - MTIMECMP_BASE) >>> 3);
        if (hart >= hartCount) {
            return;
        }
        long old = harts.timerCompare(hart);
        long updated = switch (width == 8 ? -1 : (int) ((offset - MTIMECMP_BASE) & 4)) {
            case 0 -> (old & 0xFFFF_FFFF_0000_0000L) | (value & 0xFFFF_FFFFL);
            case 4 -> (old & 0xFFFF_FFFFL) | (value << 32);
            default -> value;
        };
        harts.setTimerCompare(hart, updated);
    }

    /** {@return whether {@code offset}/{@code width} names a register (or half) of some hart} */
    private static boolean decoded(long offset, int width) {
        if (offset < 0 || offset >= SIZE || (offset & (width - 1)) != 0) {
            return false;
        }
        if (offset < MTIMECMP_BASE) {
            return width == 4;
        }
        return (width == 4 || width == 8) && offset < MTIME + 8;
    }

    /** {@return the whole 64-bit {@code register}, or the 32-bit half at byte {@code at}} */
    private static long select(long register, long at, int width) {
        if (width == 8) {
            return register;
        }
        return (at & 4) == 0 ? register & 0xFFFF_FFFFL : register >>> 32;
    }

    /** The ACLINT's own state for snapshots: each hart's {@code msip}; {@code mtimecmp} lives in the harts, {@code mtime} in the machine clock. */
    public record State(boolean[] msip) { }

    /** {@return the state, for a snapshot} */
    public synchronized State saveState() {
        return new State(msip.clone());
    }

    /**
     * Restores {@code s}; the harts' {@code MSIP} bits are restored with the harts.
     *
     * @throws IllegalArgumentException if {@code s} was saved for another number of harts
     */
    public synchronized void restoreState(State s) {
        if (s.msip() == null || s.msip().length != hartCount) {
            throw new IllegalArgumentException("ACLINT state is for another number of harts");
        }
        System.arraycopy(s.msip(), 0, msip, 0, hartCount);
    }
}
