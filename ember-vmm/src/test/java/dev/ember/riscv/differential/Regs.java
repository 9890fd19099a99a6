package dev.ember.riscv.differential;

/**
 * The integer registers generated programs reserve, and those they may write freely.
 *
 * <p>Reserved: {@code ra} holds return addresses (calls, and the way back from a fetch fault);
 * {@code sp} points at the data area and {@code gp} at the alias pages, so every address a
 * program forms is a small offset from one of them; {@code tp}, {@code t4} and {@code t5}
 * belong to the trap handlers; {@code t6} counts loop iterations, so every loop ends.
 * Programs read them freely and write them only for those purposes.
 */
final class Regs {

    private Regs() {}

    static final int ZERO = 0;
    static final int RA = 1;
    static final int SP = 2;
    static final int GP = 3;
    static final int TP = 4;
    static final int T4 = 29;
    static final int T5 = 30;
    static final int T6 = 31;

    /** Registers a generated instruction may write: t0-t2, s0-s11, a0-a7, t3. */
    static final int[] WRITABLE = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28};

    /** {@return whether a generated instruction may write {@code r}} */
    static boolean writable(int r) {
        return r >= 5 && r <= 28;
    }
}
