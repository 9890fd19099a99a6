package dev.ember.riscv.isa;

/**
 * Expands 16-bit RV64C instructions into the 32-bit RV64G instructions they stand for.
 *
 * <p>Implements the RISC-V Unprivileged ISA, chapter "C" Standard Extension for Compressed
 * Instructions, Version 2.0: the formats of "Compressed Instruction Formats", the
 * expansions given in "Load and Store Instructions", "Control Transfer Instructions" and
 * "Integer Computational Instructions", and the code-point rules of the tables in
 * "RVC Instruction Set Listings" (Instruction listing for RVC, Quadrant 0, 1 and 2), read for
 * XLEN = 64 with F and D present. {@link #expand} follows those tables: one method per
 * quadrant, one {@code case} per {@code funct3}, in the tables' order.
 *
 * <p>RV64 readings of shared opcodes: {@code 001} in quadrant 1 is C.ADDIW (C.JAL is RV32
 * only); {@code 011}/{@code 111} in quadrants 0 and 2 are C.LD/C.SD/C.LDSP/C.SDSP (C.FLW and
 * friends are RV32 only); {@code 001}/{@code 101} are C.FLD/C.FSD/C.FLDSP/C.FSDSP; shift
 * amounts are six bits, {@code shamt[5]} included.
 *
 * <p>Reserved code points expand to {@link #ILLEGAL}: the all-zero halfword and every other
 * C.ADDI4SPN with {@code nzuimm = 0}, quadrant 0 {@code funct3 = 100}, C.ADDIW with
 * {@code rd = x0}, C.ADDI16SP and C.LUI with a zero immediate, the two reserved CA encodings
 * ({@code 100 1 11 ... 1x}), C.LWSP and C.LDSP with {@code rd = x0}, and C.JR with
 * {@code rs1 = x0}.
 *
 * <p>HINTs ("HINT Instructions", Table "RVC HINT instructions") are legal and expand like the
 * instruction they are carved from, which by construction changes no architectural state:
 * C.NOP with {@code nzimm != 0}, C.LI, C.LUI, C.MV, C.ADD and C.SLLI with {@code rd = x0}
 * become {@code addi}/{@code lui}/{@code add}/{@code slli} writing {@code x0}; C.ADDI with
 * {@code nzimm = 0} becomes {@code addi rd, rd, 0}; C.SLLI64, C.SRLI64 and C.SRAI64
 * ({@code shamt = 0}) become a shift of {@code rd} by zero.
 *
 * <p><b>Guest-controlled:</b> the halfword comes straight from guest memory. Every one of the
 * 65536 values is accepted; the result is either a well-formed RV64G word or
 * {@link #ILLEGAL}, never an exception. Whether the result may execute (F/D enabled in
 * {@code mstatus.FS}, privilege for {@code ebreak}) is the executor's business. A caller
 * raising illegal-instruction for {@link #ILLEGAL} should report the original halfword in
 * {@code xtval}, not the zero.
 *
 * <p>Pure and allocation-free; the interpreter and translator read {@link #buildTable()}'s
 * cache rather than calling {@link #expand} per fetch.
 */
public final class Rvc {

    /** The expansion of a reserved or non-RVC halfword; zero is not a valid 32-bit instruction. */
    public static final int ILLEGAL = 0;

    private Rvc() {}

    // Major opcodes of the 32-bit targets (Unprivileged ISA, "RV32/64G Instruction Set Listings").
    private static final int LOAD = 0b000_0011;
    private static final int LOAD_FP = 0b000_0111;
    private static final int OP_IMM = 0b001_0011;
    private static final int OP_IMM_32 = 0b001_1011;
    private static final int STORE = 0b010_0011;
    private static final int STORE_FP = 0b010_0111;
    private static final int OP = 0b011_0011;
    private static final int LUI = 0b011_0111;
    private static final int OP_32 = 0b011_1011;
    private static final int BRANCH = 0b110_0011;
    private static final int JALR = 0b110_0111;
    private static final int JAL = 0b110_1111;
    private static final int SYSTEM = 0b111_0011;

    private static final int ZERO = 0;
    private static final int RA = 1;
    private static final int SP = 2;

    private static final int EBREAK = 1 << 20 | SYSTEM;   // imm = 1, rs1 = rd = x0, funct3 = 0

    /**
     * {@return the 32-bit equivalent of the RVC instruction in the low 16 bits of
     * {@code halfword}, or {@link #ILLEGAL} if it is reserved on RV64GC or is not a 16-bit
     * encoding (bits [1:0] == {@code 11})}
     */
    public static int expand(int halfword) {
        int h = halfword & 0xFFFF;
        return switch (h & 0b11) {
            case 0b00 -> quadrant0(h);
            case 0b01 -> quadrant1(h);
            case 0b10 -> quadrant2(h);
            default -> ILLEGAL;
        };
    }

