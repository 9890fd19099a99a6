package dev.ember.riscv.cpu.fpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import java.util.function.LongBinaryOperator;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Checks {@link Fpu}'s fast paths (Java arithmetic plus exact error terms) against the exact
 * integer code in {@link SoftFloat}, on operands chosen to land mostly inside the fast paths'
 * ranges and near their hard cases: ties, cancellation, long runs of ones. QEMU's vectors
 * ({@code FloatOpsTest}) are the independent oracle; this test covers many more operand
 * patterns cheaply, so a wrong error-term argument shows up here first.
 */
class FpuFastPathTest {

    private static final int ROUNDS = 40_000;

    private final SplittableRandom random = new SplittableRandom(0xF1_0A7L);

    /** A binary64 with a structured significand and an exponent within 2^±range. */
    private long operand(int range) {
        long frac = switch (random.nextInt(6)) {
            case 0 -> random.nextLong() & random.nextLong() & random.nextLong();
            case 1 -> random.nextLong() | random.nextLong() | random.nextLong();
            case 2 -> -1L >>> random.nextInt(64);
            case 3 -> -1L << random.nextInt(64);
            case 4 -> 1L << random.nextInt(52);
            default -> random.nextLong();
        };
        long exp = 1023 + random.nextInt(-range, range + 1);
        return (random.nextBoolean() ? 1L << 63 : 0) | exp << 52 | (frac & 0x000F_FFFF_FFFF_FFFFL);
    }

    private void compare(String what, LongBinaryOperator fast, LongBinaryOperator slow, long a, long b,
                         Fpu fastFpu, Fpu slowFpu) {
        fastFpu.flags = 0;
        slowFpu.flags = 0;
        long expected = slow.applyAsLong(a, b);
        long actual = fast.applyAsLong(a, b);
        if (expected != actual || fastFpu.flags != slowFpu.flags) {
            assertEquals(Long.toHexString(expected) + " flags " + slowFpu.flags,
                    Long.toHexString(actual) + " flags " + fastFpu.flags,
                    what + " " + Long.toHexString(a) + " " + Long.toHexString(b));
        }
    }

    @ParameterizedTest(name = "rm {0}")
    @ValueSource(ints = {Fpu.RNE, Fpu.RTZ, Fpu.RDN, Fpu.RUP, Fpu.RMM})
    void doubleAddMulDivMatchExactArithmetic(int rm) {
        Fpu fast = new Fpu();
        Fpu slow = new Fpu();
        for (int i = 0; i < ROUNDS; i++) {
            long a = operand(60);
            long b = random.nextInt(4) == 0 ? a ^ (1L << 63) ^ random.nextInt(3) : operand(60);
            compare("add", (x, y) -> fast.addD(x, y, rm), (x, y) -> SoftFloat.addD(slow, x, y, rm), a, b, fast, slow);
            compare("mul", (x, y) -> fast.mulD(x, y, rm), (x, y) -> SoftFloat.mulD(slow, x, y, rm), a, b, fast, slow);
            compare("div", (x, y) -> fast.divD(x, y, rm), (x, y) -> SoftFloat.divD(slow, x, y, rm), a, b, fast, slow);
        }
    }

    @ParameterizedTest(name = "rm {0}")
    @ValueSource(ints = {Fpu.RNE, Fpu.RTZ, Fpu.RDN, Fpu.RUP, Fpu.RMM})
    void doubleFusedMultiplyAddMatchesExactArithmetic(int rm) {
        Fpu fast = new Fpu();
        Fpu slow = new Fpu();
        for (int i = 0; i < 2 * ROUNDS; i++) {
            long a = operand(40);
            long b = operand(40);
            long c = switch (random.nextInt(4)) {
                // -(a*b) give or take a few ulps: massive cancellation.
                case 0 -> (Double.doubleToRawLongBits(Double.longBitsToDouble(a) * Double.longBitsToDouble(b))
                        ^ (1L << 63)) + random.nextInt(-2, 3);
                // A power of two below the product: ties and near-ties of the sum.
                case 1 -> Double.doubleToRawLongBits(Math.scalb(random.nextBoolean() ? 1.0 : -1.0,
                        Math.getExponent(Double.longBitsToDouble(a) * Double.longBitsToDouble(b)) - random.nextInt(40, 120)));
                case 2 -> 0;
                default -> operand(80);
            };
            fast.flags = 0;
            slow.flags = 0;
            long expected = SoftFloat.fmaD(slow, a, b, c, rm);
            long actual = fast.fmaddD(a, b, c, rm);
            if (expected != actual || fast.flags != slow.flags) {
                assertEquals(Long.toHexString(expected) + " flags " + slow.flags,
                        Long.toHexString(actual) + " flags " + fast.flags,
                        "fma " + Long.toHexString(a) + " " + Long.toHexString(b) + " " + Long.toHexString(c));
            }
        }
    }

    @ParameterizedTest(name = "rm {0}")
    @ValueSource(ints = {Fpu.RNE, Fpu.RTZ, Fpu.RDN, Fpu.RUP, Fpu.RMM})
    void singleRoundingMatchesExactArithmetic(int rm) {
        Fpu fast = new Fpu();
        Fpu slow = new Fpu();
        for (int i = 0; i < ROUNDS; i++) {
            float x = (float) Double.longBitsToDouble(operand(30));
            float y = (float) Double.longBitsToDouble(random.nextInt(4) == 0 ? operand(2) : operand(30));
            float z = (float) Double.longBitsToDouble(operand(60));
            // binary32 products are exact in binary64; TwoSum gives the exact error of the sum.
            double p = (double) x * y;
            double s = p + z;
            double t = s - p;
            double err = (p - (s - t)) + (z - t);
            if (s == 0) {
                continue;
            }
            fast.flags = 0;
            slow.flags = 0;
            int expected = SoftFloat.roundToSingle(slow, s, err > 0 ? 1 : err < 0 ? -1 : 0, rm);
            int actual = fast.fmaddS(Float.floatToRawIntBits(x), Float.floatToRawIntBits(y), Float.floatToRawIntBits(z), rm);
            if (expected != actual || fast.flags != slow.flags) {
                assertEquals(Integer.toHexString(expected) + " flags " + slow.flags,
                        Integer.toHexString(actual) + " flags " + fast.flags,
                        "fmadd.s " + x + " " + y + " " + z);
            }
        }
    }
}
