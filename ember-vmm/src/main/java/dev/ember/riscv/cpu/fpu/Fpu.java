package dev.ember.riscv.cpu.fpu;

import static java.lang.Double.doubleToRawLongBits;
import static java.lang.Double.longBitsToDouble;
import static java.lang.Float.floatToRawIntBits;
import static java.lang.Float.intBitsToFloat;

/**
 * The floating-point unit of one hart: IEEE 754 binary32 ("F") and binary64 ("D") arithmetic
 * with RISC-V's rounding modes, accrued exception flags and NaN rules (Unprivileged ISA,
 * chapters "F" Standard Extension for Single-Precision Floating-Point, Version 2.2, and "D"
 * Standard Extension for Double-Precision Floating-Point, Version 2.2).
 *
 * <p>Values are raw bit patterns: {@code int} for binary32, {@code long} for binary64; NaN
 * boxing is the caller's business. Rounding-mode arguments use the {@code rm} encodings
 * {@link #RNE} to {@link #RMM}, already resolved (never DYN, never reserved). Every operation
 * ORs the exceptions it raises into {@link #flags}, laid out like {@code fflags}.
 *
 * <p>RISC-V rules implemented here, beyond plain IEEE 754-2008:
 * <ul>
 *   <li>every NaN result is the canonical NaN ({@link #CANONICAL_NAN_S},
 *       {@link #CANONICAL_NAN_D}); payloads never propagate ("NaN Generation and Propagation");
 *   <li>tininess is detected after rounding ("Subnormal Arithmetic");
 *   <li>{@code fmin}/{@code fmax} are IEEE 754-2019 minimumNumber/maximumNumber, with
 *       -0 &lt; +0 (version 2.2 of the F extension);
 *   <li>{@code (±inf × ±0) + qNaN} raises NV ("Single-Precision Floating-Point
 *       Computational Instructions");
 *   <li>float-to-integer conversions saturate, NaN converting to the largest integer
 *       (table "Domains of float-to-integer conversions"), and raise NV without NX when
 *       out of range.
 * </ul>
 *
 * <p>Speed: each operation computes the round-to-nearest-even result with Java arithmetic and
 * an exact error term (TwoSum for sums, {@code Math.fma} residuals for products, quotients
 * and square roots, Boldo and Muller's ErrFma for fused multiply-adds). Under RNE with normal
 * results that is all it does; other modes step the result one ulp when the error says so.
 * binary32 operations run in binary64, where products are exact and the error of a sum,
 * quotient or root is known exactly, and are rounded once to binary32. Overflow, subnormal
 * results and operands too extreme for the error terms go to {@link SoftFloat}, which is exact
 * integer code. Nothing allocates, and nothing throws for a valid rounding mode.
 *
 * <p>Owned by the hart's vCPU thread; not thread-safe.
 */
public final class Fpu {

    /** Round to nearest, ties to even. */
    public static final int RNE = 0;
    /** Round towards zero. */
    public static final int RTZ = 1;
    /** Round down (towards -inf). */
    public static final int RDN = 2;
    /** Round up (towards +inf). */
    public static final int RUP = 3;
    /** Round to nearest, ties to max magnitude. */
    public static final int RMM = 4;

    /** Invalid operation. */
    public static final int NV = 16;
    /** Divide by zero. */
    public static final int DZ = 8;
    /** Overflow. */
    public static final int OF = 4;
    /** Underflow. */
    public static final int UF = 2;
    /** Inexact. */
    public static final int NX = 1;

    /** The binary32 canonical NaN: positive, quiet, zero payload. */
    public static final int CANONICAL_NAN_S = 0x7FC0_0000;
    /** The binary64 canonical NaN: positive, quiet, zero payload. */
    public static final long CANONICAL_NAN_D = 0x7FF8_0000_0000_0000L;

    /** The accrued exception flags: {@link #NV}, {@link #DZ}, {@link #OF}, {@link #UF}, {@link #NX}. */
    public int flags;

    private static final long SIGN_D = 0x8000_0000_0000_0000L;
    private static final long INF_D = 0x7FF0_0000_0000_0000L;
    private static final long QUIET_D = 0x0008_0000_0000_0000L;
    private static final int SIGN_S = 0x8000_0000;
    private static final int INF_S = 0x7F80_0000;
    private static final int QUIET_S = 0x0040_0000;

    // ---------------------------------------------------------------- binary64 arithmetic

