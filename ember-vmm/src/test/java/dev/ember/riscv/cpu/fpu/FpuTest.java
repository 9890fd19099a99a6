package dev.ember.riscv.cpu.fpu;

import static dev.ember.riscv.cpu.fpu.Fpu.DZ;
import static dev.ember.riscv.cpu.fpu.Fpu.NV;
import static dev.ember.riscv.cpu.fpu.Fpu.NX;
import static dev.ember.riscv.cpu.fpu.Fpu.OF;
import static dev.ember.riscv.cpu.fpu.Fpu.RDN;
import static dev.ember.riscv.cpu.fpu.Fpu.RMM;
import static dev.ember.riscv.cpu.fpu.Fpu.RNE;
import static dev.ember.riscv.cpu.fpu.Fpu.RTZ;
import static dev.ember.riscv.cpu.fpu.Fpu.RUP;
import static dev.ember.riscv.cpu.fpu.Fpu.UF;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hand-written cases for {@link Fpu}, each with the reasoning that gives its expected value
 * (Unprivileged ISA, "F" and "D" chapters; IEEE 754-2008 §4.3, §7). Every row was also checked
 * against QEMU with {@code gen-vectors -} (see {@code src/test/resources/fpu/README.md}); the
 * bulk QEMU vectors are replayed by {@code FloatOpsTest}.
 *
 * <p>Rows are {@code (what, mnemonic, rm, rs1, rs2, rs3, result, fflags)} with raw bits: binary32
 * in the low 32 bits, integer results as the sign-extended x register.
 */
class FpuTest {

    static final long QNAN_D = 0x7FF8_0000_0000_0000L;
    static final long SNAN_D = 0x7FF0_0000_0000_0001L;
    static final long NEG_QNAN_PAYLOAD_D = 0xFFF8_0000_0000_1234L;
    static final long INF_D = 0x7FF0_0000_0000_0000L;
    static final long MAX_D = 0x7FEF_FFFF_FFFF_FFFFL;
    static final long MIN_NORMAL_D = 0x0010_0000_0000_0000L;
    static final long MIN_SUB_D = 1L;
    static final long QNAN_S = 0x7FC0_0000L;
    static final long SNAN_S = 0x7F80_0001L;
    static final long INF_S = 0x7F80_0000L;
    static final long MAX_S = 0x7F7F_FFFFL;
    static final long MIN_NORMAL_S = 0x0080_0000L;
    static final long MIN_SUB_S = 1L;
    static final long NEG = 0x8000_0000_0000_0000L;
    static final long NEG_S = 0x8000_0000L;

    static long d(double v) {
        return Double.doubleToRawLongBits(v);
    }

    static long s(float v) {
        return Float.floatToRawIntBits(v) & 0xFFFF_FFFFL;
    }

    static Arguments row(String what, String op, int rm, long a, long b, long c, long result, int flags) {
        return arguments(what, op, rm, a, b, c, result, flags);
    }

