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
 * RV64I (unprivileged ISA chapters 2 and 4): each case is a short program and the value one
 * register must hold when it reaches {@code done}. Programs that test control flow check
 * themselves and leave 0 or 1 in a register.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(HartFixture.Engine.class)
class IntegerOpsTest {

    @Parameter
    HartFixture.Engine engine;


    /** A scratch doubleword buffer, page-aligned, 8 KiB long, so accesses can cross a page. */
    private static final String DATA = """

            j done
            .data
            .balign 4096
            buf: .dword 0x8877665544332211, 0xffeeddccbbaa9980
            .balign 4096
            page2: .dword 0x0f0e0d0c0b0a0908
            """;

    static Stream<Arguments> arithmetic() {
        return Stream.of(
            //        name                                   program                                            reg   expected
            arguments("add wraps at 64 bits",                 "li a0, 0x7fffffffffffffff\n addi a1, a0, 1",         "a1", Long.MIN_VALUE),
            arguments("addi sign-extends its immediate",     "li a0, 5\n addi a1, a0, -2048",                     "a1", -2043L),
            arguments("sub goes negative",                   "li a0, 3\n li a1, 5\n sub a2, a0, a1",              "a2", -2L),
            arguments("addiw sign-extends the 32-bit sum",   "li a0, 0x7fffffff\n addiw a1, a0, 1",               "a1", 0xFFFF_FFFF_8000_0000L),
            arguments("addw ignores the upper 32 bits",      "li a0, 0x100000001\n li a1, 1\n addw a2, a0, a1",   "a2", 2L),
            arguments("subw sign-extends",                   "li a0, 0\n li a1, 1\n subw a2, a0, a1",             "a2", -1L),
            arguments("sext.w (addiw 0) of a low word",      "li a0, 0x12345678fedcba98\n sext.w a1, a0",         "a1", 0xFFFF_FFFF_FEDC_BA98L),
            arguments("xor",                                 "li a0, 0xff00\n li a1, 0x0ff0\n xor a2, a0, a1",    "a2", 0xF0F0L),
            arguments("xori -1 is not",                      "li a0, 0x0f\n xori a1, a0, -1",                     "a1", ~0x0FL),
            arguments("or",                                  "li a0, 0xf0\n li a1, 0x0f\n or a2, a0, a1",         "a2", 0xFFL),
            arguments("ori sign-extends its immediate",      "li a0, 0\n ori a1, a0, -2048",                      "a1", -2048L),
            arguments("and",                                 "li a0, 0xff0\n li a1, 0x0ff\n and a2, a0, a1",      "a2", 0x0F0L),
            arguments("andi sign-extends its immediate",     "li a0, 0x123456789\n andi a1, a0, -16",             "a1", 0x1_2345_6780L),
            arguments("slt compares signed",                 "li a0, -1\n li a1, 1\n slt a2, a0, a1",             "a2", 1L),
            arguments("sltu compares unsigned",              "li a0, -1\n li a1, 1\n sltu a2, a0, a1",            "a2", 0L),
            arguments("slt of equal values is 0",            "li a0, 7\n slt a2, a0, a0",                         "a2", 0L),
            arguments("slti compares signed",                "li a0, -5\n slti a1, a0, -4",                       "a1", 1L),
            arguments("sltiu -1 compares with 2^64-1",       "li a0, 5\n sltiu a1, a0, -1",                       "a1", 1L),
            arguments("seqz (sltiu 1) of zero",              "li a0, 0\n seqz a1, a0",                            "a1", 1L),
            arguments("snez (sltu x0) of nonzero",           "li a0, -7\n snez a1, a0",                           "a1", 1L));
    }