    /** FADD.D. */
    public long addD(long a, long b, int rm) {
        double x = longBitsToDouble(a);
        double y = longBitsToDouble(b);
        double s = x + y;
        if (s != 0 && Math.abs(s) <= Double.MAX_VALUE) {
            // TwoSum: x + y == s + err exactly when nothing overflows. Sums that land in the
            // subnormal range are always exact, so err != 0 implies a normal s.
            double t = s - x;
            double err = (x - (s - t)) + (y - t);
            if (err == 0) {
                return doubleToRawLongBits(s);
            }
            flags |= NX;
            return doubleToRawLongBits(rm == RNE ? s : directed(s, err, 0, rm));
        }
        return addSpecialD(a, b, s, rm);
    }

    /** FSUB.D. */
    public long subD(long a, long b, int rm) {
        return addD(a, b ^ SIGN_D, rm);
    }

    private long addSpecialD(long a, long b, double s, int rm) {
        if (s != s) {
            if (isSignalingD(a) || isSignalingD(b) || !(isNaND(a) || isNaND(b))) {
                flags |= NV;                     // an sNaN operand, or inf - inf
            }
            return CANONICAL_NAN_D;
        }
        if (s == 0) {
            return a == b ? a : SoftFloat.cancelledZero(rm, true);
        }
        if (isInfD(a) || isInfD(b)) {
            return doubleToRawLongBits(s);
        }
        return SoftFloat.addD(this, a, b, rm);   // overflow
    }

    /** FMUL.D. */
    public long mulD(long a, long b, int rm) {
        double x = longBitsToDouble(a);
        double y = longBitsToDouble(b);
        double p = x * y;
        double ap = Math.abs(p);
        if (ap >= 0x1p-960 && ap <= Double.MAX_VALUE) {
            // Far enough above the subnormal range that x*y - p is a double, and exact.
            double err = Math.fma(x, y, -p);
            if (err == 0) {
                return doubleToRawLongBits(p);
            }
            flags |= NX;
            return doubleToRawLongBits(rm == RNE ? p : directed(p, err, 0, rm));
        }
        if (p != p) {
            if (isSignalingD(a) || isSignalingD(b) || !(isNaND(a) || isNaND(b))) {
                flags |= NV;                     // an sNaN operand, or inf * 0
            }
            return CANONICAL_NAN_D;
        }
        if (isInfD(a) || isInfD(b) || isZeroD(a) || isZeroD(b)) {
            return doubleToRawLongBits(p);
        }
        return SoftFloat.mulD(this, a, b, rm);   // overflow, or a tiny product
    }

    /** FDIV.D. */
    public long divD(long a, long b, int rm) {
        double x = longBitsToDouble(a);
        double y = longBitsToDouble(b);
        double q = x / y;
        double aq = Math.abs(q);
        if (aq >= 0x1p-1020 && aq <= Double.MAX_VALUE && Math.abs(x) >= 0x1p-960) {
            // The remainder x - q*y is exact for a normal q and an x this large; division never
            // ties, so its sign is all the directed modes need.
            double r = Math.fma(-q, y, x);
            if (r == 0) {
                return doubleToRawLongBits(q);
            }
            flags |= NX;
            return doubleToRawLongBits(rm == RNE ? q : directed(q, (r > 0) == (y > 0) ? 1 : -1, rm));
        }
        return divSpecialD(a, b, q, rm);
    }

    private long divSpecialD(long a, long b, double q, int rm) {
        if (q != q) {
            if (isSignalingD(a) || isSignalingD(b) || !(isNaND(a) || isNaND(b))) {
                flags |= NV;                     // an sNaN operand, 0/0 or inf/inf
            }
            return CANONICAL_NAN_D;
        }
        if (isZeroD(b)) {
            if (!isInfD(a)) {
                flags |= DZ;
            }
            return doubleToRawLongBits(q);
        }
        if (isInfD(a) || isInfD(b) || isZeroD(a)) {
            return doubleToRawLongBits(q);
        }
        return SoftFloat.divD(this, a, b, rm);
    }

