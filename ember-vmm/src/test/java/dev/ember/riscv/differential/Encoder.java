package dev.ember.riscv.differential;

import dev.ember.riscv.interp.FloatOps;
import dev.ember.riscv.isa.Decoder;
import dev.ember.riscv.isa.Op;
import dev.ember.riscv.isa.Rvc;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;

/**
 * Encodes RV64GC instructions as machine words, the inverse of {@link Decoder}: fast enough to
 * build tens of thousands of programs without an assembler.
 *
 * <p>No second opcode table: the fixed bits of each {@link Op} (opcode, funct3, funct7 and, for
 * ops such as {@code fcvt.w.s} or {@code ecall}, a fixed {@code rs2} field) are found once by
 * decoding every combination of those fields with {@code rd = rs1 = 0} and keeping the first
 * word that decodes to each op. The operand fields are then filled in by the op's
 * {@link Op.Format}, and the decoder stays the one place that knows the encodings.
 *
 * <p>Compressed forms come the same way from {@link Rvc}: {@link #compress} looks a 32-bit
 * word up in the inverse of the table of all 65536 expansions, so any word with a compressed
 * equivalent can be emitted as 16 bits. {@code EncoderTest} decodes what is encoded here.
 *
 * <p>Pure and thread-safe after class initialisation.
 */
final class Encoder {

    private Encoder() {}

    private static final Map<Op, Integer> BASE = findBases();

    /** Expanded 32-bit words, sorted, and the first halfword that expands to each. */
    private static final int[] EXPANDED;
    private static final short[] HALFWORD;

    static {
        int[] table = Rvc.buildTable();
        long[] pairs = new long[table.length];
        int n = 0;
        for (int h = 0; h < table.length; h++) {
            if ((h & 3) != 3 && table[h] != Rvc.ILLEGAL) {
                pairs[n++] = (long) table[h] << 32 | h;   // sorts by expansion, then by halfword
            }
        }
        pairs = Arrays.copyOf(pairs, n);
        Arrays.sort(pairs);
        int[] expanded = new int[n];
        short[] half = new short[n];
        int m = 0;
        for (long p : pairs) {
            int e = (int) (p >> 32);
            if (m == 0 || expanded[m - 1] != e) {
                expanded[m] = e;
                half[m] = (short) p;
                m++;
            }
        }
        EXPANDED = Arrays.copyOf(expanded, m);
        HALFWORD = Arrays.copyOf(half, m);
    }

    private static Map<Op, Integer> findBases() {
        Map<Op, Integer> bases = new EnumMap<>(Op.class);
        // funct3 and the rs2 field vary slowest, so an op whose funct3 is a rounding mode is found
        // with rm = 0 and a register operand with rs2 = 0.
        for (int rs2 = 0; rs2 < 32; rs2++) {
            for (int funct3 = 0; funct3 < 8; funct3++) {
                for (int funct7 = 0; funct7 < 128; funct7++) {
                    for (int major = 0; major < 32; major++) {
                        int word = funct7 << 25 | rs2 << 20 | funct3 << 12 | major << 2 | 3;
                        Op op = Decoder.op(word);
                        if (op != Op.ILLEGAL) {
                            bases.putIfAbsent(op, word);
                        }
                    }
                }
            }
        }
        for (Op op : Op.values()) {
            if (op != Op.ILLEGAL && !bases.containsKey(op)) {
                throw new IllegalStateException("no encoding found for " + op);
            }
        }
        return bases;
    }

    /** {@return the fixed bits of {@code op}, every operand field zero (rm 0 where it rounds)} */
    static int base(Op op) {
        return BASE.get(op);
    }

    /** {@code op rd, rs1, rs2} for the R formats, and the FP formats without a third source. */
    static int r(Op op, int rd, int rs1, int rs2) {
        return base(op) | rs2 << 20 | rs1 << 15 | rd << 7;
    }

    /** An FP op with rounding mode {@code rm} (0..7, 7 = DYN); formats FR, FR1, F2X, X2F. */
    static int fp(Op op, int rd, int rs1, int rs2, int rm) {
        int w = base(op) | rs1 << 15 | rd << 7;
        Op.Format f = op.format();
        if (f == Op.Format.FR || f == Op.Format.FRNR || f == Op.Format.FCMP) {
            w |= rs2 << 20;
        }
        if (FloatOps.usesRoundingMode(op)) {
            w = (w & ~(7 << 12)) | (rm & 7) << 12;
        }
        return w;
    }

