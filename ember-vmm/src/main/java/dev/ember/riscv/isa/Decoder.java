package dev.ember.riscv.isa;

import java.util.ArrayList;
import java.util.List;

/**
 * Decodes RV64GC instruction words into {@link Insn}s: the one decoder both execution engines,
 * the disassembler and the tests use.
 *
 * <p>The table is written in the bit-pattern notation of the manuals' opcode listings ("RV32/64G
 * Instruction Set Listings" in the unprivileged ISA, the privileged ISA's "RISC-V Privileged
 * Instructions" table), as QEMU's {@code insn32.decode} is: one line per instruction, most
 * significant bit first, {@code 0}/{@code 1} fixed and {@code .} ignored; spaces separate
 * {@code funct7 rs2 rs1 funct3 rd opcode} for the reader. During class initialisation each
 * pattern becomes a {@code (mask, match)} pair, bucketed by {@code opcode[6:2]} and
 * {@code funct3}; a pattern that leaves {@code funct3} open (LUI, the FP ops' rounding mode)
 * joins every bucket it matches. A decode is one array index and a scan of a handful of
 * patterns. Within a bucket the first match wins; the table has no overlapping patterns, which
 * {@code DecoderTest} checks.
 *
 * <p>Compressed instructions are expanded by {@link Rvc} to the 32-bit instruction they stand
 * for, then decoded here; the result remembers it was 16 bits long.
 *
 * <p><b>Guest-controlled.</b> Every 32-bit value decodes to an {@code Insn}; reserved and
 * unimplemented encodings (H and Q formats, reserved funct fields, the reserved RVC code points)
 * decode to {@link Op#ILLEGAL}. Register fields are 5 bits wide by construction. What decoding
 * cannot know, whether an instruction is legal at the current privilege level or with the FPU
 * off, or whether a dynamic rounding mode is valid, the executing engine checks.
 *
 * <p>Pure and allocation-free after class initialisation; thread-safe.
 */
public final class Decoder {

    private Decoder() {}

