package dev.ember.riscv.cpu.fpu;

import static dev.ember.riscv.cpu.fpu.Fpu.NX;
import static dev.ember.riscv.cpu.fpu.Fpu.OF;
import static dev.ember.riscv.cpu.fpu.Fpu.RDN;
import static dev.ember.riscv.cpu.fpu.Fpu.RMM;
import static dev.ember.riscv.cpu.fpu.Fpu.RNE;
import static dev.ember.riscv.cpu.fpu.Fpu.RTZ;
import static dev.ember.riscv.cpu.fpu.Fpu.RUP;
import static dev.ember.riscv.cpu.fpu.Fpu.UF;

/**
 * The exact slow path of {@link Fpu}: binary64 arithmetic on integer significands, and the
 * one rounding routine that every inexact result outside the fast paths goes through.
 *
 * <p>A finite value is handled as {@code sig * 2^exp} with an unsigned integer {@code sig};
 * bits shifted out on the right are "jammed" into bit 0 (ORed in as a sticky bit), which keeps
 * rounding exact as long as at least two bits separate bit 0 from the rounding position.
 * {@link #roundPack} then rounds to binary32 or binary64 under any RISC-V rounding mode,
 * raising NX, UF (tiny <em>after</em> rounding and inexact, as RISC-V requires: Unprivileged
 * ISA, "F" chapter, "Subnormal Arithmetic") and OF.
 *
 * <p>Operands are raw bit patterns; callers have already dealt with NaNs, infinities and
 * whatever zero operands the method's comment excludes. No method allocates. Stateless;
 * flags go to the {@link Fpu} passed in.
 */
final class SoftFloat {

    private SoftFloat() {}

    static final long SIGN = 0x8000_0000_0000_0000L;
    private static final long FRAC_MASK = 0x000F_FFFF_FFFF_FFFFL;
    private static final long HIDDEN = 0x0010_0000_0000_0000L;
    private static final long INF_D = 0x7FF0_0000_0000_0000L;
    private static final long MAX_D = 0x7FEF_FFFF_FFFF_FFFFL;
    private static final long INF_S = 0x7F80_0000L;
    private static final long MAX_S = 0x7F7F_FFFFL;

    /** {@return the integer significand of a finite binary64 (hidden bit included)} */
    static long sig(long d) {
        long frac = d & FRAC_MASK;
        return (d & INF_D) == 0 ? frac : frac | HIDDEN;
    }

    /** {@return the exponent that goes with {@link #sig}: {@code |d| = sig(d) * 2^exp(d)}} */
    static int exp(long d) {
        int field = (int) (d >>> 52) & 0x7FF;
        return field == 0 ? -1074 : field - 1075;
    }

    /**
     * Rounds {@code (-1)^neg * sig * 2^exp} to binary64 ({@code dbl}) or binary32 and returns its
     * bits (binary32 in the low 32 bits). {@code sig} is an unsigned, nonzero integer whose bit 0
     * may be a sticky bit.
     */
    static long roundPack(Fpu fpu, boolean neg, int exp, long sig, int rm, boolean dbl) {
        final int p = dbl ? 53 : 24;
        final int emin = dbl ? -1022 : -126;
        final int emax = dbl ? 1023 : 127;
        int lz = Long.numberOfLeadingZeros(sig);
        if (lz == 0) {
            sig = (sig >>> 1) | (sig & 1);
            exp++;
        } else {
            sig <<= lz - 1;
            exp -= lz - 1;
        }
        // sig is now in [2^62, 2^63); e is the exponent of its leading bit.
        int e = exp + 62;
        if (e > emax) {
            return overflow(fpu, neg, rm, dbl);
        }
        int shift = 63 - p;
        boolean tiny = false;
        if (e < emin) {
            // Tininess is judged on the result rounded as if the exponent range were unbounded:
            // only a value just below the smallest normal can round up out of the tiny range.
            tiny = e < emin - 1 || !carriesOut(neg, sig, shift, rm);
            shift += emin - e;
        }
        long kept;
        long rem;
        long half;
        if (shift >= 64) {
            kept = 0;
            rem = 1;         // below half of the last place, and nonzero
            half = 2;
        } else {
            kept = sig >>> shift;
            rem = sig & ((1L << shift) - 1);
            half = 1L << (shift - 1);
        }
        if (roundsUp(neg, kept, rem, half, rm)) {
            kept++;
        }
        long bits;
        if (e < emin) {
            bits = kept;     // subnormal; a carry into bit p-1 yields the smallest normal
        } else {
            // kept carries the hidden bit, which adds one to the biased exponent field.
            bits = ((long) (e - emin) << (p - 1)) + kept;
            if ((bits >>> (p - 1)) >= (dbl ? 0x7FF : 0xFF)) {
                return overflow(fpu, neg, rm, dbl);
            }
        }
        if (rem != 0) {
            fpu.flags |= tiny ? NX | UF : NX;
        }
        return neg ? bits | (dbl ? SIGN : 0x8000_0000L) : bits;
    }

