package dev.ember.riscv.interp;

import dev.ember.memory.GuestMemory;
import dev.ember.riscv.cpu.Hart;
import dev.ember.riscv.cpu.Mmu;
import dev.ember.riscv.cpu.Mstatus;
import dev.ember.riscv.cpu.Privilege;
import dev.ember.riscv.cpu.Trap;
import dev.ember.riscv.isa.Rvc;
import dev.ember.riscv.isa.TrapCause;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * The reference execution engine: fetches, decodes and executes RV64GC instructions one at a
 * time (unprivileged ISA chapters 2 to 16, privileged ISA chapter 3's SYSTEM instructions).
 *
 * <p>Shape, chosen for HotSpot (see {@code shared/PERFORMANCE.md}): the fetch goes through the
 * MMU's fetch TLB and reads 32 bits in one segment access; compressed instructions are
 * expanded through a 64 Ki-entry table built once; execution is a switch on the major opcode
 * into one small method per opcode group, each well under HotSpot's 8000-byte compile limit.
 * Guest exceptions are {@link Trap}s thrown only from slow paths; the {@code pc} is written
 * only after an instruction completes, so a trap leaves the faulting instruction's {@code pc}
 * for {@code mepc}/{@code sepc}.
 *
 * <p>Interrupts are not checked per instruction: {@link #run} executes a slice and returns to
 * the vCPU loop, which checks them between slices, as TinyEMU does.
 *
 * <p>Owned by the hart's vCPU thread.
 */
public final class Interpreter {

    /** Expansions of every 16-bit encoding; 0 marks an illegal one. */
    private static final int[] RVC = Rvc.buildTable();

    private final Hart h;
    private final Mmu mmu;
    private final long[] x;
    private final MemorySegment seg;

    public Interpreter(Hart hart) {
        this.h = hart;
        this.mmu = hart.mmu;
        this.x = hart.x;
        this.seg = hart.mmu.seg;
    }

    /**
     * Executes up to {@code budget} instructions, stopping early when an instruction ends the
     * slice (a CSR write that may unmask an interrupt, WFI, xRET, an SBI call that changes run
     * state). Synchronous exceptions are taken inside.
     *
     * @return the number of instructions attempted
     */
    public int run(int budget) {
        int done = 0;
        h.sliceEnd = false;
        while (done < budget && !h.sliceEnd) {
            done = runUntrapped(done, budget);
        }
        return done;
    }

    /** Runs until the budget, a slice end or a trap, which it takes; returns the new count. */
    private int runUntrapped(int done, int budget) {
        final Hart h = this.h;
        final long[] fetchTag = mmu.fetchTag;
        final long[] fetchAddend = mmu.fetchAddend;
        // The count lives in this frame, so the trap is caught here: caught in run(), the
        // instructions before it would go uncounted and a slice could overrun its budget.
        // The pc lives in a local while the slice runs; h.pc is written back when the slice
        // ends and before anything that reads it (trap entry, SBI calls, xRET).
        long pc = h.pc;
        // The current code page's fetch-TLB entry, held in locals. Valid for the slice: a
        // privilege change ends the slice, and so does every TLB flush (Mmu.flush).
        long codePage = -1;
        long codeAddend = 0;
        final long fetchKey = mmu.fetchKey;
        try {
            while (done < budget && !h.sliceEnd) {
                done++;   // before the fetch, so a slice of faulting fetches still ends
                h.instret++;   // taken back below if the instruction traps instead of retiring
                long page = pc & ~0xFFFL;
                int insn;
                if (page == codePage && (pc & 0xFFF) <= 0xFFC) {
                    insn = seg.get(GuestMemory.U32, pc + codeAddend);
                } else {
                    int i = (int) (pc >>> 12) & (Mmu.TLB_SIZE - 1);
                    if (fetchTag[i] == (page | fetchKey) && (pc & 0xFFF) <= 0xFFC) {
                        codePage = page;
                        codeAddend = fetchAddend[i];
                        insn = seg.get(GuestMemory.U32, pc + codeAddend);
                    } else {
                        insn = mmu.fetch(pc);
                    }
                }
                if ((insn & 3) == 3) {
                    pc = execute(insn, pc, 4);
                } else {
                    int expanded = RVC[insn & 0xFFFF];
                    if (expanded == 0) {
                        throw h.illegalInstruction();
                    }
                    pc = execute(expanded, pc, 2);
                }
                x[0] = 0;
            }
            h.pc = pc;
        } catch (Trap t) {
            h.instret--;
            h.pc = pc;   // the faulting instruction's pc, for mepc/sepc
            h.takeTrap(t.cause(), t.tval());
        }
        return done;
    }

    /**
     * Executes one 32-bit (or expanded 16-bit) instruction of length {@code len} at {@code pc}.
     *
     * @return the pc of the next instruction
     */
    long execute(int insn, long pc, int len) {
        return switch (insn & 0x7F) {
            case 0x03 -> load(insn, pc, len);
            case 0x07 -> loadFp(insn, pc, len);
            case 0x0F -> miscMem(insn, pc, len);
            case 0x13 -> opImm(insn, pc, len);
            case 0x17 -> { x[rd(insn)] = pc + (insn & 0xFFFF_F000); yield pc + len; }
            case 0x1B -> opImm32(insn, pc, len);
            case 0x23 -> store(insn, pc, len);
            case 0x27 -> storeFp(insn, pc, len);
            case 0x2F -> amo(insn, pc, len);
            case 0x33 -> op(insn, pc, len);
            case 0x37 -> { x[rd(insn)] = (long) (insn & 0xFFFF_F000); yield pc + len; }
            case 0x3B -> op32(insn, pc, len);
            case 0x43, 0x47, 0x4B, 0x4F, 0x53 -> fp(insn, pc, len);
            case 0x63 -> branch(insn, pc, len);
            case 0x67 -> {
                if (((insn >>> 12) & 7) != 0) throw h.illegalInstruction();
                long target = (x[rs1(insn)] + (insn >> 20)) & ~1L;
                x[rd(insn)] = pc + len;
                yield target;
            }
            case 0x6F -> { x[rd(insn)] = pc + len; yield pc + immJ(insn); }
            case 0x73 -> system(insn, pc, len);
            default -> throw h.illegalInstruction();
        };
    }

    static int rd(int insn) { return (insn >>> 7) & 31; }
    static int rs1(int insn) { return (insn >>> 15) & 31; }
    static int rs2(int insn) { return (insn >>> 20) & 31; }
    static int funct3(int insn) { return (insn >>> 12) & 7; }

    static long immS(int w) { return ((w >> 25) << 5) | ((w >>> 7) & 0x1F); }

    static long immB(int w) {
        return ((w >> 31) << 12) | (((w >>> 7) & 1) << 11) | (((w >>> 25) & 0x3F) << 5) | (((w >>> 8) & 0xF) << 1);
    }

    static long immJ(int w) {
        return ((w >> 31) << 20) | (w & 0x000F_F000) | (((w >>> 20) & 1) << 11) | (((w >>> 21) & 0x3FF) << 1);
    }

    private long load(int insn, long pc, int len) {
        long a = x[rs1(insn)] + (insn >> 20);
        long v = switch (funct3(insn)) {
            case 0 -> (byte) mmu.loadU8(a);
            case 1 -> (short) mmu.loadU16(a);
            case 2 -> mmu.load32(a);
            case 3 -> mmu.load64(a);
            case 4 -> mmu.loadU8(a);
            case 5 -> mmu.loadU16(a);
            case 6 -> mmu.load32(a) & 0xFFFF_FFFFL;
            default -> throw h.illegalInstruction();
        };
        x[rd(insn)] = v;
        return pc + len;
    }

    private long store(int insn, long pc, int len) {
        long a = x[rs1(insn)] + immS(insn);
        long v = x[rs2(insn)];
        switch (funct3(insn)) {
            case 0 -> mmu.store8(a, (int) v);
            case 1 -> mmu.store16(a, (int) v);
            case 2 -> mmu.store32(a, (int) v);
            case 3 -> mmu.store64(a, v);
            default -> throw h.illegalInstruction();
        }
        return pc + len;
    }

    private long loadFp(int insn, long pc, int len) {
        long a = x[rs1(insn)] + (insn >> 20);
        switch (funct3(insn)) {
            case 2 -> { h.touchFp(); h.f[rd(insn)] = 0xFFFF_FFFF_0000_0000L | (mmu.load32(a) & 0xFFFF_FFFFL); }
            case 3 -> { h.touchFp(); h.f[rd(insn)] = mmu.load64(a); }
            default -> throw h.illegalInstruction();
        }
        return pc + len;
    }

    private long storeFp(int insn, long pc, int len) {
        long a = x[rs1(insn)] + immS(insn);
        switch (funct3(insn)) {
            case 2 -> { requireFpOn(); mmu.store32(a, (int) h.f[rs2(insn)]); }
            case 3 -> { requireFpOn(); mmu.store64(a, h.f[rs2(insn)]); }
            default -> throw h.illegalInstruction();
        }
        return pc + len;
    }

    private void requireFpOn() {
        if ((h.mstatus & Mstatus.FS) == 0) {
            throw h.illegalInstruction();
        }
    }

    private long fp(int insn, long pc, int len) {
        requireFpOn();
        if (!FloatOps.execute(insn, x, h.f, h.fpu, h.frm)) {
            throw h.illegalInstruction();
        }
        h.touchFp();
        return pc + len;
    }

    private long miscMem(int insn, long pc, int len) {
        switch (funct3(insn)) {
            case 0 -> VarHandle.fullFence();   // FENCE: order this hart's accesses for other harts
            case 1 -> { }                      // FENCE.I: no decoded-instruction cache to invalidate
            default -> throw h.illegalInstruction();
        }
        return pc + len;
    }

    private long opImm(int insn, long pc, int len) {
        long a = x[rs1(insn)];
        long imm = insn >> 20;
        long v = switch (funct3(insn)) {
            case 0 -> a + imm;
            case 1 -> {
                if ((insn >>> 26) != 0) throw h.illegalInstruction();
                yield a << (imm & 63);
            }
            case 2 -> a < imm ? 1 : 0;
            case 3 -> Long.compareUnsigned(a, imm) < 0 ? 1 : 0;
            case 4 -> a ^ imm;
            case 5 -> switch (insn >>> 26) {
                case 0 -> a >>> (imm & 63);
                case 0x10 -> a >> (imm & 63);
                default -> throw h.illegalInstruction();
            };
            case 6 -> a | imm;
            default -> a & imm;
        };
        x[rd(insn)] = v;
        return pc + len;
    }

    private long opImm32(int insn, long pc, int len) {
        int a = (int) x[rs1(insn)];
        int imm = insn >> 20;
        int v = switch (funct3(insn)) {
            case 0 -> a + imm;
            case 1 -> {
                if ((insn >>> 25) != 0) throw h.illegalInstruction();
                yield a << (imm & 31);
            }
            case 5 -> switch (insn >>> 25) {
                case 0 -> a >>> (imm & 31);
                case 0x20 -> a >> (imm & 31);
                default -> throw h.illegalInstruction();
            };
            default -> throw h.illegalInstruction();
        };
        x[rd(insn)] = v;
        return pc + len;
    }

    private long op(int insn, long pc, int len) {
        long a = x[rs1(insn)];
        long b = x[rs2(insn)];
        int f7 = insn >>> 25;
        long v;
        if (f7 == 0) {
            v = switch (funct3(insn)) {
                case 0 -> a + b;
                case 1 -> a << (b & 63);
                case 2 -> a < b ? 1 : 0;
                case 3 -> Long.compareUnsigned(a, b) < 0 ? 1 : 0;
                case 4 -> a ^ b;
                case 5 -> a >>> (b & 63);
                case 6 -> a | b;
                default -> a & b;
            };
        } else if (f7 == 0x20) {
            v = switch (funct3(insn)) {
                case 0 -> a - b;
                case 5 -> a >> (b & 63);
                default -> throw h.illegalInstruction();
            };
        } else if (f7 == 1) {
            v = mulDiv(funct3(insn), a, b);
        } else {
            throw h.illegalInstruction();
        }
        x[rd(insn)] = v;
        return pc + len;
    }

    /** The M extension on 64-bit operands (unprivileged ISA §13.1, §13.2, table 13.1). */
    static long mulDiv(int funct3, long a, long b) {
        return switch (funct3) {
            case 0 -> a * b;
            case 1 -> Math.multiplyHigh(a, b);
            case 2 -> Math.multiplyHigh(a, b) + ((b >> 63) & a);   // MULHSU: b is unsigned
            case 3 -> Math.unsignedMultiplyHigh(a, b);
            case 4 -> b == 0 ? -1 : (a == Long.MIN_VALUE && b == -1 ? a : a / b);
            case 5 -> b == 0 ? -1 : Long.divideUnsigned(a, b);
            case 6 -> b == 0 ? a : (a == Long.MIN_VALUE && b == -1 ? 0 : a % b);
            default -> b == 0 ? a : Long.remainderUnsigned(a, b);
        };
    }

    private long op32(int insn, long pc, int len) {
        int a = (int) x[rs1(insn)];
        int b = (int) x[rs2(insn)];
        int f7 = insn >>> 25;
        int v;
        if (f7 == 0) {
            v = switch (funct3(insn)) {
                case 0 -> a + b;
                case 1 -> a << (b & 31);
                case 5 -> a >>> (b & 31);
                default -> throw h.illegalInstruction();
            };
        } else if (f7 == 0x20) {
            v = switch (funct3(insn)) {
                case 0 -> a - b;
                case 5 -> a >> (b & 31);
                default -> throw h.illegalInstruction();
            };
        } else if (f7 == 1) {
            v = switch (funct3(insn)) {
                case 0 -> a * b;
                case 4 -> b == 0 ? -1 : (a == Integer.MIN_VALUE && b == -1 ? a : a / b);
                case 5 -> b == 0 ? -1 : Integer.divideUnsigned(a, b);
                case 6 -> b == 0 ? a : (a == Integer.MIN_VALUE && b == -1 ? 0 : a % b);
                case 7 -> b == 0 ? a : Integer.remainderUnsigned(a, b);
                default -> throw h.illegalInstruction();
            };
        } else {
            throw h.illegalInstruction();
        }
        x[rd(insn)] = v;
        return pc + len;
    }

    private long branch(int insn, long pc, int len) {
        long a = x[rs1(insn)];
        long b = x[rs2(insn)];
        boolean taken = switch (funct3(insn)) {
            case 0 -> a == b;
            case 1 -> a != b;
            case 4 -> a < b;
            case 5 -> a >= b;
            case 6 -> Long.compareUnsigned(a, b) < 0;
            case 7 -> Long.compareUnsigned(a, b) >= 0;
            default -> throw h.illegalInstruction();
        };
        return taken ? pc + immB(insn) : pc + len;
    }

    /**
     * The A extension (unprivileged ISA chapter 14). AMOs are single atomic operations on
     * guest RAM through {@link GuestMemory#ATOMIC_U64}/{@code ATOMIC_U32}, so they are atomic
     * against other harts on other host threads. LR/SC is implemented as a reservation on the
     * loaded value plus a compare-and-swap, as QEMU does: an SC succeeds only if memory still
     * holds the value LR saw.
     */
    private long amo(int insn, long pc, int len) {
        int f3 = funct3(insn);
        if (f3 != 2 && f3 != 3) {
            throw h.illegalInstruction();
        }
        boolean doubleword = f3 == 3;
        int op = insn >>> 27;
        long a = x[rs1(insn)];
        long src = x[rs2(insn)];
        long v;
        switch (op) {
            case 0b00010 -> {   // LR
                if (rs2(insn) != 0) throw h.illegalInstruction();
                long off = mmu.atomicOffset(a, doubleword ? 8 : 4, false);
                v = doubleword ? (long) GuestMemory.ATOMIC_U64.getVolatile(seg, off)
                               : (int) GuestMemory.ATOMIC_U32.getVolatile(seg, off);
                h.reservationOffset = off;
                h.reservationValue = v;
            }
            case 0b00011 -> {   // SC
                long off = mmu.atomicOffset(a, doubleword ? 8 : 4, true);
                boolean ok = false;
                if (h.reservationOffset == off) {
                    ok = doubleword
                            ? GuestMemory.ATOMIC_U64.compareAndSet(seg, off, h.reservationValue, src)
                            : GuestMemory.ATOMIC_U32.compareAndSet(seg, off, (int) h.reservationValue, (int) src);
                }
                h.reservationOffset = -1;
                v = ok ? 0 : 1;
            }
            default -> {
                if (!Amo.isOp(op)) {
                    throw h.illegalInstruction();
                }
                long off = mmu.atomicOffset(a, doubleword ? 8 : 4, true);
                v = doubleword ? Amo.apply64(op, seg, off, src) : Amo.apply32(op, seg, off, (int) src);
            }
        }
        x[rd(insn)] = v;
        return pc + len;
    }

    private long system(int insn, long pc, int len) {
        int f3 = funct3(insn);
        if (f3 == 0) {
            return privileged(insn, pc, len);
        }
        if (f3 == 4) {
            throw h.illegalInstruction();
        }
        int csr = insn >>> 20;
        int rs1 = rs1(insn);
        long src = (f3 & 4) != 0 ? rs1 : x[rs1];
        long old = switch (f3 & 3) {
            case 1 -> h.csrAccess(csr, src, -1L, true);
            case 2 -> h.csrAccess(csr, -1L, src, rs1 != 0);
            default -> h.csrAccess(csr, 0L, src, rs1 != 0);
        };
        x[rd(insn)] = old;
        return pc + len;
    }

    private long privileged(int insn, long pc, int len) {
        if ((insn >>> 25) == 0b0001001) {   // SFENCE.VMA
            if (rd(insn) != 0 || h.priv == Privilege.USER
                    || (h.priv == Privilege.SUPERVISOR && (h.mstatus & Mstatus.TVM) != 0)) {
                throw h.illegalInstruction();
            }
            mmu.flush();
            return pc + len;
        }
        if (rd(insn) != 0 || rs1(insn) != 0) {
            throw h.illegalInstruction();
        }
        h.pc = pc;   // xRET and SBI calls read and write h.pc
        switch (insn >>> 20) {
            case 0x000 -> ecall();
            case 0x001 -> throw h.trap(TrapCause.BREAKPOINT, pc);
            case 0x102 -> h.sret();
            case 0x302 -> h.mret();
            case 0x105 -> {   // WFI
                if (h.priv == Privilege.USER
                        || (h.priv == Privilege.SUPERVISOR && (h.mstatus & Mstatus.TW) != 0)) {
                    throw h.illegalInstruction();
                }
                h.pc = pc + len;
                h.waitingForInterrupt = true;
                h.sliceEnd = true;
            }
            default -> throw h.illegalInstruction();
        }
        return h.pc;
    }

    private void ecall() {
        if (h.priv == Privilege.SUPERVISOR && h.sbi != null) {
            h.sbi.supervisorCall(h);
            h.pc += 4;
            return;
        }
        int cause = switch (h.priv) {
            case Privilege.USER -> TrapCause.ECALL_FROM_U;
            case Privilege.SUPERVISOR -> TrapCause.ECALL_FROM_S;
            default -> TrapCause.ECALL_FROM_M;
        };
        throw h.trap(cause, 0);
    }
}