    static Stream<Arguments> addition() {
        return Stream.of(
            // 1 + 2^-53 is exactly halfway between 1 and 1 + 2^-52: even wins under RNE, the
            // larger magnitude under RMM, and the directed modes go their way.
            row("1+2^-53 RNE", "fadd.d", RNE, d(1), d(0x1p-53), 0, d(1), NX),
            row("1+2^-53 RTZ", "fadd.d", RTZ, d(1), d(0x1p-53), 0, d(1), NX),
            row("1+2^-53 RDN", "fadd.d", RDN, d(1), d(0x1p-53), 0, d(1), NX),
            row("1+2^-53 RUP", "fadd.d", RUP, d(1), d(0x1p-53), 0, d(1 + 0x1p-52), NX),
            row("1+2^-53 RMM", "fadd.d", RMM, d(1), d(0x1p-53), 0, d(1 + 0x1p-52), NX),
            // The same tie, negated: RDN and RUP swap roles.
            row("-1-2^-53 RDN", "fadd.d", RDN, d(-1), d(-0x1p-53), 0, d(-1 - 0x1p-52), NX),
            row("-1-2^-53 RUP", "fadd.d", RUP, d(-1), d(-0x1p-53), 0, d(-1), NX),
            row("-1-2^-53 RMM", "fadd.d", RMM, d(-1), d(-0x1p-53), 0, d(-1 - 0x1p-52), NX),
            // (1+2^-52) + 2^-53: a tie whose lower neighbour is odd, so RNE rounds up too.
            row("odd tie RNE", "fadd.d", RNE, d(1 + 0x1p-52), d(0x1p-53), 0, d(1 + 0x1p-51), NX),
            row("odd tie RTZ", "fadd.d", RTZ, d(1 + 0x1p-52), d(0x1p-53), 0, d(1 + 0x1p-52), NX),
            // 1 - 2^-54 is a quarter ulp below 1 (the spacing below 1 is 2^-53).
            row("1-2^-54 RNE", "fsub.d", RNE, d(1), d(0x1p-54), 0, d(1), NX),
            row("1-2^-54 RTZ", "fsub.d", RTZ, d(1), d(0x1p-54), 0, d(1 - 0x1p-53), NX),
            row("1-2^-54 RDN", "fsub.d", RDN, d(1), d(0x1p-54), 0, d(1 - 0x1p-53), NX),
            row("1-2^-54 RUP", "fsub.d", RUP, d(1), d(0x1p-54), 0, d(1), NX),
            // An exact zero sum is +0, except -0 when rounding down; -0 + -0 stays -0.
            row("x-x RNE is +0", "fsub.d", RNE, d(1.5), d(1.5), 0, d(0.0), 0),
            row("x-x RDN is -0", "fsub.d", RDN, d(1.5), d(1.5), 0, d(-0.0), 0),
            row("+0 + -0 RNE", "fadd.d", RNE, d(0.0), d(-0.0), 0, d(0.0), 0),
            row("+0 + -0 RDN", "fadd.d", RDN, d(0.0), d(-0.0), 0, d(-0.0), 0),
            row("-0 + -0 RUP", "fadd.d", RUP, d(-0.0), d(-0.0), 0, d(-0.0), 0),
            // Sums of subnormals are exact: no UF even though the result is tiny.
            row("subnormal sum is exact", "fadd.d", RNE, MIN_SUB_D, MIN_SUB_D, 0, 2, 0),
            // NaNs: inf - inf and sNaN operands are invalid; a qNaN operand is not; the result is
            // always the canonical NaN, whatever the operand's sign and payload.
            row("inf - inf", "fadd.d", RNE, INF_D, INF_D | NEG, 0, QNAN_D, NV),
            row("sNaN operand", "fadd.d", RNE, SNAN_D, d(1), 0, QNAN_D, NV),
            row("qNaN payload dropped", "fadd.d", RNE, d(1), NEG_QNAN_PAYLOAD_D, 0, QNAN_D, 0),
            row("inf + 1 exact", "fadd.d", RNE, INF_D, d(1), 0, INF_D, 0),
            // binary32: 1 + 2^-24 is the same tie one format down.
            row("S 1+2^-24 RNE", "fadd.s", RNE, s(1), s(0x1p-24f), 0, s(1), NX),
            row("S 1+2^-24 RUP", "fadd.s", RUP, s(1), s(0x1p-24f), 0, s(1 + 0x1p-23f), NX),
            row("S 1+2^-24 RMM", "fadd.s", RMM, s(1), s(0x1p-24f), 0, s(1 + 0x1p-23f), NX),
            row("S -1-2^-24 RDN", "fadd.s", RDN, s(-1), s(-0x1p-24f), 0, s(-1 - 0x1p-23f), NX),
            row("S -1-2^-24 RTZ", "fadd.s", RTZ, s(-1), s(-0x1p-24f), 0, s(-1), NX),
            // 1 + 2^-100 is far beyond binary64's reach too: the error is seen only by TwoSum.
            row("S 1+2^-100 RUP", "fadd.s", RUP, s(1), s(0x1p-100f), 0, s(1 + 0x1p-23f), NX),
            row("S 1+2^-100 RNE", "fadd.s", RNE, s(1), s(0x1p-100f), 0, s(1), NX),
            row("S x-x RDN is -0", "fsub.s", RDN, s(3), s(3), 0, NEG_S, 0),
            row("S sNaN operand", "fsub.s", RNE, SNAN_S, s(1), 0, QNAN_S, NV));
    }

    static Stream<Arguments> multiplication() {
        return Stream.of(
            // (1+2^-52)^2 = 1 + 2^-51 + 2^-104: just above 1 + 2^-51.
            row("(1+u)^2 RNE", "fmul.d", RNE, d(1 + 0x1p-52), d(1 + 0x1p-52), 0, d(1 + 0x1p-51), NX),
            row("(1+u)^2 RUP", "fmul.d", RUP, d(1 + 0x1p-52), d(1 + 0x1p-52), 0, d(1 + 0x1.8p-51), NX),
            row("(1+u)^2 RTZ", "fmul.d", RTZ, d(1 + 0x1p-52), d(1 + 0x1p-52), 0, d(1 + 0x1p-51), NX),
            // (1 + 3*2^-52) * 1.5 = 1.5 + 4.5*2^-52: a tie between an even and an odd last bit.
            row("product tie RNE", "fmul.d", RNE, 0x3FF0_0000_0000_0003L, d(1.5), 0, 0x3FF8_0000_0000_0004L, NX),
            row("product tie RMM", "fmul.d", RMM, 0x3FF0_0000_0000_0003L, d(1.5), 0, 0x3FF8_0000_0000_0005L, NX),
            row("product tie RDN", "fmul.d", RDN, 0x3FF0_0000_0000_0003L, d(1.5), 0, 0x3FF8_0000_0000_0004L, NX),
            row("product tie RUP", "fmul.d", RUP, 0x3FF0_0000_0000_0003L, d(1.5), 0, 0x3FF8_0000_0000_0005L, NX),
            row("negative tie RDN", "fmul.d", RDN, 0x3FF0_0000_0000_0003L, d(-1.5), 0, 0xBFF8_0000_0000_0005L, NX),
            // Signs of zero products are the XOR of the operands' signs in every mode.
            row("-0 * 5 RUP", "fmul.d", RUP, d(-0.0), d(5), 0, d(-0.0), 0),
            row("inf * 0", "fmul.d", RNE, INF_D, d(0.0), 0, QNAN_D, NV),
            row("S inf * -0", "fmul.s", RNE, INF_S, NEG_S, 0, QNAN_S, NV),
            // binary32: (1+2^-23)^2 = 1 + 2^-22 + 2^-46, exact in binary64, inexact in binary32.
            row("S (1+u)^2 RNE", "fmul.s", RNE, s(1 + 0x1p-23f), s(1 + 0x1p-23f), 0, s(1 + 0x1p-22f), NX),
            row("S (1+u)^2 RUP", "fmul.s", RUP, s(1 + 0x1p-23f), s(1 + 0x1p-23f), 0, s(1 + 0x1.8p-22f), NX));
    }

