package dev.ember.riscv.interp;

import dev.ember.riscv.cpu.fpu.Fpu;
import dev.ember.riscv.isa.Decoder;
import dev.ember.riscv.isa.Insn;
import dev.ember.riscv.isa.Op;

/**
 * The F and D computational instructions, one static method per {@link Op}, shared by both
 * execution engines: the interpreter calls them through {@link #compute}, and translated code
 * calls each one directly (Unprivileged ISA, "F" Standard Extension, sections
 * "Single-Precision Floating-Point Computational Instructions", "Conversion and Move
 * Instructions", "Compare Instructions", "Classify Instruction", and the "D" chapter's
 * counterparts). Loads and stores, and the {@code fflags}/{@code frm} CSRs, live elsewhere;
 * exception flags accrue in {@link Fpu#flags}.
 *
 * <p>Every method has the same signature, {@code (Fpu fpu, long a, long b, long c, int rm)},
 * so that a caller needs no per-op knowledge: {@code a}, {@code b}, {@code c} are the raw
 * source operands in the order {@code rs1}, {@code rs2}, {@code rs3} (F registers' raw 64 bits,
 * or an X register for the integer-to-float ops), {@code rm} the resolved rounding mode, and
 * the result is what goes to {@code rd}: an F register's raw bits, or an X register for
 * compares, classifications, moves and float-to-integer conversions ({@link #writesX}). Unused
 * operands are ignored.
 *
 * <p>NaN boxing ("D" chapter, "NaN Boxing of Narrower Values"): a binary32 result is written
 * with the upper 32 bits all ones; a binary32 operand whose upper bits are not all ones reads
 * as the canonical NaN. FMV.X.W is a transfer and ignores the upper bits.
 *
 * <p>Rounding modes ({@link #roundingMode}): an instruction with a rounding-mode field uses it,
 * or {@code frm} when it is DYN (7); a reserved result (5, 6, or DYN with {@code frm} 5..7)
 * makes the instruction illegal. As on QEMU, the exact conversions FCVT.D.S and FCVT.D.W[U]
 * check the field too. Which ops take a rounding mode is a property of their format
 * ({@link #usesRoundingMode}).
 *
 * <p>Runs on the hart's vCPU thread. Stateless.
 */
public final class FloatOps {

    private FloatOps() {}

    private static final long BOX = 0xFFFF_FFFF_0000_0000L;
    private static final long SIGN_D = 0x8000_0000_0000_0000L;
    private static final int SIGN_S = 0x8000_0000;

    /** {@return the effective rounding mode of {@code rmField} under {@code frm}, or -1 if it is reserved} */
    public static int roundingMode(int rmField, int frm) {
        int rm = rmField == 7 ? frm : rmField;
        return rm >= 0 && rm <= 4 ? rm : -1;
    }

    /** {@return whether {@code op} takes a rounding mode, and so is illegal with a reserved one} */
    public static boolean usesRoundingMode(Op op) {
        return switch (op.format()) {
            case R4, FR, FR1, F2X, X2F -> true;
            default -> false;
        };
    }

    /** {@return whether {@code op}'s result goes to an X register} */
    public static boolean writesX(Op op) {
        return switch (op.format()) {
            case F2X, F2X_NR, FCMP -> true;
            default -> false;
        };
    }

    /** {@return whether {@code op}'s first operand is an X register} */
    public static boolean readsX(Op op) {
        return switch (op.format()) {
            case X2F, X2F_NR -> true;
            default -> false;
        };
    }

    /** {@return the binary32 value in a register, or the canonical NaN if it is not NaN-boxed} */
    public static int unbox(long reg) {
        return (reg & BOX) == BOX ? (int) reg : Fpu.CANONICAL_NAN_S;
    }

    /** {@return a binary32 value NaN-boxed for a register} */
    public static long box(int value) {
        return BOX | (value & 0xFFFF_FFFFL);
    }

