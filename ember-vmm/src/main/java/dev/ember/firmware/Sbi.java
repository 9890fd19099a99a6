package dev.ember.firmware;

import dev.ember.memory.GuestMemory;
import dev.ember.riscv.cpu.Hart;
import dev.ember.riscv.cpu.HartState;
import dev.ember.riscv.cpu.Mstatus;
import dev.ember.riscv.cpu.Privilege;
import dev.ember.riscv.isa.TrapCause;

/**
 * The built-in SBI (RISC-V Supervisor Binary Interface v2.0), answered by the VMM itself as
 * KVM does for its RISC-V guests: the kernel runs in S-mode with no M-mode firmware, and its
 * {@code ecall}s arrive here as paravirtual calls.
 *
 * <p>Extensions: BASE (§4), the legacy calls 0x00 to 0x08 (§5) for console, timer and
 * shutdown, TIME (§6), IPI (§7), RFENCE (§8), HSM (§9), SRST (§10) and DBCN (§12). PMU, CPPC,
 * NACL and STA are absent, so {@code probe_extension} reports them unavailable.
 *
 * <p>Calling convention (§3): extension ID in {@code a7}, function ID in {@code a6},
 * arguments in {@code a0..a5}; the error code returns in {@code a0} and the value in {@code a1}.
 *
 * <p><b>Guest-controlled.</b> Hart masks, addresses and lengths come from the guest: hart ids
 * are bounds-checked, DBCN buffers must lie wholly in RAM, and console writes are capped per
 * call.
 *
 * <p>Called on the calling hart's vCPU thread. Cross-hart effects go through each target's
 * atomic {@code mip}, its volatile run state and its remote-fence flag.
 */
public final class Sbi {

    public static final long SPEC_VERSION = 2L << 24;
    /** Implementation ID: not a registered number; "EMB" in ASCII. */
    public static final long IMPL_ID = 0x454D42;
    public static final long IMPL_VERSION = 1;

    static final long EXT_BASE = 0x10, EXT_TIME = 0x54494D45, EXT_IPI = 0x735049, EXT_RFENCE = 0x52464E43,
            EXT_HSM = 0x48534D, EXT_SRST = 0x53525354, EXT_DBCN = 0x4442434E;

    static final long SUCCESS = 0, ERR_FAILED = -1, ERR_NOT_SUPPORTED = -2, ERR_INVALID_PARAM = -3,
            ERR_INVALID_ADDRESS = -5, ERR_ALREADY_AVAILABLE = -6;

    private static final long HSM_SUSPEND_NON_RETENTIVE = 0x8000_0000L;
    private static final int MAX_CONSOLE_WRITE = 1 << 16;

    private final Hart[] harts;
    private final GuestMemory ram;
    private final SbiPlatform platform;

    public Sbi(Hart[] harts, GuestMemory ram, SbiPlatform platform) {
        this.harts = harts;
        this.ram = ram;
        this.platform = platform;
    }

    /**
     * Puts a hart into the state the SBI promises a supervisor-mode kernel on entry
     * (§9.2 for harts started with HSM; the boot hart likewise): S-mode at {@code entry},
     * {@code a0} = hart id, {@code a1} = {@code opaque}, translation off, interrupts off.
     * Also sets up what M-mode firmware would have: exceptions and S-level interrupts
     * delegated, counters enabled for S and U mode, and Sstc's {@code stimecmp} enabled.
     */
    public void enterSupervisor(Hart h, long entry, long opaque) {
        h.reset(entry, Privilege.SUPERVISOR);
        h.medeleg = 0xB1FF;                   // everything but ecall from S/M and reserved codes
        h.mideleg = (1 << TrapCause.SSI) | (1 << TrapCause.STI) | (1 << TrapCause.SEI);
        if (h.hExtension) {
            // A hypervisor in HS-mode handles its guests' ecalls, guest-page faults and
            // virtual-instruction exceptions itself, as OpenSBI delegates them; the VS-level
            // interrupts are delegated by the hart itself (read-only ones in mideleg).
            h.medeleg |= 1L << TrapCause.ECALL_FROM_VS | 1L << TrapCause.INSTRUCTION_GUEST_PAGE_FAULT
                    | 1L << TrapCause.LOAD_GUEST_PAGE_FAULT | 1L << TrapCause.VIRTUAL_INSTRUCTION
                    | 1L << TrapCause.STORE_GUEST_PAGE_FAULT;
            h.mideleg |= (1 << TrapCause.VSSI) | (1 << TrapCause.VSTI) | (1 << TrapCause.VSEI);
        }
        h.mcounteren = 0xFFFF_FFFFL;
        // As OpenSBI does at start-up: user mode may read cycle, time and instret (the vDSO's
        // clock_gettime executes rdtime), unless the kernel narrows it.
        h.scounteren = 0b111;
        h.menvcfg = Hart.MENVCFG_STCE;
        h.x[10] = h.id;
        h.x[11] = opaque;
        h.sbi = this::call;
    }

