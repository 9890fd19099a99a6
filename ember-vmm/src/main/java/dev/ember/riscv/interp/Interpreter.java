package dev.ember.riscv.interp;

import static dev.ember.riscv.isa.Insn.imm;
import static dev.ember.riscv.isa.Insn.rd;
import static dev.ember.riscv.isa.Insn.rs1;
import static dev.ember.riscv.isa.Insn.rs2;

import dev.ember.memory.GuestMemory;
import dev.ember.riscv.cpu.ExecutionEngine;
import dev.ember.riscv.cpu.Hart;
import dev.ember.riscv.cpu.Mmu;
import dev.ember.riscv.cpu.Hstatus;
import dev.ember.riscv.cpu.Mstatus;
import dev.ember.riscv.cpu.Privilege;
import dev.ember.riscv.cpu.Trap;
import dev.ember.riscv.isa.Decoder;
import dev.ember.riscv.isa.Insn;
import dev.ember.riscv.isa.Op;
import dev.ember.riscv.isa.OpCode;
import dev.ember.riscv.isa.TrapCause;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * The reference execution engine: runs RV64GC instructions one at a time (unprivileged ISA
 * chapters 2 to 21, privileged ISA chapter 3's SYSTEM instructions), from instructions decoded
 * once per physical code page ({@link DecodedPages}).
 *
 * <p>Shape, chosen for HotSpot (see {@code shared/PERFORMANCE.md}): the fetch goes through the
 * MMU's fetch TLB once per code page and then reads the page's decoded slots; execution is one
 * {@code switch} over {@link Op}, each case a line or a call to a small method, well under
 * HotSpot's 8000-byte compile limit, over the ops' {@link OpCode}s (an {@code int} switch is one
 * table jump). Guest exceptions are {@link Trap}s thrown only from slow
 * paths; the {@code pc} is written only after an instruction completes, so a trap leaves the
 * faulting instruction's {@code pc} for {@code mepc}/{@code sepc}.
 *
 * <p>Interrupts are not checked per instruction: {@link #run} executes a slice and returns to
 * the vCPU loop, which checks them between slices, as TinyEMU does.
 *
 * <p>The translator uses this engine for code that is not hot yet, one basic block at a time
 * ({@link #runBlock}).
 *
 * <p>Owned by the hart's vCPU thread.
 */
public final class Interpreter implements ExecutionEngine {

    private final Hart h;
    private final Mmu mmu;
    private final long[] x;
    private final MemorySegment seg;
    private final DecodedPages decoded;
    private long attempted;

    /** An interpreter with its own decoded-page cache, for a hart that runs alone (tests, tools). */
    public Interpreter(Hart hart) {
        this(hart, new DecodedPages(hart.mmu.ram()));
    }

    /** An interpreter sharing {@code decoded} with the other harts of its machine. */
    public Interpreter(Hart hart, DecodedPages decoded) {
        this.h = hart;
        this.mmu = hart.mmu;
        this.x = hart.x;
        this.seg = hart.mmu.seg;
        this.decoded = decoded;
    }

    /**
     * Executes up to {@code budget} instructions, stopping early when an instruction ends the
     * slice (a CSR write that may unmask an interrupt, WFI, xRET, an SBI call that changes run
     * state). Synchronous exceptions are taken inside.
     *
     * @return the number of instructions attempted
     */
    @Override
    public int run(int budget) {
        int done = 0;
        h.sliceEnd = false;
        while (done < budget && !h.sliceEnd) {
            done = runUntrapped(done, budget, false, null);
        }
        attempted += done;
        return done;
    }

    /**
     * Executes instructions up to and including the next one that ends a basic block (a branch,
     * a jump, a SYSTEM instruction, or one that traps), at most {@code budget} of them, and
     * stops early as {@link #run} does. Does not clear {@link Hart#sliceEnd}.
     *
     * @return the number of instructions attempted
     */
    public int runBlock(int budget) {
        int done = 0;
        if (!h.sliceEnd) {
            done = runUntrapped(0, budget, true, null);
        }
        attempted += done;
        return done;
    }

    /** What the translator learns from the interpreter: where basic blocks start. */
    public interface BlockWatch {
        /**
         * A basic block is about to start at RAM offset {@code hostOffset}.
         *
         * @return true to stop before it, because it should be translated now
         */
        boolean blockStart(long hostOffset);
    }

    /**
     * Executes instructions as {@link #run} does, except that at every basic block after the
     * first it stops before the block's first instruction if translated code begins there
     * ({@link Insn#REGION_ENTRY}) or {@code watch} says it is hot. Does not clear
     * {@link Hart#sliceEnd}. Cold code thus runs at the interpreter's full speed, and the
     * translator hears about it only at the blocks it may want.
     *
     * @return the number of instructions attempted
     */
    public int runUntilHot(int budget, BlockWatch watch) {
        int done = 0;
        boolean first = true;
        while (done < budget && !h.sliceEnd) {
            done = runUntrapped(done, budget, false, watch, first);
            if (stoppedAtBlock) {
                break;
            }
            first = false;   // a trap was taken: the handler's first instruction starts a block
        }
        attempted += done;
        return done;
    }

    @Override
    public long interpretedInstructions() {
        return attempted;
    }

    /**
     * Runs until the budget, a slice end or a trap, which it takes; returns the new count.
     * With {@code oneBlock}, also stops after an instruction that ends a basic block.
     */
    private int runUntrapped(int done, int budget, boolean oneBlock, BlockWatch watch) {
        return runUntrapped(done, budget, oneBlock, watch, true);
    }

    /** Set when {@link #runUntrapped} stopped before a block for the {@link BlockWatch}. */
    private boolean stoppedAtBlock;

    private int runUntrapped(int done, int budget, boolean oneBlock, BlockWatch watch, boolean skipFirstBlock) {
        stoppedAtBlock = false;
        final Hart h = this.h;
        final long[] fetchTag = mmu.fetchTag;
        final long[] fetchAddend = mmu.fetchAddend;
        // The count lives in this frame, so the trap is caught here: caught in run(), the
        // instructions before it would go uncounted and a slice could overrun its budget.
        // The pc lives in a local while the slice runs; h.pc is written back when the slice
        // ends and before anything that reads it (trap entry, SBI calls, xRET).
        long pc = h.pc;
        // The current code page: its virtual address, its RAM offset and its decoded slots.
        // Valid for the slice: a privilege change ends the slice, and so does every TLB flush
        // (Mmu.flush) and every store to a page of code (CodePages).
        long codePage = -1;
        long codeOffset = 0;
        long[] code = null;
        final long fetchKey = mmu.fetchKey;
        // With a watch, every block start but the first is reported; after a trap, the
        // handler's entry is a block start too.
        boolean blockStart = !skipFirstBlock;
        try {
            while (done < budget && !h.sliceEnd) {
                done++;   // before the fetch, so a slice of faulting fetches still ends
                h.instret++;   // taken back below if the instruction traps instead of retiring
                long page = pc & ~0xFFFL;
                if (page != codePage) {
                    int i = (int) (pc >>> 12) & (Mmu.TLB_SIZE - 1);
                    long offset = fetchTag[i] == (page | fetchKey) ? pc + fetchAddend[i] : mmu.fetchOffset(pc);
                    codeOffset = offset & ~0xFFFL;
                    code = decoded.page(codeOffset >>> 12, mmu);
                    codePage = page;
                }
                int slot = (int) (pc & 0xFFF) >>> 1;
                long insn = code[slot];
                if (insn == 0) {
                    insn = decodeSlot(code, slot, pc, codeOffset);
                }
                if (blockStart && watch != null
                        && ((insn & Insn.REGION_ENTRY) != 0 || watch.blockStart(codeOffset | (pc & 0xFFF)))) {
                    done--;
                    h.instret--;
                    stoppedAtBlock = true;
                    break;
                }
                pc = execute(insn, pc);
                x[0] = 0;
                blockStart = Insn.endsBlock(insn);
                if (oneBlock && blockStart) {
                    break;
                }
            }
            h.pc = pc;
        } catch (Trap t) {
            h.instret--;
            h.pc = pc;   // the faulting instruction's pc, for mepc/sepc
            h.takeTrap(t);
        }
        return done;
    }

    /**
     * Decodes the instruction at {@code pc}, which lies in the code page at RAM offset
     * {@code codeOffset}, and stores it in its slot, unless it straddles the page's end.
     */
    private long decodeSlot(long[] code, int slot, long pc, long codeOffset) {
        int inPage = (int) (pc & 0xFFF);
        int bits;
        if (inPage <= 0xFFC) {
            bits = seg.get(GuestMemory.U32, codeOffset + inPage);
        } else {
            bits = seg.get(GuestMemory.U16, codeOffset + inPage) & 0xFFFF;
            if (Decoder.is32Bit(bits)) {
                return Decoder.decode(mmu.fetch(pc));   // straddles two pages: never cached
            }
        }
        long insn = Decoder.decode(bits);
        code[slot] = insn;
        // Ordering: another hart may have rewritten the bytes and cleared this slot between our
        // read and our store. Read them again after the store: if they changed, the slot must
        // not keep what we decoded (CodePages clears slots after the write, we check after ours).
        VarHandle.fullFence();
        int again = inPage <= 0xFFC ? seg.get(GuestMemory.U32, codeOffset + inPage)
                                    : seg.get(GuestMemory.U16, codeOffset + inPage) & 0xFFFF;
        if (again != bits) {
            code[slot] = 0;
            return Decoder.decode(again);
        }
        return insn;
    }

    /**
     * Executes one decoded instruction at {@code pc}.
     *
     * @return the pc of the next instruction
     */
    long execute(long d, long pc) {
        final long[] x = this.x;
        int len = Insn.length(d);
        long next = pc + len;
        switch (Insn.opIndex(d)) {
            case OpCode.ILLEGAL -> throw h.illegalInstruction();
            case OpCode.LUI -> x[rd(d)] = imm(d);
            case OpCode.AUIPC -> x[rd(d)] = pc + imm(d);
            case OpCode.JAL -> { x[rd(d)] = next; return pc + imm(d); }
            case OpCode.JALR -> {
                long target = (x[rs1(d)] + imm(d)) & ~1L;
                x[rd(d)] = next;
                return target;
            }
            case OpCode.BEQ -> { return x[rs1(d)] == x[rs2(d)] ? pc + imm(d) : next; }
            case OpCode.BNE -> { return x[rs1(d)] != x[rs2(d)] ? pc + imm(d) : next; }
            case OpCode.BLT -> { return x[rs1(d)] < x[rs2(d)] ? pc + imm(d) : next; }
            case OpCode.BGE -> { return x[rs1(d)] >= x[rs2(d)] ? pc + imm(d) : next; }
            case OpCode.BLTU -> { return Long.compareUnsigned(x[rs1(d)], x[rs2(d)]) < 0 ? pc + imm(d) : next; }
            case OpCode.BGEU -> { return Long.compareUnsigned(x[rs1(d)], x[rs2(d)]) >= 0 ? pc + imm(d) : next; }
            case OpCode.LB -> x[rd(d)] = (byte) mmu.loadU8(x[rs1(d)] + imm(d));
            case OpCode.LH -> x[rd(d)] = (short) mmu.loadU16(x[rs1(d)] + imm(d));
            case OpCode.LW -> x[rd(d)] = mmu.load32(x[rs1(d)] + imm(d));
            case OpCode.LD -> x[rd(d)] = mmu.load64(x[rs1(d)] + imm(d));
            case OpCode.LBU -> x[rd(d)] = mmu.loadU8(x[rs1(d)] + imm(d));
            case OpCode.LHU -> x[rd(d)] = mmu.loadU16(x[rs1(d)] + imm(d));
            case OpCode.LWU -> x[rd(d)] = mmu.load32(x[rs1(d)] + imm(d)) & 0xFFFF_FFFFL;
            case OpCode.SB -> mmu.store8(x[rs1(d)] + imm(d), (int) x[rs2(d)]);
            case OpCode.SH -> mmu.store16(x[rs1(d)] + imm(d), (int) x[rs2(d)]);
            case OpCode.SW -> mmu.store32(x[rs1(d)] + imm(d), (int) x[rs2(d)]);
            case OpCode.SD -> mmu.store64(x[rs1(d)] + imm(d), x[rs2(d)]);
            case OpCode.ADDI -> x[rd(d)] = x[rs1(d)] + imm(d);
            case OpCode.SLTI -> x[rd(d)] = x[rs1(d)] < imm(d) ? 1 : 0;
            case OpCode.SLTIU -> x[rd(d)] = Long.compareUnsigned(x[rs1(d)], imm(d)) < 0 ? 1 : 0;
            case OpCode.XORI -> x[rd(d)] = x[rs1(d)] ^ imm(d);
            case OpCode.ORI -> x[rd(d)] = x[rs1(d)] | imm(d);
            case OpCode.ANDI -> x[rd(d)] = x[rs1(d)] & imm(d);
            case OpCode.SLLI -> x[rd(d)] = x[rs1(d)] << imm(d);
            case OpCode.SRLI -> x[rd(d)] = x[rs1(d)] >>> imm(d);
            case OpCode.SRAI -> x[rd(d)] = x[rs1(d)] >> imm(d);
            case OpCode.ADD -> x[rd(d)] = x[rs1(d)] + x[rs2(d)];
            case OpCode.SUB -> x[rd(d)] = x[rs1(d)] - x[rs2(d)];
            case OpCode.SLL -> x[rd(d)] = x[rs1(d)] << x[rs2(d)];
            case OpCode.SLT -> x[rd(d)] = x[rs1(d)] < x[rs2(d)] ? 1 : 0;
            case OpCode.SLTU -> x[rd(d)] = Long.compareUnsigned(x[rs1(d)], x[rs2(d)]) < 0 ? 1 : 0;
            case OpCode.XOR -> x[rd(d)] = x[rs1(d)] ^ x[rs2(d)];
            case OpCode.SRL -> x[rd(d)] = x[rs1(d)] >>> x[rs2(d)];
            case OpCode.SRA -> x[rd(d)] = x[rs1(d)] >> x[rs2(d)];
            case OpCode.OR -> x[rd(d)] = x[rs1(d)] | x[rs2(d)];
            case OpCode.AND -> x[rd(d)] = x[rs1(d)] & x[rs2(d)];
            case OpCode.ADDIW -> x[rd(d)] = (int) (x[rs1(d)] + imm(d));
            case OpCode.SLLIW -> x[rd(d)] = (int) x[rs1(d)] << imm(d);
            case OpCode.SRLIW -> x[rd(d)] = (int) x[rs1(d)] >>> imm(d);
            case OpCode.SRAIW -> x[rd(d)] = (int) x[rs1(d)] >> imm(d);
            case OpCode.ADDW -> x[rd(d)] = (int) x[rs1(d)] + (int) x[rs2(d)];
            case OpCode.SUBW -> x[rd(d)] = (int) x[rs1(d)] - (int) x[rs2(d)];
            case OpCode.SLLW -> x[rd(d)] = (int) x[rs1(d)] << x[rs2(d)];
            case OpCode.SRLW -> x[rd(d)] = (int) x[rs1(d)] >>> x[rs2(d)];
            case OpCode.SRAW -> x[rd(d)] = (int) x[rs1(d)] >> x[rs2(d)];
            case OpCode.FENCE -> VarHandle.fullFence();   // order this hart's accesses for other harts
            case OpCode.FENCE_I -> h.fenceI();
            case OpCode.ECALL, OpCode.EBREAK, OpCode.SRET, OpCode.MRET, OpCode.WFI, OpCode.SFENCE_VMA -> { return system(d, pc); }
            case OpCode.HLV_B, OpCode.HLV_BU, OpCode.HLV_H, OpCode.HLV_HU, OpCode.HLV_W, OpCode.HLV_WU, OpCode.HLV_D,
                 OpCode.HLVX_HU, OpCode.HLVX_WU, OpCode.HSV_B, OpCode.HSV_H, OpCode.HSV_W, OpCode.HSV_D,
                 OpCode.HFENCE_VVMA, OpCode.HFENCE_GVMA -> { return Hypervisor.execute(h, d, pc); }
            case OpCode.CSRRW -> x[rd(d)] = h.csrAccess(Insn.csr(d), x[rs1(d)], -1L, true);
            case OpCode.CSRRS -> x[rd(d)] = h.csrAccess(Insn.csr(d), -1L, x[rs1(d)], rs1(d) != 0);
            case OpCode.CSRRC -> x[rd(d)] = h.csrAccess(Insn.csr(d), 0L, x[rs1(d)], rs1(d) != 0);
            case OpCode.CSRRWI -> x[rd(d)] = h.csrAccess(Insn.csr(d), rs1(d), -1L, true);
            case OpCode.CSRRSI -> x[rd(d)] = h.csrAccess(Insn.csr(d), -1L, rs1(d), rs1(d) != 0);
            case OpCode.CSRRCI -> x[rd(d)] = h.csrAccess(Insn.csr(d), 0L, rs1(d), rs1(d) != 0);
            case OpCode.MUL -> x[rd(d)] = x[rs1(d)] * x[rs2(d)];
            case OpCode.MULH -> x[rd(d)] = Math.multiplyHigh(x[rs1(d)], x[rs2(d)]);
            case OpCode.MULHSU -> x[rd(d)] = IntegerOps.mulhsu(x[rs1(d)], x[rs2(d)]);
            case OpCode.MULHU -> x[rd(d)] = Math.unsignedMultiplyHigh(x[rs1(d)], x[rs2(d)]);
            case OpCode.DIV -> x[rd(d)] = IntegerOps.div(x[rs1(d)], x[rs2(d)]);
            case OpCode.DIVU -> x[rd(d)] = IntegerOps.divu(x[rs1(d)], x[rs2(d)]);
            case OpCode.REM -> x[rd(d)] = IntegerOps.rem(x[rs1(d)], x[rs2(d)]);
            case OpCode.REMU -> x[rd(d)] = IntegerOps.remu(x[rs1(d)], x[rs2(d)]);
            case OpCode.MULW -> x[rd(d)] = (int) x[rs1(d)] * (int) x[rs2(d)];
            case OpCode.DIVW -> x[rd(d)] = IntegerOps.divw(x[rs1(d)], x[rs2(d)]);
            case OpCode.DIVUW -> x[rd(d)] = IntegerOps.divuw(x[rs1(d)], x[rs2(d)]);
            case OpCode.REMW -> x[rd(d)] = IntegerOps.remw(x[rs1(d)], x[rs2(d)]);
            case OpCode.REMUW -> x[rd(d)] = IntegerOps.remuw(x[rs1(d)], x[rs2(d)]);
            case OpCode.LR_W, OpCode.LR_D -> x[rd(d)] = Amo.loadReserved(h, x[rs1(d)], Insn.op(d) == Op.LR_D);
            case OpCode.SC_W, OpCode.SC_D -> x[rd(d)] = Amo.storeConditional(h, x[rs1(d)], x[rs2(d)], Insn.op(d) == Op.SC_D);
            case OpCode.AMOSWAP_W, OpCode.AMOADD_W, OpCode.AMOXOR_W, OpCode.AMOAND_W, OpCode.AMOOR_W, OpCode.AMOMIN_W, OpCode.AMOMAX_W, OpCode.AMOMINU_W, OpCode.AMOMAXU_W ->
                    x[rd(d)] = Amo.apply32(h, Insn.op(d), x[rs1(d)], x[rs2(d)]);
            case OpCode.AMOSWAP_D, OpCode.AMOADD_D, OpCode.AMOXOR_D, OpCode.AMOAND_D, OpCode.AMOOR_D, OpCode.AMOMIN_D, OpCode.AMOMAX_D, OpCode.AMOMINU_D, OpCode.AMOMAXU_D ->
                    x[rd(d)] = Amo.apply64(h, Insn.op(d), x[rs1(d)], x[rs2(d)]);
            case OpCode.FLW -> {
                long a = x[rs1(d)] + imm(d);
                h.touchFp();
                h.f[rd(d)] = FloatOps.box(mmu.load32(a));
            }
            case OpCode.FLD -> {
                long a = x[rs1(d)] + imm(d);
                h.touchFp();
                h.f[rd(d)] = mmu.load64(a);
            }
            case OpCode.FSW -> {
                requireFpOn();
                mmu.store32(x[rs1(d)] + imm(d), (int) h.f[rs2(d)]);
            }
            case OpCode.FSD -> {
                requireFpOn();
                mmu.store64(x[rs1(d)] + imm(d), h.f[rs2(d)]);
            }
            default -> fp(d);   // the F and D computational instructions
        }
        return next;
    }

    private void requireFpOn() {
        if (!h.fpEnabled()) {
            throw h.illegalInstruction();
        }
    }

    private void fp(long d) {
        requireFpOn();
        if (!FloatOps.execute(d, x, h.f, h.fpu, h.frm)) {
            throw h.illegalInstruction();
        }
        h.touchFp();
    }

    private long system(long d, long pc) {
        h.pc = pc;   // xRET and SBI calls read and write h.pc
        switch (Insn.op(d)) {
            case SFENCE_VMA -> {
                sfenceVma(h);
                return pc + Insn.length(d);
            }
            case ECALL -> ecall(h);
            case EBREAK -> throw h.trap(TrapCause.BREAKPOINT, pc);
            case SRET -> h.sret();
            case MRET -> h.mret();
            case WFI -> wfi(h, pc + Insn.length(d));
            default -> throw new IllegalStateException("not a SYSTEM op: " + Insn.op(d));
        }
        return h.pc;
    }

    /**
     * SFENCE.VMA (privileged ISA §4.2.1): illegal in U-mode, and in S-mode with
     * {@code mstatus.TVM}. With V=1 (H extension) it fences the guest's translations, and is a
     * virtual-instruction exception in VU-mode or under {@code hstatus.VTVM}; with V=0 and the
     * extension it leaves the guests' translations alone.
     */
    public static void sfenceVma(Hart h) {
        if (h.virt) {
            if (h.priv == Privilege.USER || (h.hstatus & Hstatus.VTVM) != 0) {
                throw h.virtualInstruction();
            }
            h.mmu.flushCurrentGuest();
            return;
        }
        if (h.priv == Privilege.USER || (h.priv == Privilege.SUPERVISOR && (h.mstatus & Mstatus.TVM) != 0)) {
            throw h.illegalInstruction();
        }
        h.mmu.flushHost();
    }

    /**
     * WFI (privileged ISA §3.3.3): illegal in U-mode, and in S-mode with {@code mstatus.TW};
     * otherwise the hart waits, resuming at {@code next}.
     */
    public static void wfi(Hart h, long next) {
        // With V=1 (H extension § Trap Cause Codes): mstatus.TW still makes it illegal; else
        // VU-mode, or VS-mode with hstatus.VTW, raises a virtual-instruction exception.
        if (h.priv == Privilege.USER && !h.virt || (h.priv < Privilege.MACHINE && (h.mstatus & Mstatus.TW) != 0)) {
            throw h.illegalInstruction();
        }
        if (h.virt && (h.priv == Privilege.USER || (h.hstatus & Hstatus.VTW) != 0)) {
            throw h.virtualInstruction();
        }
        h.pc = next;
        h.waitingForInterrupt = true;
        h.sliceEnd = true;
    }

    /**
     * ECALL at {@code h.pc}: an SBI call served by the VMM from S-mode when it provides SBI
     * (then {@code h.pc} moves past the ecall), otherwise the environment-call exception.
     */
    public static void ecall(Hart h) {
        // A guest's ecall (V=1) goes to its hypervisor, never to the built-in SBI.
        if (h.priv == Privilege.SUPERVISOR && !h.virt && h.sbi != null) {
            h.sbi.supervisorCall(h);
            h.pc += 4;
            return;
        }
        int cause = switch (h.priv) {
            case Privilege.USER -> TrapCause.ECALL_FROM_U;
            case Privilege.SUPERVISOR -> h.virt ? TrapCause.ECALL_FROM_VS : TrapCause.ECALL_FROM_S;
            default -> TrapCause.ECALL_FROM_M;
        };
        throw h.trap(cause, 0);
    }
}