    private static final Pattern[] TABLE = {
        //                 funct7  rs2   rs1   f3  rd    opcode
        // RV32I / RV64I base
        p(Op.LUI,        "....... ..... ..... ... ..... 0110111"),
        p(Op.AUIPC,      "....... ..... ..... ... ..... 0010111"),
        p(Op.JAL,        "....... ..... ..... ... ..... 1101111"),
        p(Op.JALR,       "....... ..... ..... 000 ..... 1100111"),
        p(Op.BEQ,        "....... ..... ..... 000 ..... 1100011"),
        p(Op.BNE,        "....... ..... ..... 001 ..... 1100011"),
        p(Op.BLT,        "....... ..... ..... 100 ..... 1100011"),
        p(Op.BGE,        "....... ..... ..... 101 ..... 1100011"),
        p(Op.BLTU,       "....... ..... ..... 110 ..... 1100011"),
        p(Op.BGEU,       "....... ..... ..... 111 ..... 1100011"),
        p(Op.LB,         "....... ..... ..... 000 ..... 0000011"),
        p(Op.LH,         "....... ..... ..... 001 ..... 0000011"),
        p(Op.LW,         "....... ..... ..... 010 ..... 0000011"),
        p(Op.LD,         "....... ..... ..... 011 ..... 0000011"),
        p(Op.LBU,        "....... ..... ..... 100 ..... 0000011"),
        p(Op.LHU,        "....... ..... ..... 101 ..... 0000011"),
        p(Op.LWU,        "....... ..... ..... 110 ..... 0000011"),
        p(Op.SB,         "....... ..... ..... 000 ..... 0100011"),
        p(Op.SH,         "....... ..... ..... 001 ..... 0100011"),
        p(Op.SW,         "....... ..... ..... 010 ..... 0100011"),
        p(Op.SD,         "....... ..... ..... 011 ..... 0100011"),
        p(Op.ADDI,       "....... ..... ..... 000 ..... 0010011"),
        p(Op.SLTI,       "....... ..... ..... 010 ..... 0010011"),
        p(Op.SLTIU,      "....... ..... ..... 011 ..... 0010011"),
        p(Op.XORI,       "....... ..... ..... 100 ..... 0010011"),
        p(Op.ORI,        "....... ..... ..... 110 ..... 0010011"),
        p(Op.ANDI,       "....... ..... ..... 111 ..... 0010011"),
        p(Op.SLLI,       "000000. ..... ..... 001 ..... 0010011"),   // RV64: shamt[5] in bit 25
        p(Op.SRLI,       "000000. ..... ..... 101 ..... 0010011"),
        p(Op.SRAI,       "010000. ..... ..... 101 ..... 0010011"),
        p(Op.ADD,        "0000000 ..... ..... 000 ..... 0110011"),
        p(Op.SUB,        "0100000 ..... ..... 000 ..... 0110011"),
        p(Op.SLL,        "0000000 ..... ..... 001 ..... 0110011"),
        p(Op.SLT,        "0000000 ..... ..... 010 ..... 0110011"),
        p(Op.SLTU,       "0000000 ..... ..... 011 ..... 0110011"),
        p(Op.XOR,        "0000000 ..... ..... 100 ..... 0110011"),
        p(Op.SRL,        "0000000 ..... ..... 101 ..... 0110011"),
        p(Op.SRA,        "0100000 ..... ..... 101 ..... 0110011"),
        p(Op.OR,         "0000000 ..... ..... 110 ..... 0110011"),
        p(Op.AND,        "0000000 ..... ..... 111 ..... 0110011"),
        p(Op.ADDIW,      "....... ..... ..... 000 ..... 0011011"),
        p(Op.SLLIW,      "0000000 ..... ..... 001 ..... 0011011"),
        p(Op.SRLIW,      "0000000 ..... ..... 101 ..... 0011011"),
        p(Op.SRAIW,      "0100000 ..... ..... 101 ..... 0011011"),
        p(Op.ADDW,       "0000000 ..... ..... 000 ..... 0111011"),
        p(Op.SUBW,       "0100000 ..... ..... 000 ..... 0111011"),
        p(Op.SLLW,       "0000000 ..... ..... 001 ..... 0111011"),
        p(Op.SRLW,       "0000000 ..... ..... 101 ..... 0111011"),
        p(Op.SRAW,       "0100000 ..... ..... 101 ..... 0111011"),
        p(Op.FENCE,      "....... ..... ..... 000 ..... 0001111"),   // fm, pred, succ: all orderings are full fences
        p(Op.ECALL,      "0000000 00000 00000 000 00000 1110011"),
        p(Op.EBREAK,     "0000000 00001 00000 000 00000 1110011"),

        // Zifencei
        p(Op.FENCE_I,    "....... ..... ..... 001 ..... 0001111"),

        // Zicsr
        p(Op.CSRRW,      "....... ..... ..... 001 ..... 1110011"),
        p(Op.CSRRS,      "....... ..... ..... 010 ..... 1110011"),
        p(Op.CSRRC,      "....... ..... ..... 011 ..... 1110011"),
        p(Op.CSRRWI,     "....... ..... ..... 101 ..... 1110011"),
        p(Op.CSRRSI,     "....... ..... ..... 110 ..... 1110011"),
        p(Op.CSRRCI,     "....... ..... ..... 111 ..... 1110011"),

        // M
        p(Op.MUL,        "0000001 ..... ..... 000 ..... 0110011"),
        p(Op.MULH,       "0000001 ..... ..... 001 ..... 0110011"),
        p(Op.MULHSU,     "0000001 ..... ..... 010 ..... 0110011"),
        p(Op.MULHU,      "0000001 ..... ..... 011 ..... 0110011"),
        p(Op.DIV,        "0000001 ..... ..... 100 ..... 0110011"),
        p(Op.DIVU,       "0000001 ..... ..... 101 ..... 0110011"),
        p(Op.REM,        "0000001 ..... ..... 110 ..... 0110011"),
        p(Op.REMU,       "0000001 ..... ..... 111 ..... 0110011"),
        p(Op.MULW,       "0000001 ..... ..... 000 ..... 0111011"),
        p(Op.DIVW,       "0000001 ..... ..... 100 ..... 0111011"),
        p(Op.DIVUW,      "0000001 ..... ..... 101 ..... 0111011"),
        p(Op.REMW,       "0000001 ..... ..... 110 ..... 0111011"),
        p(Op.REMUW,      "0000001 ..... ..... 111 ..... 0111011"),

        // A: funct5, aq, rl (ignored: every AMO is sequentially consistent here)
        p(Op.LR_W,       "00010.. 00000 ..... 010 ..... 0101111"),
        p(Op.SC_W,       "00011.. ..... ..... 010 ..... 0101111"),
        p(Op.AMOSWAP_W,  "00001.. ..... ..... 010 ..... 0101111"),
        p(Op.AMOADD_W,   "00000.. ..... ..... 010 ..... 0101111"),
        p(Op.AMOXOR_W,   "00100.. ..... ..... 010 ..... 0101111"),
        p(Op.AMOAND_W,   "01100.. ..... ..... 010 ..... 0101111"),
        p(Op.AMOOR_W,    "01000.. ..... ..... 010 ..... 0101111"),
        p(Op.AMOMIN_W,   "10000.. ..... ..... 010 ..... 0101111"),
        p(Op.AMOMAX_W,   "10100.. ..... ..... 010 ..... 0101111"),
        p(Op.AMOMINU_W,  "11000.. ..... ..... 010 ..... 0101111"),
        p(Op.AMOMAXU_W,  "11100.. ..... ..... 010 ..... 0101111"),
        p(Op.LR_D,       "00010.. 00000 ..... 011 ..... 0101111"),
        p(Op.SC_D,       "00011.. ..... ..... 011 ..... 0101111"),
        p(Op.AMOSWAP_D,  "00001.. ..... ..... 011 ..... 0101111"),
        p(Op.AMOADD_D,   "00000.. ..... ..... 011 ..... 0101111"),
        p(Op.AMOXOR_D,   "00100.. ..... ..... 011 ..... 0101111"),
        p(Op.AMOAND_D,   "01100.. ..... ..... 011 ..... 0101111"),
        p(Op.AMOOR_D,    "01000.. ..... ..... 011 ..... 0101111"),
        p(Op.AMOMIN_D,   "10000.. ..... ..... 011 ..... 0101111"),
        p(Op.AMOMAX_D,   "10100.. ..... ..... 011 ..... 0101111"),
        p(Op.AMOMINU_D,  "11000.. ..... ..... 011 ..... 0101111"),
        p(Op.AMOMAXU_D,  "11100.. ..... ..... 011 ..... 0101111"),

        // F: fmt = 00 in bits [26:25]; rm is funct3 where the op rounds
        p(Op.FLW,        "....... ..... ..... 010 ..... 0000111"),
        p(Op.FSW,        "....... ..... ..... 010 ..... 0100111"),
        p(Op.FMADD_S,    ".....00 ..... ..... ... ..... 1000011"),
        p(Op.FMSUB_S,    ".....00 ..... ..... ... ..... 1000111"),
        p(Op.FNMSUB_S,   ".....00 ..... ..... ... ..... 1001011"),
        p(Op.FNMADD_S,   ".....00 ..... ..... ... ..... 1001111"),
        p(Op.FADD_S,     "0000000 ..... ..... ... ..... 1010011"),
        p(Op.FSUB_S,     "0000100 ..... ..... ... ..... 1010011"),
        p(Op.FMUL_S,     "0001000 ..... ..... ... ..... 1010011"),
        p(Op.FDIV_S,     "0001100 ..... ..... ... ..... 1010011"),
        p(Op.FSQRT_S,    "0101100 00000 ..... ... ..... 1010011"),
        p(Op.FSGNJ_S,    "0010000 ..... ..... 000 ..... 1010011"),
        p(Op.FSGNJN_S,   "0010000 ..... ..... 001 ..... 1010011"),
        p(Op.FSGNJX_S,   "0010000 ..... ..... 010 ..... 1010011"),
        p(Op.FMIN_S,     "0010100 ..... ..... 000 ..... 1010011"),
        p(Op.FMAX_S,     "0010100 ..... ..... 001 ..... 1010011"),
        p(Op.FCVT_W_S,   "1100000 00000 ..... ... ..... 1010011"),
        p(Op.FCVT_WU_S,  "1100000 00001 ..... ... ..... 1010011"),
        p(Op.FCVT_L_S,   "1100000 00010 ..... ... ..... 1010011"),
        p(Op.FCVT_LU_S,  "1100000 00011 ..... ... ..... 1010011"),
        p(Op.FMV_X_W,    "1110000 00000 ..... 000 ..... 1010011"),
        p(Op.FCLASS_S,   "1110000 00000 ..... 001 ..... 1010011"),
        p(Op.FEQ_S,      "1010000 ..... ..... 010 ..... 1010011"),
        p(Op.FLT_S,      "1010000 ..... ..... 001 ..... 1010011"),
        p(Op.FLE_S,      "1010000 ..... ..... 000 ..... 1010011"),
        p(Op.FCVT_S_W,   "1101000 00000 ..... ... ..... 1010011"),
        p(Op.FCVT_S_WU,  "1101000 00001 ..... ... ..... 1010011"),
        p(Op.FCVT_S_L,   "1101000 00010 ..... ... ..... 1010011"),
        p(Op.FCVT_S_LU,  "1101000 00011 ..... ... ..... 1010011"),
        p(Op.FMV_W_X,    "1111000 00000 ..... 000 ..... 1010011"),

        // D: fmt = 01
        p(Op.FLD,        "....... ..... ..... 011 ..... 0000111"),
        p(Op.FSD,        "....... ..... ..... 011 ..... 0100111"),
        p(Op.FMADD_D,    ".....01 ..... ..... ... ..... 1000011"),
        p(Op.FMSUB_D,    ".....01 ..... ..... ... ..... 1000111"),
        p(Op.FNMSUB_D,   ".....01 ..... ..... ... ..... 1001011"),
        p(Op.FNMADD_D,   ".....01 ..... ..... ... ..... 1001111"),
        p(Op.FADD_D,     "0000001 ..... ..... ... ..... 1010011"),
        p(Op.FSUB_D,     "0000101 ..... ..... ... ..... 1010011"),
        p(Op.FMUL_D,     "0001001 ..... ..... ... ..... 1010011"),
        p(Op.FDIV_D,     "0001101 ..... ..... ... ..... 1010011"),
        p(Op.FSQRT_D,    "0101101 00000 ..... ... ..... 1010011"),
        p(Op.FSGNJ_D,    "0010001 ..... ..... 000 ..... 1010011"),
        p(Op.FSGNJN_D,   "0010001 ..... ..... 001 ..... 1010011"),
        p(Op.FSGNJX_D,   "0010001 ..... ..... 010 ..... 1010011"),
        p(Op.FMIN_D,     "0010101 ..... ..... 000 ..... 1010011"),
        p(Op.FMAX_D,     "0010101 ..... ..... 001 ..... 1010011"),
        p(Op.FCVT_S_D,   "0100000 00001 ..... ... ..... 1010011"),
        p(Op.FCVT_D_S,   "0100001 00000 ..... ... ..... 1010011"),
        p(Op.FCVT_W_D,   "1100001 00000 ..... ... ..... 1010011"),
        p(Op.FCVT_WU_D,  "1100001 00001 ..... ... ..... 1010011"),
        p(Op.FCVT_L_D,   "1100001 00010 ..... ... ..... 1010011"),
        p(Op.FCVT_LU_D,  "1100001 00011 ..... ... ..... 1010011"),
        p(Op.FMV_X_D,    "1110001 00000 ..... 000 ..... 1010011"),
        p(Op.FCLASS_D,   "1110001 00000 ..... 001 ..... 1010011"),
        p(Op.FEQ_D,      "1010001 ..... ..... 010 ..... 1010011"),
        p(Op.FLT_D,      "1010001 ..... ..... 001 ..... 1010011"),
        p(Op.FLE_D,      "1010001 ..... ..... 000 ..... 1010011"),
        p(Op.FCVT_D_W,   "1101001 00000 ..... ... ..... 1010011"),
        p(Op.FCVT_D_WU,  "1101001 00001 ..... ... ..... 1010011"),
        p(Op.FCVT_D_L,   "1101001 00010 ..... ... ..... 1010011"),
        p(Op.FCVT_D_LU,  "1101001 00011 ..... ... ..... 1010011"),
        p(Op.FMV_D_X,    "1111001 00000 ..... 000 ..... 1010011"),

        // Privileged
        p(Op.SRET,       "0001000 00010 00000 000 00000 1110011"),
        p(Op.MRET,       "0011000 00010 00000 000 00000 1110011"),
        p(Op.WFI,        "0001000 00101 00000 000 00000 1110011"),
        p(Op.SFENCE_VMA, "0001001 ..... ..... 000 00000 1110011"),
        p(Op.HFENCE_VVMA, "0010001 ..... ..... 000 00000 1110011"),
        p(Op.HFENCE_GVMA, "0110001 ..... ..... 000 00000 1110011"),
        p(Op.HLV_B,      "0110000 00000 ..... 100 ..... 1110011"),
        p(Op.HLV_BU,     "0110000 00001 ..... 100 ..... 1110011"),
        p(Op.HLV_H,      "0110010 00000 ..... 100 ..... 1110011"),
        p(Op.HLV_HU,     "0110010 00001 ..... 100 ..... 1110011"),
        p(Op.HLVX_HU,    "0110010 00011 ..... 100 ..... 1110011"),
        p(Op.HLV_W,      "0110100 00000 ..... 100 ..... 1110011"),
        p(Op.HLV_WU,     "0110100 00001 ..... 100 ..... 1110011"),
        p(Op.HLVX_WU,    "0110100 00011 ..... 100 ..... 1110011"),
        p(Op.HLV_D,      "0110110 00000 ..... 100 ..... 1110011"),
        p(Op.HSV_B,      "0110001 ..... ..... 100 00000 1110011"),
        p(Op.HSV_H,      "0110011 ..... ..... 100 00000 1110011"),
        p(Op.HSV_W,      "0110101 ..... ..... 100 00000 1110011"),
        p(Op.HSV_D,      "0110111 ..... ..... 100 00000 1110011"),
    };

