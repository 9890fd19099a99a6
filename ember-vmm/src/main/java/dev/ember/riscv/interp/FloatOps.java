package dev.ember.riscv.interp;

import dev.ember.riscv.cpu.fpu.Fpu;

/**
 * The interpreter's F and D computational instructions: everything in the OP-FP major opcode
 * and the four fused multiply-add opcodes, for {@code fmt} S and D (Unprivileged ISA, "F"
 * Standard Extension, sections "Single-Precision Floating-Point Computational Instructions",
 * "Conversion and Move Instructions", "Compare Instructions", "Classify Instruction", and the
 * "D" chapter's counterparts). Loads and stores, and the {@code fflags}/{@code frm} CSRs, live
 * elsewhere; the caller copies {@link Fpu#flags} into {@code fflags}.
 *
 * <pre>
 *   R4:  rs3[31:27] fmt[26:25] rs2[24:20] rs1[19:15] rm[14:12] rd[11:7] opcode[6:0]
 *        opcode 1000011 FMADD, 1000111 FMSUB, 1001011 FNMSUB, 1001111 FNMADD
 *   R:   funct5[31:27] fmt[26:25] rs2 rs1 rm rd 1010011 (OP-FP)
 *        funct5 00000 FADD   00001 FSUB   00010 FMUL   00011 FDIV   01011 FSQRT (rs2=0)
 *               00100 FSGNJ/N/X (rm 0/1/2)     00101 FMIN/FMAX (rm 0/1)
 *               01000 FCVT.S.D (fmt S, rs2=1), FCVT.D.S (fmt D, rs2=0)
 *               10100 FLE/FLT/FEQ (rm 0/1/2)
 *               11000 FCVT.{W,WU,L,LU}.fmt (rs2 0..3)  11010 FCVT.fmt.{W,WU,L,LU} (rs2 0..3)
 *               11100 FMV.X.fmt (rm 0) / FCLASS (rm 1), rs2=0
 *               11110 FMV.fmt.X (rm 0, rs2=0)
 * </pre>
 *
 * <p>NaN boxing ("D" chapter, "NaN Boxing of Narrower Values"): a binary32 result is written
 * with the upper 32 bits all ones; a binary32 operand whose upper bits are not all ones reads
 * as the canonical NaN. FMV.X.W is a transfer and ignores the upper bits.
 *
 * <p>Rounding modes: an instruction with a rounding-mode field uses it, or {@code frm} when it
 * is DYN (7); a reserved result (5, 6, or DYN with {@code frm} 5..7) makes the instruction
 * illegal. As on QEMU, the exact conversions FCVT.D.S and FCVT.D.W[U] check the field too.
 *
 * <p><b>Guest-controlled.</b> Every field of {@code insn} comes from guest memory. All register
 * numbers are 5-bit fields, so indexing is in bounds; unknown encodings return {@code false}
 * before any register or {@link Fpu#flags} is touched, and {@code x[0]} is never written.
 *
 * <p>Runs on the hart's vCPU thread. Stateless; one small method per group keeps each under
 * HotSpot's inlining and compilation limits.
 */
public final class FloatOps {

    private FloatOps() {}

    static final int OP_FP = 0b101_0011;
    static final int FMADD = 0b100_0011;
    static final int FMSUB = 0b100_0111;
    static final int FNMSUB = 0b100_1011;
    static final int FNMADD = 0b100_1111;

    private static final long BOX = 0xFFFF_FFFF_0000_0000L;
    private static final long SIGN_D = 0x8000_0000_0000_0000L;
    private static final int SIGN_S = 0x8000_0000;

    /**
     * Executes one OP-FP or fused multiply-add instruction.
     *
     * @param insn the 32-bit instruction word
     * @param x    the integer registers; {@code x[0]} is never written
     * @param f    the floating-point registers, raw 64-bit contents
     * @param fpu  receives the exception flags the instruction raises
     * @param frm  the current {@code frm} CSR value, used when the instruction's rm is DYN
     * @return false if the encoding is illegal, in which case no state has changed
     */
    public static boolean execute(int insn, long[] x, long[] f, Fpu fpu, int frm) {
        int fmt = (insn >>> 25) & 3;
        if (fmt > 1) {
            return false;                        // H and Q are not implemented
        }
        int opcode = insn & 0x7F;
        if (opcode == OP_FP) {
            return opFp(insn, fmt == 1, x, f, fpu, frm);
        }
        if ((opcode & 0b111_0011) == FMADD) {    // FMADD, FMSUB, FNMSUB, FNMADD
            return fused(insn, fmt == 1, f, fpu, frm);
        }
        return false;
    }