    static Stream<Arguments> divisionAndSquareRoot() {
        return Stream.of(
            // 1/3 = 0x3FD5555555555555|0101...: the dropped part is below half an ulp.
            row("1/3 RNE", "fdiv.d", RNE, d(1), d(3), 0, 0x3FD5_5555_5555_5555L, NX),
            row("1/3 RUP", "fdiv.d", RUP, d(1), d(3), 0, 0x3FD5_5555_5555_5556L, NX),
            row("1/3 RMM", "fdiv.d", RMM, d(1), d(3), 0, 0x3FD5_5555_5555_5555L, NX),
            row("-1/3 RDN", "fdiv.d", RDN, d(-1), d(3), 0, 0xBFD5_5555_5555_5556L, NX),
            row("-1/3 RTZ", "fdiv.d", RTZ, d(-1), d(3), 0, 0xBFD5_5555_5555_5555L, NX),
            // Division by zero: DZ only for a finite nonzero dividend.
            row("1/0", "fdiv.d", RNE, d(1), d(0.0), 0, INF_D, DZ),
            row("-1/+0", "fdiv.d", RNE, d(-1), d(0.0), 0, INF_D | NEG, DZ),
            row("inf/0 is exact", "fdiv.d", RNE, INF_D, d(0.0), 0, INF_D, 0),
            row("0/0", "fdiv.d", RNE, d(0.0), d(0.0), 0, QNAN_D, NV),
            row("S 1/-0", "fdiv.s", RNE, s(1), NEG_S, 0, INF_S | NEG_S, DZ),
            // S: 1/3 = 0x3EAAAAAA|1010...: above half an ulp, so RNE rounds up.
            row("S 1/3 RNE", "fdiv.s", RNE, s(1), s(3), 0, 0x3EAA_AAABL, NX),
            row("S 1/3 RTZ", "fdiv.s", RTZ, s(1), s(3), 0, 0x3EAA_AAAAL, NX),
            // sqrt(2) = 1.41421356237309504..., and 0x3FF6A09E667F3BCD is just above it.
            row("sqrt 2 RNE", "fsqrt.d", RNE, d(2), 0, 0, 0x3FF6_A09E_667F_3BCDL, NX),
            row("sqrt 2 RDN", "fsqrt.d", RDN, d(2), 0, 0, 0x3FF6_A09E_667F_3BCCL, NX),
            row("sqrt 2 RMM", "fsqrt.d", RMM, d(2), 0, 0, 0x3FF6_A09E_667F_3BCDL, NX),
            row("sqrt 4 exact", "fsqrt.d", RTZ, d(4), 0, 0, d(2), 0),
            // The root of the smallest subnormal, 2^-1074, is 2^-537 exactly.
            row("sqrt min subnormal", "fsqrt.d", RNE, MIN_SUB_D, 0, 0, d(0x1p-537), 0),
            row("sqrt -0 is -0", "fsqrt.d", RNE, d(-0.0), 0, 0, d(-0.0), 0),
            row("sqrt -1", "fsqrt.d", RNE, d(-1), 0, 0, QNAN_D, NV),
            row("sqrt qNaN", "fsqrt.d", RNE, QNAN_D, 0, 0, QNAN_D, 0),
            // S: 0x3FB504F3 = 1.41421353816... is just below sqrt(2), so RNE and RTZ agree.
            row("S sqrt 2 RNE", "fsqrt.s", RNE, s(2), 0, 0, 0x3FB5_04F3L, NX),
            row("S sqrt 2 RTZ", "fsqrt.s", RTZ, s(2), 0, 0, 0x3FB5_04F3L, NX),
            row("S sqrt 2 RUP", "fsqrt.s", RUP, s(2), 0, 0, 0x3FB5_04F4L, NX),
            row("S sqrt -inf", "fsqrt.s", RNE, INF_S | NEG_S, 0, 0, QNAN_S, NV));
    }