    /** Serves {@code h}'s ecalls from S-mode, as for a restored hart that had entered S-mode before its snapshot. */
    public void attach(Hart h) {
        h.sbi = this::call;
    }

    /** Dispatches one SBI call from {@code h}. */
    public void call(Hart h) {
        long[] x = h.x;
        long ext = x[17];
        long fid = x[16];
        if (ext < 0x10) {
            x[10] = legacy(h, (int) ext);
            return;
        }
        long[] result = {ERR_NOT_SUPPORTED, 0};
        if (ext == EXT_BASE) {
            base(fid, x[10], result);
        } else if (ext == EXT_TIME && fid == 0) {
            setTimer(h, x[10]);
            result[0] = SUCCESS;
        } else if (ext == EXT_IPI && fid == 0) {
            result[0] = forEachHart(x[10], x[11], target -> target.setPending(TrapCause.SSI, true));
        } else if (ext == EXT_RFENCE) {
            result[0] = rfence(h, fid, x[10], x[11]);
        } else if (ext == EXT_HSM) {
            hsm(h, fid, result);
        } else if (ext == EXT_SRST && fid == 0) {
            result[0] = systemReset(h, x[10], x[11]);
        } else if (ext == EXT_DBCN) {
            dbcn(fid, result, x[10], x[11], x[12]);
        }
        x[10] = result[0];
        x[11] = result[1];
    }

    private void base(long fid, long arg, long[] r) {
        r[0] = SUCCESS;
        switch ((int) fid) {
            case 0 -> r[1] = SPEC_VERSION;
            case 1 -> r[1] = IMPL_ID;
            case 2 -> r[1] = IMPL_VERSION;
            case 3 -> r[1] = probe(arg) ? 1 : 0;
            case 4, 5, 6 -> r[1] = 0;   // mvendorid, marchid, mimpid
            default -> r[0] = ERR_NOT_SUPPORTED;
        }
    }

    private static boolean probe(long ext) {
        return ext == EXT_BASE || ext == EXT_TIME || ext == EXT_IPI || ext == EXT_RFENCE || ext == EXT_HSM
                || ext == EXT_SRST || ext == EXT_DBCN || (ext >= 0 && ext <= 3) || ext == 8;
    }

    /** The legacy extensions (§5); only their {@code a0} return exists. */
    private long legacy(Hart h, int ext) {
        return switch (ext) {
            case 0 -> { setTimer(h, h.x[10]); yield 0; }
            case 1 -> { platform.consoleWrite((int) h.x[10] & 0xFF); yield 0; }
            case 2 -> platform.consoleRead();
            case 3 -> { h.setPending(TrapCause.SSI, false); yield 0; }
            case 8 -> { platform.systemReset(0, 0); h.sliceEnd = true; yield 0; }
            default -> ERR_NOT_SUPPORTED;   // legacy IPI and fences take hart masks by pointer: use IPI/RFENCE
        };
    }

    private static void setTimer(Hart h, long value) {
        h.stimecmp = value;
        h.sliceEnd = true;
    }

    private interface HartAction {
        void apply(Hart target);
    }

    /** Applies {@code action} to each hart of the mask (§3.1); returns the SBI error. */
    private long forEachHart(long mask, long maskBase, HartAction action) {
        if (maskBase == -1) {
            for (Hart t : harts) {
                action.apply(t);
            }
            return SUCCESS;
        }
        if (maskBase < 0 || maskBase >= harts.length) {
            return mask == 0 ? SUCCESS : ERR_INVALID_PARAM;
        }
        for (int bit = 0; bit < 64; bit++) {
            if ((mask & (1L << bit)) != 0) {
                long id = maskBase + bit;
                if (id >= harts.length) {
                    return ERR_INVALID_PARAM;
                }
            }
        }
        for (int bit = 0; bit < 64; bit++) {
            if ((mask & (1L << bit)) != 0) {
                action.apply(harts[(int) (maskBase + bit)]);
            }
        }
        return SUCCESS;
    }

