package dev.ember.riscv.interp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import dev.ember.riscv.isa.TrapCause;
import dev.ember.riscv.testing.HartFixture;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The C extension executed (unprivileged ISA chapter 16, RV64 forms): programs written with
 * explicit {@code c.*} mnemonics after {@code .option rvc}, mixed with 32-bit instructions at
 * 2-byte-aligned addresses. {@code RvcTest} checks the expansion table itself; this checks
 * that the interpreter runs it with the right lengths, links and memory offsets.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(HartFixture.Engine.class)
class CompressedTest {

    @Parameter
    HartFixture.Engine engine;


    private static final String RVC = ".option rvc\n";

    /** An 8-aligned stack area; programs set sp to {@code stack_top}. */
    private static final String STACK = """

            j done
            .data
            .balign 16
            stack: .dword 0x1111111111111111, 0x2222222222222222, 0x3333333333333333, 0x4444444444444444
                   .dword 0x5555555555555555, 0x6666666666666666, 0x7777777777777777, 0x8888888888888888
            stack_top:
            """;

    static Stream<Arguments> programs() {
        return Stream.of(
            //        name                                      program                                     reg   expected
            arguments("a compressed loop sums 1..10", """
                    c.li a0, 0
                    c.li a1, 10
                    1: c.add a0, a1
                    c.addi a1, -1
                    c.bnez a1, 1b
                    """,                                                                                    "a0", 55L),
            arguments("32-bit instructions at 2-mod-4 addresses", """
                    c.li a0, 1
                    addi a0, a0, 2
                    c.addi a0, 3
                    slli a0, a0, 4
                    """,                                                                                    "a0", 96L),
            arguments("c.li sign-extends its immediate",      "c.li a0, -32",                              "a0", -32L),
            arguments("c.lui sign-extends bit 17",            "c.lui a0, 0xfffe0",                         "a0", 0xFFFF_FFFF_FFFE_0000L),
            arguments("c.addiw sign-extends (the RV64 slot of c.jal)", "li a0, 0x7fffffff\n c.addiw a0, 1",  "a0", 0xFFFF_FFFF_8000_0000L),
            arguments("c.addiw 0 is sext.w",                  "li a0, 0x1ffffffff\n c.addiw a0, 0",        "a0", -1L),
            arguments("c.addw sign-extends",                  "li a0, 0x7fffffff\n c.li a1, 1\n c.addw a0, a1", "a0", 0xFFFF_FFFF_8000_0000L),
            arguments("c.subw sign-extends",                  "c.li a0, 0\n c.li a1, 1\n c.subw a0, a1",   "a0", -1L),
            arguments("c.sub",                                "c.li a0, 3\n c.li a1, 5\n c.sub a0, a1",    "a0", -2L),
            arguments("c.and",                                "c.li a0, 12\n c.li a1, 10\n c.and a0, a1",  "a0", 8L),
            arguments("c.or",                                 "c.li a0, 12\n c.li a1, 10\n c.or a0, a1",   "a0", 14L),
            arguments("c.xor",                                "c.li a0, 12\n c.li a1, 10\n c.xor a0, a1",  "a0", 6L),
            arguments("c.andi sign-extends its immediate",    "li a0, 0x12345\n c.andi a0, -16",           "a0", 0x12340L),
            arguments("c.slli by 63",                         "c.li a0, 1\n c.slli a0, 63",                "a0", Long.MIN_VALUE),
            arguments("c.srli is logical",                    "c.li a0, -1\n c.srli a0, 60",               "a0", 0xFL),
            arguments("c.srai is arithmetic",                 "c.li a0, -16\n c.srai a0, 2",               "a0", -4L),
            arguments("c.mv copies",                          "li a1, 0x123456789\n c.mv a0, a1",          "a0", 0x1_2345_6789L),
            arguments("c.addi16sp moves sp by a multiple of 16",
                    "la sp, stack_top\n c.addi16sp sp, -64\n la t0, stack_top\n sub a0, t0, sp" + STACK,    "a0", 64L),
            arguments("c.addi4spn points into the frame",
                    "la sp, stack\n c.addi4spn a0, sp, 24\n ld a0, 0(a0)" + STACK,                          "a0", 0x4444_4444_4444_4444L),
            arguments("c.ldsp loads at sp + offset",
                    "la sp, stack\n c.ldsp a0, 16(sp)" + STACK,                                             "a0", 0x3333_3333_3333_3333L),
            arguments("c.lwsp sign-extends",
                    "la sp, stack\n li t0, 0x80000000\n sw t0, 12(sp)\n c.lwsp a0, 12(sp)" + STACK,         "a0", 0xFFFF_FFFF_8000_0000L),
            arguments("c.sdsp stores at sp + offset",
                    "la sp, stack\n li a1, -7\n c.sdsp a1, 56(sp)\n ld a0, 56(sp)" + STACK,                 "a0", -7L),
            arguments("c.swsp stores a word",
                    "la sp, stack\n c.li a1, -1\n c.swsp a1, 0(sp)\n ld a0, 0(sp)" + STACK,                 "a0", 0x1111_1111_FFFF_FFFFL),
            arguments("c.ld and c.sd through s0",
                    "la s0, stack\n c.ld a1, 8(s0)\n c.sd a1, 40(s0)\n ld a0, 40(s0)" + STACK,              "a0", 0x2222_2222_2222_2222L),
            arguments("c.lw sign-extends and c.sw stores",
                    "la s0, stack\n li a1, 0x87654321\n c.sw a1, 4(s0)\n c.lw a0, 4(s0)" + STACK,           "a0", 0xFFFF_FFFF_8765_4321L),
            arguments("c.j jumps",                            "c.li a0, 1\n c.j 1f\n c.li a0, 2\n1:",      "a0", 1L),
            arguments("c.beqz taken on zero",                 "c.li a0, 0\n c.li a1, 1\n c.beqz a0, 1f\n c.li a1, 2\n1:", "a1", 1L),
            arguments("c.bnez falls through on zero",         "c.li a0, 0\n c.li a1, 1\n c.bnez a0, 1f\n c.li a1, 2\n1:", "a1", 2L),
            arguments("c.jr jumps to rs1",                    "c.li a0, 1\n la t0, 1f\n c.jr t0\n c.li a0, 2\n1:", "a0", 1L),
            arguments("c.jalr links pc + 2",
                    "la t0, 2f\n1: c.jalr t0\n c.nop\n2: la t1, 1b\n sub a0, ra, t1",                       "a0", 2L),
            arguments("jal from a 2-mod-4 address links pc + 4",
                    "c.nop\n1: jal ra, 2f\n2: la t1, 1b\n sub a0, ra, t1",                                  "a0", 4L),
            arguments("a 32-bit instruction straddling a page boundary", """
                    c.li a0, 1
                    j straddle
                    .option norvc
                    .org 0xffe
                    straddle: addi a0, a0, 0x7f0
                    """,                                                                                    "a0", 0x7F1L));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("programs")
    void executesLikeTheSpec(String name, String asm, String reg, long expected) {
        HartFixture hart = HartFixture.run(engine, RVC + asm);
        assertEquals(expected, hart.x(reg), name);
    }

    /** The all-zero halfword is defined illegal (§16.3, "Defined Illegal Instruction"). */
    @Test
    void zeroHalfwordIsAnIllegalInstruction() {
        HartFixture hart = HartFixture.runToTrap(engine, RVC + "c.nop\n fault: .half 0\n c.nop");
        assertEquals(TrapCause.ILLEGAL_INSTRUCTION, hart.csr("mcause"));
        assertEquals(hart.symbol("fault"), hart.csr("mepc"));
    }

    /** C.ADDI16SP with nzimm = 0 is reserved; mtval holds the 16 instruction bits (privileged ISA §3.1.16). */
    @Test
    void reservedCompressedEncodingTrapsWithItsBitsInMtval() {
        HartFixture hart = HartFixture.runToTrap(engine, RVC + "c.nop\n .half 0x6101");
        assertEquals(TrapCause.ILLEGAL_INSTRUCTION, hart.csr("mcause"));
        assertEquals(0x6101L, hart.csr("mtval"));
    }

    /** A trap in a compressed instruction records its own pc, not the next 4-byte boundary. */
    @Test
    void ecallAfterCompressedInstructionRecordsItsPc() {
        HartFixture hart = HartFixture.runToTrap(engine, RVC + "c.nop\n ecall");
        assertEquals(0x8000_0002L, hart.csr("mepc"));
    }
}