    static Stream<Arguments> fusedMultiplyAdd() {
        return Stream.of(
            // (1+2^-52)(1-2^-53) - 1 = 2^-53 - 2^-105 exactly; a separate multiply would give 0.
            row("single rounding", "fmadd.d", RNE, d(1 + 0x1p-52), d(1 - 0x1p-53), d(-1), 0x3C9F_FFFF_FFFF_FFFEL, 0),
            // 1.5*(1 + 3*2^-52) + 2^-51 = 1.5 + 6.5*2^-52: a tie of the sum, not of the product.
            row("sum tie RNE", "fmadd.d", RNE, 0x3FF0_0000_0000_0003L, d(1.5), d(0x1p-51), 0x3FF8_0000_0000_0006L, NX),
            row("sum tie RMM", "fmadd.d", RMM, 0x3FF0_0000_0000_0003L, d(1.5), d(0x1p-51), 0x3FF8_0000_0000_0007L, NX),
            row("sum tie RTZ", "fmadd.d", RTZ, 0x3FF0_0000_0000_0003L, d(1.5), d(0x1p-51), 0x3FF8_0000_0000_0006L, NX),
            row("sum tie RUP", "fmadd.d", RUP, 0x3FF0_0000_0000_0003L, d(1.5), d(0x1p-51), 0x3FF8_0000_0000_0007L, NX),
            // MAX*2 - MAX = MAX: the product overflows only if rounded on its own.
            row("no intermediate overflow", "fmadd.d", RNE, MAX_D, d(2), MAX_D | NEG, MAX_D, 0),
            // The negated forms: fnmadd = -(a*b) - c, fnmsub = -(a*b) + c.
            row("fnmadd", "fnmadd.d", RNE, d(1), d(2), d(3), d(-5), 0),
            row("fnmsub", "fnmsub.d", RNE, d(1), d(2), d(3), d(1), 0),
            row("fmsub", "fmsub.d", RNE, d(1), d(2), d(3), d(-1), 0),
            row("fnmsub exact zero RNE", "fnmsub.d", RNE, d(1), d(1), d(1), d(0.0), 0),
            row("fnmsub exact zero RDN", "fnmsub.d", RDN, d(1), d(1), d(1), d(-0.0), 0),
            // inf * 0 + qNaN: RISC-V raises NV even though the addend is a quiet NaN.
            row("inf*0 + qNaN", "fmadd.d", RNE, INF_D, d(0.0), QNAN_D, QNAN_D, NV),
            row("1*1 + qNaN", "fmadd.d", RNE, d(1), d(1), QNAN_D, QNAN_D, 0),
            row("inf*1 - inf", "fmadd.d", RNE, INF_D, d(1), INF_D | NEG, QNAN_D, NV),
            row("S inf*0 + qNaN", "fmadd.s", RNE, INF_S, 0, QNAN_S, QNAN_S, NV),
            // S: p = (1+2^-12)^2 = 1 + 2^-11 + 2^-24 is a binary32 midpoint; c = ±2^-60 decides it.
            // p + c rounds to p in binary64, so rounding that double would break the tie wrongly.
            row("S midpoint above", "fmadd.s", RNE, s(1 + 0x1p-12f), s(1 + 0x1p-12f), s(0x1p-60f), s(1 + 0x1p-11f + 0x1p-23f), NX),
            row("S midpoint below", "fmadd.s", RNE, s(1 + 0x1p-12f), s(1 + 0x1p-12f), s(-0x1p-60f), s(1 + 0x1p-11f), NX),
            row("S midpoint exact RMM", "fmadd.s", RMM, s(1 + 0x1p-12f), s(1 + 0x1p-12f), 0, s(1 + 0x1p-11f + 0x1p-23f), NX),
            row("S midpoint exact RNE", "fmadd.s", RNE, s(1 + 0x1p-12f), s(1 + 0x1p-12f), 0, s(1 + 0x1p-11f), NX),
            row("S fnmadd", "fnmadd.s", RNE, s(2), s(3), s(1), s(-7), 0));
    }

    static Stream<Arguments> overflow() {
        return Stream.of(
            // MAX + MAX overflows in every mode; RTZ, and the directed mode pointing back
            // towards zero, give MAX instead of infinity.
            row("MAX+MAX RNE", "fadd.d", RNE, MAX_D, MAX_D, 0, INF_D, OF | NX),
            row("MAX+MAX RTZ", "fadd.d", RTZ, MAX_D, MAX_D, 0, MAX_D, OF | NX),
            row("MAX+MAX RDN", "fadd.d", RDN, MAX_D, MAX_D, 0, MAX_D, OF | NX),
            row("MAX+MAX RUP", "fadd.d", RUP, MAX_D, MAX_D, 0, INF_D, OF | NX),
            row("MAX+MAX RMM", "fadd.d", RMM, MAX_D, MAX_D, 0, INF_D, OF | NX),
            row("-MAX*2 RDN", "fmul.d", RDN, MAX_D | NEG, d(2), 0, INF_D | NEG, OF | NX),
            row("-MAX*2 RUP", "fmul.d", RUP, MAX_D | NEG, d(2), 0, MAX_D | NEG, OF | NX),
            row("-MAX*2 RTZ", "fmul.d", RTZ, MAX_D | NEG, d(2), 0, MAX_D | NEG, OF | NX),
            // MAX + half an ulp (2^970) is a tie that RNE breaks upwards into overflow; under RTZ
            // the unbounded result is MAX itself, so only NX.
            row("MAX+ulp/2 RNE", "fadd.d", RNE, MAX_D, d(0x1p970), 0, INF_D, OF | NX),
            row("MAX+ulp/2 RTZ", "fadd.d", RTZ, MAX_D, d(0x1p970), 0, MAX_D, NX),
            // MAX + a quarter ulp stays MAX unless rounding up.
            row("MAX+ulp/4 RNE", "fadd.d", RNE, MAX_D, d(0x1p969), 0, MAX_D, NX),
            row("MAX+ulp/4 RUP", "fadd.d", RUP, MAX_D, d(0x1p969), 0, INF_D, OF | NX),
            row("MAX/0.5 RDN", "fdiv.d", RDN, MAX_D, d(0.5), 0, MAX_D, OF | NX),
            row("S MAX*2 RNE", "fmul.s", RNE, MAX_S, s(2), 0, INF_S, OF | NX),
            row("S MAX*2 RTZ", "fmul.s", RTZ, MAX_S, s(2), 0, MAX_S, OF | NX),
            row("S -MAX*2 RUP", "fmul.s", RUP, MAX_S | NEG_S, s(2), 0, MAX_S | NEG_S, OF | NX),
            row("S -MAX*2 RDN", "fmul.s", RDN, MAX_S | NEG_S, s(2), 0, INF_S | NEG_S, OF | NX),
            row("S MAX+ulp/4 RUP", "fadd.s", RUP, MAX_S, s(0x1p102f), 0, INF_S, OF | NX));
    }