    /** FSQRT.D. */
    public long sqrtD(long a, int rm) {
        double x = longBitsToDouble(a);
        if (x > 0 && x <= Double.MAX_VALUE) {
            if (x >= 0x1p-900) {
                return doubleToRawLongBits(sqrtPositive(x, rm));
            }
            // Scale tiny operands so the residual below cannot underflow. The root of any
            // double is normal, so scaling back is exact.
            return doubleToRawLongBits(sqrtPositive(x * 0x1p256, rm) * 0x1p-128);
        }
        if (x == 0 || x == Double.POSITIVE_INFINITY) {
            return a;
        }
        if (!isNaND(a) || isSignalingD(a)) {
            flags |= NV;                         // negative operand, or sNaN
        }
        return CANONICAL_NAN_D;
    }

    private double sqrtPositive(double x, int rm) {
        double s = Math.sqrt(x);
        double r = Math.fma(-s, s, x);
        if (r == 0) {
            return s;
        }
        flags |= NX;
        // A square root is never halfway between two doubles, so RMM equals RNE.
        return rm == RNE ? s : directed(s, r > 0 ? 1 : -1, rm);
    }

    /** FMADD.D: {@code a*b + c} rounded once. */
    public long fmaddD(long a, long b, long c, int rm) {
        double x = longBitsToDouble(a);
        double y = longBitsToDouble(b);
        double z = longBitsToDouble(c);
        double f = Math.fma(x, y, z);
        double p = x * y;
        double ap = Math.abs(p);
        double az = Math.abs(z);
        double af = Math.abs(f);
        if (ap >= 0x1p-900 && ap <= 0x1p1000 && az <= 0x1p1000 && (az >= 0x1p-900 || az == 0)
                && af >= 0x1p-900 && af <= 0x1p1000) {
            // ErrFma (Boldo and Muller, IEEE TC 60(8), 2011): with no underflow or overflow,
            // x*y + z == f + g + zz exactly. The bounds above keep every intermediate a
            // multiple of 2^-1010 and below 2^1002, far from both.
            double pe = Math.fma(x, y, -p);                   // p + pe == x*y
            double a1 = z + pe;                               // TwoSum(z, pe) = (a1, zz)
            double t = a1 - z;
            double zz = (z - (a1 - t)) + (pe - t);
            double b1 = p + a1;                               // TwoSum(p, a1) = (b1, b2)
            t = b1 - p;
            double b2 = (p - (b1 - t)) + (a1 - t);
            double g = (b1 - f) + b2;                         // exact
            double e1 = g + zz;                               // TwoSum(g, zz) = (e1, e2)
            if (e1 == 0) {
                return doubleToRawLongBits(f);
            }
            flags |= NX;
            if (rm == RNE) {
                return doubleToRawLongBits(f);
            }
            t = e1 - g;
            double e2 = (g - (e1 - t)) + (zz - t);
            return doubleToRawLongBits(directed(f, e1, e2, rm));
        }
        return fmaSpecialD(a, b, c, rm);
    }

    /** FMSUB.D: {@code a*b - c} rounded once. */
    public long fmsubD(long a, long b, long c, int rm) {
        return fmaddD(a, b, c ^ SIGN_D, rm);
    }

    /** FNMSUB.D: {@code -(a*b) + c} rounded once. */
    public long fnmsubD(long a, long b, long c, int rm) {
        return fmaddD(a ^ SIGN_D, b, c, rm);
    }

    /** FNMADD.D: {@code -(a*b) - c} rounded once. */
    public long fnmaddD(long a, long b, long c, int rm) {
        return fmaddD(a ^ SIGN_D, b, c ^ SIGN_D, rm);
    }

    private long fmaSpecialD(long a, long b, long c, int rm) {
        boolean infTimesZero = (isInfD(a) && isZeroD(b)) || (isZeroD(a) && isInfD(b));
        if (isNaND(a) || isNaND(b) || isNaND(c)) {
            if (isSignalingD(a) || isSignalingD(b) || isSignalingD(c) || infTimesZero) {
                flags |= NV;
            }
            return CANONICAL_NAN_D;
        }
        if (infTimesZero) {
            flags |= NV;
            return CANONICAL_NAN_D;
        }
        boolean productNeg = (a ^ b) < 0;
        if (isInfD(a) || isInfD(b)) {
            if (isInfD(c) && (c < 0) != productNeg) {
                flags |= NV;                     // inf - inf
                return CANONICAL_NAN_D;
            }
            return INF_D | (productNeg ? SIGN_D : 0);
        }
        if (isInfD(c)) {
            return c;
        }
        if (isZeroD(a) || isZeroD(b)) {
            if (!isZeroD(c)) {
                return c;
            }
            return (c < 0) == productNeg ? c : SoftFloat.cancelledZero(rm, true);
        }
        return SoftFloat.fmaD(this, a, b, c, rm);
    }

