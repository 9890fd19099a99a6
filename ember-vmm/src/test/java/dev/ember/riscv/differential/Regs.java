package dev.ember.riscv.differential;

/**
 * The integer registers generated programs reserve, and those they may write freely.
 *
 * <p>Reserved: {@code ra} holds return addresses (calls, and the way back from a fetch fault);
 * {@code sp} points at the data area and {@code gp} at the alias pages, so every address a
 * program forms is a small offset from one of them; {@code tp}, {@code t4} and {@code t5}
 * belong to the M-mode trap handler and {@code s10}, {@code s11} and {@code t3} to the S-mode
 * one; {@code t6} counts loop iterations, so every loop ends.
 * Programs read them freely and write them only for those purposes.
 */
final class Regs {

    private Regs() {}

    static final int ZERO = 0;
    static final int RA = 1;
    static final int SP = 2;
    static final int GP = 3;
    static final int TP = 4;
    static final int S10 = 26;
    static final int S11 = 27;
    static final int T3 = 28;
    static final int T4 = 29;
    static final int T5 = 30;
    static final int T6 = 31;

    /** The M-mode trap handler's registers. */
    static final int[] M_HANDLER = {TP, T4, T5};
    /** The S-mode trap handler's: others, as an interrupt to M-mode may come in the middle of it. */
    static final int[] S_HANDLER = {S10, S11, T3};

    /** Registers a generated instruction may write: t0-t2, s0-s9, a0-a7. */
    static final int[] WRITABLE = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25};
}