    static Stream<Arguments> underflow() {
        return Stream.of(
            // 2^-1023 is a subnormal, exactly: tiny but exact raises nothing.
            row("exact subnormal", "fmul.d", RNE, MIN_NORMAL_D, d(0.5), 0, 0x0008_0000_0000_0000L, 0),
            // 2^-1074 / 2 = 2^-1075 is halfway between 0 and the smallest subnormal.
            row("half min subnormal RNE", "fdiv.d", RNE, MIN_SUB_D, d(2), 0, 0, UF | NX),
            row("half min subnormal RMM", "fdiv.d", RMM, MIN_SUB_D, d(2), 0, MIN_SUB_D, UF | NX),
            row("half min subnormal RUP", "fdiv.d", RUP, MIN_SUB_D, d(2), 0, MIN_SUB_D, UF | NX),
            row("-half min subnormal RDN", "fdiv.d", RDN, MIN_SUB_D | NEG, d(2), 0, MIN_SUB_D | NEG, UF | NX),
            row("-half min subnormal RUP", "fdiv.d", RUP, MIN_SUB_D | NEG, d(2), 0, NEG, UF | NX),
            // Tininess after rounding. MIN_NORMAL * (1 - 2^-53) = 2^-1022 - 2^-1075: with an
            // unbounded exponent that is representable and below 2^-1022, so it is tiny,
            // although the subnormal rounding lands on MIN_NORMAL.
            row("tiny, rounds to MIN_NORMAL", "fmul.d", RNE, MIN_NORMAL_D, d(1 - 0x1p-53), 0, MIN_NORMAL_D, UF | NX),
            // (2^-1022 + 2^-1049)(1 - 2^-27) = 2^-1022 - 2^-1076: with an unbounded exponent RNE
            // rounds it up to 2^-1022, so it is not tiny: NX alone. RTZ keeps it tiny.
            row("not tiny after rounding", "fmul.d", RNE, 0x0010_0000_0200_0000L, d(1 - 0x1p-27), 0, MIN_NORMAL_D, NX),
            row("tiny under RTZ", "fmul.d", RTZ, 0x0010_0000_0200_0000L, d(1 - 0x1p-27), 0, 0x000F_FFFF_FFFF_FFFFL, UF | NX),
            // fma with a tiny result.
            row("fma tiny", "fmadd.d", RNE, MIN_NORMAL_D, d(1 - 0x1p-53), d(0.0), MIN_NORMAL_D, UF | NX),
            row("S half min subnormal RNE", "fmul.s", RNE, MIN_SUB_S, s(0.5f), 0, 0, UF | NX),
            row("S tiny, rounds to MIN_NORMAL", "fmul.s", RNE, MIN_NORMAL_S, s(1 - 0x1p-24f), 0, MIN_NORMAL_S, UF | NX),
            row("S subnormal RUP", "fmul.s", RUP, MIN_NORMAL_S, s(0x1.8p-2f), 0, 0x0030_0000L, 0),
            row("S subnormal inexact", "fdiv.s", RNE, s(0x1p-140f), s(3), 0, 0x0000_00ABL, UF | NX));
    }