    /** A fused multiply-add {@code rd = ±rs1 * rs2 ± rs3} with rounding mode {@code rm}. */
    static int r4(Op op, int rd, int rs1, int rs2, int rs3, int rm) {
        return (base(op) & ~(7 << 12)) | rs3 << 27 | rs2 << 20 | rs1 << 15 | (rm & 7) << 12 | rd << 7;
    }

    /** I-type: ALU immediates, loads, FP loads, JALR; {@code imm} is 12 bits, signed. */
    static int i(Op op, int rd, int rs1, int imm) {
        check(imm, -2048, 2047, op);
        return base(op) | (imm & 0xFFF) << 20 | rs1 << 15 | rd << 7;
    }

    /** Shifts by an immediate: 0..63, or 0..31 for the W forms. */
    static int shift(Op op, int rd, int rs1, int shamt) {
        boolean word = op == Op.SLLIW || op == Op.SRLIW || op == Op.SRAIW;
        check(shamt, 0, word ? 31 : 63, op);
        return base(op) | shamt << 20 | rs1 << 15 | rd << 7;
    }

    /** S-type: stores and FP stores, {@code op rs2, imm(rs1)}. */
    static int s(Op op, int rs2, int rs1, int imm) {
        check(imm, -2048, 2047, op);
        return base(op) | (imm >> 5 & 0x7F) << 25 | rs2 << 20 | rs1 << 15 | (imm & 0x1F) << 7;
    }

    /** B-type: a conditional branch by {@code offset} bytes (even, ±4 KiB). */
    static int b(Op op, int rs1, int rs2, int offset) {
        check(offset, -4096, 4094, op);
        return base(op) | (offset >> 12 & 1) << 31 | (offset >> 5 & 0x3F) << 25 | rs2 << 20 | rs1 << 15
                | (offset >> 1 & 0xF) << 8 | (offset >> 11 & 1) << 7;
    }

    /** LUI and AUIPC: {@code imm20} is the value of bits 31:12. */
    static int u(Op op, int rd, int imm20) {
        return base(op) | (imm20 & 0xF_FFFF) << 12 | rd << 7;
    }

    /** JAL by {@code offset} bytes (even, ±1 MiB). */
    static int jal(int rd, int offset) {
        check(offset, -(1 << 20), (1 << 20) - 2, Op.JAL);
        return base(Op.JAL) | (offset >> 20 & 1) << 31 | (offset >> 1 & 0x3FF) << 21 | (offset >> 11 & 1) << 20
                | (offset >> 12 & 0xFF) << 12 | rd << 7;
    }

    /** Zicsr with a register: {@code op rd, csr, rs1}; with an immediate, {@code rs1} is the 5-bit uimm. */
    static int csr(Op op, int rd, int csr, int rs1) {
        return base(op) | (csr & 0xFFF) << 20 | (rs1 & 31) << 15 | rd << 7;
    }

    /** LR, SC and the AMOs: {@code op rd, rs2, (rs1)} with the aq and rl bits. */
    static int amo(Op op, int rd, int rs1, int rs2, boolean aq, boolean rl) {
        return base(op) | (aq ? 1 << 26 : 0) | (rl ? 1 << 25 : 0) | rs2 << 20 | rs1 << 15 | rd << 7;
    }

    /** Instructions without operands (ECALL, MRET, FENCE.I...), and SFENCE.VMA's registers. */
    static int sys(Op op, int rs1, int rs2) {
        return base(op) | rs2 << 20 | rs1 << 15;
    }

    /** {@code li rd, imm} for a 32-bit signed {@code imm}: LUI and ADDIW, or ADDI alone. */
    static int[] li32(int rd, int imm) {
        if (imm >= -2048 && imm < 2048) {
            return new int[] {i(Op.ADDI, rd, 0, imm)};
        }
        int lo = imm << 20 >> 20;
        int hi = (imm - lo) >>> 12;
        return new int[] {u(Op.LUI, rd, hi), i(Op.ADDIW, rd, rd, lo)};
    }

    /**
     * {@return the 16-bit encoding that expands to {@code word}, or -1 if it has none}
     * Where several halfwords expand to the same word, the lowest is chosen.
     */
    static int compress(int word) {
        int k = Arrays.binarySearch(EXPANDED, word);
        return k < 0 ? -1 : HALFWORD[k] & 0xFFFF;
    }

    private static void check(int value, int min, int max, Op op) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(op + ": immediate " + value + " out of range [" + min + ", " + max + "]");
        }
    }
}