    static Stream<Arguments> shifts() {
        return Stream.of(
            arguments("slli by 63",                          "li a0, 3\n slli a1, a0, 63",                        "a1", Long.MIN_VALUE),
            arguments("srli by 63 is logical",               "li a0, -1\n srli a1, a0, 63",                       "a1", 1L),
            arguments("srai by 63 copies the sign",          "li a0, 0x8000000000000000\n srai a1, a0, 63",       "a1", -1L),
            arguments("srai by 0 is identity",               "li a0, -12345\n srai a1, a0, 0",                    "a1", -12345L),
            arguments("sll uses only rs2[5:0]",              "li a0, 1\n li a1, 65\n sll a2, a0, a1",             "a2", 2L),
            arguments("sll by 64 shifts by 0",               "li a0, 9\n li a1, 64\n sll a2, a0, a1",             "a2", 9L),
            arguments("srl is logical",                      "li a0, -16\n li a1, 4\n srl a2, a0, a1",            "a2", 0x0FFF_FFFF_FFFF_FFFFL),
            arguments("sra is arithmetic",                   "li a0, -16\n li a1, 4\n sra a2, a0, a1",            "a2", -1L),
            arguments("slliw sign-extends bit 31",           "li a0, 1\n slliw a1, a0, 31",                       "a1", 0xFFFF_FFFF_8000_0000L),
            arguments("slliw drops bits shifted past 31",    "li a0, 0x3\n slliw a1, a0, 31",                     "a1", 0xFFFF_FFFF_8000_0000L),
            arguments("srliw of all ones",                   "li a0, -1\n srliw a1, a0, 1",                       "a1", 0x7FFF_FFFFL),
            arguments("srliw by 0 sign-extends the word",    "li a0, 0x80000000\n srliw a1, a0, 0",               "a1", 0xFFFF_FFFF_8000_0000L),
            arguments("srliw ignores the upper word",        "li a0, 0xffffffff00000010\n srliw a1, a0, 4",       "a1", 1L),
            arguments("sraiw by 31 of a negative word",      "li a0, 0x80000000\n sraiw a1, a0, 31",              "a1", -1L),
            arguments("sraiw uses bit 31, not bit 63",       "li a0, 0x0000000180000000\n sraiw a1, a0, 4",       "a1", 0xFFFF_FFFF_F800_0000L),
            arguments("sraiw of a positive word",            "li a0, 0xffffffff7ffffff0\n sraiw a1, a0, 4",       "a1", 0x07FF_FFFFL),
            arguments("sllw uses only rs2[4:0]",             "li a0, 1\n li a1, 33\n sllw a2, a0, a1",            "a2", 2L),
            arguments("srlw by 32 shifts by 0",              "li a0, 0x80000000\n li a1, 32\n srlw a2, a0, a1",   "a2", 0xFFFF_FFFF_8000_0000L),
            arguments("sraw by 31 of a negative word",       "li a0, 0x80000000\n li a1, 31\n sraw a2, a0, a1",   "a2", -1L));
    }

    static Stream<Arguments> upperImmediates() {
        return Stream.of(
            arguments("lui sign-extends bit 31",             "lui a0, 0x80000",                                   "a0", 0xFFFF_FFFF_8000_0000L),
            arguments("lui zeroes the low 12 bits",          "li a0, -1\n lui a0, 0x12345",                       "a0", 0x1234_5000L),
            arguments("auipc adds to its own pc",            "auipc a0, 0",                                       "a0", 0x8000_0000L),
            arguments("auipc sign-extends a negative offset", "auipc a0, 0xfffff",                                "a0", 0x7FFF_F000L),
            arguments("auipc in the second instruction",     "nop\n auipc a0, 1",                                 "a0", 0x8000_1004L));
    }

    /** Each branch case leaves a0 = 1 if the branch was taken, 0 if it fell through. */
    static Stream<Arguments> branches() {
        return Stream.of(
            branch("beq taken on equal",                      "beq",  5, 5, 1),
            branch("beq not taken on different",             "beq",  5, 6, 0),
            branch("bne taken on different",                 "bne",  5, 6, 1),
            branch("bne not taken on equal",                 "bne",  -1, -1, 0),
            branch("blt taken: -1 < 1 signed",               "blt",  -1, 1, 1),
            branch("blt not taken on equal",                 "blt",  3, 3, 0),
            branch("bge taken on equal",                     "bge",  3, 3, 1),
            branch("bge not taken: -1 >= 1 signed",          "bge",  -1, 1, 0),
            branch("bltu not taken: 2^64-1 < 1 unsigned",    "bltu", -1, 1, 0),
            branch("bltu taken: 1 < 2^64-1 unsigned",        "bltu", 1, -1, 1),
            branch("bgeu taken: 2^64-1 >= 1 unsigned",       "bgeu", -1, 1, 1),
            branch("bgeu not taken: 0 >= 1",                 "bgeu", 0, 1, 0),
            arguments("backward branch loop sums 1..10",
                    "li a0, 0\n li t0, 10\n1: add a0, a0, t0\n addi t0, t0, -1\n bnez t0, 1b", "a0", 55L));
    }

