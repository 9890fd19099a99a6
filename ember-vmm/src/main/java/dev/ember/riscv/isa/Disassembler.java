package dev.ember.riscv.isa;

import java.util.List;

/**
 * Prints decoded instructions in the assembler syntax of the manuals and GNU {@code objdump},
 * with ABI register names: {@code addi sp, sp, -16}, {@code ld a0, 8(s0)},
 * {@code fmadd.d fa0, fa1, fa2, fa3, rne}. Branch and jump targets are printed as absolute
 * addresses when the instruction's {@code pc} is known. Compressed instructions print as the
 * 32-bit instruction they expand to.
 *
 * <p>Used in traces and error messages (a vCPU that fails names the instruction it was running)
 * and by tests. Pure and thread-safe.
 */
public final class Disassembler {

    private Disassembler() {}

    private static final List<String> X = List.of("zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2",
            "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7",
            "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6");
    private static final List<String> F = List.of("ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7",
            "fs0", "fs1", "fa0", "fa1", "fa2", "fa3", "fa4", "fa5", "fa6", "fa7",
            "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11");
    private static final List<String> RM = List.of("rne", "rtz", "rdn", "rup", "rmm", "rm5", "rm6", "dyn");

    /** {@return the ABI names of the integer registers, x0 to x31} */
    public static List<String> xNames() {
        return X;
    }

    /** {@return the ABI names of the FP registers, f0 to f31} */
    public static List<String> fNames() {
        return F;
    }

    /** {@return the ABI name of integer register {@code i}} */
    public static String xName(int i) {
        return X.get(i);
    }

    /** {@return the ABI name of FP register {@code i}} */
    public static String fName(int i) {
        return F.get(i);
    }

    /** {@return {@code insn} in assembler syntax, branch targets relative ({@code beq a0, a1, pc+12})} */
    public static String format(long insn) {
        return format(insn, Long.MIN_VALUE);
    }

    /** {@return {@code insn}, located at {@code pc}, in assembler syntax with absolute branch targets} */
    public static String format(long insn, long pc) {
        Op op = Insn.op(insn);
        String m = op.mnemonic();
        int rd = Insn.rd(insn);
        int rs1 = Insn.rs1(insn);
        int rs2 = Insn.rs2(insn);
        long imm = Insn.imm(insn);
        String rm = RM.get(Insn.rm(insn));
        return switch (op.format()) {
            case NONE -> m;
            case R -> m + " " + X.get(rd) + ", " + X.get(rs1) + ", " + X.get(rs2);
            case I, SHIFT -> m + " " + X.get(rd) + ", " + X.get(rs1) + ", " + imm;
            case LOAD -> m + " " + X.get(rd) + ", " + imm + "(" + X.get(rs1) + ")";
            case S -> m + " " + X.get(rs2) + ", " + imm + "(" + X.get(rs1) + ")";
            case B -> m + " " + X.get(rs1) + ", " + X.get(rs2) + ", " + target(pc, imm);
            case U -> m + " " + X.get(rd) + ", 0x" + Long.toHexString((imm >>> 12) & 0xFFFFF);
            case J -> m + " " + X.get(rd) + ", " + target(pc, imm);
            case CSR -> m + " " + X.get(rd) + ", " + csrName(Insn.csr(insn)) + ", " + X.get(rs1);
            case CSRI -> m + " " + X.get(rd) + ", " + csrName(Insn.csr(insn)) + ", " + rs1;
            case LR -> m + " " + X.get(rd) + ", (" + X.get(rs1) + ")";
            case AMO -> m + " " + X.get(rd) + ", " + X.get(rs2) + ", (" + X.get(rs1) + ")";
            case FLOAD -> m + " " + F.get(rd) + ", " + imm + "(" + X.get(rs1) + ")";
            case FSTORE -> m + " " + F.get(rs2) + ", " + imm + "(" + X.get(rs1) + ")";
            case R4 -> m + " " + F.get(rd) + ", " + F.get(rs1) + ", " + F.get(rs2) + ", " + F.get(Insn.rs3(insn)) + ", " + rm;
            case FR -> m + " " + F.get(rd) + ", " + F.get(rs1) + ", " + F.get(rs2) + ", " + rm;
            case FR1 -> m + " " + F.get(rd) + ", " + F.get(rs1) + ", " + rm;
            case FRNR -> m + " " + F.get(rd) + ", " + F.get(rs1) + ", " + F.get(rs2);
            case F2X -> m + " " + X.get(rd) + ", " + F.get(rs1) + ", " + rm;
            case F2X_NR -> m + " " + X.get(rd) + ", " + F.get(rs1);
            case FCMP -> m + " " + X.get(rd) + ", " + F.get(rs1) + ", " + F.get(rs2);
            case X2F -> m + " " + F.get(rd) + ", " + X.get(rs1) + ", " + rm;
            case X2F_NR -> m + " " + F.get(rd) + ", " + X.get(rs1);
            case SFENCE -> m + " " + X.get(rs1) + ", " + X.get(rs2);
            case HSV -> m + " " + X.get(rs2) + ", (" + X.get(rs1) + ")";
        };
    }

    /** {@return the instruction in {@code bits} (a 32-bit word or a low RVC halfword) in assembler syntax} */
    public static String format(int bits, long pc) {
        return format(Decoder.decode(bits), pc);
    }

    private static String target(long pc, long offset) {
        if (pc == Long.MIN_VALUE) {
            return offset < 0 ? "pc" + offset : "pc+" + offset;
        }
        return "0x" + Long.toHexString(pc + offset);
    }

    /** {@return the CSR's name from {@link CsrNumbers}, lower case, or its number in hex} */
    public static String csrName(int csr) {
        String name = CsrNames.NAMES.get(csr);
        return name != null ? name : "0x" + Integer.toHexString(csr);
    }

    /** CSR names by number, read once from {@link CsrNumbers}' constants. */
    private static final class CsrNames {
        static final java.util.Map<Integer, String> NAMES = build();

        private static java.util.Map<Integer, String> build() {
            java.util.Map<Integer, String> names = new java.util.HashMap<>();
            for (java.lang.reflect.Field field : CsrNumbers.class.getFields()) {
                if (field.getType() == int.class) {
                    try {
                        names.putIfAbsent(field.getInt(null), field.getName().toLowerCase(java.util.Locale.ROOT));
                    } catch (IllegalAccessException e) {
                        throw new IllegalStateException(e);
                    }
                }
            }
            return java.util.Map.copyOf(names);
        }
    }
}