    /** Patterns by {@code opcode[6:2] << 3 | funct3}. */
    private static final Pattern[][] BUCKETS = bucket(TABLE);

    /** Expansions of every 16-bit encoding, {@link Rvc#ILLEGAL} where reserved. */
    private static final int[] RVC = Rvc.buildTable();

    /** {@return the op a 32-bit word encodes, or {@link Op#ILLEGAL}} */
    public static Op op(int word) {
        if ((word & 0b11) != 0b11) {
            return Op.ILLEGAL;
        }
        for (Pattern p : BUCKETS[(word >>> 2) & 0x1F | ((word >>> 12) & 7) << 5]) {
            if ((word & p.mask) == p.match) {
                return p.op;
            }
        }
        return Op.ILLEGAL;
    }

    /**
     * Decodes the instruction whose first bits are the low bits of {@code bits}: a 32-bit word,
     * or a 16-bit RVC halfword in the low half when bits [1:0] are not {@code 11}.
     *
     * @return the decoded instruction, never 0
     */
    public static long decode(int bits) {
        if ((bits & 0b11) == 0b11) {
            return decode32(bits, false);
        }
        int expanded = RVC[bits & 0xFFFF];
        return expanded == Rvc.ILLEGAL ? Insn.pack(Op.ILLEGAL, 0, 0, 0, 0, 0, true) : decode32(expanded, true);
    }

