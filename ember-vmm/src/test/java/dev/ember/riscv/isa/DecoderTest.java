package dev.ember.riscv.isa;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The decode table ({@link Decoder}) against itself, against {@link Op} and {@link OpCode}, and
 * against GNU binutils' disassembler for tens of thousands of words.
 */
class DecoderTest {

    @Test
    void noTwoPatternsMatchTheSameWord() {
        List<Decoder.Pattern> table = Decoder.table();
        for (int i = 0; i < table.size(); i++) {
            for (int j = i + 1; j < table.size(); j++) {
                Decoder.Pattern a = table.get(i), b = table.get(j);
                boolean overlap = ((a.match() ^ b.match()) & a.mask() & b.mask()) == 0;
                assertTrue(!overlap, a.op() + " and " + b.op() + " match a common word");
            }
        }
    }

    @Test
    void everyOpButIllegalHasExactlyOnePattern() {
        Set<Op> seen = EnumSet.noneOf(Op.class);
        for (Decoder.Pattern p : Decoder.table()) {
            assertTrue(seen.add(p.op()), p.op() + " has two patterns");
        }
        assertEquals(EnumSet.complementOf(EnumSet.of(Op.ILLEGAL)), seen);
    }

    @Test
    void opCodeConstantsAreTheOrdinals() throws IllegalAccessException {
        int constants = 0;
        for (Field f : OpCode.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == int.class) {
                assertEquals(Op.valueOf(f.getName()).ordinal(), f.getInt(null), f.getName());
                constants++;
            }
        }
        assertEquals(Op.values().length, constants, "every Op has an OpCode constant");
    }

    @Test
    void packedFieldsRoundTrip() {
        long insn = Insn.pack(Op.FMADD_D, 31, 17, 5, 7, -123456789L, true);
        assertEquals(Op.FMADD_D, Insn.op(insn));
        assertEquals(31, Insn.rd(insn));
        assertEquals(17, Insn.rs1(insn));
        assertEquals(5, Insn.rs2(insn));
        assertEquals(7, Insn.rm(insn));
        assertEquals(-123456789L, Insn.imm(insn));
        assertEquals(2, Insn.length(insn));
        assertTrue(insn != 0, "a decoded instruction is never 0");
    }

    @Test
    void decodesOperandsOfEachFormat() {
        // addi a0, a1, -1; sd a2, -8(sp); beq a0, a1, -4; lui a0, 0x80000; jal ra, 2048
        assertEquals("addi a0, a1, -1", Disassembler.format(Decoder.decode(0xfff58513)));
        assertEquals("sd a2, -8(sp)", Disassembler.format(Decoder.decode(0xfec13c23)));
        assertEquals("beq a0, a1, 0x7c", Disassembler.format(Decoder.decode(0xfeb50ee3), 0x80));
        assertEquals("lui a0, 0x80000", Disassembler.format(Decoder.decode(0x80000537)));
        assertEquals(-0x8000_0000L, Insn.imm(Decoder.decode(0x80000537)));
        assertEquals("jal ra, pc+2048", Disassembler.format(Decoder.decode(0x001000ef)));
        assertEquals("fmadd.d fa0, fa1, fa2, fa3, rne", Disassembler.format(Decoder.decode(0x6ac58543)));
        assertEquals("csrrs a0, mstatus, zero", Disassembler.format(Decoder.decode(0x30002573)));
        // c.addi a0, 1 expands to addi a0, a0, 1 and is 2 bytes long
        long c = Decoder.decode(0x0505);
        assertEquals("addi a0, a0, 1", Disassembler.format(c));
        assertEquals(2, Insn.length(c));
        assertEquals(Op.ILLEGAL, Insn.op(Decoder.decode(0)), "the all-zero halfword is reserved");
    }

    /**
     * Every pattern with random don't-care bits, and random words, disassembled by binutils
     * ({@code objdump -M no-aliases}): where binutils names an RV64GC instruction, the decoder
     * must name the same one; where binutils names nothing, or an instruction of an extension
     * Ember does not implement, the decoder must say ILLEGAL. The one documented difference:
     * FP ops with a reserved static rounding mode (5, 6) decode to their op, and are illegal at
     * execution, where DYN's rounding mode is checked too; FENCE and FENCE.I with nonzero
     * reserved fields, which the ISA says to execute as plain fences; and FCVT.D.S, FCVT.D.W and
     * FCVT.D.WU with a rounding mode other than RNE, which binutils 2.40 does not print.
     */
    @Test
    void agreesWithBinutilsObjdump(@TempDir Path dir) throws IOException, InterruptedException {
        Random random = new Random(20261202);
        List<Integer> words = new ArrayList<>();
        for (Decoder.Pattern p : Decoder.table()) {
            for (int n = 0; n < 64; n++) {
                words.add((random.nextInt() & ~p.mask()) | p.match());
            }
        }
        while (words.size() < 40_000) {
            int w = random.nextInt() | 3;
            if ((w & 0x1F) != 0x1F) {   // bits [4:0] = 11111: a 48-bit or longer encoding
                words.add(w);
            }
        }
        ByteBuffer image = ByteBuffer.allocate(4 * words.size()).order(ByteOrder.LITTLE_ENDIAN);
        words.forEach(image::putInt);
        Path bin = dir.resolve("words.bin");
        Files.write(bin, image.array());
        Process objdump = new ProcessBuilder("riscv64-linux-gnu-objdump", "-D", "-b", "binary", "-m", "riscv:rv64",
                "-M", "no-aliases", bin.toString()).redirectErrorStream(true).start();
        List<String> lines = new String(objdump.getInputStream().readAllBytes()).lines().toList();
        assertTrue(objdump.waitFor(60, TimeUnit.SECONDS) && objdump.exitValue() == 0, "objdump failed: " + lines);

        Set<String> ours = new HashSet<>();
        for (Op op : Op.values()) {
            ours.add(op.mnemonic());
        }
        int compared = 0;
        List<String> disagreements = new ArrayList<>();
        for (String line : lines) {
            String[] f = line.split("\t");
            if (f.length < 3 || !f[0].trim().endsWith(":")) {
                continue;
            }
            int word = (int) Long.parseLong(f[1].trim(), 16);
            String theirs = f[2].trim().split("\\s+")[0].toLowerCase(Locale.ROOT).replaceAll("\\.(aqrl|aq|rl)$", "");
            if (theirs.equals("fence.tso") || theirs.equals("pause")) {
                theirs = "fence";
            }
            long insn = Decoder.decode(word);
            Op op = Insn.op(insn);
            boolean binutilsKnows = ours.contains(theirs) && !theirs.equals("illegal");
            boolean reservedRm = op.usesFp() && (Insn.rm(insn) == 5 || Insn.rm(insn) == 6);
            // Unprivileged ISA §2.7 and §6.1: base implementations ignore FENCE's and FENCE.I's
            // unused fields and treat reserved fm values as a plain fence; binutils rejects them.
            boolean fenceWithReservedFields = op == Op.FENCE || op == Op.FENCE_I;
            // The exact conversions have an rm field like every FCVT; binutils 2.40 accepts only
            // rm = 000 there, the ISA (and QEMU) any valid mode.
            boolean exactConversion = (op == Op.FCVT_D_S || op == Op.FCVT_D_W || op == Op.FCVT_D_WU) && Insn.rm(insn) != 0;
            // Raw words are disassembled without the H extension (no ELF attribute names it):
            // hypervisorInstructionsAgreeWithBinutils checks those.
            boolean hypervisor = isHypervisor(op);
            boolean agree = binutilsKnows ? op.mnemonic().equals(theirs)
                    : op == Op.ILLEGAL || reservedRm || fenceWithReservedFields || exactConversion || hypervisor;
            if (!agree) {
                disagreements.add("%08x: binutils %s, decoder %s".formatted(word, f[2].trim(), Disassembler.format(insn)));
            }
            compared++;
        }
        assertEquals(words.size(), compared, "objdump printed one line per word");
        assertEquals(List.of(), disagreements.subList(0, Math.min(20, disagreements.size())),
                disagreements.size() + " disagreements");
    }

    private static boolean isHypervisor(Op op) {
        return op.name().startsWith("HLV") || op.name().startsWith("HSV") || op.name().startsWith("HFENCE");
    }

    /**
     * Every H-extension instruction (privileged ISA, § Hypervisor Instructions), assembled by
     * binutils with the extension on and every register in each operand field, decodes to the
     * op binutils assembled, with its registers.
     */
    @Test
    void hypervisorInstructionsAgreeWithBinutils() {
        StringBuilder source = new StringBuilder(".option arch, +h\n");
        List<String> expected = new ArrayList<>();
        for (Op op : Op.values()) {
            if (!isHypervisor(op)) {
                continue;
            }
            for (int r = 0; r < 32; r++) {
                int other = (r * 7 + 3) % 32;
                String line = switch (op.format()) {
                    case LR -> op.mnemonic() + " x" + r + ", (x" + other + ")";
                    case HSV -> op.mnemonic() + " x" + r + ", (x" + other + ")";
                    default -> op.mnemonic() + " x" + r + ", x" + other;
                };
                source.append(line).append('\n');
                expected.add(op.mnemonic() + "/" + r + "/" + other);
            }
        }
        byte[] code = dev.ember.riscv.testing.Assembler.assemble(source.toString());
        ByteBuffer words = ByteBuffer.wrap(code).order(ByteOrder.LITTLE_ENDIAN);
        List<String> seen = new ArrayList<>();
        while (words.remaining() >= 4) {
            long insn = Decoder.decode(words.getInt());
            Op op = Insn.op(insn);
            int first = switch (op.format()) {
                case HSV -> Insn.rs2(insn);
                case SFENCE -> Insn.rs1(insn);
                default -> Insn.rd(insn);
            };
            int second = op.format() == Op.Format.SFENCE ? Insn.rs2(insn) : Insn.rs1(insn);
            seen.add(op.mnemonic() + "/" + first + "/" + second);
        }
        assertEquals(expected, seen);
    }
}