    /**
     * Corrects the RNE result {@code s} of a real number {@code s + hi + lo} for a directed mode,
     * where {@code hi + lo != 0} is the exact error and {@code hi == RNE(hi + lo)}.
     */
    private double directed(double s, double hi, double lo, int rm) {
        double r = s;
        switch (rm) {
            case RTZ -> {
                if ((s > 0) != (hi > 0)) {
                    r = s > 0 ? Math.nextDown(s) : Math.nextUp(s);
                }
            }
            case RDN -> r = hi < 0 ? Math.nextDown(s) : s;
            case RUP -> r = hi > 0 ? Math.nextUp(s) : s;
            case RMM -> {
                // RNE already picked the nearer neighbour; only a tie broken towards zero differs.
                double ulp = Math.ulp(s);
                if ((s > 0) == (hi > 0) && lo == 0 && Math.abs(hi) == 0.5 * ulp) {
                    r = s + Math.copySign(ulp, s);
                }
            }
            default -> { }
        }
        if (Math.abs(r) == Double.POSITIVE_INFINITY) {
            flags |= OF;
        }
        return r;
    }

    /** As {@link #directed(double, double, double, int)} for operations that never tie. */
    private double directed(double s, int cmp, int rm) {
        double r = s;
        switch (rm) {
            case RTZ -> {
                if ((s > 0) != (cmp > 0)) {
                    r = s > 0 ? Math.nextDown(s) : Math.nextUp(s);
                }
            }
            case RDN -> r = cmp < 0 ? Math.nextDown(s) : s;
            case RUP -> r = cmp > 0 ? Math.nextUp(s) : s;
            default -> { }
        }
        if (Math.abs(r) == Double.POSITIVE_INFINITY) {
            flags |= OF;
        }
        return r;
    }

    // ---------------------------------------------------------------- binary32 arithmetic

    /** FADD.S. */
    public int addS(int a, int b, int rm) {
        double x = intBitsToFloat(a);
        double y = intBitsToFloat(b);
        double s = x + y;
        if (s != 0 && Math.abs(s) <= Double.MAX_VALUE) {
            double t = s - x;
            return roundS(s, (x - (s - t)) + (y - t), rm);
        }
        return addSpecialS(a, b, s, rm);
    }

    /** FSUB.S. */
    public int subS(int a, int b, int rm) {
        return addS(a, b ^ SIGN_S, rm);
    }

    private int addSpecialS(int a, int b, double s, int rm) {
        if (s != s) {
            if (isSignalingS(a) || isSignalingS(b) || !(isNaNS(a) || isNaNS(b))) {
                flags |= NV;
            }
            return CANONICAL_NAN_S;
        }
        if (s == 0) {
            return a == b ? a : (int) SoftFloat.cancelledZero(rm, false);
        }
        return floatToRawIntBits((float) s);     // an infinite operand
    }

    /** FMUL.S. */
    public int mulS(int a, int b, int rm) {
        double p = (double) intBitsToFloat(a) * intBitsToFloat(b);   // exact
        if (p != 0 && Math.abs(p) <= Double.MAX_VALUE) {
            return roundS(p, 0, rm);
        }
        if (p != p) {
            if (isSignalingS(a) || isSignalingS(b) || !(isNaNS(a) || isNaNS(b))) {
                flags |= NV;
            }
            return CANONICAL_NAN_S;
        }
        return floatToRawIntBits((float) p);     // a zero or infinite operand
    }

    /** FDIV.S. */
    public int divS(int a, int b, int rm) {
        double x = intBitsToFloat(a);
        double y = intBitsToFloat(b);
        double q = x / y;
        if (q != 0 && Math.abs(q) <= Double.MAX_VALUE) {
            // x - q*y is exact, as binary32 operands are far from underflow; dividing it by y
            // gives the sign of the error, and so does the (branch-free) product.
            return roundS(q, Math.fma(-q, y, x) * y, rm);
        }
        if (q != q) {
            if (isSignalingS(a) || isSignalingS(b) || !(isNaNS(a) || isNaNS(b))) {
                flags |= NV;
            }
            return CANONICAL_NAN_S;
        }
        if (y == 0 && !isInfS(a)) {
            flags |= DZ;
        }
        return floatToRawIntBits((float) q);
    }