    private static boolean opFp(int insn, boolean dbl, long[] x, long[] f, Fpu fpu, int frm) {
        return switch (insn >>> 27) {
            case 0b00000, 0b00001, 0b00010, 0b00011 -> arithmetic(insn, dbl, f, fpu, frm);
            case 0b01011 -> sqrt(insn, dbl, f, fpu, frm);
            case 0b00100 -> signInjection(insn, dbl, f);
            case 0b00101 -> minMax(insn, dbl, f, fpu);
            case 0b01000 -> convertFormat(insn, dbl, f, fpu, frm);
            case 0b10100 -> compare(insn, dbl, x, f, fpu);
            case 0b11000 -> convertToInteger(insn, dbl, x, f, fpu, frm);
            case 0b11010 -> convertFromInteger(insn, dbl, x, f, fpu, frm);
            case 0b11100 -> moveToIntegerOrClassify(insn, dbl, x, f);
            case 0b11110 -> moveFromInteger(insn, dbl, x, f);
            default -> false;
        };
    }

    /** {@return the effective rounding mode, or -1 if it is reserved} */
    static int roundingMode(int insn, int frm) {
        int rm = (insn >>> 12) & 7;
        if (rm == 7) {
            rm = frm;
        }
        return rm >= 0 && rm <= 4 ? rm : -1;
    }

    /** {@return the binary32 value in a register, or the canonical NaN if it is not NaN-boxed} */
    static int unbox(long reg) {
        return (reg & BOX) == BOX ? (int) reg : Fpu.CANONICAL_NAN_S;
    }

    /** {@return a binary32 value NaN-boxed for a register} */
    static long box(int value) {
        return BOX | (value & 0xFFFF_FFFFL);
    }

    private static int rd(int insn) {
        return (insn >>> 7) & 31;
    }

    private static int rs1(int insn) {
        return (insn >>> 15) & 31;
    }

    private static int rs2(int insn) {
        return (insn >>> 20) & 31;
    }

    private static int funct3(int insn) {
        return (insn >>> 12) & 7;
    }

    private static void writeX(long[] x, int rd, long value) {
        if (rd != 0) {
            x[rd] = value;
        }
    }

    private static boolean fused(int insn, boolean dbl, long[] f, Fpu fpu, int frm) {
        int rm = roundingMode(insn, frm);
        if (rm < 0) {
            return false;
        }
        int kind = (insn >>> 2) & 3;             // 0 FMADD, 1 FMSUB, 2 FNMSUB, 3 FNMADD
        long a = f[rs1(insn)];
        long b = f[rs2(insn)];
        long c = f[insn >>> 27];
        if (dbl) {
            f[rd(insn)] = switch (kind) {
                case 0 -> fpu.fmaddD(a, b, c, rm);
                case 1 -> fpu.fmsubD(a, b, c, rm);
                case 2 -> fpu.fnmsubD(a, b, c, rm);
                default -> fpu.fnmaddD(a, b, c, rm);
            };
        } else {
            int sa = unbox(a);
            int sb = unbox(b);
            int sc = unbox(c);
            f[rd(insn)] = box(switch (kind) {
                case 0 -> fpu.fmaddS(sa, sb, sc, rm);
                case 1 -> fpu.fmsubS(sa, sb, sc, rm);
                case 2 -> fpu.fnmsubS(sa, sb, sc, rm);
                default -> fpu.fnmaddS(sa, sb, sc, rm);
            });
        }
        return true;
    }

    private static boolean arithmetic(int insn, boolean dbl, long[] f, Fpu fpu, int frm) {
        int rm = roundingMode(insn, frm);
        if (rm < 0) {
            return false;
        }
        int op = insn >>> 27;                    // 0 ADD, 1 SUB, 2 MUL, 3 DIV
        if (dbl) {
            long a = f[rs1(insn)];
            long b = f[rs2(insn)];
            f[rd(insn)] = switch (op) {
                case 0 -> fpu.addD(a, b, rm);
                case 1 -> fpu.subD(a, b, rm);
                case 2 -> fpu.mulD(a, b, rm);
                default -> fpu.divD(a, b, rm);
            };
        } else {
            int a = unbox(f[rs1(insn)]);
            int b = unbox(f[rs2(insn)]);
            f[rd(insn)] = box(switch (op) {
                case 0 -> fpu.addS(a, b, rm);
                case 1 -> fpu.subS(a, b, rm);
                case 2 -> fpu.mulS(a, b, rm);
                default -> fpu.divS(a, b, rm);
            });
        }
        return true;
    }

    private static boolean sqrt(int insn, boolean dbl, long[] f, Fpu fpu, int frm) {
        int rm = roundingMode(insn, frm);
        if (rm < 0 || rs2(insn) != 0) {
            return false;
        }
        long a = f[rs1(insn)];
        f[rd(insn)] = dbl ? fpu.sqrtD(a, rm) : box(fpu.sqrtS(unbox(a), rm));
        return true;
    }

    private static boolean signInjection(int insn, boolean dbl, long[] f) {
        int op = funct3(insn);                   // 0 FSGNJ, 1 FSGNJN, 2 FSGNJX
        if (op > 2) {
            return false;
        }
        if (dbl) {
            long a = f[rs1(insn)];
            long b = f[rs2(insn)];
            long sign = (op == 0 ? b : op == 1 ? ~b : a ^ b) & SIGN_D;
            f[rd(insn)] = (a & ~SIGN_D) | sign;
        } else {
            int a = unbox(f[rs1(insn)]);
            int b = unbox(f[rs2(insn)]);
            int sign = (op == 0 ? b : op == 1 ? ~b : a ^ b) & SIGN_S;
            f[rd(insn)] = box((a & ~SIGN_S) | sign);
        }
        return true;
    }

