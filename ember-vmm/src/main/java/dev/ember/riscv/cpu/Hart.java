package dev.ember.riscv.cpu;

import static dev.ember.riscv.isa.CsrNumbers.*;
import static dev.ember.riscv.cpu.Privilege.*;

import dev.ember.memory.PhysicalBus;
import dev.ember.riscv.cpu.fpu.Fpu;
import dev.ember.riscv.isa.TrapCause;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;

/**
 * The architectural state of one RV64GC hart: registers, privilege level, the CSRs, and trap
 * entry and return (privileged ISA chapters 3 and 4).
 *
 * <p>The CSRs are plain fields, read and written through {@link #csrAccess}, which applies the
 * access rules encoded in the CSR number (§2.1) and each register's WARL legalisation. The
 * interrupt-pending word {@link #mip} is the one field other threads write: devices, other
 * harts' IPIs and the timer set bits in it atomically, then {@link #wake} the hart.
 *
 * <p>Timers: {@code MTIP} and (with Sstc's {@code menvcfg.STCE}) {@code STIP} are not stored;
 * they are computed from {@code mtimecmp}/{@code stimecmp} against the machine clock whenever
 * interrupts are checked, so a timer costs nothing until it is due.
 *
 * <p>Owned by its vCPU thread, except {@link #mip}, {@link #mtimecmp}, the remote-fence
 * tickets ({@link #requestFence}) and the run-state fields marked volatile, which other
 * harts and devices use.
 */
public final class Hart {

    /** {@code menvcfg.STCE}: Sstc's stimecmp is enabled (Sstc §2.1). */
    public static final long MENVCFG_STCE = 1L << 63;

    static final long MISA_VALUE = (2L << 62) | bit('A') | bit('C') | bit('D') | bit('F') | bit('I') | bit('M')
            | bit('S') | bit('U');

    /** Interrupts that exist on this hart: SSI, MSI, STI, MTI, SEI, MEI. */
    static final long INTERRUPTS = 0b1010_1010_1010;
    static final long S_INTERRUPTS = 0b0010_0010_0010;
    /** Exceptions M-mode may delegate: all defined causes but ecall from M-mode. */
    static final long DELEGABLE_EXCEPTIONS = 0xB3FF;

    private static final VarHandle MIP_HANDLE;