    /**
     * {@return a new array of 65536 entries holding {@link #expand} of every halfword}
     * Entries whose bits [1:0] are {@code 11} (not RVC) are {@link #ILLEGAL}.
     */
    public static int[] buildTable() {
        int[] table = new int[1 << 16];
        for (int h = 0; h < table.length; h++) {
            table[h] = expand(h);
        }
        return table;
    }

    // Quadrant 0 (Table "Instruction listing for RVC, Quadrant 0"): CIW, CL and CS formats.
    private static int quadrant0(int h) {
        int rdOrRs2 = regPrime(h, 2);
        int rs1 = regPrime(h, 7);
        return switch (funct3(h)) {
            case 0b000 -> {   // C.ADDI4SPN; nzuimm = 0 (including the all-zero halfword) is reserved
                int nzuimm = uimmAddi4spn(h);
                yield nzuimm == 0 ? ILLEGAL : iType(nzuimm, SP, 0b000, rdOrRs2, OP_IMM);
            }
            case 0b001 -> iType(uimmCLD(h), rs1, 0b011, rdOrRs2, LOAD_FP);    // C.FLD
            case 0b010 -> iType(uimmCLW(h), rs1, 0b010, rdOrRs2, LOAD);       // C.LW
            case 0b011 -> iType(uimmCLD(h), rs1, 0b011, rdOrRs2, LOAD);       // C.LD (RV64; C.FLW on RV32)
            case 0b100 -> ILLEGAL;                                              // reserved
            case 0b101 -> sType(uimmCLD(h), rdOrRs2, rs1, 0b011, STORE_FP);   // C.FSD
            case 0b110 -> sType(uimmCLW(h), rdOrRs2, rs1, 0b010, STORE);      // C.SW
            case 0b111 -> sType(uimmCLD(h), rdOrRs2, rs1, 0b011, STORE);      // C.SD (RV64; C.FSW on RV32)
            default -> throw new AssertionError(h);
        };
    }

    // Quadrant 1 (Table "Instruction listing for RVC, Quadrant 1"): CI, CB, CA and CJ formats.
    private static int quadrant1(int h) {
        int rd = regFull(h, 7);
        return switch (funct3(h)) {
            // C.ADDI; rd = x0 is C.NOP (a HINT when nzimm != 0), nzimm = 0 is a HINT
            case 0b000 -> iType(immCI(h), rd, 0b000, rd, OP_IMM);
            // C.ADDIW (RV64; C.JAL on RV32); rd = x0 is reserved, imm = 0 is sext.w
            case 0b001 -> rd == ZERO ? ILLEGAL : iType(immCI(h), rd, 0b000, rd, OP_IMM_32);
            // C.LI; rd = x0 is a HINT
            case 0b010 -> iType(immCI(h), ZERO, 0b000, rd, OP_IMM);
            case 0b011 -> {
                if (rd == SP) {   // C.ADDI16SP; nzimm = 0 is reserved
                    int nzimm = immAddi16sp(h);
                    yield nzimm == 0 ? ILLEGAL : iType(nzimm, SP, 0b000, SP, OP_IMM);
                }
                // C.LUI; nzimm = 0 is reserved, rd = x0 is a HINT
                int nzimm = immCI(h);
                yield nzimm == 0 ? ILLEGAL : uType(nzimm, rd, LUI);
            }
            case 0b100 -> miscAlu(h);
            case 0b101 -> jType(immCJ(h), ZERO);                                   // C.J
            case 0b110 -> bType(immCB(h), ZERO, regPrime(h, 7), 0b000, BRANCH);    // C.BEQZ
            case 0b111 -> bType(immCB(h), ZERO, regPrime(h, 7), 0b001, BRANCH);    // C.BNEZ
            default -> throw new AssertionError(h);
        };
    }

    // Quadrant 1, funct3 = 100: the shifts and ANDI (CB) and the register-register group (CA).
    private static int miscAlu(int h) {
        int rd = regPrime(h, 7);
        int rs2 = regPrime(h, 2);
        return switch (bits(h, 11, 10)) {
            // C.SRLI / C.SRAI: 6-bit shamt on RV64; shamt = 0 is C.SRLI64 / C.SRAI64, a HINT
            case 0b00 -> iType(shamt(h), rd, 0b101, rd, OP_IMM);
            case 0b01 -> iType(0b010000 << 6 | shamt(h), rd, 0b101, rd, OP_IMM);
            case 0b10 -> iType(immCI(h), rd, 0b111, rd, OP_IMM);                    // C.ANDI
            case 0b11 -> switch (bit(h, 12) << 2 | bits(h, 6, 5)) {
                case 0b000 -> rType(0b0100000, rs2, rd, 0b000, rd, OP);             // C.SUB
                case 0b001 -> rType(0b0000000, rs2, rd, 0b100, rd, OP);             // C.XOR
                case 0b010 -> rType(0b0000000, rs2, rd, 0b110, rd, OP);             // C.OR
                case 0b011 -> rType(0b0000000, rs2, rd, 0b111, rd, OP);             // C.AND
                case 0b100 -> rType(0b0100000, rs2, rd, 0b000, rd, OP_32);          // C.SUBW
                case 0b101 -> rType(0b0000000, rs2, rd, 0b000, rd, OP_32);          // C.ADDW
                default -> ILLEGAL;                                                 // reserved
            };
            default -> throw new AssertionError(h);
        };
    }