    /**
     * Executes one OP-FP or fused multiply-add instruction word.
     *
     * @param insn the 32-bit instruction word
     * @param x    the integer registers; {@code x[0]} is never written
     * @param f    the floating-point registers, raw 64-bit contents
     * @param fpu  receives the exception flags the instruction raises
     * @param frm  the current {@code frm} CSR value, used when the instruction's rm is DYN
     * @return false if the encoding is illegal or not an FP computational instruction, in
     *         which case no state has changed
     */
    public static boolean execute(int insn, long[] x, long[] f, Fpu fpu, int frm) {
        return (insn & 3) == 3 && execute(Decoder.decode(insn), x, f, fpu, frm);
    }

    /** {@link #execute(int, long[], long[], Fpu, int)} for a decoded instruction. */
    static boolean execute(long insn, long[] x, long[] f, Fpu fpu, int frm) {
        Op op = Insn.op(insn);
        if (!isComputational(op)) {
            return false;
        }
        int rm = 0;
        if (usesRoundingMode(op)) {
            rm = roundingMode(Insn.rm(insn), frm);
            if (rm < 0) {
                return false;
            }
        }
        long a = readsX(op) ? x[Insn.rs1(insn)] : f[Insn.rs1(insn)];
        long result = compute(op, fpu, a, f[Insn.rs2(insn)], f[Insn.rs3(insn)], rm);
        int rd = Insn.rd(insn);
        if (writesX(op)) {
            if (rd != 0) {
                x[rd] = result;
            }
        } else {
            f[rd] = result;
        }
        return true;
    }

    /** {@return whether {@code op} is an F or D computational instruction (not a load or store)} */
    public static boolean isComputational(Op op) {
        return op.usesFp() && op.format() != Op.Format.FLOAD && op.format() != Op.Format.FSTORE;
    }