    /** FSQRT.S. */
    public int sqrtS(int a, int rm) {
        double x = intBitsToFloat(a);
        if (x > 0 && x <= Double.MAX_VALUE) {
            double s = Math.sqrt(x);
            return roundS(s, Math.fma(-s, s, x), rm);
        }
        if (x == 0 || x == Double.POSITIVE_INFINITY) {
            return a;
        }
        if (!isNaNS(a) || isSignalingS(a)) {
            flags |= NV;
        }
        return CANONICAL_NAN_S;
    }

    /** FMADD.S: {@code a*b + c} rounded once. */
    public int fmaddS(int a, int b, int c, int rm) {
        double x = intBitsToFloat(a);
        double y = intBitsToFloat(b);
        double z = intBitsToFloat(c);
        double p = x * y;                        // exact
        double s = p + z;
        if (s != 0 && Math.abs(s) <= Double.MAX_VALUE) {
            double t = s - p;
            return roundS(s, (p - (s - t)) + (z - t), rm);
        }
        return fmaSpecialS(a, b, c, p, s, rm);
    }

    /** FMSUB.S: {@code a*b - c} rounded once. */
    public int fmsubS(int a, int b, int c, int rm) {
        return fmaddS(a, b, c ^ SIGN_S, rm);
    }

    /** FNMSUB.S: {@code -(a*b) + c} rounded once. */
    public int fnmsubS(int a, int b, int c, int rm) {
        return fmaddS(a ^ SIGN_S, b, c, rm);
    }

    /** FNMADD.S: {@code -(a*b) - c} rounded once. */
    public int fnmaddS(int a, int b, int c, int rm) {
        return fmaddS(a ^ SIGN_S, b, c ^ SIGN_S, rm);
    }

    private int fmaSpecialS(int a, int b, int c, double p, double s, int rm) {
        boolean infTimesZero = (isInfS(a) && isZeroS(b)) || (isZeroS(a) && isInfS(b));
        if (s != s) {
            if (isSignalingS(a) || isSignalingS(b) || isSignalingS(c) || infTimesZero
                    || !(isNaNS(a) || isNaNS(b) || isNaNS(c))) {
                flags |= NV;                     // sNaN, inf * 0, or inf - inf
            }
            return CANONICAL_NAN_S;
        }
        if (s != 0) {
            return floatToRawIntBits((float) s); // an infinite operand
        }
        if (p == 0 && isZeroS(c)) {
            boolean productNeg = Double.doubleToRawLongBits(p) < 0;
            return productNeg == (c < 0) ? c : (int) SoftFloat.cancelledZero(rm, false);
        }
        return (int) SoftFloat.cancelledZero(rm, false);
    }

    /**
     * Rounds to binary32 the real number {@code d + err}, where {@code d} is finite, nonzero and
     * the RNE binary64 rounding of it, and {@code err} has the sign of the exact error.
     */
    private int roundS(double d, double err, int rm) {
        float f = (float) d;
        float af = Math.abs(f);
        // Results at or below the smallest normal may be tiny, and results that overflow
        // depend on the mode: both go the slow way. So does a binary32 midpoint d with a
        // nonzero err, the one case where rounding d differs from rounding d + err.
        boolean midpoint = (doubleToRawLongBits(d) & 0x1FFF_FFFFL) == 0x1000_0000L;
        if (af > Float.MIN_NORMAL && af <= Float.MAX_VALUE && (err == 0 || !midpoint)) {
            double below = d - f;                // exact: f is d's binary32 neighbour
            if (below == 0 && err == 0) {
                return floatToRawIntBits(f);
            }
            flags |= NX;
            if (rm == RNE) {
                return floatToRawIntBits(f);
            }
            return floatToRawIntBits(directedS(f, below != 0 ? below : err, midpoint, rm));
        }
        return SoftFloat.roundToSingle(this, d, err > 0 ? 1 : err < 0 ? -1 : 0, rm);
    }

    /**
     * Corrects the RNE binary32 result {@code f} for a directed mode; {@code diff} has the sign of
     * the exact result minus f, and {@code tie} says the exact result is halfway.
     */
    private float directedS(float f, double diff, boolean tie, int rm) {
        float r = f;
        switch (rm) {
            case RTZ -> {
                if ((f > 0) != (diff > 0)) {
                    r = f > 0 ? Math.nextDown(f) : Math.nextUp(f);
                }
            }
            case RDN -> r = diff < 0 ? Math.nextDown(f) : f;
            case RUP -> r = diff > 0 ? Math.nextUp(f) : f;
            case RMM -> {
                if (tie && (f > 0) == (diff > 0)) {
                    r = f > 0 ? Math.nextUp(f) : Math.nextDown(f);
                }
            }
            default -> { }
        }
        if (Math.abs(r) == Float.POSITIVE_INFINITY) {
            flags |= OF;
        }
        return r;
    }

