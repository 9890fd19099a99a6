package dev.ember.riscv.interp;

/**
 * The M extension's operations whose results Java's operators do not give directly
 * (unprivileged ISA §13.1, §13.2 and table 13.1: division by zero and overflow), shared by both
 * execution engines. Every method takes and returns raw register values; the 32-bit forms
 * return their result sign-extended, as RV64 writes it.
 */
public final class IntegerOps {

    private IntegerOps() {}

    /** MULHSU: the high half of signed {@code a} times unsigned {@code b}. */
    public static long mulhsu(long a, long b) {
        return Math.multiplyHigh(a, b) + ((b >> 63) & a);
    }

    public static long div(long a, long b) {
        return b == 0 ? -1 : (a == Long.MIN_VALUE && b == -1 ? a : a / b);
    }

    public static long divu(long a, long b) {
        return b == 0 ? -1 : Long.divideUnsigned(a, b);
    }

    public static long rem(long a, long b) {
        return b == 0 ? a : (a == Long.MIN_VALUE && b == -1 ? 0 : a % b);
    }

    public static long remu(long a, long b) {
        return b == 0 ? a : Long.remainderUnsigned(a, b);
    }

    public static long divw(long a, long b) {
        int x = (int) a;
        int y = (int) b;
        return y == 0 ? -1 : (x == Integer.MIN_VALUE && y == -1 ? x : x / y);
    }

    public static long divuw(long a, long b) {
        int y = (int) b;
        return y == 0 ? -1 : Integer.divideUnsigned((int) a, y);
    }

    public static long remw(long a, long b) {
        int x = (int) a;
        int y = (int) b;
        return y == 0 ? x : (x == Integer.MIN_VALUE && y == -1 ? 0 : x % y);
    }

    public static long remuw(long a, long b) {
        int x = (int) a;
        int y = (int) b;
        return y == 0 ? x : Integer.remainderUnsigned(x, y);
    }
}