    // Quadrant 2 (Table "Instruction listing for RVC, Quadrant 2"): CI, CR and CSS formats.
    private static int quadrant2(int h) {
        int rd = regFull(h, 7);
        int rs2 = regFull(h, 2);
        return switch (funct3(h)) {
            // C.SLLI: 6-bit shamt on RV64; rd = x0 or shamt = 0 (C.SLLI64) is a HINT
            case 0b000 -> iType(shamt(h), rd, 0b001, rd, OP_IMM);
            case 0b001 -> iType(uimmLdsp(h), SP, 0b011, rd, LOAD_FP);                      // C.FLDSP
            case 0b010 -> rd == ZERO ? ILLEGAL : iType(uimmLwsp(h), SP, 0b010, rd, LOAD);  // C.LWSP
            case 0b011 -> rd == ZERO ? ILLEGAL : iType(uimmLdsp(h), SP, 0b011, rd, LOAD);  // C.LDSP
            case 0b100 -> jumpOrMove(h, rd, rs2);
            case 0b101 -> sType(uimmSdsp(h), rs2, SP, 0b011, STORE_FP);                    // C.FSDSP
            case 0b110 -> sType(uimmSwsp(h), rs2, SP, 0b010, STORE);                       // C.SWSP
            case 0b111 -> sType(uimmSdsp(h), rs2, SP, 0b011, STORE);                       // C.SDSP
            default -> throw new AssertionError(h);
        };
    }

    // Quadrant 2, funct3 = 100: C.JR, C.MV, C.EBREAK, C.JALR, C.ADD, told apart by bit 12 and x0 fields.
    private static int jumpOrMove(int h, int rd, int rs2) {
        if (bit(h, 12) == 0) {
            if (rs2 == ZERO) {   // C.JR; rs1 = x0 is reserved
                return rd == ZERO ? ILLEGAL : iType(0, rd, 0b000, ZERO, JALR);
            }
            return rType(0, rs2, ZERO, 0b000, rd, OP);   // C.MV; rd = x0 is a HINT
        }
        if (rs2 == ZERO) {
            return rd == ZERO ? EBREAK : iType(0, rd, 0b000, RA, JALR);   // C.EBREAK, C.JALR
        }
        return rType(0, rs2, rd, 0b000, rd, OP);   // C.ADD; rd = x0 is a HINT
    }

    // Fields: "Compressed Instruction Formats" keeps full register specifiers where the 32-bit
    // formats have them, and 3-bit rd'/rs1'/rs2' naming x8..x15 (or f8..f15).

    private static int funct3(int h) { return bits(h, 15, 13); }

    private static int regFull(int h, int lo) { return bits(h, lo + 4, lo); }

    private static int regPrime(int h, int lo) { return 8 + bits(h, lo + 2, lo); }

    // Immediates: one method per format, named for the listing rows they decode. Each comment gives
    // the halfword bits and, in brackets, the immediate bits they hold, as the listings write them.

    /** CI, sign-extended: h[12|6:2] = imm[5|4:0]. C.ADDI, C.ADDIW, C.LI, C.ANDI; C.LUI's nzimm[17:12]. */
    private static int immCI(int h) {
        return signExtend(bit(h, 12) << 5 | bits(h, 6, 2), 6);
    }

    /** CI and CB shifts, unsigned: h[12|6:2] = shamt[5|4:0]. */
    private static int shamt(int h) {
        return bit(h, 12) << 5 | bits(h, 6, 2);
    }

    /** C.ADDI16SP, sign-extended: h[12|6|5|4:3|2] = nzimm[9|4|6|8:7|5]. */
    private static int immAddi16sp(int h) {
        int imm = bit(h, 12) << 9 | bit(h, 6) << 4 | bit(h, 5) << 6 | bits(h, 4, 3) << 7 | bit(h, 2) << 5;
        return signExtend(imm, 10);
    }