    private static boolean minMax(int insn, boolean dbl, long[] f, Fpu fpu) {
        int op = funct3(insn);                   // 0 FMIN, 1 FMAX
        if (op > 1) {
            return false;
        }
        if (dbl) {
            long a = f[rs1(insn)];
            long b = f[rs2(insn)];
            f[rd(insn)] = op == 0 ? fpu.minD(a, b) : fpu.maxD(a, b);
        } else {
            int a = unbox(f[rs1(insn)]);
            int b = unbox(f[rs2(insn)]);
            f[rd(insn)] = box(op == 0 ? fpu.minS(a, b) : fpu.maxS(a, b));
        }
        return true;
    }

    private static boolean convertFormat(int insn, boolean dbl, long[] f, Fpu fpu, int frm) {
        int rm = roundingMode(insn, frm);
        if (rm < 0 || rs2(insn) != (dbl ? 0 : 1)) {
            return false;
        }
        long a = f[rs1(insn)];
        f[rd(insn)] = dbl ? fpu.cvtDS(unbox(a)) : box(fpu.cvtSD(a, rm));
        return true;
    }

    private static boolean compare(int insn, boolean dbl, long[] x, long[] f, Fpu fpu) {
        int op = funct3(insn);                   // 0 FLE, 1 FLT, 2 FEQ
        if (op > 2) {
            return false;
        }
        boolean r;
        if (dbl) {
            long a = f[rs1(insn)];
            long b = f[rs2(insn)];
            r = op == 2 ? fpu.eqD(a, b) : op == 1 ? fpu.ltD(a, b) : fpu.leD(a, b);
        } else {
            int a = unbox(f[rs1(insn)]);
            int b = unbox(f[rs2(insn)]);
            r = op == 2 ? fpu.eqS(a, b) : op == 1 ? fpu.ltS(a, b) : fpu.leS(a, b);
        }
        writeX(x, rd(insn), r ? 1 : 0);
        return true;
    }

    private static boolean convertToInteger(int insn, boolean dbl, long[] x, long[] f, Fpu fpu, int frm) {
        int rm = roundingMode(insn, frm);
        int type = rs2(insn);                    // 0 W, 1 WU, 2 L, 3 LU
        if (rm < 0 || type > 3) {
            return false;
        }
        long a = f[rs1(insn)];
        long r;
        if (dbl) {
            r = switch (type) {
                case 0 -> fpu.cvtWD(a, rm);
                case 1 -> fpu.cvtWUD(a, rm);     // 32-bit results are sign-extended, WU too
                case 2 -> fpu.cvtLD(a, rm);
                default -> fpu.cvtLUD(a, rm);
            };
        } else {
            int s = unbox(a);
            r = switch (type) {
                case 0 -> fpu.cvtWS(s, rm);
                case 1 -> fpu.cvtWUS(s, rm);
                case 2 -> fpu.cvtLS(s, rm);
                default -> fpu.cvtLUS(s, rm);
            };
        }
        writeX(x, rd(insn), r);
        return true;
    }

    private static boolean convertFromInteger(int insn, boolean dbl, long[] x, long[] f, Fpu fpu, int frm) {
        int rm = roundingMode(insn, frm);
        int type = rs2(insn);                    // 0 W, 1 WU, 2 L, 3 LU
        if (rm < 0 || type > 3) {
            return false;
        }
        long v = x[rs1(insn)];
        if (dbl) {
            f[rd(insn)] = switch (type) {
                case 0 -> Fpu.cvtDW((int) v);
                case 1 -> Fpu.cvtDWU((int) v);
                case 2 -> fpu.cvtDL(v, rm);
                default -> fpu.cvtDLU(v, rm);
            };
        } else {
            f[rd(insn)] = box(switch (type) {
                case 0 -> fpu.cvtSW((int) v, rm);
                case 1 -> fpu.cvtSWU((int) v, rm);
                case 2 -> fpu.cvtSL(v, rm);
                default -> fpu.cvtSLU(v, rm);
            });
        }
        return true;
    }

    private static boolean moveToIntegerOrClassify(int insn, boolean dbl, long[] x, long[] f) {
        int op = funct3(insn);                   // 0 FMV.X.fmt, 1 FCLASS
        if (op > 1 || rs2(insn) != 0) {
            return false;
        }
        long a = f[rs1(insn)];
        long r;
        if (op == 0) {
            r = dbl ? a : (int) a;               // FMV.X.W: low 32 bits, sign-extended, box ignored
        } else {
            r = dbl ? Fpu.classD(a) : Fpu.classS(unbox(a));
        }
        writeX(x, rd(insn), r);
        return true;
    }

    private static boolean moveFromInteger(int insn, boolean dbl, long[] x, long[] f) {
        if (funct3(insn) != 0 || rs2(insn) != 0) {
            return false;
        }
        long v = x[rs1(insn)];
        f[rd(insn)] = dbl ? v : box((int) v);
        return true;
    }
}