    /** {@return whether rounding the normalized {@code sig} to p bits carries into bit 63} */
    private static boolean carriesOut(boolean neg, long sig, int shift, int rm) {
        long kept = sig >>> shift;
        long rem = sig & ((1L << shift) - 1);
        return (kept == (1L << (63 - shift)) - 1) && roundsUp(neg, kept, rem, 1L << (shift - 1), rm);
    }

    /** {@return whether {@code kept + rem/(2*half)} rounds away from {@code kept} under {@code rm}} */
    static boolean roundsUp(boolean neg, long kept, long rem, long half, int rm) {
        return switch (rm) {
            case RNE -> rem > half || (rem == half && (kept & 1) != 0);
            case RTZ -> false;
            case RDN -> neg && rem != 0;
            case RUP -> !neg && rem != 0;
            case RMM -> rem >= half;
            default -> throw new IllegalArgumentException("rounding mode " + rm);
        };
    }

    /**
     * {@return the overflowed result: infinity, or the largest finite number when the rounding
     * mode points toward zero from the overflowing side} Raises OF and NX.
     */
    static long overflow(Fpu fpu, boolean neg, int rm, boolean dbl) {
        fpu.flags |= OF | NX;
        boolean toInfinity = rm == RNE || rm == RMM || (rm == RDN && neg) || (rm == RUP && !neg);
        if (dbl) {
            return (toInfinity ? INF_D : MAX_D) | (neg ? SIGN : 0);
        }
        return (toInfinity ? INF_S : MAX_S) | (neg ? 0x8000_0000L : 0);
    }

    /** {@return the exact zero of a sum that cancelled: +0, or -0 when rounding down} */
    static long cancelledZero(int rm, boolean dbl) {
        return rm == RDN ? (dbl ? SIGN : 0x8000_0000L) : 0;
    }

    /** Rounds the 128-bit {@code (hi:lo) * 2^exp}, which must be nonzero. */
    static long roundPack128(Fpu fpu, boolean neg, int exp, long hi, long lo, int rm, boolean dbl) {
        if (hi == 0) {
            return roundPack(fpu, neg, exp, lo, rm, dbl);
        }
        // Bring the leading bit down to bit 62 of one long, jamming what falls off.
        int shift = 65 - Long.numberOfLeadingZeros(hi);        // 1..65
        long sig;
        if (shift < 64) {
            sig = (hi << (64 - shift)) | (lo >>> shift) | ((lo << (64 - shift)) != 0 ? 1 : 0);
        } else if (shift == 64) {
            sig = hi | (lo != 0 ? 1 : 0);
        } else {
            sig = (hi >>> 1) | (((hi & 1) | lo) != 0 ? 1 : 0);
        }
        return roundPack(fpu, neg, exp + shift, sig, rm, dbl);
    }

    private static long shiftRightJam(long v, int d) {
        if (d == 0) {
            return v;
        }
        if (d >= 63) {
            return v != 0 ? 1 : 0;
        }
        return (v >>> d) | ((v & ((1L << d) - 1)) != 0 ? 1 : 0);
    }

    /** {@return a + b rounded to binary64} Both operands finite; either may be zero. */
    static long addD(Fpu fpu, long a, long b, int rm) {
        if ((a & ~SIGN) == 0 || (b & ~SIGN) == 0) {
            if ((a & ~SIGN) != 0) {
                return a;
            }
            if ((b & ~SIGN) != 0) {
                return b;
            }
            return a == b ? a : cancelledZero(rm, true);
        }
        long sa = sig(a);
        long sb = sig(b);
        int ea = exp(a);
        int eb = exp(b);
        // Leading bits at 61, so a sum cannot carry out of a long.
        int la = Long.numberOfLeadingZeros(sa) - 2;
        int lb = Long.numberOfLeadingZeros(sb) - 2;
        sa <<= la;
        ea -= la;
        sb <<= lb;
        eb -= lb;
        boolean na = a < 0;
        boolean nb = b < 0;
        if (ea < eb || (ea == eb && Long.compareUnsigned(sa, sb) < 0)) {
            long t = sa; sa = sb; sb = t;
            int u = ea; ea = eb; eb = u;
            boolean v = na; na = nb; nb = v;
        }
        sb = shiftRightJam(sb, ea - eb);
        long sum;
        if (na == nb) {
            sum = sa + sb;
        } else {
            sum = sa - sb;
            if (sum == 0) {
                return cancelledZero(rm, true);
            }
        }
        return roundPack(fpu, na, ea, sum, rm, true);
    }

    /** {@return a * b rounded to binary64} Both operands finite and nonzero. */
    static long mulD(Fpu fpu, long a, long b, int rm) {
        long sa = sig(a);
        long sb = sig(b);
        return roundPack128(fpu, (a ^ b) < 0, exp(a) + exp(b),
                Math.unsignedMultiplyHigh(sa, sb), sa * sb, rm, true);
    }

