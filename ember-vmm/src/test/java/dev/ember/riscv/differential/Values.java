package dev.ember.riscv.differential;

import java.util.SplittableRandom;

/**
 * The values generated programs start from and compute with: integers at the edges of 32- and
 * 64-bit arithmetic, and FP bit patterns at the edges of IEEE 754 (signed zeros, infinities,
 * quiet and signalling NaNs, subnormals, the largest finite values, halfway cases for rounding,
 * integer-conversion limits), binary32 ones NaN-boxed or, now and then, not.
 */
final class Values {

    private Values() {}

    private static final long[] INTEGERS = {
        0, 1, -1, 2, -2, 3, 5, 7, 31, 32, 33, 63, 64, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF,
        0x7FFF_FFFFL, 0x8000_0000L, 0xFFFF_FFFFL, 0x1_0000_0000L, 0xFFFF_FFFF_8000_0000L, 0xFFFF_FFFF_7FFF_FFFFL,
        Long.MIN_VALUE, Long.MAX_VALUE, Long.MIN_VALUE + 1, 0x5555_5555_5555_5555L, 0xAAAA_AAAA_AAAA_AAAAL,
    };

    private static final long[] DOUBLES = {
        0L, 0x8000_0000_0000_0000L,                                  // +0, -0
        0x3FF0_0000_0000_0000L, 0xBFF0_0000_0000_0000L,              // 1, -1
        0x3FE0_0000_0000_0000L, 0x3FF8_0000_0000_0000L,              // 0.5, 1.5
        0x4004_0000_0000_0000L, 0xC004_0000_0000_0000L,              // 2.5, -2.5
        0x7FF0_0000_0000_0000L, 0xFFF0_0000_0000_0000L,              // +inf, -inf
        0x7FF8_0000_0000_0000L, 0xFFF8_0000_0000_0001L,              // quiet NaNs
        0x7FF0_0000_0000_0001L, 0x7FF4_0000_0000_0000L,              // signalling NaNs
        0x0000_0000_0000_0001L, 0x000F_FFFF_FFFF_FFFFL,              // subnormals
        0x8000_0000_0000_0001L, 0x0010_0000_0000_0000L,              // -subnormal, smallest normal
        0x7FEF_FFFF_FFFF_FFFFL, 0xFFEF_FFFF_FFFF_FFFFL,              // largest finite
        0x43E0_0000_0000_0000L, 0xC3E0_0000_0000_0000L,              // ±2^63
        0x43F0_0000_0000_0000L, 0x41E0_0000_0000_0000L,              // 2^64, 2^31
        0xC1E0_0000_0020_0000L, 0x41EF_FFFF_FFE0_0000L,              // -2^31 - 1, 2^32 - 1
        0x3CA0_0000_0000_0000L, 0x4330_0000_0000_0001L,              // 2^-53, 2^52 + 1
        0x36A0_0000_0000_0000L, 0x47EF_FFFF_E000_0000L,              // binary32 underflow and overflow edges
    };

    private static final int[] SINGLES = {
        0, 0x8000_0000, 0x3F80_0000, 0xBF80_0000, 0x3F00_0000, 0x3FC0_0000, 0x4020_0000, 0xC020_0000,
        0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0xFFC0_0001, 0x7F80_0001, 0x7FA0_0000,
        0x0000_0001, 0x007F_FFFF, 0x8000_0001, 0x0080_0000, 0x7F7F_FFFF, 0xFF7F_FFFF,
        0x5F00_0000, 0xDF00_0000, 0x5F80_0000, 0x4F00_0000, 0xCF00_0001, 0x4F7F_FFFF, 0x3380_0000, 0x4B00_0001,
    };

    /** {@return an integer: an edge case, a small number, or random bits} */
    static long integer(SplittableRandom r) {
        return switch (r.nextInt(5)) {
            case 0, 1 -> INTEGERS[r.nextInt(INTEGERS.length)];
            case 2 -> r.nextInt(-100, 100);
            case 3 -> r.nextInt();
            default -> r.nextLong();
        };
    }

    /** {@return a 12-bit signed immediate, edges favoured} */
    static int imm12(SplittableRandom r) {
        return switch (r.nextInt(6)) {
            case 0 -> new int[] {0, 1, -1, 2047, -2048, 31, 32, 63}[r.nextInt(8)];
            case 1, 2 -> r.nextInt(-16, 16);
            default -> r.nextInt(-2048, 2048);
        };
    }

    /** {@return the raw bits of an FP register: a double, a NaN-boxed single, or an unboxed one} */
    static long fpBits(SplittableRandom r) {
        return switch (r.nextInt(10)) {
            case 0, 1, 2 -> DOUBLES[r.nextInt(DOUBLES.length)];
            case 3, 4, 5 -> 0xFFFF_FFFF_0000_0000L | SINGLES[r.nextInt(SINGLES.length)] & 0xFFFF_FFFFL;
            case 6 -> Double.doubleToRawLongBits(r.nextInt(-1000, 1000) / 8.0);
            case 7 -> 0xFFFF_FFFF_0000_0000L | Float.floatToRawIntBits(r.nextInt(-1000, 1000) / 8.0f) & 0xFFFF_FFFFL;
            case 8 -> 0xFFFF_FFFF_0000_0000L | r.nextInt() & 0xFFFF_FFFFL;
            default -> r.nextLong();   // mostly not NaN-boxed: reads as the canonical NaN in binary32
        };
    }

    /** {@return a single's raw bits, from the edge cases or random} */
    static int singleBits(SplittableRandom r) {
        return r.nextBoolean() ? SINGLES[r.nextInt(SINGLES.length)] : r.nextInt();
    }
}