    /**
     * RFENCE (§8). Ember has no ASIDs and no decoded-instruction cache, so every fence is a full
     * TLB flush on the target harts (FENCE.I needs only the ordering). The call returns only
     * after each running target has served its request, as the spec requires of a completed
     * remote fence: each target gets a ticket, and the caller waits for exactly those tickets,
     * serving requests made of itself meanwhile so that harts fencing each other cannot deadlock.
     */
    private long rfence(Hart self, long fid, long mask, long maskBase) {
        if (fid > 6 || (fid > 2 && !self.hExtension)) {
            return ERR_NOT_SUPPORTED;   // fids 3-6 are the hypervisor fences (§8.4-8.7): H harts only
        }
        long[] tickets = new long[harts.length];
        long err = forEachHart(mask, maskBase, t -> {
            if (t == self) {
                t.mmu.flush();
            } else if (t.state == HartState.STARTED) {
                tickets[t.id] = t.requestFence();
            }
        });
        if (err != SUCCESS) {
            return err;
        }
        for (Hart t : harts) {
            long ticket = tickets[t.id];
            int spins = 0;
            while (ticket != 0 && !t.fenceServed(ticket) && t.state == HartState.STARTED && !self.exitRequested) {
                self.serveFences();
                if (++spins < 1000) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
        }
        return SUCCESS;
    }

    /** HSM (§9): hart start, stop, status and suspend. */
    private void hsm(Hart self, long fid, long[] r) {
        long[] x = self.x;
        switch ((int) fid) {
            case 0 -> {   // hart_start(hartid, start_addr, opaque)
                long id = x[10];
                if (id < 0 || id >= harts.length) {
                    r[0] = ERR_INVALID_PARAM;
                    return;
                }
                Hart t = harts[(int) id];
                if (!ram.contains(x[11], 2)) {
                    r[0] = ERR_INVALID_ADDRESS;
                    return;
                }
                synchronized (t) {
                    if (t.state != HartState.STOPPED) {
                        r[0] = ERR_ALREADY_AVAILABLE;
                        return;
                    }
                    enterSupervisor(t, x[11], x[12]);
                    t.state = HartState.START_PENDING;
                }
                t.wake();
                r[0] = SUCCESS;
            }
            case 1 -> {   // hart_stop()
                // STOP_PENDING until this thread has left the slice (Vcpu makes it STOPPED),
                // so a hart_start from another hart cannot race with this call's return.
                self.state = HartState.STOP_PENDING;
                self.sliceEnd = true;
                r[0] = SUCCESS;
            }
            case 2 -> {   // hart_get_status(hartid)
                long id = x[10];
                if (id < 0 || id >= harts.length) {
                    r[0] = ERR_INVALID_PARAM;
                    return;
                }
                r[0] = SUCCESS;
                r[1] = harts[(int) id].state.ordinal();
            }
            case 3 -> hartSuspend(self, x[10], x[11], x[12], r);
            default -> r[0] = ERR_NOT_SUPPORTED;
        }
    }

    private void hartSuspend(Hart self, long type, long resumeAddr, long opaque, long[] r) {
        if (type == 0) {   // default retentive suspend: behaves like WFI
            self.waitingForInterrupt = true;
            self.sliceEnd = true;
            r[0] = SUCCESS;
        } else if (type == HSM_SUSPEND_NON_RETENTIVE) {
            if (!ram.contains(resumeAddr, 2)) {
                r[0] = ERR_INVALID_ADDRESS;
                return;
            }
            // Resumes at resume_addr like a fresh start; the caller's pc += 4 is undone here.
            self.satp = 0;
            self.mmu.flush();
            self.mstatus &= ~Mstatus.SIE;
            self.pc = resumeAddr - 4;
            self.waitingForInterrupt = true;
            self.sliceEnd = true;
            // On resume a0 and a1 carry the hart id and opaque (§9.4), not an error code.
            r[0] = self.id;
            r[1] = opaque;
        } else if ((type >= 0x1000_0000L && type <= 0x7FFF_FFFFL) || (type >= 0x9000_0000L && type <= 0xFFFF_FFFFL)) {
            r[0] = ERR_NOT_SUPPORTED;   // platform-specific suspend types (§9.4)
        } else {
            r[0] = ERR_INVALID_PARAM;
        }
    }

    private long systemReset(Hart self, long type, long reason) {
        if (type >= 0xF000_0000L && type <= 0xFFFF_FFFFL) {
            return ERR_NOT_SUPPORTED;   // vendor-specific reset types (§10.1)
        }
        if (type < 0 || type > 2 || reason < 0 || reason > 0xFFFF_FFFFL || (reason > 1 && reason < 0xE000_0000L)) {
            return ERR_INVALID_PARAM;
        }
        platform.systemReset((int) type, (int) reason);
        self.sliceEnd = true;
        return SUCCESS;
    }

    /** DBCN (§12): buffers are guest-physical. */
    private void dbcn(long fid, long[] r, long a0, long a1, long a2) {
        switch ((int) fid) {
            case 0 -> {   // console_write(num_bytes, base_addr_lo, base_addr_hi)
                long len = Math.min(a0, MAX_CONSOLE_WRITE);
                if (a0 < 0 || !ram.contains(a1, len) || a2 != 0) {
                    r[0] = ERR_INVALID_PARAM;
                    return;
                }
                for (long i = 0; i < len; i++) {
                    platform.consoleWrite(ram.readU8(a1 + i));
                }
                r[0] = SUCCESS;
                r[1] = len;
            }
            case 1 -> {   // console_read(num_bytes, base_addr_lo, base_addr_hi)
                if (a0 < 0 || !ram.contains(a1, a0) || a2 != 0) {
                    r[0] = ERR_INVALID_PARAM;
                    return;
                }
                long n = 0;
                int b;
                while (n < a0 && (b = platform.consoleRead()) >= 0) {
                    ram.write8(a1 + n++, b);
                }
                r[0] = SUCCESS;
                r[1] = n;
            }
            case 2 -> {   // console_write_byte(byte)
                platform.consoleWrite((int) a0 & 0xFF);
                r[0] = SUCCESS;
            }
            default -> r[0] = ERR_NOT_SUPPORTED;
        }
    }
}
