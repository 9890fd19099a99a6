package dev.ember.bench.jmh;

/**
 * Encoders for the handful of RV64 instructions the benchmark programs use (unprivileged ISA
 * chapter 2 base formats and chapter 16's compressed formats, named as there).
 *
 * <p>Register arguments are numbers ({@code 5} is {@code t0}); compressed forms that take
 * {@code rd'}/{@code rs1'} accept only x8 to x15. Immediates are not range-checked beyond what
 * the assertions state: this is for fixed benchmark loops, not an assembler.
 */
final class Asm {

    private Asm() {}

    static final int RA = 1, T0 = 5, T1 = 6, T2 = 7, S0 = 8, S1 = 9, A0 = 10, A1 = 11;
    /** {@code s2} to {@code s9}: x18 to x25. */
    static final int S2 = 18, S3 = 19, S4 = 20, S5 = 21, S6 = 22, S7 = 23, S8 = 24, S9 = 25;

    static int iType(int opcode, int funct3, int rd, int rs1, int imm) {
        return (imm << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode;
    }

    static int rType(int opcode, int funct3, int funct7, int rd, int rs1, int rs2) {
        return (funct7 << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode;
    }

    static int addi(int rd, int rs1, int imm) { return iType(0x13, 0, rd, rs1, imm); }
    static int add(int rd, int rs1, int rs2) { return rType(0x33, 0, 0, rd, rs1, rs2); }
    static int xor(int rd, int rs1, int rs2) { return rType(0x33, 4, 0, rd, rs1, rs2); }
    static int andi(int rd, int rs1, int imm) { return iType(0x13, 7, rd, rs1, imm); }
    static int ld(int rd, int rs1, int imm) { return iType(0x03, 3, rd, rs1, imm); }
    static int jalr(int rd, int rs1, int imm) { return iType(0x67, 0, rd, rs1, imm); }

    /** {@code ret}: {@code jalr zero, 0(ra)}. */
    static int ret() { return jalr(0, RA, 0); }

    /** {@code jal rd, offset}; {@code offset} is relative to this instruction, even, within +-1 MiB. */
    static int jal(int rd, int offset) {
        int o = offset;
        return (((o >> 20) & 1) << 31) | (((o >> 1) & 0x3FF) << 21) | (((o >> 11) & 1) << 20)
                | (((o >> 12) & 0xFF) << 12) | (rd << 7) | 0x6F;
    }

    static int sd(int rs2, int rs1, int imm) {
        return ((imm >> 5) << 25) | (rs2 << 20) | (rs1 << 15) | (3 << 12) | ((imm & 0x1F) << 7) | 0x23;
    }

    /** {@code bne rs1, rs2, offset}; {@code offset} is relative to this instruction, even. */
    static int bne(int rs1, int rs2, int offset) {
        int o = offset;
        return (((o >> 12) & 1) << 31) | (((o >> 5) & 0x3F) << 25) | (rs2 << 20) | (rs1 << 15) | (1 << 12)
                | (((o >> 1) & 0xF) << 8) | (((o >> 11) & 1) << 7) | 0x63;
    }

    /** {@code c.addi rd, imm} (CI format), imm in -32..31, non-zero. */
    static short cAddi(int rd, int imm) {
        return (short) ((((imm >> 5) & 1) << 12) | (rd << 7) | ((imm & 0x1F) << 2) | 0x1);
    }

    /** {@code c.add rd, rs2} (CR format). */
    static short cAdd(int rd, int rs2) {
        return (short) ((0b1001 << 12) | (rd << 7) | (rs2 << 2) | 0x2);
    }

    /** {@code c.bnez rs1', offset} (CB format), rs1 in x8..x15, offset in -256..254. */
    static short cBnez(int rs1, int offset) {
        int o = offset;
        return (short) ((0b111 << 13) | (((o >> 8) & 1) << 12) | (((o >> 3) & 3) << 10) | ((rs1 - 8) << 7)
                | (((o >> 6) & 3) << 5) | (((o >> 1) & 3) << 3) | (((o >> 5) & 1) << 2) | 0x1);
    }
}
