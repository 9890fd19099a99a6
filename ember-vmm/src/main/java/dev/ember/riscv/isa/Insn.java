package dev.ember.riscv.isa;

/**
 * A decoded instruction packed into one {@code long}: what {@link Decoder} produces and what
 * both execution engines consume, so that an instruction's bits are parsed once.
 *
 * <p>A {@code long} rather than an object because the interpreter keeps one per instruction
 * slot of every code page it runs: an array of them costs no allocation and no pointer chase.
 *
 * <pre>
 *   bits  0..7   op          ordinal of {@link Op}
 *   bits  8..12  rd
 *   bits 13..17  rs1         (the 5-bit immediate of CSRRWI and friends)
 *   bits 18..22  rs2
 *   bits 23..25  rm          funct3: the rounding mode of FP ops
 *   bit  26      compressed  the instruction is 16 bits long
 *   bit  27      valid       always set, so a decoded instruction is never 0
 *   bit  28      ends block  the op ends a basic block ({@link Op#endsBlock})
 *   bit  29      region entry set by the translator on a decoded instruction where translated
 *                            code begins ({@link #REGION_ENTRY}); not part of the decoding
 *   bits 32..63  imm         the sign-extended immediate of the op's format; the CSR number
 *                            for Zicsr; {@code rs3} for fused multiply-adds
 * </pre>
 *
 * <p>0 is not an instruction: arrays of decoded instructions use it for "not decoded yet".
 */
public final class Insn {

    private Insn() {}

    private static final long VALID = 1L << 27;
    private static final long COMPRESSED = 1L << 26;
    private static final long ENDS_BLOCK = 1L << 28;
    /** The flag the translator sets on a decoded instruction where one of its regions begins. */
    public static final long REGION_ENTRY = 1L << 29;

    /** {@return a decoded instruction} */
    public static long pack(Op op, int rd, int rs1, int rs2, int rm, long imm, boolean compressed) {
        return op.ordinal() | (long) (rd & 31) << 8 | (long) (rs1 & 31) << 13 | (long) (rs2 & 31) << 18
                | (long) (rm & 7) << 23 | (compressed ? COMPRESSED : 0) | VALID | (op.endsBlock() ? ENDS_BLOCK : 0)
                | (imm << 32);
    }

    /** {@return the op's ordinal, an {@link OpCode}, for a {@code switch} in an execution loop} */
    public static int opIndex(long insn) {
        return (int) insn & 0xFF;
    }

    public static Op op(long insn) {
        return Op.of((int) insn & 0xFF);
    }

    public static int rd(long insn) {
        return (int) (insn >>> 8) & 31;
    }

    public static int rs1(long insn) {
        return (int) (insn >>> 13) & 31;
    }

    public static int rs2(long insn) {
        return (int) (insn >>> 18) & 31;
    }

    /** {@return the third source register of a fused multiply-add} */
    public static int rs3(long insn) {
        return (int) (insn >>> 32) & 31;
    }

    /** {@return the {@code rm} field (funct3) as encoded: 7 is DYN} */
    public static int rm(long insn) {
        return (int) (insn >>> 23) & 7;
    }

    /** {@return the sign-extended immediate} */
    public static long imm(long insn) {
        return insn >> 32;
    }

    /** {@return the CSR number of a Zicsr instruction} */
    public static int csr(long insn) {
        return (int) (insn >>> 32) & 0xFFF;
    }

    /** {@return the instruction's length in bytes: 2 or 4} */
    public static int length(long insn) {
        return (insn & COMPRESSED) != 0 ? 2 : 4;
    }

    /** {@return whether the instruction ends a basic block} */
    public static boolean endsBlock(long insn) {
        return (insn & ENDS_BLOCK) != 0;
    }

    public static boolean isCompressed(long insn) {
        return (insn & COMPRESSED) != 0;
    }
}