    /** Executes the computational FP op {@code op}; see the class comment for the operands. */
    static long compute(Op op, Fpu fpu, long a, long b, long c, int rm) {
        return switch (op) {
            case FMADD_S -> FMADD_S(fpu, a, b, c, rm);
            case FMSUB_S -> FMSUB_S(fpu, a, b, c, rm);
            case FNMSUB_S -> FNMSUB_S(fpu, a, b, c, rm);
            case FNMADD_S -> FNMADD_S(fpu, a, b, c, rm);
            case FADD_S -> FADD_S(fpu, a, b, c, rm);
            case FSUB_S -> FSUB_S(fpu, a, b, c, rm);
            case FMUL_S -> FMUL_S(fpu, a, b, c, rm);
            case FDIV_S -> FDIV_S(fpu, a, b, c, rm);
            case FSQRT_S -> FSQRT_S(fpu, a, b, c, rm);
            case FSGNJ_S -> FSGNJ_S(fpu, a, b, c, rm);
            case FSGNJN_S -> FSGNJN_S(fpu, a, b, c, rm);
            case FSGNJX_S -> FSGNJX_S(fpu, a, b, c, rm);
            case FMIN_S -> FMIN_S(fpu, a, b, c, rm);
            case FMAX_S -> FMAX_S(fpu, a, b, c, rm);
            case FCVT_W_S -> FCVT_W_S(fpu, a, b, c, rm);
            case FCVT_WU_S -> FCVT_WU_S(fpu, a, b, c, rm);
            case FCVT_L_S -> FCVT_L_S(fpu, a, b, c, rm);
            case FCVT_LU_S -> FCVT_LU_S(fpu, a, b, c, rm);
            case FMV_X_W -> FMV_X_W(fpu, a, b, c, rm);
            case FCLASS_S -> FCLASS_S(fpu, a, b, c, rm);
            case FEQ_S -> FEQ_S(fpu, a, b, c, rm);
            case FLT_S -> FLT_S(fpu, a, b, c, rm);
            case FLE_S -> FLE_S(fpu, a, b, c, rm);
            case FCVT_S_W -> FCVT_S_W(fpu, a, b, c, rm);
            case FCVT_S_WU -> FCVT_S_WU(fpu, a, b, c, rm);
            case FCVT_S_L -> FCVT_S_L(fpu, a, b, c, rm);
            case FCVT_S_LU -> FCVT_S_LU(fpu, a, b, c, rm);
            case FMV_W_X -> FMV_W_X(fpu, a, b, c, rm);
            case FMADD_D -> FMADD_D(fpu, a, b, c, rm);
            case FMSUB_D -> FMSUB_D(fpu, a, b, c, rm);
            case FNMSUB_D -> FNMSUB_D(fpu, a, b, c, rm);
            case FNMADD_D -> FNMADD_D(fpu, a, b, c, rm);
            case FADD_D -> FADD_D(fpu, a, b, c, rm);
            case FSUB_D -> FSUB_D(fpu, a, b, c, rm);
            case FMUL_D -> FMUL_D(fpu, a, b, c, rm);
            case FDIV_D -> FDIV_D(fpu, a, b, c, rm);
            case FSQRT_D -> FSQRT_D(fpu, a, b, c, rm);
            case FSGNJ_D -> FSGNJ_D(fpu, a, b, c, rm);
            case FSGNJN_D -> FSGNJN_D(fpu, a, b, c, rm);
            case FSGNJX_D -> FSGNJX_D(fpu, a, b, c, rm);
            case FMIN_D -> FMIN_D(fpu, a, b, c, rm);
            case FMAX_D -> FMAX_D(fpu, a, b, c, rm);
            case FCVT_S_D -> FCVT_S_D(fpu, a, b, c, rm);
            case FCVT_D_S -> FCVT_D_S(fpu, a, b, c, rm);
            case FCVT_W_D -> FCVT_W_D(fpu, a, b, c, rm);
            case FCVT_WU_D -> FCVT_WU_D(fpu, a, b, c, rm);
            case FCVT_L_D -> FCVT_L_D(fpu, a, b, c, rm);
            case FCVT_LU_D -> FCVT_LU_D(fpu, a, b, c, rm);
            case FMV_X_D -> FMV_X_D(fpu, a, b, c, rm);
            case FCLASS_D -> FCLASS_D(fpu, a, b, c, rm);
            case FEQ_D -> FEQ_D(fpu, a, b, c, rm);
            case FLT_D -> FLT_D(fpu, a, b, c, rm);
            case FLE_D -> FLE_D(fpu, a, b, c, rm);
            case FCVT_D_W -> FCVT_D_W(fpu, a, b, c, rm);
            case FCVT_D_WU -> FCVT_D_WU(fpu, a, b, c, rm);
            case FCVT_D_L -> FCVT_D_L(fpu, a, b, c, rm);
            case FCVT_D_LU -> FCVT_D_LU(fpu, a, b, c, rm);
            case FMV_D_X -> FMV_D_X(fpu, a, b, c, rm);
            default -> throw new IllegalArgumentException("not an FP computational op: " + op);
        };
    }

    // ---- F: binary32 -------------------------------------------------------------------

    public static long FMADD_S(Fpu fpu, long a, long b, long c, int rm) { return box(fpu.fmaddS(unbox(a), unbox(b), unbox(c), rm)); }
    public static long FMSUB_S(Fpu fpu, long a, long b, long c, int rm) { return box(fpu.fmsubS(unbox(a), unbox(b), unbox(c), rm)); }
    public static long FNMSUB_S(Fpu fpu, long a, long b, long c, int rm) { return box(fpu.fnmsubS(unbox(a), unbox(b), unbox(c), rm)); }
    public static long FNMADD_S(Fpu fpu, long a, long b, long c, int rm) { return box(fpu.fnmaddS(unbox(a), unbox(b), unbox(c), rm)); }
    public static long FADD_S(Fpu fpu, long a, long b, long c, int rm) { return box(fpu.addS(unbox(a), unbox(b), rm)); }
    public static long FSUB_S(Fpu fpu, long a, long b, long c, int rm) { return box(fpu.subS(unbox(a), unbox(b), rm)); }
    public static long FMUL_S(Fpu fpu, long a, long b, long c, int rm) { return box(fpu.mulS(unbox(a), unbox(b), rm)); }
    public static long FDIV_S(Fpu fpu, long a, long b, long c, int rm) { return box(fpu.divS(unbox(a), unbox(b), rm)); }
    public static long FSQRT_S(Fpu fpu, long a, long b, long c, int rm) { return box(fpu.sqrtS(unbox(a), rm)); }