    /** {@return a / b rounded to binary64} Both operands finite and nonzero. */
    static long divD(Fpu fpu, long a, long b, int rm) {
        long sa = sig(a);
        long sb = sig(b);
        int ea = exp(a);
        int eb = exp(b);
        int la = Long.numberOfLeadingZeros(sa) - 11;
        int lb = Long.numberOfLeadingZeros(sb) - 11;
        sa <<= la;
        ea -= la;
        sb <<= lb;
        eb -= lb;
        if (sa < sb) {
            sa <<= 1;
            ea--;
        }
        // Restoring division: 62 quotient bits of sa/sb in [1, 2), the remainder as sticky.
        long q = 0;
        long r = sa;
        for (int i = 0; i < 62; i++) {
            q <<= 1;
            if (r >= sb) {
                r -= sb;
                q |= 1;
            }
            r <<= 1;
        }
        return roundPack(fpu, (a ^ b) < 0, ea - eb - 61, q | (r != 0 ? 1 : 0), rm, true);
    }

    /**
     * {@return a * b + c rounded once to binary64} a and b finite and nonzero, c finite. The
     * product is exact in 128 bits; both addends are aligned with their leading bit at bit 125,
     * the smaller one shifted right with jamming, and the sum rounded.
     */
    static long fmaD(Fpu fpu, long a, long b, long c, int rm) {
        long sa = sig(a);
        long sb = sig(b);
        boolean np = (a ^ b) < 0;
        long ph = Math.unsignedMultiplyHigh(sa, sb);
        long pl = sa * sb;
        int ep = exp(a) + exp(b);
        if ((c & ~SIGN) == 0) {
            return roundPack128(fpu, np, ep, ph, pl, rm, true);
        }
        int top = ph != 0 ? 127 - Long.numberOfLeadingZeros(ph) : 63 - Long.numberOfLeadingZeros(pl);
        int s = 125 - top;
        if (s >= 64) {
            ph = pl << (s - 64);
            pl = 0;
        } else if (s > 0) {
            ph = (ph << s) | (pl >>> (64 - s));
            pl <<= s;
        }
        ep -= s;
        long sc = sig(c);
        s = 125 - (63 - Long.numberOfLeadingZeros(sc));     // 73..125
        long ch = sc << (s - 64);
        long cl = 0;
        int ec = exp(c) - s;
        boolean nc = c < 0;

        // X gets the larger exponent; with equal leading-bit positions that means larger magnitude.
        long xh, xl, yh, yl;
        boolean nx, ny;
        int ex, d;
        if (ep >= ec) {
            xh = ph; xl = pl; nx = np; ex = ep;
            yh = ch; yl = cl; ny = nc; d = ep - ec;
        } else {
            xh = ch; xl = cl; nx = nc; ex = ec;
            yh = ph; yl = pl; ny = np; d = ec - ep;
        }
        if (d >= 128) {
            yl = (yh | yl) != 0 ? 1 : 0;
            yh = 0;
        } else if (d >= 64) {
            boolean jam = yl != 0 || (d > 64 && (yh << (128 - d)) != 0);
            yl = (yh >>> (d - 64)) | (jam ? 1 : 0);
            yh = 0;
        } else if (d > 0) {
            boolean jam = (yl << (64 - d)) != 0;
            yl = (yl >>> d) | (yh << (64 - d)) | (jam ? 1 : 0);
            yh >>>= d;
        }
        long rh;
        long rl;
        boolean neg = nx;
        if (nx == ny) {
            rl = xl + yl;
            rh = xh + yh + (Long.compareUnsigned(rl, xl) < 0 ? 1 : 0);
        } else {
            int cmp = Long.compareUnsigned(xh, yh);
            if (cmp == 0) {
                cmp = Long.compareUnsigned(xl, yl);
            }
            if (cmp == 0) {
                return cancelledZero(rm, true);
            }
            if (cmp < 0) {
                long t = xh; xh = yh; yh = t;
                t = xl; xl = yl; yl = t;
                neg = ny;
            }
            rl = xl - yl;
            rh = xh - yh - (Long.compareUnsigned(xl, yl) < 0 ? 1 : 0);
        }
        return roundPack128(fpu, neg, ex, rh, rl, rm, true);
    }

    /**
     * {@return the binary32 bits of the real number x that {@code d} approximates} {@code d} is a
     * finite nonzero double with {@code d == RNE(x)}, and {@code cmp} is the sign of
     * {@code x - d}. Because binary32 rounding boundaries are binary64 numbers, d and the sign
     * of the error decide the binary32 rounding of x exactly.
     */
    static int roundToSingle(Fpu fpu, double d, int cmp, int rm) {
        long bits = Double.doubleToRawLongBits(d);
        boolean neg = bits < 0;
        // Two spare bits, so a quarter of d's last place can stand for "slightly more/less than d".
        long s = sig(bits) << 2;
        if (cmp != 0) {
            s = (cmp > 0) != neg ? s | 1 : s - 1;
        }
        return (int) roundPack(fpu, neg, exp(bits) - 2, s, rm, false);
    }
}
