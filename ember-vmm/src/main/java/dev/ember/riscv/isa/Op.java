package dev.ember.riscv.isa;

/**
 * Every RV64GC operation Ember executes, named as the unprivileged and privileged manuals name
 * them ({@code AMOADD_W} for {@code amoadd.w}), grouped as the manuals' instruction listings
 * group them: RV32I/RV64I, Zifencei, Zicsr, M, A, F, D, and the privileged instructions.
 *
 * <p>An {@code Op} says which instruction a word is and how to read its operands
 * ({@link Format}); the bit patterns that select it live in {@link Decoder}'s table. Compressed
 * instructions decode to the {@code Op} of the 32-bit instruction they expand to.
 *
 * <p>{@link #ILLEGAL} is what any reserved or unimplemented encoding decodes to; executing it
 * raises an illegal-instruction exception.
 */
public enum Op {
    ILLEGAL(Format.NONE, Flow.TRAP),

    // RV32I and RV64I base (unprivileged ISA chapters 2 and 4)
    LUI(Format.U), AUIPC(Format.U),
    JAL(Format.J, Flow.JUMP), JALR(Format.I, Flow.INDIRECT),
    BEQ(Format.B, Flow.BRANCH), BNE(Format.B, Flow.BRANCH), BLT(Format.B, Flow.BRANCH),
    BGE(Format.B, Flow.BRANCH), BLTU(Format.B, Flow.BRANCH), BGEU(Format.B, Flow.BRANCH),
    LB(Format.LOAD), LH(Format.LOAD), LW(Format.LOAD), LD(Format.LOAD),
    LBU(Format.LOAD), LHU(Format.LOAD), LWU(Format.LOAD),
    SB(Format.S), SH(Format.S), SW(Format.S), SD(Format.S),
    ADDI(Format.I), SLTI(Format.I), SLTIU(Format.I), XORI(Format.I), ORI(Format.I), ANDI(Format.I),
    SLLI(Format.SHIFT), SRLI(Format.SHIFT), SRAI(Format.SHIFT),
    ADD(Format.R), SUB(Format.R), SLL(Format.R), SLT(Format.R), SLTU(Format.R),
    XOR(Format.R), SRL(Format.R), SRA(Format.R), OR(Format.R), AND(Format.R),
    ADDIW(Format.I), SLLIW(Format.SHIFT), SRLIW(Format.SHIFT), SRAIW(Format.SHIFT),
    ADDW(Format.R), SUBW(Format.R), SLLW(Format.R), SRLW(Format.R), SRAW(Format.R),
    FENCE(Format.NONE), ECALL(Format.NONE, Flow.SYSTEM), EBREAK(Format.NONE, Flow.SYSTEM),

    // Zifencei (chapter 6)
    FENCE_I(Format.NONE, Flow.SYSTEM),

    // Zicsr (chapter 7)
    CSRRW(Format.CSR), CSRRS(Format.CSR), CSRRC(Format.CSR),
    CSRRWI(Format.CSRI), CSRRSI(Format.CSRI), CSRRCI(Format.CSRI),

    // M (chapter 13)
    MUL(Format.R), MULH(Format.R), MULHSU(Format.R), MULHU(Format.R),
    DIV(Format.R), DIVU(Format.R), REM(Format.R), REMU(Format.R),
    MULW(Format.R), DIVW(Format.R), DIVUW(Format.R), REMW(Format.R), REMUW(Format.R),

    // A (chapter 14)
    LR_W(Format.LR), SC_W(Format.AMO), AMOSWAP_W(Format.AMO), AMOADD_W(Format.AMO), AMOXOR_W(Format.AMO),
    AMOAND_W(Format.AMO), AMOOR_W(Format.AMO), AMOMIN_W(Format.AMO), AMOMAX_W(Format.AMO),
    AMOMINU_W(Format.AMO), AMOMAXU_W(Format.AMO),
    LR_D(Format.LR), SC_D(Format.AMO), AMOSWAP_D(Format.AMO), AMOADD_D(Format.AMO), AMOXOR_D(Format.AMO),
    AMOAND_D(Format.AMO), AMOOR_D(Format.AMO), AMOMIN_D(Format.AMO), AMOMAX_D(Format.AMO),
    AMOMINU_D(Format.AMO), AMOMAXU_D(Format.AMO),