    /** {@return whether the instruction beginning with halfword {@code low} is 32 bits long} */
    public static boolean is32Bit(int low) {
        return (low & 0b11) == 0b11;
    }

    private static long decode32(int w, boolean compressed) {
        Op op = op(w);
        long imm = switch (op.format()) {
            case I, LOAD, FLOAD -> w >> 20;
            case SHIFT -> (w >>> 20) & 63;
            case S, FSTORE -> ((w >> 25) << 5) | ((w >>> 7) & 0x1F);
            case B -> immB(w);
            case U -> w & 0xFFFF_F000;
            case J -> immJ(w);
            case CSR, CSRI -> w >>> 20;
            case R4 -> w >>> 27;
            default -> 0;
        };
        return Insn.pack(op, w >>> 7, w >>> 15, w >>> 20, w >>> 12, imm, compressed);
    }

    /** {@return the B-type immediate, {@code insn[31|7|30:25|11:8] << 1}} */
    static long immB(int w) {
        return ((w >> 31) << 12) | (((w >>> 7) & 1) << 11) | (((w >>> 25) & 0x3F) << 5) | (((w >>> 8) & 0xF) << 1);
    }

    /** {@return the J-type immediate, {@code insn[31|19:12|20|30:21] << 1}} */
    static long immJ(int w) {
        return ((w >> 31) << 20) | (w & 0x000F_F000) | (((w >>> 20) & 1) << 11) | (((w >>> 21) & 0x3FF) << 1);
    }