    // ---------------------------------------------------------------- sign injection, min/max, compare, classify

    /** FMIN.D: IEEE 754-2019 minimumNumber, -0 below +0. */
    public long minD(long a, long b) {
        boolean na = isNaND(a);
        boolean nb = isNaND(b);
        if (na || nb) {
            return nanMinMaxD(a, b, na, nb);
        }
        double x = longBitsToDouble(a);
        double y = longBitsToDouble(b);
        return x < y ? a : y < x ? b : a | b;    // equal: only +0 and -0 differ, and OR picks -0
    }

    /** FMAX.D: IEEE 754-2019 maximumNumber, +0 above -0. */
    public long maxD(long a, long b) {
        boolean na = isNaND(a);
        boolean nb = isNaND(b);
        if (na || nb) {
            return nanMinMaxD(a, b, na, nb);
        }
        double x = longBitsToDouble(a);
        double y = longBitsToDouble(b);
        return x > y ? a : y > x ? b : a & b;
    }

    private long nanMinMaxD(long a, long b, boolean na, boolean nb) {
        if (isSignalingD(a) || isSignalingD(b)) {
            flags |= NV;
        }
        return na && nb ? CANONICAL_NAN_D : na ? b : a;
    }

    /** FMIN.S. */
    public int minS(int a, int b) {
        boolean na = isNaNS(a);
        boolean nb = isNaNS(b);
        if (na || nb) {
            return nanMinMaxS(a, b, na, nb);
        }
        float x = intBitsToFloat(a);
        float y = intBitsToFloat(b);
        return x < y ? a : y < x ? b : a | b;
    }

    /** FMAX.S. */
    public int maxS(int a, int b) {
        boolean na = isNaNS(a);
        boolean nb = isNaNS(b);
        if (na || nb) {
            return nanMinMaxS(a, b, na, nb);
        }
        float x = intBitsToFloat(a);
        float y = intBitsToFloat(b);
        return x > y ? a : y > x ? b : a & b;
    }

    private int nanMinMaxS(int a, int b, boolean na, boolean nb) {
        if (isSignalingS(a) || isSignalingS(b)) {
            flags |= NV;
        }
        return na && nb ? CANONICAL_NAN_S : na ? b : a;
    }

    /** FEQ.D: a quiet comparison; NV only for a signaling NaN. */
    public boolean eqD(long a, long b) {
        if (isSignalingD(a) || isSignalingD(b)) {
            flags |= NV;
        }
        return longBitsToDouble(a) == longBitsToDouble(b);
    }

    /** FLT.D: a signaling comparison; NV for any NaN. */
    public boolean ltD(long a, long b) {
        if (isNaND(a) || isNaND(b)) {
            flags |= NV;
        }
        return longBitsToDouble(a) < longBitsToDouble(b);
    }

    /** FLE.D: a signaling comparison; NV for any NaN. */
    public boolean leD(long a, long b) {
        if (isNaND(a) || isNaND(b)) {
            flags |= NV;
        }
        return longBitsToDouble(a) <= longBitsToDouble(b);
    }

    /** FEQ.S. */
    public boolean eqS(int a, int b) {
        if (isSignalingS(a) || isSignalingS(b)) {
            flags |= NV;
        }
        return intBitsToFloat(a) == intBitsToFloat(b);
    }

    /** FLT.S. */
    public boolean ltS(int a, int b) {
        if (isNaNS(a) || isNaNS(b)) {
            flags |= NV;
        }
        return intBitsToFloat(a) < intBitsToFloat(b);
    }

    /** FLE.S. */
    public boolean leS(int a, int b) {
        if (isNaNS(a) || isNaNS(b)) {
            flags |= NV;
        }
        return intBitsToFloat(a) <= intBitsToFloat(b);
    }