    /** C.ADDI4SPN (CIW), zero-extended: h[12:11|10:7|6|5] = nzuimm[5:4|9:6|2|3]. */
    private static int uimmAddi4spn(int h) {
        return bits(h, 12, 11) << 4 | bits(h, 10, 7) << 6 | bit(h, 6) << 2 | bit(h, 5) << 3;
    }

    /** C.LW / C.SW (CL, CS), zero-extended: h[12:10|6|5] = uimm[5:3|2|6]. */
    private static int uimmCLW(int h) {
        return bits(h, 12, 10) << 3 | bit(h, 6) << 2 | bit(h, 5) << 6;
    }

    /** C.LD / C.SD / C.FLD / C.FSD (CL, CS), zero-extended: h[12:10|6:5] = uimm[5:3|7:6]. */
    private static int uimmCLD(int h) {
        return bits(h, 12, 10) << 3 | bits(h, 6, 5) << 6;
    }

    /** C.LWSP (CI), zero-extended: h[12|6:4|3:2] = uimm[5|4:2|7:6]. */
    private static int uimmLwsp(int h) {
        return bit(h, 12) << 5 | bits(h, 6, 4) << 2 | bits(h, 3, 2) << 6;
    }

    /** C.LDSP / C.FLDSP (CI), zero-extended: h[12|6:5|4:2] = uimm[5|4:3|8:6]. */
    private static int uimmLdsp(int h) {
        return bit(h, 12) << 5 | bits(h, 6, 5) << 3 | bits(h, 4, 2) << 6;
    }

    /** C.SWSP (CSS), zero-extended: h[12:9|8:7] = uimm[5:2|7:6]. */
    private static int uimmSwsp(int h) {
        return bits(h, 12, 9) << 2 | bits(h, 8, 7) << 6;
    }

    /** C.SDSP / C.FSDSP (CSS), zero-extended: h[12:10|9:7] = uimm[5:3|8:6]. */
    private static int uimmSdsp(int h) {
        return bits(h, 12, 10) << 3 | bits(h, 9, 7) << 6;
    }

    /** C.J (CJ), sign-extended: h[12|11|10:9|8|7|6|5:3|2] = imm[11|4|9:8|10|6|7|3:1|5]. */
    private static int immCJ(int h) {
        int imm = bit(h, 12) << 11 | bit(h, 11) << 4 | bits(h, 10, 9) << 8 | bit(h, 8) << 10
                | bit(h, 7) << 6 | bit(h, 6) << 7 | bits(h, 5, 3) << 1 | bit(h, 2) << 5;
        return signExtend(imm, 12);
    }

    /** C.BEQZ / C.BNEZ (CB), sign-extended: h[12|11:10|6:5|4:3|2] = imm[8|4:3|7:6|2:1|5]. */
    private static int immCB(int h) {
        int imm = bit(h, 12) << 8 | bits(h, 11, 10) << 3 | bits(h, 6, 5) << 6 | bits(h, 4, 3) << 1
                | bit(h, 2) << 5;
        return signExtend(imm, 9);
    }

    // Encoders for the 32-bit base formats (Unprivileged ISA, "Base Instruction Formats" and
    // "Immediate Encoding Variants"). Immediates arrive as plain signed or unsigned values.

    private static int rType(int funct7, int rs2, int rs1, int funct3, int rd, int opcode) {
        return funct7 << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | opcode;
    }

    private static int iType(int imm, int rs1, int funct3, int rd, int opcode) {
        return (imm & 0xFFF) << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | opcode;
    }

    private static int sType(int imm, int rs2, int rs1, int funct3, int opcode) {
        return (imm >> 5 & 0x7F) << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12 | (imm & 0x1F) << 7 | opcode;
    }

    private static int bType(int imm, int rs2, int rs1, int funct3, int opcode) {
        return (imm >> 12 & 1) << 31 | (imm >> 5 & 0x3F) << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12
                | (imm >> 1 & 0xF) << 8 | (imm >> 11 & 1) << 7 | opcode;
    }

    /** {@code imm} is the value of {@code insn[31:12]}, i.e. the result shifted right by 12. */
    private static int uType(int imm, int rd, int opcode) {
        return (imm & 0xF_FFFF) << 12 | rd << 7 | opcode;
    }

    private static int jType(int imm, int rd) {
        return (imm >> 20 & 1) << 31 | (imm >> 1 & 0x3FF) << 21 | (imm >> 11 & 1) << 20
                | (imm >> 12 & 0xFF) << 12 | rd << 7 | JAL;
    }

    private static int bit(int h, int i) { return h >>> i & 1; }

    private static int bits(int h, int hi, int lo) { return h >>> lo & ((1 << (hi - lo + 1)) - 1); }

    private static int signExtend(int value, int width) { return value << (32 - width) >> (32 - width); }
}