    private static Arguments branch(String name, String op, long a, long b, long taken) {
        String asm = """
                li a0, 1
                li t0, %d
                li t1, %d
                %s t0, t1, 1f
                li a0, 0
                1:
                """.formatted(a, b, op);
        return arguments(name, asm, "a0", taken);
    }

    static Stream<Arguments> jumps() {
        return Stream.of(
            arguments("jal links pc + 4",
                    "1: jal ra, 2f\n nop\n2: la t0, 1b\n sub a0, ra, t0",                                      "a0", 4L),
            arguments("jal skips the instructions between",
                    "li a0, 1\n jal zero, 1f\n li a0, 2\n1:",                                                   "a0", 1L),
            arguments("jalr jumps to rs1 + imm",
                    "li a0, 0\n la t0, 1f\n jalr zero, 8(t0)\n1: li a0, 1\n j done\n li a0, 2",                  "a0", 2L),
            arguments("jalr clears bit 0 of the target",
                    "li a0, 0\n la t0, 1f\n addi t0, t0, 1\n jalr zero, 0(t0)\n li a0, 1\n1: addi a0, a0, 5",   "a0", 5L),
            arguments("jalr with rd == rs1 jumps to the old rs1",
                    "li a1, 0\n la a0, 2f\n1: jalr a0, 0(a0)\n li a1, 9\n2: addi a1, a1, 1",                    "a1", 1L),
            arguments("jalr with rd == rs1 links pc + 4",
                    "la a0, 2f\n1: jalr a0, 0(a0)\n nop\n2: la t0, 1b\n sub a0, a0, t0",                         "a0", 4L),
            arguments("jalr negative immediate",
                    "li a0, 0\n j 2f\n1: li a0, 3\n j done\n2: la t0, 1b\n addi t0, t0, 16\n jalr zero, -16(t0)", "a0", 3L));
    }

    static Stream<Arguments> loadsAndStores() {
        return Stream.of(
            memory("lb sign-extends",               "li t0, 0x80\n sb t0, 0(a0)\n lb a1, 0(a0)",            -128L),
            memory("lbu zero-extends",              "li t0, 0x80\n sb t0, 0(a0)\n lbu a1, 0(a0)",           0x80L),
            memory("lh sign-extends",               "li t0, 0x8001\n sh t0, 0(a0)\n lh a1, 0(a0)",          0xFFFF_FFFF_FFFF_8001L),
            memory("lhu zero-extends",              "li t0, 0x8001\n sh t0, 0(a0)\n lhu a1, 0(a0)",         0x8001L),
            memory("lw sign-extends",               "li t0, 0x80000001\n sw t0, 0(a0)\n lw a1, 0(a0)",      0xFFFF_FFFF_8000_0001L),
            memory("lwu zero-extends",              "li t0, 0x80000001\n sw t0, 0(a0)\n lwu a1, 0(a0)",     0x8000_0001L),
            memory("ld reads little-endian",        "ld a1, 0(a0)",                                          0x8877_6655_4433_2211L),
            memory("lbu reads byte 7 of a dword",   "lbu a1, 7(a0)",                                         0x88L),
            memory("lw negative offset",            "addi a0, a0, 8\n lw a1, -4(a0)",                        0xFFFF_FFFF_8877_6655L),
            memory("sb writes one byte",            "li t0, -1\n sd t0, 0(a0)\n sb zero, 1(a0)\n ld a1, 0(a0)",  0xFFFF_FFFF_FFFF_00FFL),
            memory("sh writes two bytes",           "li t0, -1\n sd t0, 0(a0)\n sh zero, 2(a0)\n ld a1, 0(a0)",  0xFFFF_FFFF_0000_FFFFL),
            memory("sw writes four bytes",          "li t0, -1\n sd t0, 0(a0)\n sw zero, 4(a0)\n ld a1, 0(a0)",  0x0000_0000_FFFF_FFFFL),
            memory("sd writes eight bytes",         "li t0, 0x0123456789abcdef\n sd t0, 8(a0)\n ld a1, 8(a0)",   0x0123_4567_89AB_CDEFL),
            // Misaligned accesses (unprivileged ISA §2.6): this EEI supports them in hardware.
            memory("misaligned ld",                 "ld a1, 1(a0)",                                          0x8088_7766_5544_3322L),
            memory("misaligned lw sign-extends",    "lw a1, 6(a0)",                                          0xFFFF_FFFF_9980_8877L),
            memory("misaligned lhu",                "lhu a1, 7(a0)",                                         0x8088L),
            memory("misaligned lh sign-extends",    "lh a1, 7(a0)",                                          0xFFFF_FFFF_FFFF_8088L),
            memory("misaligned lwu",                "lwu a1, 5(a0)",                                         0x8088_7766L),
            memory("misaligned sd then ld",         "li t0, 0x0102030405060708\n sd t0, 3(a0)\n ld a1, 3(a0)", 0x0102_0304_0506_0708L),
            memory("misaligned sw keeps neighbours", "li t0, 0xaabbccdd\n sw t0, 1(a0)\n ld a1, 0(a0)",   0x8877_66AA_BBCC_DD11L),
            memory("misaligned sh then lhu",        "li t0, 0xbeef\n sh t0, 5(a0)\n lhu a1, 5(a0)",         0xBEEFL),
            memory("misaligned ld across a page",   "la a0, page2\n ld a1, -4(a0)",                          0x0B0A_0908_0000_0000L),
            memory("misaligned sd across a page",
                    "la a0, page2\n li t0, 0x1122334455667788\n sd t0, -3(a0)\n ld a1, -3(a0)",               0x1122_3344_5566_7788L),
            memory("misaligned sw across a page lands on both pages",
                    "la a0, page2\n li t0, 0x44332211\n sw t0, -2(a0)\n lbu a1, 1(a0)",                        0x44L));
    }

