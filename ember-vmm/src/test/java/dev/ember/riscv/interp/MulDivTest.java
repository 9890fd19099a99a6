package dev.ember.riscv.interp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import dev.ember.riscv.testing.HartFixture;
import java.util.stream.Stream;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The M extension (unprivileged ISA chapter 13): each case computes {@code a2 = a0 op a1} and
 * checks a2. Division by zero and signed overflow follow table 13.1 and never trap.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(HartFixture.Engine.class)
class MulDivTest {

    @Parameter
    HartFixture.Engine engine;


    private static final long MIN = Long.MIN_VALUE;
    private static final long MAX = Long.MAX_VALUE;

    static Stream<Arguments> multiply() {
        return Stream.of(
            //    name                                      op        a0               a1              expected a2
            op("mul keeps the low 64 bits",                "mul",    MAX,             2,              -2L),
            op("mul of negatives",                         "mul",    -3,              -5,             15L),
            op("mulh of -1 * -1 is 0",                     "mulh",   -1,              -1,             0L),
            op("mulh of MIN * MIN",                        "mulh",   MIN,             MIN,            0x4000_0000_0000_0000L),
            op("mulh of a small negative product is -1",   "mulh",   -2,              3,              -1L),
            op("mulh of MAX * MAX",                        "mulh",   MAX,             MAX,            0x3FFF_FFFF_FFFF_FFFFL),
            op("mulhu of (2^64-1)^2",                      "mulhu",  -1,              -1,             0xFFFF_FFFF_FFFF_FFFEL),
            op("mulhu of 2^63 * 2",                        "mulhu",  MIN,             2,              1L),
            op("mulhsu: signed -1 times unsigned 2^64-1",  "mulhsu", -1,              -1,             -1L),
            op("mulhsu: signed 2 times unsigned 2^64-1",   "mulhsu", 2,               -1,             1L),
            op("mulhsu: signed -2 times unsigned 3",       "mulhsu", -2,              3,              -1L),
            op("mulhsu: signed MIN times unsigned 2^63",   "mulhsu", MIN,             MIN,            0xC000_0000_0000_0000L),
            op("mulw sign-extends the low word",           "mulw",   0x7fff_ffffL,    2,              -2L),
            op("mulw ignores the upper words",             "mulw",   0x1_0000_0003L,  0x5_0000_0002L, 6L),
            op("mulw overflowing into bit 31",             "mulw",   0x10000,         0x8000,         0xFFFF_FFFF_8000_0000L));
    }

    static Stream<Arguments> divide() {
        return Stream.of(
            op("div rounds toward zero",                   "div",    -7,              2,              -3L),
            op("rem takes the sign of the dividend",       "rem",    -7,              2,              -1L),
            op("rem with a negative divisor",              "rem",    7,               -2,             1L),
            op("divu is unsigned",                         "divu",   -1,              2,              MAX),
            op("remu is unsigned",                         "remu",   -1,              10,             5L),
            // Table 13.1: division by zero.
            op("div by zero is -1",                        "div",    7,               0,              -1L),
            op("divu by zero is 2^64-1",                   "divu",   7,               0,              -1L),
            op("rem by zero is the dividend",              "rem",    -7,              0,              -7L),
            op("remu by zero is the dividend",             "remu",   -7,              0,              -7L),
            // Table 13.1: signed overflow.
            op("div overflow MIN / -1 is MIN",             "div",    MIN,             -1,             MIN),
            op("rem overflow MIN % -1 is 0",               "rem",    MIN,             -1,             0L),
            // W forms operate on the low words and sign-extend the 32-bit result.
            op("divw rounds toward zero",                  "divw",   -7,              2,              -3L),
            op("divw ignores the upper words",             "divw",   0x7_0000_0010L,  0x9_0000_0002L, 8L),
            op("divuw of 0xffffffff / 2",                  "divuw",  0xffff_ffffL,    2,              0x7FFF_FFFFL),
            op("divuw sign-extends its result",            "divuw",  0xffff_fffeL,    1,              -2L),
            op("remw takes the sign of the dividend",      "remw",   -7,              2,              -1L),
            op("remuw of 0xffffffff % 10",                 "remuw",  0xffff_ffffL,    10,             5L),
            op("divw by zero is -1",                       "divw",   7,               0,              -1L),
            op("divuw by zero is -1 (all ones, sign-extended)", "divuw", 7,           0,              -1L),
            op("remw by zero is the sign-extended dividend", "remw", 0x8000_0001L,    0,              0xFFFF_FFFF_8000_0001L),
            op("remuw by zero is the sign-extended dividend", "remuw", 0x8000_0001L,  0,              0xFFFF_FFFF_8000_0001L),
            op("divw overflow MIN32 / -1 is MIN32",        "divw",   0x8000_0000L,    -1,             0xFFFF_FFFF_8000_0000L),
            op("remw overflow MIN32 % -1 is 0",            "remw",   0x8000_0000L,    -1,             0L));
    }

    private static Arguments op(String name, String op, long a, long b, long expected) {
        String asm = "li a0, %d\n li a1, %d\n %s a2, a0, a1".formatted(a, b, op);
        return arguments(name, asm, expected);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource({"multiply", "divide"})
    void computesLikeTheSpec(String name, String asm, long expected) {
        assertEquals(expected, HartFixture.run(engine, asm).x("a2"), name);
    }
}
