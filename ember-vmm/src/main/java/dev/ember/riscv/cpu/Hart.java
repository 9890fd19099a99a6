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
 * <p>With the hypervisor extension ({@link #hExtension}; privileged ISA, "H" Extension for
 * Hypervisor Support v1.0) the hart also has the virtualization mode {@link #virt} and the
 * hypervisor and VS CSRs. The VS CSRs are fields of their own rather than swapped with the S
 * ones: while V=1, {@link #csrAccess} sends an S CSR number to its VS twin, and trap entry and
 * return pick the right set. {@code hvip} and {@code hie} are bits 2, 6 and 10 of {@link #mip}
 * and {@link #mie}. Without the extension none of that state is reachable.
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
    /** With the H extension: the VS-level interrupts VSSI, VSTI and VSEI (GEILEN is 0, so no SGEI). */
    static final long VS_INTERRUPTS = 0b0100_0100_0100;
    /** Exceptions M-mode may delegate: all defined causes but ecall from M-mode. */
    static final long DELEGABLE_EXCEPTIONS = 0xB3FF;
    /** With the H extension also ecall from VS-mode, the guest-page faults and virtual instruction. */
    static final long H_DELEGABLE_EXCEPTIONS = DELEGABLE_EXCEPTIONS | 1L << TrapCause.ECALL_FROM_VS | 0xFL << 20;
    /** Exceptions {@code hedeleg} can delegate to VS-mode (§ hedeleg: not 9-11, not 20-23). */
    static final long HEDELEG_WRITABLE = 0xB1FF;
    /** Causes whose trap value is a virtual address: GVA is set when it is a guest's (§ hstatus). */
    private static final long GUEST_ADDRESS_CAUSES = 1L << TrapCause.INSTRUCTION_MISALIGNED
            | 1L << TrapCause.INSTRUCTION_ACCESS_FAULT | 1L << TrapCause.BREAKPOINT | 1L << TrapCause.LOAD_MISALIGNED
            | 1L << TrapCause.LOAD_ACCESS_FAULT | 1L << TrapCause.STORE_MISALIGNED | 1L << TrapCause.STORE_ACCESS_FAULT
            | 1L << TrapCause.INSTRUCTION_PAGE_FAULT | 1L << TrapCause.LOAD_PAGE_FAULT | 1L << TrapCause.STORE_PAGE_FAULT
            | 1L << TrapCause.INSTRUCTION_GUEST_PAGE_FAULT | 1L << TrapCause.LOAD_GUEST_PAGE_FAULT
            | 1L << TrapCause.STORE_GUEST_PAGE_FAULT;
    /** Causes of a faulting load or store, whose trap value is the address the access used. */
    private static final long DATA_ADDRESS_CAUSES = 1L << TrapCause.LOAD_MISALIGNED | 1L << TrapCause.LOAD_ACCESS_FAULT
            | 1L << TrapCause.STORE_MISALIGNED | 1L << TrapCause.STORE_ACCESS_FAULT | 1L << TrapCause.LOAD_PAGE_FAULT
            | 1L << TrapCause.STORE_PAGE_FAULT | 1L << TrapCause.LOAD_GUEST_PAGE_FAULT
            | 1L << TrapCause.STORE_GUEST_PAGE_FAULT;
    /** VMIDLEN = 14: the hgatp VMID bits that exist. */
    static final long HGATP_VMID = 0x3FFFL << 44;

    private static final VarHandle MIP_HANDLE;

    static {
        try {
            MIP_HANDLE = MethodHandles.lookup().findVarHandle(Hart.class, "mip", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** {@return misa for a hart with or without the H extension} */
    static long misa(boolean hExtension) {
        return MISA_VALUE | (hExtension ? bit('H') : 0);
    }

    private static long bit(char extension) {
        return 1L << (extension - 'A');
    }

    public final int id;
    /** Whether this hart has the hypervisor extension (privileged ISA, "H" Extension, v1.0). */
    public final boolean hExtension;
    private final long interrupts;
    private final long delegableExceptions;
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

    // The H extension's state (§ Hypervisor and Virtual Supervisor CSRs); zero while it is off.
    /** The virtualization mode V: true while the hart runs a guest in VS- or VU-mode. */
    public boolean virt;
    /** {@code hstatus} without its read-only VSXL field. */
    public long hstatus;
    public long hedeleg;
    public long hideleg;
    public long hcounteren;
    public long henvcfg;
    public long htimedelta;
    public long htval;
    public long htinst;
    public long hgatp;
    /** {@code vsstatus} without its read-only UXL and SD fields. */
    public long vsstatus;
    public long vstvec;
    public long vsscratch;
    public long vsepc;
    public long vscause;
    public long vstval;
    public long vsatp;
    public long vstimecmp = -1;
    public long mtval2;
    public long mtinst;
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

    /** A hart without the H extension. */
    public Hart(int id, PhysicalBus bus, LongSupplier clock) {
        this(id, bus, clock, false);
    }

    /** A hart with the hypervisor extension when {@code hExtension}. */
    public Hart(int id, PhysicalBus bus, LongSupplier clock, boolean hExtension) {
        this.id = id;
        this.clock = clock;
        this.hExtension = hExtension;
        this.interrupts = INTERRUPTS | (hExtension ? VS_INTERRUPTS : 0);
        this.delegableExceptions = hExtension ? H_DELEGABLE_EXCEPTIONS : DELEGABLE_EXCEPTIONS;
        this.mideleg = hExtension ? VS_INTERRUPTS : 0;
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
        trap.tval2 = 0;
        trap.tinst = 0;
        trap.gva = false;
        return trap;
    }

    /**
     * Prepares a guest-page fault (H extension, § Two-Stage Address Translation): {@code tval}
     * is the guest virtual address as for a page fault, {@code gpa} the guest physical address
     * that faulted, which {@code htval}/{@code mtval2} receive shifted right by 2, and
     * {@code tinst} what {@code htinst}/{@code mtinst} receive.
     */
    public Trap guestPageFault(int cause, long tval, long gpa, long tinst) {
        Trap t = trap(cause, tval);
        t.tval2 = gpa >>> 2;
        t.tinst = tinst;
        return t;
    }

    /** {@return a virtual-instruction trap (cause 22); its tval is the instruction bits, as for an illegal instruction} */
    public Trap virtualInstruction() {
        return trap(TrapCause.VIRTUAL_INSTRUCTION, ILLEGAL_TVAL_PENDING);
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
        takeTrap(cause, tval, 0, 0, false);
    }

    /** Takes the exception {@code t} describes, with its guest-physical address and transformed instruction. */
    public void takeTrap(Trap t) {
        takeTrap(t.cause, t.tval, t.tval2, t.tinst, t.gva);
    }

    /**
     * Takes a trap (privileged ISA §3.1.6.1, §3.1.8, §4.1.1, and the H extension's § Trap
     * Entry): from U, S, VU or VS mode a cause delegated by {@code medeleg}/{@code mideleg} goes
     * to HS-mode, and from V=1 one also delegated by {@code hedeleg}/{@code hideleg} goes to
     * VS-mode; everything else goes to M-mode.
     *
     * @param tval2 the guest physical address of a guest-page fault, shifted right by 2, else 0
     * @param tinst the transformed instruction or pseudoinstruction for {@code htinst}/{@code mtinst}
     * @param gva   whether {@code tval} is a guest virtual address though V was 0 (HLV, HSV)
     */
    public void takeTrap(long cause, long tval, long tval2, long tinst, boolean gva) {
        boolean interrupt = cause < 0;
        int code = (int) (cause & 63);
        if (!interrupt && (code == TrapCause.ILLEGAL_INSTRUCTION || code == TrapCause.VIRTUAL_INSTRUCTION)
                && tval == ILLEGAL_TVAL_PENDING) {
            tval = mmu.instructionBitsAt(pc);
        }
        reservationOffset = -1;
        long deleg = interrupt ? mideleg : medeleg;
        long s = mstatus;
        if (priv <= SUPERVISOR && ((deleg >>> code) & 1) != 0) {
            if (virt && (((interrupt ? hideleg : hedeleg) >>> code) & 1) != 0) {
                trapToVirtualSupervisor(cause, interrupt, code, tval);
                return;
            }
            scause = cause;
            sepc = pc;
            stval = tval;
            s = supervisorTrapStatus(s, priv);
            if (hExtension) {
                htval = tval2;
                htinst = tinst;
                long hs = hstatus & ~(Hstatus.SPV | Hstatus.GVA);
                if (virt) {
                    hs = (hs & ~Hstatus.SPVP) | Hstatus.SPV | (priv == SUPERVISOR ? Hstatus.SPVP : 0);
                }
                hstatus = hs | (writesGuestAddress(interrupt, code, gva) ? Hstatus.GVA : 0);
            }
            pc = vector(stvec, interrupt, code);
            mstatus = s;
            setMode(SUPERVISOR, false);
        } else {
            mcause = cause;
            mepc = pc;
            mtval = tval;
            s = (s & ~Mstatus.MPIE) | ((s & Mstatus.MIE) != 0 ? Mstatus.MPIE : 0);
            s = (s & ~Mstatus.MPP) | ((long) priv << Mstatus.MPP_SHIFT);
            s &= ~Mstatus.MIE;
            if (hExtension) {
                mtval2 = tval2;
                mtinst = tinst;
                s &= ~(Mstatus.MPV | Mstatus.GVA);
                s |= (virt ? Mstatus.MPV : 0) | (writesGuestAddress(interrupt, code, gva) ? Mstatus.GVA : 0);
            }
            pc = vector(mtvec, interrupt, code);
            mstatus = s;
            setMode(MACHINE, false);
        }
    }

    /**
     * {@return whether a trap's tval is a guest virtual address, for GVA (§ hstatus, § mstatus:
     * "for any trap ... that writes a guest virtual address to mtval, GVA is set to 1")}: a
     * fault with V=1, one of HLV, HLVX or HSV, or one of an M-mode load or store that MPRV with
     * MPV=1 makes as though V=1.
     */
    private boolean writesGuestAddress(boolean interrupt, int code, boolean gva) {
        if (interrupt) {
            return false;
        }
        if (gva || (virt && ((GUEST_ADDRESS_CAUSES >>> code) & 1) != 0)) {
            return true;
        }
        long s = mstatus;
        return (s & Mstatus.MPRV) != 0 && (s & Mstatus.MPV) != 0 && (s & Mstatus.MPP) != Mstatus.MPP
                && ((DATA_ADDRESS_CAUSES >>> code) & 1) != 0;
    }

    /**
     * A trap delegated to VS-mode (§ Trap Entry): V stays 1, the VS CSRs take the roles of the
     * S CSRs, and a VS-level interrupt is reported with the S-level code one below its own
     * (VSEI 10 becomes SEI 9), as the guest kernel expects of a supervisor interrupt.
     */
    private void trapToVirtualSupervisor(long cause, boolean interrupt, int code, long tval) {
        int vsCode = interrupt && (VS_INTERRUPTS >>> code & 1) != 0 ? code - 1 : code;
        vscause = interrupt ? TrapCause.INTERRUPT | vsCode : cause;
        vsepc = pc;
        vstval = tval;
        vsstatus = supervisorTrapStatus(vsstatus, priv);
        pc = vector(vstvec, interrupt, vsCode);
        setMode(SUPERVISOR, true);
    }

    private static long vector(long tvec, boolean interrupt, int code) {
        long base = tvec & ~3L;
        return (interrupt && (tvec & 1) != 0) ? base + 4L * code : base;
    }

    /** MRET (§3.3.2; H extension § Trap Return: V becomes MPV unless MPP is M). */
    public void mret() {
        if (priv < MACHINE) {
            throw illegalInstruction();
        }
        long s = mstatus;
        int target = (int) ((s & Mstatus.MPP) >>> Mstatus.MPP_SHIFT);
        boolean toVirt = target != MACHINE && (s & Mstatus.MPV) != 0;
        s = (s & ~Mstatus.MIE) | ((s & Mstatus.MPIE) != 0 ? Mstatus.MIE : 0);
        s |= Mstatus.MPIE;
        s &= ~(Mstatus.MPP | Mstatus.MPV);
        if (target != MACHINE) {
            s &= ~Mstatus.MPRV;
        }
        mstatus = s;
        pc = mepc;
        reservationOffset = -1;
        setMode(target, toVirt);
        sliceEnd = true;
    }

    /**
     * SRET (§3.3.2, §4.1.1, H extension § Trap Return). In U-mode it is illegal, and so in
     * S-mode with {@code mstatus.TSR}. From HS-mode it returns to the mode {@code hstatus.SPV}
     * and {@code sstatus.SPP} name; in VS-mode it is the guest's own SRET through
     * {@code vsstatus} and {@code vsepc}, unless {@code hstatus.VTSR} makes it a
     * virtual-instruction exception, as it always is in VU-mode.
     */
    public void sret() {
        if (virt) {
            if (priv == USER || (hstatus & Hstatus.VTSR) != 0) {
                throw virtualInstruction();
            }
            int target = (vsstatus & Mstatus.SPP) != 0 ? SUPERVISOR : USER;
            vsstatus = supervisorReturnStatus(vsstatus);
            pc = vsepc;
            reservationOffset = -1;
            setMode(target, true);
            sliceEnd = true;
            return;
        }
        if (priv < SUPERVISOR || (priv == SUPERVISOR && (mstatus & Mstatus.TSR) != 0)) {
            throw illegalInstruction();
        }
        long s = mstatus;
        int target = (s & Mstatus.SPP) != 0 ? SUPERVISOR : USER;
        boolean toVirt = (hstatus & Hstatus.SPV) != 0;
        hstatus &= ~Hstatus.SPV;
        s = supervisorReturnStatus(s) & ~Mstatus.MPRV;
        mstatus = s;
        pc = sepc;
        reservationOffset = -1;
        setMode(target, toVirt);
        sliceEnd = true;
    }

    /**
     * {@return the supervisor fields of a status word ({@code mstatus}/{@code sstatus}, or
     * {@code vsstatus}) at a trap into that supervisor from privilege {@code from}: SPIE takes
     * SIE, SPP says whether the trap came from S-mode, SIE is cleared (§4.1.1)}
     */
    private static long supervisorTrapStatus(long s, int from) {
        s = (s & ~Mstatus.SPIE) | ((s & Mstatus.SIE) != 0 ? Mstatus.SPIE : 0);
        s = (s & ~Mstatus.SPP) | (from == SUPERVISOR ? Mstatus.SPP : 0);
        return s & ~Mstatus.SIE;
    }

    /** {@return the supervisor fields of a status word after SRET: SIE takes SPIE, SPIE is set, SPP is U (§3.3.2)} */
    private static long supervisorReturnStatus(long s) {
        s = (s & ~Mstatus.SIE) | ((s & Mstatus.SPIE) != 0 ? Mstatus.SIE : 0);
        return (s | Mstatus.SPIE) & ~Mstatus.SPP;
    }

    /** Changes the privilege level, with V = 0; the MMU's TLB keys follow. */
    public void setPrivilege(int level) {
        setMode(level, false);
    }

    /** Changes the privilege level and the virtualization mode; the MMU's TLB keys follow. */
    public void setMode(int level, boolean virtual) {
        priv = level;
        virt = virtual;
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
            // hip.VSTIP is hvip.VSTIP or the VS timer (Sstc, with henvcfg.STCE).
            if ((henvcfg & MENVCFG_STCE) != 0 && Long.compareUnsigned(now + htimedelta, vstimecmp) >= 0) {
                p |= 1L << TrapCause.VSTI;
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
        // H extension (§ hip/hie): HS-level interrupts are always enabled while V=1; VS-level
        // ones (delegated by hideleg) are taken only while V=1, under vsstatus.SIE in VS-mode.
        long supervisor = enabled & mideleg & ~hideleg;
        if (supervisor != 0 && (virt || priv < SUPERVISOR || (priv == SUPERVISOR && (mstatus & Mstatus.SIE) != 0))) {
            takeTrap(TrapCause.INTERRUPT | highestPriority(supervisor), 0);
            return true;
        }
        long guest = enabled & mideleg & hideleg;
        if (guest != 0 && virt && (priv == USER || (vsstatus & Mstatus.SIE) != 0)) {
            takeTrap(TrapCause.INTERRUPT | highestPriority(guest), 0);
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
        if ((menvcfg & henvcfg & MENVCFG_STCE) != 0 && (mie & (1L << TrapCause.VSTI)) != 0) {
            long vsDeadline = vstimecmp - htimedelta;   // in machine time
            if (Long.compareUnsigned(vsDeadline, deadline) < 0) {
                deadline = vsDeadline;
            }
        }
        return deadline;
    }

    /** §3.1.9, and the H extension's order for the VS-level ones after them (§ hip/hie). */
    private static final int[] PRIORITY = {TrapCause.MEI, TrapCause.MSI, TrapCause.MTI, TrapCause.SEI, TrapCause.SSI,
            TrapCause.STI, TrapCause.VSEI, TrapCause.VSSI, TrapCause.VSTI};

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
        if (virt) {
            csr = guestCsr(csr, writes);
        } else {
            int level = (csr >>> 8) & 3;
            // Level 2 is the hypervisor's: HS-mode's nominal privilege is S (§2.1, H extension).
            if (priv < (level == 2 ? SUPERVISOR : level) || (writes && ((csr >>> 10) & 3) == 3)) {
                throw illegalInstruction();
            }
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

    /**
     * The access rules for V=1 (H extension, § Hypervisor and Virtual Supervisor CSRs, § Trap
     * Cause Codes): an S CSR in VS-mode reaches its VS twin; an H, VS or (from VU-mode) S CSR
     * that HS-mode could access raises a virtual-instruction exception; M CSRs, CSRs that do not
     * exist and writes to read-only ones are illegal.
     *
     * @return the CSR number to access
     */
    private int guestCsr(int csr, boolean writes) {
        int level = (csr >>> 8) & 3;
        boolean readOnly = ((csr >>> 10) & 3) == 3;
        if (level == 3 || (writes && readOnly) || (level != 0 && !hsCsrExists(csr))) {
            throw illegalInstruction();
        }
        if (level == 2 || (level == 1 && priv == USER)) {
            throw virtualInstruction();
        }
        if (level == 1) {
            switch (csr) {
                case SATP -> {
                    if ((hstatus & Hstatus.VTVM) != 0) throw virtualInstruction();
                    return VSATP;
                }
                case STIMECMP -> {
                    if ((mcounteren & 2) == 0 || (menvcfg & MENVCFG_STCE) == 0) throw illegalInstruction();
                    if ((hcounteren & 2) == 0 || (henvcfg & MENVCFG_STCE) == 0) throw virtualInstruction();
                    return VSTIMECMP;
                }
                case SSTATUS, SIE, STVEC, SSCRATCH, SEPC, SCAUSE, STVAL, SIP -> {
                    return csr + VS_OFFSET;
                }
                default -> {
                    return csr;   // scounteren and senvcfg have no VS twin
                }
            }
        }
        return csr;
    }

    /** {@return whether HS-mode has the S or H CSR {@code csr}} */
    private boolean hsCsrExists(int csr) {
        return switch (csr) {
            case SSTATUS, SIE, STVEC, SCOUNTEREN, SENVCFG, SSCRATCH, SEPC, SCAUSE, STVAL, SIP, STIMECMP, SATP,
                 VSSTATUS, VSIE, VSTVEC, VSSCRATCH, VSEPC, VSCAUSE, VSTVAL, VSIP, VSTIMECMP, VSATP,
                 HSTATUS, HEDELEG, HIDELEG, HIE, HTIMEDELTA, HCOUNTEREN, HGEIE, HENVCFG, HTVAL, HIP, HVIP, HTINST,
                 HGATP, HGEIP -> true;
            default -> false;
        };
    }

    /**
     * Whether counter {@code index} may be read here (§3.1.11, §4.1.5, H extension §
     * hcounteren): off in {@code mcounteren} is illegal below M; from V=1, off in
     * {@code hcounteren} (or, in VU-mode, {@code scounteren}) is a virtual-instruction exception.
     */
    private boolean counterEnabled(int index) {
        if (priv < MACHINE && ((mcounteren >>> index) & 1) == 0) {
            return false;
        }
        if (virt) {
            if (((hcounteren >>> index) & 1) == 0 || (priv == USER && ((scounteren >>> index) & 1) == 0)) {
                throw virtualInstruction();
            }
            return true;
        }
        return priv != USER || ((scounteren >>> index) & 1) != 0;
    }

    /** FP state off in {@code mstatus}, or with V=1 in {@code vsstatus}, makes FP instructions illegal (§ vsstatus). */
    private void requireFp() {
        if ((mstatus & Mstatus.FS) == 0 || (virt && (vsstatus & Mstatus.FS) == 0)) {
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
                return virt ? clock.getAsLong() + htimedelta : clock.getAsLong();
            case SSTATUS: return sstatus();
            case SIE: return mie & mideleg & S_INTERRUPTS;
            case STVEC: return stvec;
            case SCOUNTEREN: return scounteren;
            case SENVCFG: return senvcfg;
            case SSCRATCH: return sscratch;
            case SEPC: return sepc;
            case SCAUSE: return scause;
            case STVAL: return stval;
            case SIP: return readMip() & mideleg & S_INTERRUPTS;
            case STIMECMP:
                if (priv < MACHINE && ((menvcfg & MENVCFG_STCE) == 0 || (mcounteren & 2) == 0)) throw illegalInstruction();
                return stimecmp;
            case SATP:
                if (priv == SUPERVISOR && (mstatus & Mstatus.TVM) != 0) throw illegalInstruction();
                return satp;
            case MVENDORID, MARCHID, MIMPID, MCONFIGPTR: return 0;
            case MHARTID: return id;
            case MSTATUS: return mstatusWithSd(mstatus);
            case MISA: return misa(hExtension);
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
                if (((csr >>> 8) & 3) == 2 || csr == MTVAL2 || csr == MTINST) {
                    if (!hExtension) throw illegalInstruction();
                    return hypervisorCsrRead(csr);
                }
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
            case FFLAGS -> { fpu.flags = (int) v & 0x1F; touchFp(); }
            case FRM -> { frm = (int) v & 7; touchFp(); }
            case FCSR -> { fpu.flags = (int) v & 0x1F; frm = (int) (v >>> 5) & 7; touchFp(); }
            case CYCLE, TIME, INSTRET -> throw illegalInstruction();
            case SSTATUS -> writeMstatus((mstatus & ~Mstatus.SSTATUS_WRITABLE) | (v & Mstatus.SSTATUS_WRITABLE));
            case SIE -> {
                long m = mideleg & S_INTERRUPTS;
                mie = (mie & ~m) | (v & m);
                sliceEnd = true;
            }
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
            case MSTATUS -> {
                long writable = Mstatus.WRITABLE | (hExtension ? Mstatus.GVA | Mstatus.MPV : 0);
                writeMstatus((mstatus & ~writable) | (v & writable));
            }
            case MISA -> { }   // WARL: the extensions cannot be switched off
            case MEDELEG -> medeleg = v & delegableExceptions;
            // With H, the VS-level interrupts are always delegated: read-only ones (§ mideleg).
            case MIDELEG -> { mideleg = (v & S_INTERRUPTS) | (hExtension ? VS_INTERRUPTS : 0); sliceEnd = true; }
            case MIE -> { mie = v & interrupts; sliceEnd = true; }
            case MTVEC -> mtvec = v & ~2L;
            case MCOUNTEREN -> mcounteren = v & 0xFFFF_FFFFL;
            case MENVCFG -> { menvcfg = v & MENVCFG_STCE; sliceEnd = true; }
            case MCOUNTINHIBIT -> { }   // WARL zero: counters cannot be inhibited (§3.1.13)
            case MSCRATCH -> mscratch = v;
            case MEPC -> mepc = v & ~1L;
            case MCAUSE -> mcause = v;
            case MTVAL -> mtval = v;
            case MIP -> {
                long writable = (1L << TrapCause.SSI) | ((menvcfg & MENVCFG_STCE) == 0 ? 1L << TrapCause.STI : 0)
                        | (hExtension ? 1L << TrapCause.VSSI : 0);
                writeMipBits(writable, v);
                seipSoftware = (v & SEIP_BIT) != 0;
                sliceEnd = true;
            }
            case MCYCLE, MINSTRET -> instret = v;
            case TSELECT, TDATA1 -> { }
            default -> {
                if (hExtension && (((csr >>> 8) & 3) == 2 || csr == MTVAL2 || csr == MTINST)) {
                    hypervisorCsrWrite(csr, v);
                    return;
                }
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

    // ---- the H extension's CSRs (§ Hypervisor and Virtual Supervisor CSRs) --------------

    private long hypervisorCsrRead(int csr) {
        return switch (csr) {
            case HSTATUS -> hstatus | Hstatus.VSXL64;
            case HEDELEG -> hedeleg;
            case HIDELEG -> hideleg;
            case HIE -> mie & VS_INTERRUPTS;
            case HTIMEDELTA -> htimedelta;
            case HCOUNTEREN -> hcounteren;
            case HGEIE, HGEIP -> 0;   // GEILEN = 0: no guest external interrupts
            case HENVCFG -> henvcfg & menvcfg & MENVCFG_STCE;
            case HTVAL -> htval;
            case HIP -> readMip() & VS_INTERRUPTS;
            case HVIP -> mip & VS_INTERRUPTS;
            case HTINST -> htinst;
            case HGATP -> {
                if (priv == SUPERVISOR && (mstatus & Mstatus.TVM) != 0) throw illegalInstruction();
                yield hgatp;
            }
            case VSSTATUS -> mstatusWithSd(vsstatus | Hstatus.VSSTATUS_UXL64);
            case VSIE -> (mie & hideleg & VS_INTERRUPTS) >>> 1;
            case VSTVEC -> vstvec;
            case VSSCRATCH -> vsscratch;
            case VSEPC -> vsepc;
            case VSCAUSE -> vscause;
            case VSTVAL -> vstval;
            case VSIP -> (readMip() & hideleg & VS_INTERRUPTS) >>> 1;
            case VSTIMECMP -> {
                // Sstc: below M-mode, mcounteren.TM clear (norm:mcounteren_tm_clr) or menvcfg.STCE
                // clear (norm:menvcfg_stce_op2) makes vstimecmp illegal, as it does stimecmp.
                if (priv < MACHINE && ((menvcfg & MENVCFG_STCE) == 0 || (mcounteren & 2) == 0)) {
                    throw illegalInstruction();
                }
                yield vstimecmp;
            }
            case VSATP -> vsatp;
            case MTVAL2 -> mtval2;
            case MTINST -> mtinst;
            default -> throw illegalInstruction();
        };
    }

    private void hypervisorCsrWrite(int csr, long v) {
        switch (csr) {
            case HSTATUS -> hstatus = v & Hstatus.WRITABLE;
            case HEDELEG -> hedeleg = v & HEDELEG_WRITABLE;
            case HIDELEG -> { hideleg = v & VS_INTERRUPTS; sliceEnd = true; }
            case HIE -> { mie = (mie & ~VS_INTERRUPTS) | (v & VS_INTERRUPTS); sliceEnd = true; }
            case HTIMEDELTA -> { htimedelta = v; sliceEnd = true; }
            case HCOUNTEREN -> hcounteren = v & 0xFFFF_FFFFL;
            case HGEIE -> { }
            case HENVCFG -> { henvcfg = v & menvcfg & MENVCFG_STCE; sliceEnd = true; }
            case HTVAL -> htval = v;
            case HIP -> { writeMipBits(1L << TrapCause.VSSI, v); sliceEnd = true; }
            case HVIP -> { writeMipBits(VS_INTERRUPTS, v); sliceEnd = true; }
            case HTINST -> htinst = v;
            case HGATP -> writeHgatp(v);
            case VSSTATUS -> {
                vsstatus = v & Hstatus.VSSTATUS_WRITABLE;
                mmu.updateKeys();   // vsstatus.SUM and MXR are part of the V=1 TLB key
                sliceEnd = true;
            }
            case VSIE -> {
                long m = hideleg & VS_INTERRUPTS;
                mie = (mie & ~m) | ((v << 1) & m);
                sliceEnd = true;
            }
            case VSTVEC -> vstvec = v & ~2L;
            case VSSCRATCH -> vsscratch = v;
            case VSEPC -> vsepc = v & ~1L;
            case VSCAUSE -> vscause = v;
            case VSTVAL -> vstval = v;
            case VSIP -> { writeMipBits(hideleg & (1L << TrapCause.VSSI), v << 1); sliceEnd = true; }
            case VSTIMECMP -> { vstimecmp = v; sliceEnd = true; }
            case VSATP -> {
                long mode = v >>> 60;
                if (!Mmu.supportedMode(mode)) {
                    return;   // as satp: a write with an unsupported mode is ignored
                }
                long value = (mode << 60) | (v & Mmu.PPN_MASK);
                if (value != vsatp) {
                    vsatp = value;
                    mmu.guestContextChanged();
                }
            }
            case MTVAL2 -> mtval2 = v;
            case MTINST -> mtinst = v;
            default -> throw illegalInstruction();
        }
    }

    /**
     * Writes {@code hgatp} (§ Hypervisor Guest Address Translation and Protection Register):
     * MODE Bare, Sv39x4, Sv48x4 or Sv57x4 (another keeps the old MODE, the fields being WARL),
     * a 14-bit VMID, and a root PPN whose two low bits are zero (the root table is 16 KiB).
     * Illegal in HS-mode with {@code mstatus.TVM}. Rewriting the same value flushes nothing:
     * KVM writes it on every entry to a guest.
     */
    private void writeHgatp(long v) {
        if (priv == SUPERVISOR && (mstatus & Mstatus.TVM) != 0) {
            throw illegalInstruction();
        }
        long mode = v >>> 60;
        if (!Mmu.supportedMode(mode)) {
            mode = hgatp >>> 60;
        }
        long value = (mode << 60) | (v & HGATP_VMID) | (v & Mmu.PPN_MASK & ~3L);
        if (value != hgatp) {
            hgatp = value;
            mmu.guestContextChanged();
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
        if (!Mmu.supportedMode(mode)) {
            return;
        }
        satp = (mode << 60) | (v & Mmu.PPN_MASK);
        mmu.flushHost();   // the guests' translations do not depend on satp
    }

    /**
     * Marks the FP state dirty, after trapping if it is off (§3.1.6.6); with V=1 both
     * {@code mstatus.FS} and {@code vsstatus.FS} (H extension § vsstatus).
     */
    public void touchFp() {
        if ((mstatus & Mstatus.FS) == 0 || (virt && (vsstatus & Mstatus.FS) == 0)) {
            throw illegalInstruction();
        }
        mstatus |= Mstatus.FS_DIRTY;
        if (virt) {
            vsstatus |= Mstatus.FS_DIRTY;
        }
    }

    /** {@return whether FP instructions may run: FS is on in mstatus and, with V=1, in vsstatus} */
    public boolean fpEnabled() {
        return (mstatus & Mstatus.FS) != 0 && (!virt || (vsstatus & Mstatus.FS) != 0);
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
                        HartState state, Hypervisor hypervisor) {

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

    /**
     * The H extension's state: V and every hypervisor and VS CSR as stored ({@code hvip} and
     * {@code hie} are bits of {@code mip} and {@code mie}). Null in the state of a hart without
     * the extension, and in snapshots taken before it existed.
     */
    public record Hypervisor(boolean virt, long hstatus, long hedeleg, long hideleg, long hcounteren, long henvcfg,
                             long htimedelta, long htval, long htinst, long hgatp, long vsstatus, long vstvec,
                             long vsscratch, long vsepc, long vscause, long vstval, long vsatp, long vstimecmp,
                             long mtval2, long mtinst) {}

    /** {@return this hart's state}; call it only while the hart's thread is parked (VM paused). */
    public State saveState() {
        return new State(x.clone(), f.clone(), pc, priv, instret, frm, fpu.flags, mstatus, medeleg, mideleg, mie,
                mtvec, mscratch, mepc, mcause, mtval, mcounteren, menvcfg, stvec, sscratch, sepc, scause, stval,
                scounteren, senvcfg, satp, stimecmp, mtimecmp, pmpcfg.clone(), pmpaddr.clone(), mip, seipSoftware,
                reservationOffset, reservationValue, waitingForInterrupt, state,
                hExtension ? new Hypervisor(virt, hstatus, hedeleg, hideleg, hcounteren, henvcfg, htimedelta, htval,
                        htinst, hgatp, vsstatus, vstvec, vsscratch, vsepc, vscause, vstval, vsatp, vstimecmp, mtval2,
                        mtinst) : null);
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
        mideleg = s.mideleg() | (hExtension ? VS_INTERRUPTS : 0);
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
        MIP_HANDLE.setVolatile(this, s.mip() & interrupts);
        Hypervisor hv = hExtension ? s.hypervisor() : null;
        boolean virtual = hv != null && hv.virt() && s.priv() != MACHINE;
        if (hv != null) {
            hstatus = hv.hstatus() & Hstatus.WRITABLE;
            hedeleg = hv.hedeleg() & HEDELEG_WRITABLE;
            hideleg = hv.hideleg() & VS_INTERRUPTS;
            hcounteren = hv.hcounteren() & 0xFFFF_FFFFL;
            henvcfg = hv.henvcfg() & MENVCFG_STCE;
            htimedelta = hv.htimedelta();
            htval = hv.htval();
            htinst = hv.htinst();
            hgatp = hv.hgatp();
            vsstatus = hv.vsstatus() & Hstatus.VSSTATUS_WRITABLE;
            vstvec = hv.vstvec();
            vsscratch = hv.vsscratch();
            vsepc = hv.vsepc();
            vscause = hv.vscause();
            vstval = hv.vstval();
            vsatp = hv.vsatp();
            vstimecmp = hv.vstimecmp();
            mtval2 = hv.mtval2();
            mtinst = hv.mtinst();
        }
        seipSoftware = s.seipSoftware();
        reservationOffset = s.reservationOffset();
        reservationValue = s.reservationValue();
        waitingForInterrupt = s.waitingForInterrupt();
        state = s.state();
        fencesServed = fenceRequests.get();
        mmu.flush();
        setMode(s.priv(), virtual);
    }

    /** Resets the hart to its power-on state at {@code entry} in {@code privilege} mode. */
    public void reset(long entry, int privilege) {
        java.util.Arrays.fill(x, 0);
        java.util.Arrays.fill(f, 0);
        pc = entry;
        mstatus = Mstatus.XLEN64;
        medeleg = mie = mtvec = mscratch = mepc = mcause = mtval = 0;
        mcounteren = menvcfg = 0;
        stvec = sscratch = sepc = scause = stval = scounteren = satp = 0;
        stimecmp = -1;
        mtimecmp = -1;
        senvcfg = 0;
        virt = false;
        hstatus = hedeleg = hideleg = hcounteren = henvcfg = htimedelta = htval = htinst = hgatp = 0;
        vsstatus = vstvec = vsscratch = vsepc = vscause = vstval = vsatp = 0;
        vstimecmp = -1;
        mtval2 = mtinst = 0;
        mideleg = hExtension ? VS_INTERRUPTS : 0;
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