    static Stream<Arguments> conversions() {
        return Stream.of(
            // Rounding to integer in each mode.
            row("2.5 RNE", "fcvt.w.d", RNE, d(2.5), 0, 0, 2, NX),
            row("2.5 RMM", "fcvt.w.d", RMM, d(2.5), 0, 0, 3, NX),
            row("-2.5 RMM", "fcvt.w.d", RMM, d(-2.5), 0, 0, -3, NX),
            row("-2.5 RDN", "fcvt.w.d", RDN, d(-2.5), 0, 0, -3, NX),
            row("-2.5 RUP", "fcvt.w.d", RUP, d(-2.5), 0, 0, -2, NX),
            row("-2.5 RTZ", "fcvt.w.d", RTZ, d(-2.5), 0, 0, -2, NX),
            // Out of range after rounding: NV alone, saturated.
            row("2^31-0.5 RNE overflows", "fcvt.w.d", RNE, d(2147483647.5), 0, 0, Integer.MAX_VALUE, NV),
            row("2^31-0.5 RTZ fits", "fcvt.w.d", RTZ, d(2147483647.5), 0, 0, Integer.MAX_VALUE, NX),
            row("-2^31-0.5 RTZ fits", "fcvt.w.d", RTZ, d(-2147483648.5), 0, 0, Integer.MIN_VALUE, NX),
            row("-2^31-0.5 RDN overflows", "fcvt.w.d", RDN, d(-2147483648.5), 0, 0, Integer.MIN_VALUE, NV),
            row("NaN to W is MAX", "fcvt.w.d", RNE, NEG_QNAN_PAYLOAD_D, 0, 0, Integer.MAX_VALUE, NV),
            row("-inf to W", "fcvt.w.d", RNE, INF_D | NEG, 0, 0, Integer.MIN_VALUE, NV),
            // Unsigned: -0.5 rounding to -0 is fine (NX), rounding to -1 is not (NV, 0).
            row("-0.5 RNE to WU", "fcvt.wu.d", RNE, d(-0.5), 0, 0, 0, NX),
            row("-0.5 RDN to WU", "fcvt.wu.d", RDN, d(-0.5), 0, 0, 0, NV),
            // 32-bit results are sign-extended into x, the unsigned ones too.
            row("2^32-1 to WU", "fcvt.wu.d", RNE, d(4294967295.0), 0, 0, -1, 0),
            row("NaN to WU", "fcvt.wu.d", RNE, QNAN_D, 0, 0, -1, NV),
            row("2^63 to L", "fcvt.l.d", RNE, d(0x1p63), 0, 0, Long.MAX_VALUE, NV),
            row("-2^63 to L", "fcvt.l.d", RNE, d(-0x1p63), 0, 0, Long.MIN_VALUE, 0),
            row("2^64-2048 to LU", "fcvt.lu.d", RNE, d(0x1.fffffffffffffp63), 0, 0, 0xFFFF_FFFF_FFFF_F800L, 0),
            row("2^64 to LU", "fcvt.lu.d", RNE, d(0x1p64), 0, 0, -1, NV),
            row("-0 to LU", "fcvt.lu.d", RNE, d(-0.0), 0, 0, 0, 0),
            row("S NaN to W", "fcvt.w.s", RNE, QNAN_S, 0, 0, Integer.MAX_VALUE, NV),
            row("S -inf to LU", "fcvt.lu.s", RNE, INF_S | NEG_S, 0, 0, 0, NV),
            row("S 1e10 to W", "fcvt.w.s", RNE, s(1e10f), 0, 0, Integer.MAX_VALUE, NV),
            row("S 1.5 RMM to L", "fcvt.l.s", RMM, s(1.5f), 0, 0, 2, NX),
            // Integer to float: 2^24 + 1 needs 25 bits.
            row("2^24+1 RNE", "fcvt.s.w", RNE, 16777217, 0, 0, s(16777216f), NX),
            row("2^24+1 RUP", "fcvt.s.w", RUP, 16777217, 0, 0, s(16777218f), NX),
            row("INT_MAX RTZ", "fcvt.s.w", RTZ, Integer.MAX_VALUE, 0, 0, 0x4EFF_FFFFL, NX),
            row("INT_MAX RNE", "fcvt.s.w", RNE, Integer.MAX_VALUE, 0, 0, s(0x1p31f), NX),
            row("0xFFFFFFFF as WU", "fcvt.s.wu", RNE, -1, 0, 0, s(0x1p32f), NX),
            row("2^53+1 RNE", "fcvt.d.l", RNE, (1L << 53) + 1, 0, 0, d(0x1p53), NX),
            row("2^53+1 RUP", "fcvt.d.l", RUP, (1L << 53) + 1, 0, 0, d(0x1p53 + 2), NX),
            row("-(2^53+1) RDN", "fcvt.d.l", RDN, -(1L << 53) - 1, 0, 0, d(-0x1p53 - 2), NX),
            row("2^64-1 as LU RNE", "fcvt.d.lu", RNE, -1, 0, 0, d(0x1p64), NX),
            row("2^64-1 as LU RTZ", "fcvt.d.lu", RTZ, -1, 0, 0, d(0x1.fffffffffffffp63), NX),
            row("INT_MIN to D", "fcvt.d.w", RNE, Integer.MIN_VALUE, 0, 0, d(-0x1p31), 0),
            // Between formats.
            row("D MAX to S RNE", "fcvt.s.d", RNE, MAX_D, 0, 0, INF_S, OF | NX),
            row("D MAX to S RTZ", "fcvt.s.d", RTZ, MAX_D, 0, 0, MAX_S, OF | NX),
            row("D min subnormal to S RNE", "fcvt.s.d", RNE, MIN_SUB_D, 0, 0, 0, UF | NX),
            row("D min subnormal to S RUP", "fcvt.s.d", RUP, MIN_SUB_D, 0, 0, MIN_SUB_S, UF | NX),
            row("D 1/3 to S RNE", "fcvt.s.d", RNE, 0x3FD5_5555_5555_5555L, 0, 0, 0x3EAA_AAABL, NX),
            row("D sNaN to S", "fcvt.s.d", RNE, SNAN_D, 0, 0, QNAN_S, NV),
            row("D -qNaN to S", "fcvt.s.d", RNE, NEG_QNAN_PAYLOAD_D, 0, 0, QNAN_S, 0),
            row("S sNaN to D", "fcvt.d.s", RNE, SNAN_S, 0, 0, QNAN_D, NV),
            row("S subnormal to D", "fcvt.d.s", RNE, MIN_SUB_S, 0, 0, d(0x1p-149), 0));
    }

    static Stream<Arguments> minMax() {
        return Stream.of(
            // -0 is below +0, whichever operand it is.
            row("min(+0,-0)", "fmin.d", RNE, d(0.0), d(-0.0), 0, d(-0.0), 0),
            row("min(-0,+0)", "fmin.d", RNE, d(-0.0), d(0.0), 0, d(-0.0), 0),
            row("max(-0,+0)", "fmax.d", RNE, d(-0.0), d(0.0), 0, d(0.0), 0),
            // One NaN: the other operand; NV only for a signaling NaN. Two NaNs: canonical.
            row("min(qNaN,1)", "fmin.d", RNE, NEG_QNAN_PAYLOAD_D, d(1), 0, d(1), 0),
            row("max(1,sNaN)", "fmax.d", RNE, d(1), SNAN_D, 0, d(1), NV),
            row("min(qNaN,qNaN)", "fmin.d", RNE, NEG_QNAN_PAYLOAD_D, QNAN_D, 0, QNAN_D, 0),
            row("max(sNaN,qNaN)", "fmax.d", RNE, SNAN_D, QNAN_D, 0, QNAN_D, NV),
            row("min(-inf,1)", "fmin.d", RNE, INF_D | NEG, d(1), 0, INF_D | NEG, 0),
            row("S min(+0,-0)", "fmin.s", RNE, 0, NEG_S, 0, NEG_S, 0),
            row("S max(+0,-0)", "fmax.s", RNE, 0, NEG_S, 0, 0, 0),
            row("S max(sNaN,2)", "fmax.s", RNE, SNAN_S, s(2), 0, s(2), NV),
            row("S min(sNaN,sNaN)", "fmin.s", RNE, SNAN_S, SNAN_S, 0, QNAN_S, NV));
    }

