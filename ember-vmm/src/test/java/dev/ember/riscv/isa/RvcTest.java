package dev.ember.riscv.isa;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.IntPredicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Checks {@link Rvc#expand} against GNU binutils for all 49152 16-bit encodings, and against
 * the "C" chapter's tables for the immediates, reserved code points and HINTs.
 *
 * <p>{@code src/test/resources/rvc/vectors.txt} is binutils' view of every halfword, made by
 * {@code gen.sh} beside it: objdump names the compressed instruction, and {@code as} without C
 * encodes the base instruction the chapter says it expands to. The test itself needs no
 * toolchain.
 *
 * <p>Where binutils and the chapter disagree, the chapter wins; {@link #SPEC_OVERRIDES} lists
 * each such class. HINTs need no special case: binutils decodes every RVC HINT as the
 * instruction it is carved from (C.ADDI, C.LI, C.LUI, C.MV, C.ADD, C.SLLI with rd = x0;
 * C.ADDI with imm 0; C.SLLI64/C.SRLI64/C.SRAI64 as shifts by 0), and Rvc expands them the same
 * way, which {@link #hintsExpandToInstructionsWithoutArchitecturalEffect} shows is harmless.
 */
class RvcTest {

    private static final int ILLEGAL = Rvc.ILLEGAL;

    /** Code points binutils 2.40 decodes but the chapter reserves; Rvc must reject them. */
    private static final Map<String, IntPredicate> SPEC_OVERRIDES = Map.of(
            // "Integer Register-Immediate Operations": C.ADDI16SP is only valid when nzimm != 0;
            // objdump prints c.addi16sp sp,0 for 0x6101.
            "C.ADDI16SP with nzimm = 0", h -> h == 0x6101);

    private record Vector(int halfword, int expected, String objdump) {}

    private static List<Vector> vectors() throws IOException {
        List<Vector> vectors = new ArrayList<>();
        try (InputStream in = Objects.requireNonNull(RvcTest.class.getResourceAsStream("/rvc/vectors.txt"),
                        "rvc/vectors.txt missing from the test classpath; run src/test/resources/rvc/gen.sh");
                BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII))) {
            for (String line; (line = reader.readLine()) != null; ) {
                if (line.startsWith("#")) {
                    continue;
                }
                String[] f = line.split(" ", 3);
                int expected = f[1].equals("illegal") ? ILLEGAL : Integer.parseUnsignedInt(f[1], 16);
                vectors.add(new Vector(Integer.parseInt(f[0], 16), expected, f[2]));
            }
        }
        return vectors;
    }

    @Test
    void everyCompressedEncodingMatchesBinutilsExceptWhereTheSpecOverrides() throws IOException {
        List<Vector> vectors = vectors();
        assertEquals(49152, vectors.size(), "one vector per halfword with bits [1:0] != 11");
        List<String> mismatches = new ArrayList<>();
        for (Vector v : vectors) {
            int actual = Rvc.expand(v.halfword());
            boolean overridden = SPEC_OVERRIDES.values().stream().anyMatch(p -> p.test(v.halfword()));
            int expected = overridden ? ILLEGAL : v.expected();
            if (actual != expected) {
                mismatches.add(String.format("%04x (%s): expected %08x, got %08x",
                        v.halfword(), v.objdump(), expected, actual));
            }
        }
        assertEquals(List.of(), mismatches.subList(0, Math.min(20, mismatches.size())),
                () -> mismatches.size() + " mismatches");
    }

    @Test
    void everySpecOverrideIsStillABinutilsDisagreement() throws IOException {
        // Keeps SPEC_OVERRIDES honest: each class must match vectors binutils decodes as legal.
        List<Vector> vectors = vectors();
        SPEC_OVERRIDES.forEach((name, p) -> assertTrue(
                vectors.stream().anyMatch(v -> p.test(v.halfword()) && v.expected() != ILLEGAL), name));
    }

    @Test
    void tableHoldsEveryExpansionAndNothingFor32BitEncodings() {
        int[] table = Rvc.buildTable();
        assertEquals(1 << 16, table.length);
        for (int h = 0; h < table.length; h++) {
            int expected = (h & 0b11) == 0b11 ? ILLEGAL : Rvc.expand(h);
            assertEquals(expected, table[h], String.format("%04x", h));
        }
    }

    @Test
    void onlyTheLow16BitsAreDecoded() {
        assertEquals(Rvc.expand(0x4515), Rvc.expand(0xABCD_4515));
    }

    // Hand-checked expansions for the scrambled immediates. The halfword fields are written out
    // as in the listing tables (Quadrant 0, 1, 2), most significant field first.
    static Stream<Arguments> trickyImmediates() {
        return Stream.of(
            //                                      halfword  expected     how the halfword is built
            arguments("c.addi4spn a0,sp,1020",      0x1FE8, 0x3FC1_0513), // 000 nzuimm[5:4|9:6|2|3]=11111111 rd'=010 00
            arguments("c.addi4spn s0,sp,4",         0x0040, 0x0041_0413), // 000 00 0000 1 0 rd'=000 00: nzuimm[2] is bit 6
            arguments("c.addi4spn s0,sp,8",         0x0020, 0x0081_0413), // nzuimm[3] is bit 5, below nzuimm[2]
            arguments("c.addi16sp sp,-512",         0x7101, 0xE001_0113), // 011 nzimm[9]=1 00010 00000 01: sign bit alone
            arguments("c.addi16sp sp,496",          0x617D, 0x1F01_0113), // 011 0 00010 nzimm[4|6|8:7|5]=11111 01
            arguments("c.addi16sp sp,16",           0x6141, 0x0101_0113), // nzimm[4] is bit 6
            arguments("c.lui a0,0xfffe0",           0x7501, 0xFFFE_0537), // 011 nzimm[17]=1 01010 00000 01: bit 17 sign-extends
            arguments("c.lui a0,0x1f",              0x657D, 0x0001_F537), // 011 0 01010 nzimm[16:12]=11111 01
            arguments("c.li a0,-32",                0x5501, 0xFE00_0513), // 010 imm[5]=1 01010 00000 01
            arguments("c.andi a0,-1",               0x997D, 0xFFF5_7513), // 100 1 10 010 11111 01
            arguments("c.addiw a0,0 (sext.w)",      0x2501, 0x0005_051B), // 001 0 01010 00000 01: imm 0 is legal here
            arguments("c.srai a0,63",               0x957D, 0x43F5_5513), // 100 shamt[5]=1 01 010 11111 01: 6-bit shamt
            arguments("c.srli s1,32",               0x9081, 0x0204_D493), // 100 shamt[5]=1 00 001 00000 01
            arguments("c.slli a0,63",               0x157E, 0x03F5_1513), // 000 shamt[5]=1 01010 11111 10
            arguments("c.j .-2048",                 0xB001, 0x801F_F06F), // 101 imm[11]=1, rest 0: most negative
            arguments("c.j .+2046",                 0xAFFD, 0x7FE0_006F), // 101 imm[11|4|9:8|10|6|7|3:1|5]=0 1 11 1 1 1 111 1
            arguments("c.j .+32",                   0xA005, 0x0200_006F), // imm[5] is bit 2
            arguments("c.beqz s0,.-256",            0xD001, 0xF004_00E3), // 110 imm[8]=1 00 000 00000 01
            arguments("c.bnez a5,.+254",            0xEFFD, 0x0E07_9F63), // 111 imm[8|4:3]=011 111 imm[7:6|2:1|5]=11111 01
            arguments("c.lwsp a0,252(sp)",          0x557E, 0x0FC1_2503), // 010 uimm[5]=1 01010 uimm[4:2|7:6]=11111 10
            arguments("c.lwsp a0,64(sp)",           0x4506, 0x0401_2503), // uimm[6] is bit 2, below uimm[2]
            arguments("c.ldsp ra,504(sp)",          0x70FE, 0x1F81_3083), // 011 uimm[5]=1 00001 uimm[4:3|8:6]=11111 10
            arguments("c.sdsp ra,504(sp)",          0xFF86, 0x1E11_3C23), // 111 uimm[5:3|8:6]=111111 00001 10
            arguments("c.swsp ra,252(sp)",          0xDF86, 0x0E11_2E23), // 110 uimm[5:2|7:6]=111111 00001 10
            arguments("c.fldsp fa0,8(sp)",          0x2522, 0x0081_3507), // 001 0 01010 01 000 10: fld
            arguments("c.fsdsp fa0,8(sp)",          0xA42A, 0x00A1_3427), // 101 001 000 01010 10: fsd
            arguments("c.lw a0,124(a5)",            0x5FE8, 0x07C7_A503), // 010 uimm[5:3]=111 rs1'=111 uimm[2|6]=11 rd'=010 00
            arguments("c.ld a0,248(a5)",            0x7FE8, 0x0F87_B503), // 011 uimm[5:3]=111 rs1'=111 uimm[7:6]=11 rd'=010 00
            arguments("c.fsd fa0,248(a5)",          0xBFE8, 0x0EA7_BC27), // 101: fsd, same immediate as c.sd
            arguments("c.jalr a0",                  0x9502, 0x0005_00E7), // 100 1 01010 00000 10: links ra
            arguments("c.jr ra",                    0x8082, 0x0000_8067), // 100 0 00001 00000 10
            arguments("c.mv a0,a1",                 0x852E, 0x00B0_0533), // add a0,zero,a1, not addi
            arguments("c.ebreak",                   0x9002, 0x0010_0073));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("trickyImmediates")
    void expandsTrickyImmediates(String asm, int halfword, int expected) {
        assertEquals(hex(expected), hex(Rvc.expand(halfword)), asm);
    }

    // Reserved code points (listing tables, "RES"), one representative each.
    static Stream<Arguments> reserved() {
        return Stream.of(
            arguments("all-zero halfword",               0x0000),
            arguments("c.addi4spn nzuimm=0, rd'=s1",     0x0004),
            arguments("quadrant 0 funct3=100",           0x8000),
            arguments("c.addiw rd=x0",                   0x2001),
            arguments("c.addi16sp nzimm=0",              0x6101),
            arguments("c.lui a0, nzimm=0",               0x6501),
            arguments("c.lui x0, nzimm=0",               0x6001),
            arguments("CA 100 1 11 .. 10 ..",            0x9C41),
            arguments("CA 100 1 11 .. 11 ..",            0x9C61),
            arguments("c.lwsp rd=x0",                    0x4002),
            arguments("c.ldsp rd=x0",                    0x6002),
            arguments("c.jr rs1=x0",                     0x8002),
            arguments("32-bit encoding (bits 11)",       0x0013));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("reserved")
    void reservedEncodingsAreIllegal(String name, int halfword) {
        assertEquals(hex(ILLEGAL), hex(Rvc.expand(halfword)), name);
    }

    // Table "RVC HINT instructions": each class, restated from halfword fields, with its code-point count.
    private record Hint(String name, int codePoints, IntPredicate matches) {}

    private static final List<Hint> HINTS = List.of(
        new Hint("C.NOP nzimm!=0",            63, h -> q(h) == 1 && f3(h) == 0b000 && rd(h) == 0 && imm6(h) != 0),
        new Hint("C.ADDI rd!=x0 nzimm=0",     31, h -> q(h) == 1 && f3(h) == 0b000 && rd(h) != 0 && imm6(h) == 0),
        new Hint("C.LI rd=x0",                64, h -> q(h) == 1 && f3(h) == 0b010 && rd(h) == 0),
        new Hint("C.LUI rd=x0 nzimm!=0",      63, h -> q(h) == 1 && f3(h) == 0b011 && rd(h) == 0 && imm6(h) != 0),
        new Hint("C.MV rd=x0 rs2!=x0",        31, h -> q(h) == 2 && f3(h) == 0b100 && bit12(h) == 0 && rd(h) == 0 && rs2(h) != 0),
        new Hint("C.ADD rd=x0 rs2!=x0",       31, h -> q(h) == 2 && f3(h) == 0b100 && bit12(h) == 1 && rd(h) == 0 && rs2(h) != 0),
        new Hint("C.SLLI rd=x0 nzimm!=0",     63, h -> q(h) == 2 && f3(h) == 0b000 && rd(h) == 0 && imm6(h) != 0),
        new Hint("C.SLLI64 rd=x0",             1, h -> q(h) == 2 && f3(h) == 0b000 && rd(h) == 0 && imm6(h) == 0),
        new Hint("C.SLLI64 rd!=x0",           31, h -> q(h) == 2 && f3(h) == 0b000 && rd(h) != 0 && imm6(h) == 0),
        new Hint("C.SRLI64",                   8, h -> q(h) == 1 && f3(h) == 0b100 && funct2(h) == 0b00 && imm6(h) == 0),
        new Hint("C.SRAI64",                   8, h -> q(h) == 1 && f3(h) == 0b100 && funct2(h) == 0b01 && imm6(h) == 0));

    @Test
    void hintsExpandToInstructionsWithoutArchitecturalEffect() {
        Map<String, Integer> counts = new LinkedHashMap<>();
        Map<String, Integer> expectedCounts = new LinkedHashMap<>();
        for (Hint hint : HINTS) {
            expectedCounts.put(hint.name(), hint.codePoints());
            counts.put(hint.name(), 0);
            for (int h = 0; h < 1 << 16; h++) {
                if ((h & 0b11) != 0b11 && hint.matches().test(h)) {
                    counts.merge(hint.name(), 1, Integer::sum);
                    int word = Rvc.expand(h);
                    assertTrue(word != ILLEGAL && hasNoArchitecturalEffect(word),
                            String.format("%s %04x -> %08x", hint.name(), h, word));
                }
            }
        }
        assertEquals(expectedCounts, counts, "code points per HINT class, as the spec's table counts them");
    }

    /** True for writes to x0 and for OP-IMM instructions that rewrite rd with itself (imm or shamt 0). */
    private static boolean hasNoArchitecturalEffect(int word) {
        int opcode = word & 0x7F;
        int rd = word >>> 7 & 0x1F;
        int funct3 = word >>> 12 & 0x7;
        int rs1 = word >>> 15 & 0x1F;
        boolean integerWrite = opcode == 0x13 || opcode == 0x33 || opcode == 0x37;   // OP-IMM, OP, LUI
        if (integerWrite && rd == 0) {
            return true;
        }
        boolean addOrShiftByZero = (funct3 == 0b000 && word >>> 20 == 0)                   // addi rd, rd, 0
                || ((funct3 == 0b001 || funct3 == 0b101) && (word >>> 20 & 0x3F) == 0);    // slli/srli/srai by 0
        return opcode == 0x13 && rd == rs1 && addOrShiftByZero;
    }

    private static int q(int h) { return h & 0b11; }
    private static int f3(int h) { return h >>> 13; }
    private static int bit12(int h) { return h >>> 12 & 1; }
    private static int rd(int h) { return h >>> 7 & 0x1F; }
    private static int rs2(int h) { return h >>> 2 & 0x1F; }
    private static int funct2(int h) { return h >>> 10 & 0b11; }
    private static int imm6(int h) { return bit12(h) << 5 | rs2(h); }

    private static String hex(int word) { return String.format("%08x", word); }
}