    public static long FSGNJ_S(Fpu fpu, long a, long b, long c, int rm) {
        return box((unbox(a) & ~SIGN_S) | (unbox(b) & SIGN_S));
    }

    public static long FSGNJN_S(Fpu fpu, long a, long b, long c, int rm) {
        return box((unbox(a) & ~SIGN_S) | (~unbox(b) & SIGN_S));
    }

    public static long FSGNJX_S(Fpu fpu, long a, long b, long c, int rm) {
        int x = unbox(a);
        return box((x & ~SIGN_S) | ((x ^ unbox(b)) & SIGN_S));
    }

    public static long FMIN_S(Fpu fpu, long a, long b, long c, int rm) { return box(fpu.minS(unbox(a), unbox(b))); }
    public static long FMAX_S(Fpu fpu, long a, long b, long c, int rm) { return box(fpu.maxS(unbox(a), unbox(b))); }

    // 32-bit integer results are sign-extended, WU included.
    public static long FCVT_W_S(Fpu fpu, long a, long b, long c, int rm) { return fpu.cvtWS(unbox(a), rm); }
    public static long FCVT_WU_S(Fpu fpu, long a, long b, long c, int rm) { return fpu.cvtWUS(unbox(a), rm); }
    public static long FCVT_L_S(Fpu fpu, long a, long b, long c, int rm) { return fpu.cvtLS(unbox(a), rm); }
    public static long FCVT_LU_S(Fpu fpu, long a, long b, long c, int rm) { return fpu.cvtLUS(unbox(a), rm); }

    /** FMV.X.W: the low 32 bits, sign-extended; the NaN box is ignored. */
    public static long FMV_X_W(Fpu fpu, long a, long b, long c, int rm) { return (int) a; }

    public static long FCLASS_S(Fpu fpu, long a, long b, long c, int rm) { return Fpu.classS(unbox(a)); }
    public static long FEQ_S(Fpu fpu, long a, long b, long c, int rm) { return fpu.eqS(unbox(a), unbox(b)) ? 1 : 0; }
    public static long FLT_S(Fpu fpu, long a, long b, long c, int rm) { return fpu.ltS(unbox(a), unbox(b)) ? 1 : 0; }
    public static long FLE_S(Fpu fpu, long a, long b, long c, int rm) { return fpu.leS(unbox(a), unbox(b)) ? 1 : 0; }
    public static long FCVT_S_W(Fpu fpu, long a, long b, long c, int rm) { return box(fpu.cvtSW((int) a, rm)); }
    public static long FCVT_S_WU(Fpu fpu, long a, long b, long c, int rm) { return box(fpu.cvtSWU((int) a, rm)); }
    public static long FCVT_S_L(Fpu fpu, long a, long b, long c, int rm) { return box(fpu.cvtSL(a, rm)); }
    public static long FCVT_S_LU(Fpu fpu, long a, long b, long c, int rm) { return box(fpu.cvtSLU(a, rm)); }
    public static long FMV_W_X(Fpu fpu, long a, long b, long c, int rm) { return box((int) a); }

    // ---- D: binary64 -------------------------------------------------------------------