    private static Arguments memory(String name, String body, long expected) {
        return arguments(name, "la a0, buf\n" + body + DATA, "a1", expected);
    }

    static Stream<Arguments> zeroRegister() {
        return Stream.of(
            arguments("add to x0 is discarded",      "li t0, 5\n add zero, t0, t0\n mv a0, zero",          "a0", 0L),
            arguments("lui to x0 is discarded",      "lui zero, 0x12345\n addi a0, zero, 0",               "a0", 0L),
            arguments("load to x0 is discarded",     "la t0, 1f\n ld zero, 0(t0)\n mv a0, zero\n j done\n.balign 8\n1: .dword -1", "a0", 0L),
            arguments("jal to x0 links nothing",     "jal zero, 1f\n1: mv a0, zero",                       "a0", 0L),
            arguments("x0 reads zero as an operand", "li a0, 7\n add a0, a0, zero",                        "a0", 7L));
    }

    static Stream<Arguments> fences() {
        return Stream.of(
            arguments("fence executes",              "li a0, 3\n fence\n fence rw, rw\n addi a0, a0, 1",  "a0", 4L),
            // Zifencei: after FENCE.I, a hart's instruction fetches see its own earlier stores.
            arguments("fence.i makes a patched instruction visible",
                    "la t0, patch\n li t1, 0x00700513\n sw t1, 0(t0)\n fence.i\n patch: addi a0, zero, 1",     "a0", 7L));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource({"fences", "arithmetic", "shifts", "upperImmediates", "branches", "jumps", "loadsAndStores", "zeroRegister"})
    void executesLikeTheSpec(String name, String asm, String reg, long expected) {
        HartFixture hart = HartFixture.run(engine, asm);
        assertEquals(expected, hart.x(reg), name);
    }

    /** Reserved encodings of the base ISA raise illegal-instruction (unprivileged ISA §2.2, §4.2). */
    static Stream<Arguments> reserved() {
        return Stream.of(
            arguments("slliw with shamt[5] set",   0x0205_151BL),   // slliw a0, a0, 32
            arguments("sraiw with shamt[5] set",   0x4205_551BL),
            arguments("branch with funct3 = 010",  0x0000_2063L),
            arguments("jalr with funct3 = 001",    0x0000_9067L),
            arguments("load with funct3 = 111",    0x0000_7503L),
            arguments("store with funct3 = 100",   0x0000_4023L),
            arguments("add with funct7 = 0000010", 0x04B5_0533L),
            arguments("the all-ones word",         0xFFFF_FFFFL));
    }

    @ParameterizedTest(name = "{0} is illegal")
    @MethodSource("reserved")
    void reservedEncodingTrapsIllegal(String name, long word) {
        HartFixture hart = HartFixture.runToTrap(engine, ".word " + word);
        assertEquals(2L, hart.csr("mcause"), name);
    }
}