    static Stream<Arguments> compares() {
        return Stream.of(
            // FEQ is quiet: NV only for sNaN. FLT and FLE signal on any NaN.
            row("feq qNaN", "feq.d", RNE, QNAN_D, d(1), 0, 0, 0),
            row("feq sNaN", "feq.d", RNE, d(1), SNAN_D, 0, 0, NV),
            row("flt qNaN", "flt.d", RNE, QNAN_D, d(1), 0, 0, NV),
            row("fle qNaN", "fle.d", RNE, d(1), QNAN_D, 0, 0, NV),
            row("feq +0 -0", "feq.d", RNE, d(0.0), d(-0.0), 0, 1, 0),
            row("flt -0 +0", "flt.d", RNE, d(-0.0), d(0.0), 0, 0, 0),
            row("fle +0 -0", "fle.d", RNE, d(0.0), d(-0.0), 0, 1, 0),
            row("flt -inf MAX", "flt.d", RNE, INF_D | NEG, MAX_D, 0, 1, 0),
            row("S feq qNaN", "feq.s", RNE, QNAN_S, QNAN_S, 0, 0, 0),
            row("S flt qNaN", "flt.s", RNE, s(1), QNAN_S, 0, 0, NV),
            row("S fle 1 2", "fle.s", RNE, s(1), s(2), 0, 1, 0),
            row("S feq sNaN", "feq.s", RNE, SNAN_S, s(1), 0, 0, NV));
    }