    // F (chapter 20)
    FLW(Format.FLOAD), FSW(Format.FSTORE),
    FMADD_S(Format.R4), FMSUB_S(Format.R4), FNMSUB_S(Format.R4), FNMADD_S(Format.R4),
    FADD_S(Format.FR), FSUB_S(Format.FR), FMUL_S(Format.FR), FDIV_S(Format.FR), FSQRT_S(Format.FR1),
    FSGNJ_S(Format.FRNR), FSGNJN_S(Format.FRNR), FSGNJX_S(Format.FRNR), FMIN_S(Format.FRNR), FMAX_S(Format.FRNR),
    FCVT_W_S(Format.F2X), FCVT_WU_S(Format.F2X), FCVT_L_S(Format.F2X), FCVT_LU_S(Format.F2X),
    FMV_X_W(Format.F2X_NR), FCLASS_S(Format.F2X_NR),
    FEQ_S(Format.FCMP), FLT_S(Format.FCMP), FLE_S(Format.FCMP),
    FCVT_S_W(Format.X2F), FCVT_S_WU(Format.X2F), FCVT_S_L(Format.X2F), FCVT_S_LU(Format.X2F),
    FMV_W_X(Format.X2F_NR),

    // D (chapter 21)
    FLD(Format.FLOAD), FSD(Format.FSTORE),
    FMADD_D(Format.R4), FMSUB_D(Format.R4), FNMSUB_D(Format.R4), FNMADD_D(Format.R4),
    FADD_D(Format.FR), FSUB_D(Format.FR), FMUL_D(Format.FR), FDIV_D(Format.FR), FSQRT_D(Format.FR1),
    FSGNJ_D(Format.FRNR), FSGNJN_D(Format.FRNR), FSGNJX_D(Format.FRNR), FMIN_D(Format.FRNR), FMAX_D(Format.FRNR),
    FCVT_S_D(Format.FR1), FCVT_D_S(Format.FR1),
    FCVT_W_D(Format.F2X), FCVT_WU_D(Format.F2X), FCVT_L_D(Format.F2X), FCVT_LU_D(Format.F2X),
    FMV_X_D(Format.F2X_NR), FCLASS_D(Format.F2X_NR),
    FEQ_D(Format.FCMP), FLT_D(Format.FCMP), FLE_D(Format.FCMP),
    FCVT_D_W(Format.X2F), FCVT_D_WU(Format.X2F), FCVT_D_L(Format.X2F), FCVT_D_LU(Format.X2F),
    FMV_D_X(Format.X2F_NR),

    // Privileged instructions (privileged ISA §3.3, §4.2.1)
    SRET(Format.NONE, Flow.SYSTEM), MRET(Format.NONE, Flow.SYSTEM), WFI(Format.NONE, Flow.SYSTEM),
    SFENCE_VMA(Format.SFENCE, Flow.SYSTEM),

    // Hypervisor instructions (privileged ISA, "H" extension, § Hypervisor Instructions)
    HLV_B(Format.LR, Flow.SYSTEM), HLV_BU(Format.LR, Flow.SYSTEM), HLV_H(Format.LR, Flow.SYSTEM),
    HLV_HU(Format.LR, Flow.SYSTEM), HLV_W(Format.LR, Flow.SYSTEM), HLV_WU(Format.LR, Flow.SYSTEM),
    HLV_D(Format.LR, Flow.SYSTEM), HLVX_HU(Format.LR, Flow.SYSTEM), HLVX_WU(Format.LR, Flow.SYSTEM),
    HSV_B(Format.HSV, Flow.SYSTEM), HSV_H(Format.HSV, Flow.SYSTEM), HSV_W(Format.HSV, Flow.SYSTEM),
    HSV_D(Format.HSV, Flow.SYSTEM),
    HFENCE_VVMA(Format.SFENCE, Flow.SYSTEM), HFENCE_GVMA(Format.SFENCE, Flow.SYSTEM);