    static {
        try {
            MIP_HANDLE = MethodHandles.lookup().findVarHandle(Hart.class, "mip", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static long bit(char extension) {
        return 1L << (extension - 'A');
    }

    public final int id;
    public final long[] x = new long[32];
    public final long[] f = new long[32];
    public final Fpu fpu = new Fpu();
    public final Mmu mmu;
    private final LongSupplier clock;
    private final Trap trap = new Trap();

    public long pc;
    public int priv = MACHINE;
    /**
     * Instructions retired; also serves as the cycle count. The engine counts an instruction
     * before executing it, so while a CSR instruction runs this already includes it.
     */
    public long instret;

    public int frm;
    public long mstatus = Mstatus.XLEN64;
    public long medeleg;
    public long mideleg;
    public long mie;
    public long mtvec;
    public long mscratch;
    public long mepc;
    public long mcause;
    public long mtval;
    public long mcounteren;
    public long menvcfg;
    public long stvec;
    public long sscratch;
    public long sepc;
    public long scause;
    public long stval;
    public long scounteren;
    public long senvcfg;
    public long satp;
    public long stimecmp = -1;
    private final long[] pmpcfg = new long[16];
    private final long[] pmpaddr = new long[64];

    /** Pending interrupts other than the computed timer bits; written atomically. */
    private volatile long mip;
    /** The software-writable SEIP bit, kept apart from the PLIC's line; read as their OR. */
    private boolean seipSoftware;
    private static final long SEIP_BIT = 1L << TrapCause.SEI;
    /** The ACLINT's machine timer compare register for this hart. */
    public volatile long mtimecmp = -1;

    /** LR reservation: the RAM offset and the value loaded, or {@code -1} for none. */
    public long reservationOffset = -1;
    public long reservationValue;

    /** Set by an instruction that must end the current slice (WFI, interrupt enables, HSM). */
    public boolean sliceEnd;
    /** Set by WFI; the run loop parks until an interrupt is pending. */
    public boolean waitingForInterrupt;

    /** Built-in SBI, or null when M-mode firmware runs. */
    public EnvironmentCall sbi;

    /** Run state for the SBI HSM extension (§9): see {@link HartState}. */
    public volatile HartState state = HartState.STARTED;
    /** Remote fences requested of this hart: each requester takes the next number as its ticket. */
    private final java.util.concurrent.atomic.AtomicLong fenceRequests = new java.util.concurrent.atomic.AtomicLong();
    /** The highest request this hart has served; its owner writes it after flushing. */
    private volatile long fencesServed;
    /** Set to make the run loop return (VM pause, stop). */
    public volatile boolean exitRequested;
    volatile Thread thread;

    public Hart(int id, PhysicalBus bus, LongSupplier clock) {
        this.id = id;
        this.clock = clock;
        this.mmu = new Mmu(this, bus);
        mmu.updateKeys();
    }

    /** {@return the machine clock in ticks of the timebase} */
    public long time() {
        return clock.getAsLong();
    }

    /** Binds the hart to the thread that will run it, for {@link #wake}. */
    public void bindThread(Thread t) {
        thread = t;
    }

    /** Unparks the hart's thread if it waits in WFI or in a stopped state. */
    public void wake() {
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    // ---- traps -------------------------------------------------------------------------

    /**
     * Prepares this hart's preallocated trap for throwing.
     *
     * @return the trap, for {@code throw hart.trap(cause, tval)}
     */
    public Trap trap(int cause, long tval) {
        trap.cause = cause;
        trap.tval = tval;
        return trap;
    }

    /** {@return an illegal-instruction trap; its tval is filled in with the instruction bits at trap entry} */
    public Trap illegalInstruction() {
        return trap(TrapCause.ILLEGAL_INSTRUCTION, ILLEGAL_TVAL_PENDING);
    }

    static final long ILLEGAL_TVAL_PENDING = 0xDEAD_0000_0000_0001L;

    /**
     * Takes a trap at the current {@code pc} (privileged ISA §3.1.6.1, §3.1.8, §4.1.1):
     * delegates to S-mode when the hart is in S or U mode and the cause's bit is set in
     * {@code medeleg}/{@code mideleg}, otherwise traps to M-mode.
     *
     * @param cause exception code, with {@link TrapCause#INTERRUPT} set for interrupts
     */
    public void takeTrap(long cause, long tval) {
        boolean interrupt = cause < 0;
        int code = (int) (cause & 63);
        if (!interrupt && code == TrapCause.ILLEGAL_INSTRUCTION && tval == ILLEGAL_TVAL_PENDING) {
            tval = mmu.instructionBitsAt(pc);
        }
        reservationOffset = -1;
        long deleg = interrupt ? mideleg : medeleg;
        long s = mstatus;
        if (priv <= SUPERVISOR && ((deleg >>> code) & 1) != 0) {
            scause = cause;
            sepc = pc;
            stval = tval;
            s = (s & ~Mstatus.SPIE) | ((s & Mstatus.SIE) != 0 ? Mstatus.SPIE : 0);
            s = (s & ~Mstatus.SPP) | (priv == SUPERVISOR ? Mstatus.SPP : 0);
            s &= ~Mstatus.SIE;
            pc = vector(stvec, interrupt, code);
            mstatus = s;
            setPrivilege(SUPERVISOR);
        } else {
            mcause = cause;
            mepc = pc;
            mtval = tval;
            s = (s & ~Mstatus.MPIE) | ((s & Mstatus.MIE) != 0 ? Mstatus.MPIE : 0);
            s = (s & ~Mstatus.MPP) | ((long) priv << Mstatus.MPP_SHIFT);
            s &= ~Mstatus.MIE;
            pc = vector(mtvec, interrupt, code);
            mstatus = s;
            setPrivilege(MACHINE);
        }
    }

    private static long vector(long tvec, boolean interrupt, int code) {
        long base = tvec & ~3L;
        return (interrupt && (tvec & 1) != 0) ? base + 4L * code : base;
    }

    /** MRET (§3.3.2). */
    public void mret() {
        if (priv < MACHINE) {
            throw illegalInstruction();
        }
        long s = mstatus;
        int target = (int) ((s & Mstatus.MPP) >>> Mstatus.MPP_SHIFT);
        s = (s & ~Mstatus.MIE) | ((s & Mstatus.MPIE) != 0 ? Mstatus.MIE : 0);
        s |= Mstatus.MPIE;
        s &= ~Mstatus.MPP;
        if (target != MACHINE) {
            s &= ~Mstatus.MPRV;
        }
        mstatus = s;
        pc = mepc;
        reservationOffset = -1;
        setPrivilege(target);
        sliceEnd = true;
    }

    /** SRET (§3.3.2, §4.1.1): illegal in U-mode and, with {@code mstatus.TSR}, in S-mode. */
    public void sret() {
        if (priv < SUPERVISOR || (priv == SUPERVISOR && (mstatus & Mstatus.TSR) != 0)) {
            throw illegalInstruction();
        }
        long s = mstatus;
        int target = (s & Mstatus.SPP) != 0 ? SUPERVISOR : USER;
        s = (s & ~Mstatus.SIE) | ((s & Mstatus.SPIE) != 0 ? Mstatus.SIE : 0);
        s |= Mstatus.SPIE;
        s &= ~Mstatus.SPP;
        s &= ~Mstatus.MPRV;
        mstatus = s;
        pc = sepc;
        reservationOffset = -1;
        setPrivilege(target);
        sliceEnd = true;
    }

    /** Changes the privilege level; the MMU's TLB keys follow. */
    public void setPrivilege(int level) {
        priv = level;
        mmu.updateKeys();
    }

    // ---- interrupts --------------------------------------------------------------------

    /** Sets or clears bit {@code bit} of {@code mip} from any thread, waking the hart when set. */
    public void setPending(int bit, boolean level) {
        if (level) {
            MIP_HANDLE.getAndBitwiseOr(this, 1L << bit);
            wake();
        } else {
            MIP_HANDLE.getAndBitwiseAnd(this, ~(1L << bit));
        }
    }

    /** {@return {@code mip} as software reads it: stored bits plus the computed timer bits} */
    public long readMip() {
        long p = mip | (seipSoftware ? SEIP_BIT : 0);
        long now = clock.getAsLong();
        if (Long.compareUnsigned(now, mtimecmp) >= 0) {
            p |= 1L << TrapCause.MTI;
        }
        if ((menvcfg & MENVCFG_STCE) != 0) {
            p &= ~(1L << TrapCause.STI);
            if (Long.compareUnsigned(now, stimecmp) >= 0) {
                p |= 1L << TrapCause.STI;
            }
        }
        return p;
    }

    /**
     * Takes the highest-priority pending and enabled interrupt, if any (§3.1.9: MEI, MSI, MTI,
     * SEI, SSI, STI).
     *
     * @return whether an interrupt was taken
     */
    public boolean checkInterrupts() {
        long enabled = readMip() & mie;
        if (enabled == 0) {
            return false;
        }
        long machine = enabled & ~mideleg;
        if (machine != 0 && (priv < MACHINE || (mstatus & Mstatus.MIE) != 0)) {
            takeTrap(TrapCause.INTERRUPT | highestPriority(machine), 0);
            return true;
        }
        long supervisor = enabled & mideleg;
        if (supervisor != 0 && (priv < SUPERVISOR || (priv == SUPERVISOR && (mstatus & Mstatus.SIE) != 0))) {
            takeTrap(TrapCause.INTERRUPT | highestPriority(supervisor), 0);
            return true;
        }
        return false;
    }

    /** {@return whether WFI may complete: an interrupt is pending and locally enabled} */
    public boolean interruptPendingForWfi() {
        return (readMip() & mie) != 0;
    }

    /** {@return the nearest timer deadline that could wake this hart, in clock ticks, or -1 for none} */
    public long nextTimerDeadline() {
        long deadline = -1;
        if ((mie & (1L << TrapCause.MTI)) != 0) {
            deadline = mtimecmp;
        }
        if ((menvcfg & MENVCFG_STCE) != 0 && (mie & (1L << TrapCause.STI)) != 0
                && Long.compareUnsigned(stimecmp, deadline) < 0) {
            deadline = stimecmp;
        }
        return deadline;
    }

    private static final int[] PRIORITY =
            {TrapCause.MEI, TrapCause.MSI, TrapCause.MTI, TrapCause.SEI, TrapCause.SSI, TrapCause.STI};

    private static int highestPriority(long pending) {
        for (int code : PRIORITY) {
            if ((pending & (1L << code)) != 0) {
                return code;
            }
        }
        return Long.numberOfTrailingZeros(pending);
    }

    // ---- CSRs --------------------------------------------------------------------------

    /**
     * Performs one Zicsr access at the current privilege level (see the style example
     * {@code CsrFile} for the {@code newValue}/{@code writeMask}/{@code writes} convention).
     *
     * @return the value before the write
     * @throws Trap illegal-instruction when the CSR does not exist, needs more privilege, is
     *         read-only and {@code writes}, or is disabled (counters, stimecmp, satp under TVM)
     */
    public long csrAccess(int csr, long newValue, long writeMask, boolean writes) {
        if (priv < ((csr >>> 8) & 3) || (writes && ((csr >>> 10) & 3) == 3)) {
            throw illegalInstruction();
        }
        long old = csrRead(csr);
        if (writes) {
            // For mip, a read-modify-write of SEIP uses the software-writable bit alone, not
            // its OR with the PLIC's line (privileged ISA §3.1.9).
            long base = csr == MIP ? (old & ~SEIP_BIT) | (seipSoftware ? SEIP_BIT : 0) : old;
            csrWrite(csr, (base & ~writeMask) | (newValue & writeMask));
        }
        return old;
    }

    private boolean counterEnabled(int index) {
        if (priv < MACHINE && ((mcounteren >>> index) & 1) == 0) {
            return false;
        }
        return priv != USER || ((scounteren >>> index) & 1) != 0;
    }

    private void requireFp() {
        if ((mstatus & Mstatus.FS) == 0) {
            throw illegalInstruction();
        }
    }

    long csrRead(int csr) {
        switch (csr) {
            case FFLAGS: requireFp(); return fpu.flags & 0x1F;
            case FRM: requireFp(); return frm;
            case FCSR: requireFp(); return (frm << 5) | (fpu.flags & 0x1F);
            case CYCLE, INSTRET:
                if (!counterEnabled(csr - CYCLE)) throw illegalInstruction();
                return instret - 1;   // the value before this instruction (Zicsr §6.1)
            case TIME:
                if (!counterEnabled(1)) throw illegalInstruction();
                return clock.getAsLong();
            case SSTATUS: return sstatus();
            case SIE: return mie & mideleg;
            case STVEC: return stvec;
            case SCOUNTEREN: return scounteren;
            case SENVCFG: return senvcfg;
            case SSCRATCH: return sscratch;
            case SEPC: return sepc;
            case SCAUSE: return scause;
            case STVAL: return stval;
            case SIP: return readMip() & mideleg;
            case STIMECMP:
                if (priv < MACHINE && ((menvcfg & MENVCFG_STCE) == 0 || (mcounteren & 2) == 0)) throw illegalInstruction();
                return stimecmp;
            case SATP:
                if (priv == SUPERVISOR && (mstatus & Mstatus.TVM) != 0) throw illegalInstruction();
                return satp;
            case MVENDORID, MARCHID, MIMPID, MCONFIGPTR: return 0;
            case MHARTID: return id;
            case MSTATUS: return mstatusWithSd(mstatus);
            case MISA: return MISA_VALUE;
            case MEDELEG: return medeleg;
            case MIDELEG: return mideleg;
            case MIE: return mie;
            case MTVEC: return mtvec;
            case MCOUNTEREN: return mcounteren;
            case MENVCFG: return menvcfg;
            case MCOUNTINHIBIT: return 0;
            case MSCRATCH: return mscratch;
            case MEPC: return mepc;
            case MCAUSE: return mcause;
            case MTVAL: return mtval;
            case MIP: return readMip();
            case MCYCLE, MINSTRET: return instret - 1;
            case TSELECT: return 0;
            case TDATA1: return 0;
            default:
                if (csr >= HPMCOUNTER3 && csr <= HPMCOUNTER31) {
                    if (!counterEnabled(csr - CYCLE)) throw illegalInstruction();
                    return 0;
                }
                if ((csr >= MHPMCOUNTER3 && csr <= MHPMCOUNTER31) || (csr >= MHPMEVENT3 && csr <= MHPMEVENT31)) {
                    return 0;
                }
                if (csr >= PMPCFG0 && csr <= PMPCFG15) {
                    if ((csr & 1) != 0) throw illegalInstruction();   // RV64: odd pmpcfg do not exist
                    return pmpcfg[csr - PMPCFG0];
                }
                if (csr >= PMPADDR0 && csr <= PMPADDR63) {
                    return pmpaddr[csr - PMPADDR0];
                }
                throw illegalInstruction();
        }
    }

    private void csrWrite(int csr, long v) {
        switch (csr) {
            case FFLAGS -> { fpu.flags = (int) v & 0x1F; mstatus |= Mstatus.FS_DIRTY; }
            case FRM -> { frm = (int) v & 7; mstatus |= Mstatus.FS_DIRTY; }
            case FCSR -> { fpu.flags = (int) v & 0x1F; frm = (int) (v >>> 5) & 7; mstatus |= Mstatus.FS_DIRTY; }
            case CYCLE, TIME, INSTRET -> throw illegalInstruction();
            case SSTATUS -> writeMstatus((mstatus & ~Mstatus.SSTATUS_WRITABLE) | (v & Mstatus.SSTATUS_WRITABLE));
            case SIE -> { mie = (mie & ~mideleg) | (v & mideleg); sliceEnd = true; }
            case STVEC -> stvec = v & ~2L;
            case SCOUNTEREN -> scounteren = v & 0xFFFF_FFFFL;
            case SENVCFG -> senvcfg = 0;
            case SSCRATCH -> sscratch = v;
            case SEPC -> sepc = v & ~1L;
            case SCAUSE -> scause = v;
            case STVAL -> stval = v;
            case SIP -> { writeMipBits(mideleg & (1L << TrapCause.SSI), v); sliceEnd = true; }
            case STIMECMP -> { stimecmp = v; sliceEnd = true; }
            case SATP -> writeSatp(v);
            case MSTATUS -> writeMstatus((mstatus & ~Mstatus.WRITABLE) | (v & Mstatus.WRITABLE));
            case MISA -> { }   // WARL: the extensions cannot be switched off
            case MEDELEG -> medeleg = v & DELEGABLE_EXCEPTIONS;
            case MIDELEG -> { mideleg = v & S_INTERRUPTS; sliceEnd = true; }
            case MIE -> { mie = v & INTERRUPTS; sliceEnd = true; }
            case MTVEC -> mtvec = v & ~2L;
            case MCOUNTEREN -> mcounteren = v & 0xFFFF_FFFFL;
            case MENVCFG -> { menvcfg = v & MENVCFG_STCE; sliceEnd = true; }
            case MCOUNTINHIBIT -> { }   // WARL zero: counters cannot be inhibited (§3.1.13)
            case MSCRATCH -> mscratch = v;
            case MEPC -> mepc = v & ~1L;
            case MCAUSE -> mcause = v;
            case MTVAL -> mtval = v;
            case MIP -> {
                long writable = (1L << TrapCause.SSI) | ((menvcfg & MENVCFG_STCE) == 0 ? 1L << TrapCause.STI : 0);
                writeMipBits(writable, v);
                seipSoftware = (v & SEIP_BIT) != 0;
                sliceEnd = true;
            }
            case MCYCLE, MINSTRET -> instret = v;
            case TSELECT, TDATA1 -> { }
            default -> {
                if ((csr >= MHPMCOUNTER3 && csr <= MHPMCOUNTER31) || (csr >= MHPMEVENT3 && csr <= MHPMEVENT31)) {
                    return;   // no events to count: WARL zero
                }
                if (csr >= PMPCFG0 && csr <= PMPCFG15) {
                    pmpcfg[csr - PMPCFG0] = v;   // stored for firmware's probing; not enforced
                    return;
                }
                if (csr >= PMPADDR0 && csr <= PMPADDR63) {
                    pmpaddr[csr - PMPADDR0] = v & ((1L << 54) - 1);
                    return;
                }
                throw illegalInstruction();
            }
        }
    }

    private long sstatus() {
        return mstatusWithSd(mstatus) & Mstatus.SSTATUS_VISIBLE;
    }

    private static long mstatusWithSd(long s) {
        return (s & Mstatus.FS) == Mstatus.FS_DIRTY ? s | Mstatus.SD : s & ~Mstatus.SD;
    }

    private void writeMstatus(long v) {
        long mpp = (v & Mstatus.MPP) >>> Mstatus.MPP_SHIFT;
        if (mpp == 2) {   // reserved encoding: WARL keeps the old value
            v = (v & ~Mstatus.MPP) | (mstatus & Mstatus.MPP);
        }
        mstatus = (v & ~(Mstatus.SD | Mstatus.UXL | Mstatus.SXL)) | Mstatus.XLEN64;
        mmu.updateKeys();
        sliceEnd = true;
    }

    private void writeMipBits(long writable, long v) {
        long old;
        do {
            old = mip;
        } while (!MIP_HANDLE.compareAndSet(this, old, (old & ~writable) | (v & writable)));
    }

    /**
     * Writes {@code satp} (§4.1.11). A write with an unsupported MODE has no effect at all,
     * which is how Linux probes for Sv57, Sv48 and Sv39. ASIDs are not implemented: the
     * field reads as zero, so a guest uses global flushes.
     */
    private void writeSatp(long v) {
        if (priv == SUPERVISOR && (mstatus & Mstatus.TVM) != 0) {
            throw illegalInstruction();
        }
        long mode = v >>> 60;
        if (mode != 0 && mode != Mmu.SATP_SV39 && mode != Mmu.SATP_SV48 && mode != Mmu.SATP_SV57) {
            return;
        }
        satp = (mode << 60) | (v & Mmu.PPN_MASK);
        mmu.flush();
    }

    /** Marks the FP state dirty, after trapping if it is off (§3.1.6.6). */
    public void touchFp() {
        if ((mstatus & Mstatus.FS) == 0) {
            throw illegalInstruction();
        }
        mstatus |= Mstatus.FS_DIRTY;
    }

    /**
     * Asks this hart for a remote fence (SBI RFENCE) and wakes it.
     *
     * @return the ticket to wait for with {@link #fenceServed}
     */
    public long requestFence() {
        long ticket = fenceRequests.incrementAndGet();
        wake();
        return ticket;
    }

    /** {@return whether the fence with {@code ticket} has been served} */
    public boolean fenceServed(long ticket) {
        return fencesServed >= ticket;
    }

    /**
     * Serves pending remote fences: flushes the TLB if any was requested. Called by the owner
     * between slices and by a hart that waits for others' fences, so two harts fencing each
     * other cannot deadlock. The volatile write orders the flush before the requester proceeds.
     */
    public void serveFences() {
        long requested = fenceRequests.get();
        if (requested != fencesServed) {
            mmu.flush();
            mmu.ram().codePages().fenceI();   // the SBI's remote fences include FENCE.I
            fencesServed = requested;
        }
    }

    /**
     * FENCE.I (unprivileged ISA §6.1): later fetches see every store made before it, by this hart
     * and, after their own fences, by others. Stores are seen at once except in one race, which
     * {@link dev.ember.memory.CodePages#fenceI} settles; ending the slice makes the engine fetch
     * its code afresh.
     */
    public void fenceI() {
        mmu.ram().codePages().fenceI();
        sliceEnd = true;
    }

    /** {@return the instruction at {@code pc} in assembler syntax, or why it cannot be read; for error messages} */
    public String disassembleAt(long pc) {
        long bits = mmu.instructionBitsAt(pc);
        if (bits == 0) {
            return "(no instruction: pc not mapped)";
        }
        return dev.ember.riscv.isa.Disassembler.format((int) bits, pc);
    }

    /**
     * Everything a hart's future depends on, for snapshots (Firecracker's {@code vcpu} state):
     * the integer and FP registers, {@code pc}, privilege, every CSR this hart implements
     * ({@code fflags} is {@code fpuFlags}, {@code mcycle} is {@code instret}), the pending
     * interrupts as stored ({@code mip} without the computed timer bits, and the software SEIP
     * bit), the ACLINT's {@code mtimecmp}, the LR reservation, WFI and the SBI HSM state.
     * Not saved: TLBs and decoded or translated code, which are caches rebuilt on demand.
     */
    public record State(long[] x, long[] f, long pc, int priv, long instret, int frm, int fpuFlags,
                        long mstatus, long medeleg, long mideleg, long mie, long mtvec, long mscratch, long mepc,
                        long mcause, long mtval, long mcounteren, long menvcfg, long stvec, long sscratch, long sepc,
                        long scause, long stval, long scounteren, long senvcfg, long satp, long stimecmp,
                        long mtimecmp, long[] pmpcfg, long[] pmpaddr, long mip, boolean seipSoftware,
                        long reservationOffset, long reservationValue, boolean waitingForInterrupt,
                        HartState state) {

        /** @throws IllegalArgumentException if an array has the wrong length or a field is out of range */
        public State {
            if (x == null || x.length != 32 || f == null || f.length != 32 || pmpcfg == null || pmpcfg.length != 16
                    || pmpaddr == null || pmpaddr.length != 64) {
                throw new IllegalArgumentException("hart state: a register file has the wrong size");
            }
            if (priv != USER && priv != SUPERVISOR && priv != MACHINE) {
                throw new IllegalArgumentException("hart state: privilege " + priv + " does not exist");
            }
            if (frm < 0 || frm > 7 || (fpuFlags & ~0x1F) != 0 || state == null) {
                throw new IllegalArgumentException("hart state: frm, fflags or the HSM state is out of range");
            }
        }
    }

    /** {@return this hart's state}; call it only while the hart's thread is parked (VM paused). */
    public State saveState() {
        return new State(x.clone(), f.clone(), pc, priv, instret, frm, fpu.flags, mstatus, medeleg, mideleg, mie,
                mtvec, mscratch, mepc, mcause, mtval, mcounteren, menvcfg, stvec, sscratch, sepc, scause, stval,
                scounteren, senvcfg, satp, stimecmp, mtimecmp, pmpcfg.clone(), pmpaddr.clone(), mip, seipSoftware,
                reservationOffset, reservationValue, waitingForInterrupt, state);
    }

    /**
     * Makes this hart what {@code s} describes, as if it had run up to there; its TLBs start
     * empty. Call it before the hart's thread starts.
     */
    public void restoreState(State s) {
        System.arraycopy(s.x(), 0, x, 0, 32);
        x[0] = 0;
        System.arraycopy(s.f(), 0, f, 0, 32);
        pc = s.pc();
        instret = s.instret();
        frm = s.frm();
        fpu.flags = s.fpuFlags();
        mstatus = s.mstatus();
        medeleg = s.medeleg();
        mideleg = s.mideleg();
        mie = s.mie();
        mtvec = s.mtvec();
        mscratch = s.mscratch();
        mepc = s.mepc();
        mcause = s.mcause();
        mtval = s.mtval();
        mcounteren = s.mcounteren();
        menvcfg = s.menvcfg();
        stvec = s.stvec();
        sscratch = s.sscratch();
        sepc = s.sepc();
        scause = s.scause();
        stval = s.stval();
        scounteren = s.scounteren();
        senvcfg = s.senvcfg();
        satp = s.satp();
        stimecmp = s.stimecmp();
        mtimecmp = s.mtimecmp();
        System.arraycopy(s.pmpcfg(), 0, pmpcfg, 0, 16);
        System.arraycopy(s.pmpaddr(), 0, pmpaddr, 0, 64);
        MIP_HANDLE.setVolatile(this, s.mip() & INTERRUPTS);
        seipSoftware = s.seipSoftware();
        reservationOffset = s.reservationOffset();
        reservationValue = s.reservationValue();
        waitingForInterrupt = s.waitingForInterrupt();
        state = s.state();
        fencesServed = fenceRequests.get();
        mmu.flush();
        setPrivilege(s.priv());
    }

    /** Resets the hart to its power-on state at {@code entry} in {@code privilege} mode. */
    public void reset(long entry, int privilege) {
        java.util.Arrays.fill(x, 0);
        java.util.Arrays.fill(f, 0);
        pc = entry;
        mstatus = Mstatus.XLEN64;
        medeleg = mideleg = mie = mtvec = mscratch = mepc = mcause = mtval = 0;
        mcounteren = menvcfg = 0;
        stvec = sscratch = sepc = scause = stval = scounteren = satp = 0;
        stimecmp = -1;
        mtimecmp = -1;
        senvcfg = 0;
        instret = 0;
        java.util.Arrays.fill(pmpcfg, 0);
        java.util.Arrays.fill(pmpaddr, 0);
        waitingForInterrupt = false;
        fencesServed = fenceRequests.get();   // a reset hart starts with an empty TLB
        MIP_HANDLE.setVolatile(this, 0L);
        seipSoftware = false;
        reservationOffset = -1;
        fpu.flags = 0;
        frm = 0;
        mmu.flush();
        setPrivilege(privilege);
    }
}