    public static long FMADD_D(Fpu fpu, long a, long b, long c, int rm) { return fpu.fmaddD(a, b, c, rm); }
    public static long FMSUB_D(Fpu fpu, long a, long b, long c, int rm) { return fpu.fmsubD(a, b, c, rm); }
    public static long FNMSUB_D(Fpu fpu, long a, long b, long c, int rm) { return fpu.fnmsubD(a, b, c, rm); }
    public static long FNMADD_D(Fpu fpu, long a, long b, long c, int rm) { return fpu.fnmaddD(a, b, c, rm); }
    public static long FADD_D(Fpu fpu, long a, long b, long c, int rm) { return fpu.addD(a, b, rm); }
    public static long FSUB_D(Fpu fpu, long a, long b, long c, int rm) { return fpu.subD(a, b, rm); }
    public static long FMUL_D(Fpu fpu, long a, long b, long c, int rm) { return fpu.mulD(a, b, rm); }
    public static long FDIV_D(Fpu fpu, long a, long b, long c, int rm) { return fpu.divD(a, b, rm); }
    public static long FSQRT_D(Fpu fpu, long a, long b, long c, int rm) { return fpu.sqrtD(a, rm); }
    public static long FSGNJ_D(Fpu fpu, long a, long b, long c, int rm) { return (a & ~SIGN_D) | (b & SIGN_D); }
    public static long FSGNJN_D(Fpu fpu, long a, long b, long c, int rm) { return (a & ~SIGN_D) | (~b & SIGN_D); }
    public static long FSGNJX_D(Fpu fpu, long a, long b, long c, int rm) { return (a & ~SIGN_D) | ((a ^ b) & SIGN_D); }
    public static long FMIN_D(Fpu fpu, long a, long b, long c, int rm) { return fpu.minD(a, b); }
    public static long FMAX_D(Fpu fpu, long a, long b, long c, int rm) { return fpu.maxD(a, b); }
    public static long FCVT_S_D(Fpu fpu, long a, long b, long c, int rm) { return box(fpu.cvtSD(a, rm)); }
    public static long FCVT_D_S(Fpu fpu, long a, long b, long c, int rm) { return fpu.cvtDS(unbox(a)); }
    public static long FCVT_W_D(Fpu fpu, long a, long b, long c, int rm) { return fpu.cvtWD(a, rm); }
    public static long FCVT_WU_D(Fpu fpu, long a, long b, long c, int rm) { return fpu.cvtWUD(a, rm); }
    public static long FCVT_L_D(Fpu fpu, long a, long b, long c, int rm) { return fpu.cvtLD(a, rm); }
    public static long FCVT_LU_D(Fpu fpu, long a, long b, long c, int rm) { return fpu.cvtLUD(a, rm); }
    public static long FMV_X_D(Fpu fpu, long a, long b, long c, int rm) { return a; }
    public static long FCLASS_D(Fpu fpu, long a, long b, long c, int rm) { return Fpu.classD(a); }
    public static long FEQ_D(Fpu fpu, long a, long b, long c, int rm) { return fpu.eqD(a, b) ? 1 : 0; }
    public static long FLT_D(Fpu fpu, long a, long b, long c, int rm) { return fpu.ltD(a, b) ? 1 : 0; }
    public static long FLE_D(Fpu fpu, long a, long b, long c, int rm) { return fpu.leD(a, b) ? 1 : 0; }
    public static long FCVT_D_W(Fpu fpu, long a, long b, long c, int rm) { return Fpu.cvtDW((int) a); }
    public static long FCVT_D_WU(Fpu fpu, long a, long b, long c, int rm) { return Fpu.cvtDWU((int) a); }
    public static long FCVT_D_L(Fpu fpu, long a, long b, long c, int rm) { return fpu.cvtDL(a, rm); }
    public static long FCVT_D_LU(Fpu fpu, long a, long b, long c, int rm) { return fpu.cvtDLU(a, rm); }
    public static long FMV_D_X(Fpu fpu, long a, long b, long c, int rm) { return a; }
}