    static Stream<Arguments> classify() {
        return Stream.of(
            row("-inf", "fclass.d", RNE, INF_D | NEG, 0, 0, 1, 0),
            row("-normal", "fclass.d", RNE, d(-1), 0, 0, 1 << 1, 0),
            row("-subnormal", "fclass.d", RNE, MIN_SUB_D | NEG, 0, 0, 1 << 2, 0),
            row("-0", "fclass.d", RNE, NEG, 0, 0, 1 << 3, 0),
            row("+0", "fclass.d", RNE, 0, 0, 0, 1 << 4, 0),
            row("+subnormal", "fclass.d", RNE, 0x000F_FFFF_FFFF_FFFFL, 0, 0, 1 << 5, 0),
            row("+normal", "fclass.d", RNE, MIN_NORMAL_D, 0, 0, 1 << 6, 0),
            row("+inf", "fclass.d", RNE, INF_D, 0, 0, 1 << 7, 0),
            row("sNaN", "fclass.d", RNE, SNAN_D, 0, 0, 1 << 8, 0),
            row("qNaN", "fclass.d", RNE, NEG_QNAN_PAYLOAD_D, 0, 0, 1 << 9, 0),
            row("S -inf", "fclass.s", RNE, INF_S | NEG_S, 0, 0, 1, 0),
            row("S -normal", "fclass.s", RNE, s(-2), 0, 0, 1 << 1, 0),
            row("S -subnormal", "fclass.s", RNE, 0x807F_FFFFL, 0, 0, 1 << 2, 0),
            row("S -0", "fclass.s", RNE, NEG_S, 0, 0, 1 << 3, 0),
            row("S +0", "fclass.s", RNE, 0, 0, 0, 1 << 4, 0),
            row("S +subnormal", "fclass.s", RNE, MIN_SUB_S, 0, 0, 1 << 5, 0),
            row("S +normal", "fclass.s", RNE, MAX_S, 0, 0, 1 << 6, 0),
            row("S +inf", "fclass.s", RNE, INF_S, 0, 0, 1 << 7, 0),
            row("S sNaN", "fclass.s", RNE, 0x7FBF_FFFFL, 0, 0, 1 << 8, 0),
            row("S qNaN", "fclass.s", RNE, QNAN_S, 0, 0, 1 << 9, 0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("addition")
    void additionRoundsAndFlagsLikeTheSpec(String what, String op, int rm, long a, long b, long c, long result, int flags) {
        check(op, rm, a, b, c, result, flags);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("multiplication")
    void multiplicationRoundsAndFlagsLikeTheSpec(String what, String op, int rm, long a, long b, long c, long result, int flags) {
        check(op, rm, a, b, c, result, flags);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("divisionAndSquareRoot")
    void divisionAndSquareRootRoundAndFlagLikeTheSpec(String what, String op, int rm, long a, long b, long c, long result, int flags) {
        check(op, rm, a, b, c, result, flags);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fusedMultiplyAdd")
    void fusedMultiplyAddRoundsOnce(String what, String op, int rm, long a, long b, long c, long result, int flags) {
        check(op, rm, a, b, c, result, flags);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("overflow")
    void overflowResultDependsOnRoundingMode(String what, String op, int rm, long a, long b, long c, long result, int flags) {
        check(op, rm, a, b, c, result, flags);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("underflow")
    void underflowIsTinyAfterRoundingAndInexact(String what, String op, int rm, long a, long b, long c, long result, int flags) {
        check(op, rm, a, b, c, result, flags);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("conversions")
    void conversionsRoundAndSaturate(String what, String op, int rm, long a, long b, long c, long result, int flags) {
        check(op, rm, a, b, c, result, flags);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("minMax")
    void minMaxAreMinimumNumberAndMaximumNumber(String what, String op, int rm, long a, long b, long c, long result, int flags) {
        check(op, rm, a, b, c, result, flags);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("compares")
    void comparesSignalAsSpecified(String what, String op, int rm, long a, long b, long c, long result, int flags) {
        check(op, rm, a, b, c, result, flags);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("classify")
    void classifySetsOneBit(String what, String op, int rm, long a, long b, long c, long result, int flags) {
        check(op, rm, a, b, c, result, flags);
    }

    private static void check(String op, int rm, long a, long b, long c, long result, int flags) {
        Fpu fpu = new Fpu();
        long actual = apply(fpu, op, rm, a, b, c);
        assertEquals(Long.toHexString(result), Long.toHexString(actual), "result");
        assertEquals(flags, fpu.flags, "fflags");
    }

    /** {@return the result of one mnemonic as the x register or the (unboxed) f register holds it} */
    static long apply(Fpu fpu, String op, int rm, long a, long b, long c) {
        int sa = (int) a;
        int sb = (int) b;
        int sc = (int) c;
        return switch (op) {
            case "fadd.s" -> u(fpu.addS(sa, sb, rm));
            case "fsub.s" -> u(fpu.subS(sa, sb, rm));
            case "fmul.s" -> u(fpu.mulS(sa, sb, rm));
            case "fdiv.s" -> u(fpu.divS(sa, sb, rm));
            case "fsqrt.s" -> u(fpu.sqrtS(sa, rm));
            case "fmadd.s" -> u(fpu.fmaddS(sa, sb, sc, rm));
            case "fmsub.s" -> u(fpu.fmsubS(sa, sb, sc, rm));
            case "fnmsub.s" -> u(fpu.fnmsubS(sa, sb, sc, rm));
            case "fnmadd.s" -> u(fpu.fnmaddS(sa, sb, sc, rm));
            case "fmin.s" -> u(fpu.minS(sa, sb));
            case "fmax.s" -> u(fpu.maxS(sa, sb));
            case "feq.s" -> fpu.eqS(sa, sb) ? 1 : 0;
            case "flt.s" -> fpu.ltS(sa, sb) ? 1 : 0;
            case "fle.s" -> fpu.leS(sa, sb) ? 1 : 0;
            case "fclass.s" -> Fpu.classS(sa);
            case "fcvt.w.s" -> fpu.cvtWS(sa, rm);
            case "fcvt.wu.s" -> fpu.cvtWUS(sa, rm);
            case "fcvt.l.s" -> fpu.cvtLS(sa, rm);
            case "fcvt.lu.s" -> fpu.cvtLUS(sa, rm);
            case "fcvt.s.w" -> u(fpu.cvtSW(sa, rm));
            case "fcvt.s.wu" -> u(fpu.cvtSWU(sa, rm));
            case "fcvt.s.l" -> u(fpu.cvtSL(a, rm));
            case "fcvt.s.lu" -> u(fpu.cvtSLU(a, rm));
            case "fcvt.s.d" -> u(fpu.cvtSD(a, rm));
            case "fcvt.d.s" -> fpu.cvtDS(sa);
            case "fadd.d" -> fpu.addD(a, b, rm);
            case "fsub.d" -> fpu.subD(a, b, rm);
            case "fmul.d" -> fpu.mulD(a, b, rm);
            case "fdiv.d" -> fpu.divD(a, b, rm);
            case "fsqrt.d" -> fpu.sqrtD(a, rm);
            case "fmadd.d" -> fpu.fmaddD(a, b, c, rm);
            case "fmsub.d" -> fpu.fmsubD(a, b, c, rm);
            case "fnmsub.d" -> fpu.fnmsubD(a, b, c, rm);
            case "fnmadd.d" -> fpu.fnmaddD(a, b, c, rm);
            case "fmin.d" -> fpu.minD(a, b);
            case "fmax.d" -> fpu.maxD(a, b);
            case "feq.d" -> fpu.eqD(a, b) ? 1 : 0;
            case "flt.d" -> fpu.ltD(a, b) ? 1 : 0;
            case "fle.d" -> fpu.leD(a, b) ? 1 : 0;
            case "fclass.d" -> Fpu.classD(a);
            case "fcvt.w.d" -> fpu.cvtWD(a, rm);
            case "fcvt.wu.d" -> fpu.cvtWUD(a, rm);
            case "fcvt.l.d" -> fpu.cvtLD(a, rm);
            case "fcvt.lu.d" -> fpu.cvtLUD(a, rm);
            case "fcvt.d.w" -> Fpu.cvtDW(sa);
            case "fcvt.d.wu" -> Fpu.cvtDWU(sa);
            case "fcvt.d.l" -> fpu.cvtDL(a, rm);
            case "fcvt.d.lu" -> fpu.cvtDLU(a, rm);
            default -> throw new IllegalArgumentException(op);
        };
    }

    private static long u(int v) {
        return v & 0xFFFF_FFFFL;
    }
}