    /** How an instruction's operand fields are read and printed. */
    public enum Format {
        /** No operands, or operands ignored (FENCE's predecessor and successor sets). */
        NONE,
        /** {@code rd, rs1, rs2}. */
        R,
        /** {@code rd, rs1, imm}: the I-type immediate. */
        I,
        /** {@code rd, imm(rs1)}: an integer load. */
        LOAD,
        /** {@code rd, rs1, shamt}: the shift amount in the immediate. */
        SHIFT,
        /** {@code rs2, imm(rs1)}: a store, S-type immediate. */
        S,
        /** {@code rs1, rs2, offset}: B-type immediate. */
        B,
        /** {@code rd, imm}: the U-type immediate, already shifted left by 12. */
        U,
        /** {@code rd, offset}: the J-type immediate. */
        J,
        /** {@code rd, csr, rs1}: the CSR number in the immediate. */
        CSR,
        /** {@code rd, csr, uimm}: the 5-bit immediate in the {@code rs1} field. */
        CSRI,
        /** {@code rd, (rs1)}: LR. */
        LR,
        /** {@code rd, rs2, (rs1)}: SC and the read-modify-write AMOs. */
        AMO,
        /** {@code frd, imm(rs1)}: an FP load. */
        FLOAD,
        /** {@code frs2, imm(rs1)}: an FP store. */
        FSTORE,
        /** {@code frd, frs1, frs2, frs3, rm}: fused multiply-add; {@code rs3} in the immediate. */
        R4,
        /** {@code frd, frs1, frs2, rm}. */
        FR,
        /** {@code frd, frs1, rm}: one FP source (square root, format conversions). */
        FR1,
        /** {@code frd, frs1, frs2}: no rounding mode (sign injection, min, max). */
        FRNR,
        /** {@code rd, frs1, rm}: FP to integer conversion. */
        F2X,
        /** {@code rd, frs1}: FP to integer move or classify. */
        F2X_NR,
        /** {@code rd, frs1, frs2}: FP compare. */
        FCMP,
        /** {@code frd, rs1, rm}: integer to FP conversion. */
        X2F,
        /** {@code frd, rs1}: integer to FP move. */
        X2F_NR,
        /** {@code rs1, rs2}: SFENCE.VMA, HFENCE.VVMA, HFENCE.GVMA. */
        SFENCE,
        /** {@code rs2, (rs1)}: HSV. */
        HSV
    }

    /** What an instruction does to control flow; everything but {@link #NEXT} ends a basic block. */
    public enum Flow {
        /** Falls through to the next instruction. */
        NEXT,
        /** A conditional branch to {@code pc + imm} or the next instruction. */
        BRANCH,
        /** JAL: always to {@code pc + imm}. */
        JUMP,
        /** JALR: to a computed address. */
        INDIRECT,
        /** ECALL, EBREAK, xRET, WFI, fences that change what code means: may trap or change mode. */
        SYSTEM,
        /** Always traps: the illegal instruction. */
        TRAP
    }

    private static final Op[] VALUES = values();

    private final Format format;
    private final Flow flow;
    private final String mnemonic;

    Op(Format format) {
        this(format, Flow.NEXT);
    }

    Op(Format format, Flow flow) {
        this.format = format;
        this.flow = flow;
        this.mnemonic = name().toLowerCase(java.util.Locale.ROOT).replace('_', '.');
    }

    /** {@return the operand format} */
    public Format format() {
        return format;
    }

    /** {@return what the instruction does to control flow} */
    public Flow flow() {
        return flow;
    }

    /** {@return whether the instruction ends a basic block} */
    public boolean endsBlock() {
        return flow != Flow.NEXT;
    }

    /** {@return the assembler mnemonic, as in the manuals: {@code amoadd.w}, {@code fcvt.d.lu}} */
    public String mnemonic() {
        return mnemonic;
    }

    /** {@return the op with ordinal {@code ordinal}} */
    public static Op of(int ordinal) {
        return VALUES[ordinal];
    }

    /** {@return whether this op reads or writes the F registers, and so traps while {@code mstatus.FS} is Off} */
    public boolean usesFp() {
        return switch (format) {
            case FLOAD, FSTORE, R4, FR, FR1, FRNR, F2X, F2X_NR, FCMP, X2F, X2F_NR -> true;
            default -> false;
        };
    }
}