    /**
     * FCLASS.D: exactly one bit set, 0 -inf, 1 negative normal, 2 negative subnormal, 3 -0,
     * 4 +0, 5 positive subnormal, 6 positive normal, 7 +inf, 8 signaling NaN, 9 quiet NaN
     * (table "Format of result of FCLASS instruction").
     */
    public static int classD(long a) {
        boolean neg = a < 0;
        long mag = a & ~SIGN_D;
        if (mag >= INF_D) {
            return mag == INF_D ? (neg ? 1 : 1 << 7) : (mag & QUIET_D) != 0 ? 1 << 9 : 1 << 8;
        }
        if (mag == 0) {
            return neg ? 1 << 3 : 1 << 4;
        }
        if (mag < 0x0010_0000_0000_0000L) {
            return neg ? 1 << 2 : 1 << 5;
        }
        return neg ? 1 << 1 : 1 << 6;
    }

    /** FCLASS.S; bits as for {@link #classD}. */
    public static int classS(int a) {
        boolean neg = a < 0;
        int mag = a & ~SIGN_S;
        if (mag >= INF_S) {
            return mag == INF_S ? (neg ? 1 : 1 << 7) : (mag & QUIET_S) != 0 ? 1 << 9 : 1 << 8;
        }
        if (mag == 0) {
            return neg ? 1 << 3 : 1 << 4;
        }
        if (mag < 0x0080_0000) {
            return neg ? 1 << 2 : 1 << 5;
        }
        return neg ? 1 << 1 : 1 << 6;
    }

    // ---------------------------------------------------------------- conversions between formats

    /** FCVT.S.D. */
    public int cvtSD(long a, int rm) {
        double d = longBitsToDouble(a);
        float f = (float) d;
        if (f == d) {
            return floatToRawIntBits(f);         // exact, including zeros and infinities
        }
        if (d != d) {
            if (isSignalingD(a)) {
                flags |= NV;
            }
            return CANONICAL_NAN_S;
        }
        float af = Math.abs(f);
        if (rm == RNE && af > Float.MIN_NORMAL && af <= Float.MAX_VALUE) {
            flags |= NX;
            return floatToRawIntBits(f);
        }
        return SoftFloat.roundToSingle(this, d, 0, rm);
    }

    /** FCVT.D.S: always exact. */
    public long cvtDS(int a) {
        if (isNaNS(a)) {
            if (isSignalingS(a)) {
                flags |= NV;
            }
            return CANONICAL_NAN_D;
        }
        return doubleToRawLongBits(intBitsToFloat(a));
    }

    // ---------------------------------------------------------------- float to integer

    /** FCVT.W.D: the 32-bit result, saturated; NaN gives {@code 2^31-1}. */
    public int cvtWD(long a, int rm) {
        return toW(longBitsToDouble(a), rm);
    }

    /** FCVT.WU.D: the 32-bit result (the caller sign-extends it), saturated; NaN gives {@code 2^32-1}. */
    public int cvtWUD(long a, int rm) {
        return toWU(longBitsToDouble(a), rm);
    }

    /** FCVT.L.D: saturated; NaN gives {@code 2^63-1}. */
    public long cvtLD(long a, int rm) {
        return toL(longBitsToDouble(a), rm);
    }

    /** FCVT.LU.D: saturated; NaN gives {@code 2^64-1}. */
    public long cvtLUD(long a, int rm) {
        return toLU(longBitsToDouble(a), rm);
    }

    /** FCVT.W.S. */
    public int cvtWS(int a, int rm) {
        return toW(intBitsToFloat(a), rm);
    }

    /** FCVT.WU.S. */
    public int cvtWUS(int a, int rm) {
        return toWU(intBitsToFloat(a), rm);
    }

    /** FCVT.L.S. */
    public long cvtLS(int a, int rm) {
        return toL(intBitsToFloat(a), rm);
    }

    /** FCVT.LU.S. */
    public long cvtLUS(int a, int rm) {
        return toLU(intBitsToFloat(a), rm);
    }

    // Each converter rounds to an integral double first (exact), then range-checks the rounded
    // value: out of range after rounding raises NV alone, in range but changed raises NX.
    // NaN fails every range check and saturates to the positive end.

    private int toW(double d, int rm) {
        double r = roundIntegral(d, rm);
        if (r >= -0x1p31 && r <= 0x1p31 - 1) {
            if (r != d) {
                flags |= NX;
            }
            return (int) r;
        }
        flags |= NV;
        return d < 0 ? Integer.MIN_VALUE : Integer.MAX_VALUE;
    }