    /** {@return the table as (op, mask, match) triples, for tests} */
    static List<Pattern> table() {
        return List.of(TABLE);
    }

    record Pattern(Op op, int mask, int match) {}

    private static Pattern p(Op op, String bits) {
        String b = bits.replace(" ", "");
        if (b.length() != 32) {
            throw new IllegalArgumentException(op + ": pattern has " + b.length() + " bits, not 32");
        }
        int mask = 0;
        int match = 0;
        for (int i = 0; i < 32; i++) {
            int bit = 1 << (31 - i);
            switch (b.charAt(i)) {
                case '0' -> mask |= bit;
                case '1' -> { mask |= bit; match |= bit; }
                case '.' -> { }
                default -> throw new IllegalArgumentException(op + ": unexpected '" + b.charAt(i) + "'");
            }
        }
        return new Pattern(op, mask, match);
    }

    private static Pattern[][] bucket(Pattern[] table) {
        List<List<Pattern>> buckets = new ArrayList<>();
        for (int i = 0; i < 256; i++) {
            buckets.add(new ArrayList<>());
        }
        for (Pattern p : table) {
            if ((p.mask & 0x7F) != 0x7F || (p.match & 3) != 3) {
                throw new IllegalStateException(p.op + ": opcode bits [6:0] must be fixed and end in 11");
            }
            for (int funct3 = 0; funct3 < 8; funct3++) {
                int f3Mask = (p.mask >>> 12) & 7;
                if ((funct3 & f3Mask) == ((p.match >>> 12) & f3Mask)) {
                    buckets.get((p.match >>> 2) & 0x1F | funct3 << 5).add(p);
                }
            }
        }
        return buckets.stream().map(l -> l.toArray(Pattern[]::new)).toArray(Pattern[][]::new);
    }
}