    private int toWU(double d, int rm) {
        double r = roundIntegral(d, rm);
        if (r >= 0 && r <= 0x1p32 - 1) {         // -0.0 passes: e.g. -0.25 rounds to 0, NX only
            if (r != d) {
                flags |= NX;
            }
            return (int) (long) r;
        }
        flags |= NV;
        return d < 0 ? 0 : -1;
    }

    private long toL(double d, int rm) {
        double r = roundIntegral(d, rm);
        if (r >= -0x1p63 && r < 0x1p63) {
            if (r != d) {
                flags |= NX;
            }
            return (long) r;
        }
        flags |= NV;
        return d < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
    }

    private long toLU(double d, int rm) {
        double r = roundIntegral(d, rm);
        if (r >= 0 && r < 0x1p64) {
            if (r != d) {
                flags |= NX;
            }
            return r < 0x1p63 ? (long) r : (long) (r - 0x1p63) | Long.MIN_VALUE;
        }
        flags |= NV;
        return d < 0 ? 0 : -1L;
    }

    /** {@return d rounded to an integral value under rm} Exact: every step is. */
    private static double roundIntegral(double d, int rm) {
        return switch (rm) {
            case RNE -> Math.rint(d);
            case RTZ -> d < 0 ? Math.ceil(d) : Math.floor(d);
            case RDN -> Math.floor(d);
            case RUP -> Math.ceil(d);
            default -> {
                double t = d < 0 ? Math.ceil(d) : Math.floor(d);
                yield Math.abs(d - t) >= 0.5 ? t + Math.copySign(1.0, d) : t;
            }
        };
    }

    // ---------------------------------------------------------------- integer to float

    /** FCVT.D.W: always exact. */
    public static long cvtDW(int v) {
        return doubleToRawLongBits(v);
    }

    /** FCVT.D.WU: always exact. */
    public static long cvtDWU(int v) {
        return doubleToRawLongBits(v & 0xFFFF_FFFFL);
    }

    /** FCVT.D.L. */
    public long cvtDL(long v, int rm) {
        if (v >= -(1L << 53) && v <= 1L << 53) {
            return doubleToRawLongBits(v);
        }
        return SoftFloat.roundPack(this, v < 0, 0, v < 0 ? -v : v, rm, true);
    }

    /** FCVT.D.LU. */
    public long cvtDLU(long v, int rm) {
        if (v >= 0 && v <= 1L << 53) {
            return doubleToRawLongBits(v);
        }
        return SoftFloat.roundPack(this, false, 0, v, rm, true);
    }

    /** FCVT.S.W. */
    public int cvtSW(int v, int rm) {
        return cvtSL(v, rm);
    }

    /** FCVT.S.WU. */
    public int cvtSWU(int v, int rm) {
        return cvtSL(v & 0xFFFF_FFFFL, rm);
    }

    /** FCVT.S.L. */
    public int cvtSL(long v, int rm) {
        if (v >= -(1L << 24) && v <= 1L << 24) {
            return floatToRawIntBits(v);
        }
        return (int) SoftFloat.roundPack(this, v < 0, 0, v < 0 ? -v : v, rm, false);
    }

    /** FCVT.S.LU. */
    public int cvtSLU(long v, int rm) {
        if (v >= 0 && v <= 1L << 24) {
            return floatToRawIntBits(v);
        }
        return (int) SoftFloat.roundPack(this, false, 0, v, rm, false);
    }

    // ---------------------------------------------------------------- bit tests

    /** {@return whether the binary64 bits are a NaN} */
    public static boolean isNaND(long a) {
        return (a & ~SIGN_D) > INF_D;
    }

    /** {@return whether the binary64 bits are a signaling NaN} */
    public static boolean isSignalingD(long a) {
        return isNaND(a) && (a & QUIET_D) == 0;
    }

    /** {@return whether the binary32 bits are a NaN} */
    public static boolean isNaNS(int a) {
        return (a & ~SIGN_S) > INF_S;
    }

    /** {@return whether the binary32 bits are a signaling NaN} */
    public static boolean isSignalingS(int a) {
        return isNaNS(a) && (a & QUIET_S) == 0;
    }

    private static boolean isInfD(long a) {
        return (a & ~SIGN_D) == INF_D;
    }

    private static boolean isZeroD(long a) {
        return (a & ~SIGN_D) == 0;
    }

    private static boolean isInfS(int a) {
        return (a & ~SIGN_S) == INF_S;
    }

    private static boolean isZeroS(int a) {
        return (a & ~SIGN_S) == 0;
    }
}
