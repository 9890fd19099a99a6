package dev.ember.riscv.differential;

import static dev.ember.riscv.differential.Regs.GP;
import static dev.ember.riscv.differential.Regs.RA;
import static dev.ember.riscv.differential.Regs.SP;
import static dev.ember.riscv.differential.Regs.T6;
import static dev.ember.riscv.isa.CsrNumbers.*;

import dev.ember.riscv.cpu.Mstatus;
import dev.ember.riscv.cpu.Privilege;
import dev.ember.riscv.interp.FloatOps;
import dev.ember.riscv.isa.Decoder;
import dev.ember.riscv.isa.Op;
import dev.ember.riscv.isa.Rvc;
import dev.ember.riscv.isa.TrapCause;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Makes a random program and its starting state from a seed: the same seed always gives the
 * same {@link Program}.
 *
 * <p>What programs contain: integer ALU ops with W and M forms on edge-case values; loads and
 * stores of every width, aligned, misaligned and crossing pages; forward branches, bounded
 * loops and subroutine calls; RVC forms of all three quadrants; CSR accesses, including
 * {@code mstatus} FS/SUM/MXR/MPRV, {@code satp} and the counters; traps of every kind the
 * handlers can step over (illegal encodings, ecall, ebreak, misaligned atomics, access faults,
 * page faults, fetch faults); AMOs and LR/SC; F and D ops with every rounding mode, static and
 * dynamic, reserved ones included; S-mode and U-mode stretches under Sv39, at the code's
 * identity and alias addresses, storing to page tables with and without {@code sfence.vma}; and code that
 * rewrites itself.
 *
 * <p>What keeps programs well-formed is in {@link Regs} (reserved registers) and {@link Item}
 * (structure). Beyond that a context says what an item may do where it is placed: an S-mode
 * or U-mode stretch must not {@code ecall} (that is how it ends), a subroutine must neither call nor
 * fault on a fetch (both write {@code ra}, which it returns through), loops do not nest.
 *
 * <p>Not thread-safe; one per program.
 */
final class Generator {

    /**
     * Where an item is placed, and so what it may do: in which privilege modes it may run,
     * and whether it may be or contain a loop, a call, a stretch in a lower mode or a fetch fault.
     */
    private record Context(boolean machine, boolean supervisor, boolean user, boolean top, boolean loops, boolean calls,
                           boolean fetchFaults) {
        static final Context MAIN = new Context(true, false, false, true, true, true, true);
        static final Context LOOP = new Context(true, false, false, false, false, true, true);
        static final Context S_MODE = new Context(false, true, false, false, true, true, true);
        static final Context S_LOOP = new Context(false, true, false, false, false, true, true);
        static final Context U_MODE = new Context(false, false, true, false, true, true, true);
        static final Context U_LOOP = new Context(false, false, true, false, false, true, true);
        /** Subroutines are called from every mode, so they do only what is safe in all. */
        static final Context SUB = new Context(true, true, true, false, false, false, false);

        Context inLoop() {
            return machine ? LOOP : supervisor ? S_LOOP : U_LOOP;
        }

        /** {@return whether the item may ecall: only where it surely runs in M-mode, as a lower mode's ecall ends its stretch} */
        boolean ecall() {
            return machine && !supervisor && !user;
        }

        /** {@return whether the item may run mret: only where it surely does not run in M-mode, where it is illegal} */
        boolean mret() {
            return !machine;
        }

        /** {@return whether the item may run sret: only where it surely runs in U-mode, where it is illegal} */
        boolean sret() {
            return user && !machine && !supervisor;
        }
    }

    private static final Op[] R_OPS = {Op.ADD, Op.SUB, Op.SLL, Op.SLT, Op.SLTU, Op.XOR, Op.SRL, Op.SRA, Op.OR, Op.AND,
        Op.ADDW, Op.SUBW, Op.SLLW, Op.SRLW, Op.SRAW, Op.MUL, Op.MULH, Op.MULHSU, Op.MULHU, Op.DIV, Op.DIVU, Op.REM,
        Op.REMU, Op.MULW, Op.DIVW, Op.DIVUW, Op.REMW, Op.REMUW};
    private static final Op[] I_OPS = {Op.ADDI, Op.SLTI, Op.SLTIU, Op.XORI, Op.ORI, Op.ANDI, Op.ADDIW};
    private static final Op[] SHIFTS = {Op.SLLI, Op.SRLI, Op.SRAI, Op.SLLIW, Op.SRLIW, Op.SRAIW};
    private static final Op[] LOADS = {Op.LB, Op.LH, Op.LW, Op.LD, Op.LBU, Op.LHU, Op.LWU, Op.FLW, Op.FLD};
    private static final Op[] STORES = {Op.SB, Op.SH, Op.SW, Op.SD, Op.FSW, Op.FSD};
    private static final Op[] AMOS = {Op.AMOSWAP_W, Op.AMOADD_W, Op.AMOXOR_W, Op.AMOAND_W, Op.AMOOR_W, Op.AMOMIN_W,
        Op.AMOMAX_W, Op.AMOMINU_W, Op.AMOMAXU_W, Op.AMOSWAP_D, Op.AMOADD_D, Op.AMOXOR_D, Op.AMOAND_D, Op.AMOOR_D,
        Op.AMOMIN_D, Op.AMOMAX_D, Op.AMOMINU_D, Op.AMOMAXU_D};
    private static final Op[] FP_OPS = fpOps(false);
    private static final Op[] ROUNDING_OPS = fpOps(true);

    /** CSRs any access to is harmless in M-mode: nothing the handlers or the structure rely on. */
    private static final int[] FREE_M = {MSCRATCH, SSCRATCH, MEPC, MCAUSE, MTVAL, SEPC, SCAUSE, STVAL, FFLAGS, FRM,
        FCSR, MCOUNTEREN, SCOUNTEREN, MIE, MIP, SIE, SIP, MIDELEG, PMPCFG0, PMPADDR0, MENVCFG, STIMECMP, SENVCFG,
        MCOUNTINHIBIT, MHPMCOUNTER3, MHPMEVENT3, TSELECT, TDATA1, MISA, MCYCLE, MINSTRET};
    /** The same for code that may run in S-mode; M-mode CSRs trap there. */
    private static final int[] FREE_S = {SSCRATCH, SEPC, SCAUSE, STVAL, FFLAGS, FRM, FCSR, SIE, SIP, SCOUNTEREN,
        SENVCFG, STIMECMP};
    /** The same for U-mode: the FP CSRs; every other CSR traps there. */
    private static final int[] FREE_U = {FFLAGS, FRM, FCSR, SSCRATCH, MSCRATCH};
    private static final int[] COUNTERS = {CYCLE, TIME, INSTRET, HPMCOUNTER3, MCYCLE, MINSTRET, MHPMCOUNTER3};
    private static final int[] READ_ONLY = {CYCLE, TIME, INSTRET, MVENDORID, MARCHID, MIMPID, MHARTID, MCONFIGPTR};
    /** Bits programs set and clear in mstatus or sstatus. */
    private static final long[] STATUS_MASKS = {Mstatus.FS, 1L << 13, 2L << 13, Mstatus.SUM, Mstatus.MXR,
        Mstatus.SUM | Mstatus.MXR, Mstatus.FS | Mstatus.SUM, Mstatus.MPRV, Mstatus.MPRV | Mstatus.SUM};
    /** medeleg values: nothing, or groups of exceptions handed to S-mode; never ecall from U or S, which ends a stretch. */
    private static final long[] DELEGATIONS = {0, 0, 1 << 2 | 1 << 3, 1 << 12 | 1 << 13 | 1 << 15,
        1 << 4 | 1 << 6, 1 << 1 | 1 << 5 | 1 << 7, 0xB0FF};
    /** Slice sizes: mostly one slice for the whole program, which is fastest, sometimes many small ones. */
    private static final int[] CHUNKS = {1, 2, 3, 7, 19, 64, 1000, 100_000, 100_000, 100_000, 100_000, 100_000};

    private final SplittableRandom r;
    private final List<Item.Sub> subs = new ArrayList<>();
    /** Where the run stops to compare states and maybe raise an interrupt; with stops, programs leave instret alone, as the runner counts by it. */
    private final List<Program.Stop> stops = new ArrayList<>();

    private Generator(long seed) {
        this.r = new SplittableRandom(seed);
    }

    /** {@return the program for {@code seed}} */
    static Program generate(long seed) {
        return new Generator(seed).program(seed);
    }

    private Program program(long seed) {
        boolean interrupts = r.nextInt(5) < 2;
        if (interrupts || r.nextInt(4) == 0) {
            // Stops in the first few hundred instructions, raising some of the lines a device or
            // another hart raises.
            int[] bits = {TrapCause.SSI, TrapCause.MSI, TrapCause.SEI, TrapCause.MEI};
            int n = r.nextInt(1, 9);
            long at = 0;
            for (int k = 0; k < n; k++) {
                at += r.nextInt(60);
                stops.add(new Program.Stop(at, interrupts ? bits[(k + r.nextInt(4)) % 4] : -1));
            }
        }
        Program.InitialState init = initialState();
        long start = Layout.PROGRAM_MIN + 2L * r.nextInt(0, (int) (0x1000 - (Layout.PROGRAM_MIN & 0xFFF)) / 2);
        // With stops, slices that end often, so that stops come at every kind of slice boundary.
        int chunk = stops.isEmpty() ? CHUNKS[r.nextInt(CHUNKS.length)] : pickInt(3, 5, 7, 11, 19, 31, 64, 200);
        List<Item> main = r.nextInt(16) == 0 ? straightLine(r.nextInt(60, 160)) : items(Context.MAIN, r.nextInt(10, 27));
        return new Program(seed, init, start, main, List.copyOf(subs), chunk, List.copyOf(stops));
    }

    /**
     * {@return a long run of ALU, FP and compressed instructions: blocks longer than the
     * translator's bounds on a block, a region and a method's bytecode}
     */
    private List<Item> straightLine(int n) {
        List<Item> items = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            items.add(switch (r.nextInt(3)) {
                case 0 -> alu();
                case 1 -> compressed();
                default -> fp();
            });
        }
        return items;
    }

    private List<Item> items(Context ctx, int n) {
        List<Item> items = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            items.add(item(ctx));
        }
        return items;
    }

    // ---- the starting state ------------------------------------------------------------

    private Program.InitialState initialState() {
        long[] x = new long[32];
        for (int k = 1; k < 32; k++) {
            x[k] = Values.integer(r);
        }
        x[SP] = Layout.DATA;
        x[GP] = Layout.ALIAS_BASE;
        x[T6] = 0;
        long[] f = new long[32];
        for (int k = 0; k < 32; k++) {
            f[k] = Values.fpBits(r);
        }
        long mstatus = (long) pickInt(0, 1, 2, 3, 3, 3, 2, 1, 3, 3) << 13
                | (r.nextBoolean() ? Mstatus.SUM : 0) | (r.nextBoolean() ? Mstatus.MXR : 0)
                | (r.nextInt(10) == 0 ? Mstatus.MPRV : 0) | (long) pickInt(0, 1, 3) << Mstatus.MPP_SHIFT;
        long satp = switch (r.nextInt(3)) {
            case 0 -> 0;
            case 1 -> Layout.SATP_A;
            default -> Layout.SATP_B;
        };
        long mie = 0;
        long mideleg = 0;
        if (!stops.isEmpty() && stops.getFirst().interrupt() >= 0) {
            // Enabled, so that they are taken where they are raised, unless the program turns them off.
            mstatus |= Mstatus.MIE | (r.nextBoolean() ? Mstatus.SIE : 0);
            mie = 0xA0A | (r.nextBoolean() ? 0x222 : 0);
            mideleg = r.nextInt(4) == 0 ? 0x222 : 0;
        }
        long[] csrs = {
            MSTATUS, mstatus, SATP, satp, MEDELEG, DELEGATIONS[r.nextInt(DELEGATIONS.length)],
            MCOUNTEREN, r.nextInt(8), SCOUNTEREN, r.nextInt(8), MSCRATCH, Values.integer(r), SSCRATCH, Values.integer(r),
            MIE, mie, MIDELEG, mideleg,
        };
        int frm = r.nextInt(8) < 7 ? r.nextInt(5) : r.nextInt(5, 8);
        long[] l0a = new long[Layout.ALIAS_PAGES];
        long[] l0b = new long[Layout.ALIAS_PAGES];
        for (int k = 0; k < Layout.ALIAS_PAGES; k++) {
            l0a[k] = pte(true);
            l0b[k] = pte(true);
        }
        return new Program.InitialState(x, f, csrs, frm, r.nextInt(32), l0a, l0b, r.nextLong());
    }

    /** {@return a level-0 PTE for an alias page; with {@code reserved}, possibly one with reserved bits set} */
    private long pte(boolean reserved) {
        long page = Layout.DATA + 4096L * r.nextInt(Layout.DATA_PAGES);
        long g = r.nextInt(4) == 0 ? Layout.G : 0;
        long v = Layout.V;
        long ad = Layout.A | Layout.D;
        return switch (r.nextInt(reserved ? 12 : 11)) {
            case 0, 1 -> Layout.pte(page, v | Layout.R | Layout.W | ad | g);
            case 2 -> Layout.pte(page, v | Layout.R | Layout.W | g);                    // A and D set by the walk
            case 3 -> Layout.pte(page, v | Layout.R | Layout.A | g);                    // read-only
            case 4 -> Layout.pte(page, v | Layout.X | Layout.A | g);                    // execute-only: MXR
            case 5 -> Layout.pte(page, v | Layout.R | Layout.W | Layout.X | ad | g);
            case 6 -> 0;                                                                // invalid
            case 7 -> Layout.pte(page, v | Layout.W | ad);                              // reserved: W without R
            case 8 -> Layout.pte(page, v | Layout.R | Layout.W | Layout.U | ad);         // user page: SUM
            case 9 -> Layout.pte(page, v);                                              // a pointer at level 0
            case 10 -> Layout.pte(Layout.RAM_END + 0x1000_0000L, v | Layout.R | Layout.W | ad);   // no RAM there
            default -> Layout.pte(page, v | Layout.R | Layout.W | ad) | 1L << 54;        // reserved bits
        };
    }

    // ---- items ---------------------------------------------------------------------------

    private Item item(Context ctx) {
        int roll = r.nextInt(100);
        if (roll < 20) return alu();
        if (roll < 32) return memory(ctx);
        if (roll < 44) return compressed();
        if (roll < 58) return fp();
        if (roll < 66) return csr(ctx);
        if (roll < 72) return trap(ctx);
        if (roll < 77) return atomic(ctx);
        if (roll < 82) return skip();
        if (roll < 85) return pageTable();
        if (roll < 88 && ctx.calls()) return call();
        if (roll < 91 && ctx.loops()) return loop(ctx);
        if (roll < 95 && ctx.top()) return lowerMode();
        if (roll < 97) return selfModifying();
        if (roll < 98 && ctx.fetchFaults()) return fetchFault();
        return misc();
    }

    private Item alu() {
        int rd = writable();
        return switch (r.nextInt(6)) {
            case 0, 1 -> straight(Encoder.r(pick(R_OPS), rd, source(), source()));
            case 2 -> straight(Encoder.i(pick(I_OPS), rd, source(), Values.imm12(r)));
            case 3 -> {
                Op op = pick(SHIFTS);
                boolean word = op == Op.SLLIW || op == Op.SRLIW || op == Op.SRAIW;
                yield straight(Encoder.shift(op, rd, source(), r.nextInt(word ? 32 : 64)));
            }
            case 4 -> straight(Encoder.u(r.nextBoolean() ? Op.LUI : Op.AUIPC, rd, r.nextInt(1 << 20)));
            default -> straight(li64(rd, Values.integer(r)));
        };
    }

    /** {@return code that sets {@code rd} to {@code value}: the high word, then the low word 11, 11 and 10 bits at a time} */
    static int[] li64(int rd, long value) {
        if (value == (int) value) {
            return Encoder.li32(rd, (int) value);
        }
        return concat(Encoder.li32(rd, (int) (value >> 32)),
                Encoder.shift(Op.SLLI, rd, rd, 11), Encoder.i(Op.ORI, rd, rd, (int) (value >>> 21) & 0x7FF),
                Encoder.shift(Op.SLLI, rd, rd, 11), Encoder.i(Op.ORI, rd, rd, (int) (value >>> 10) & 0x7FF),
                Encoder.shift(Op.SLLI, rd, rd, 10), Encoder.i(Op.ORI, rd, rd, (int) value & 0x3FF));
    }

    /** A load or store of any width, from the data area or the alias pages. */
    private Item memory(Context ctx) {
        boolean load = r.nextInt(5) < 3;
        Op op = load ? pick(LOADS) : pick(STORES);
        int width = width(op);
        boolean alias = r.nextInt(10) < (ctx.machine() ? 1 : ctx.user() ? 7 : 4);
        int pages = alias ? Layout.ALIAS_PAGES : Layout.DATA_PAGES;
        int offset = placement(width, pages);
        int base = alias ? GP : SP;
        int value = isFp(op) ? r.nextInt(32) : load ? writable() : source();
        if (!alias && offset < 2048 && r.nextBoolean()) {
            return straight(access(op, value, SP, offset));
        }
        int a = writable();
        int lo = offset << 20 >> 20;
        return straight(Encoder.u(Op.LUI, a, (offset - lo) >>> 12), Encoder.r(Op.ADD, a, a, base),
                access(op, value, a, lo));
    }

    /** {@return an offset into {@code pages} pages for an access of {@code width}: aligned, misaligned, or across a page} */
    private int placement(int width, int pages) {
        int page = r.nextInt(pages);
        return switch (r.nextInt(width == 1 ? 1 : 5)) {
            case 0, 1, 2 -> page * 4096 + width * r.nextInt(4096 / width);
            case 3 -> page * 4096 + width * r.nextInt(4096 / width - 1) + r.nextInt(1, width);   // misaligned in the page
            default -> Math.min(page + 1, pages) * 4096 - r.nextInt(1, width);                   // across the page's end
        };
    }

    private static int access(Op op, int reg, int base, int offset) {
        return switch (op.format()) {
            case LOAD, FLOAD -> Encoder.i(op, reg, base, offset);
            default -> Encoder.s(op, reg, base, offset);
        };
    }

    private static int width(Op op) {
        return switch (op) {
            case LB, LBU, SB -> 1;
            case LH, LHU, SH -> 2;
            case LW, LWU, SW, FLW, FSW -> 4;
            default -> 8;
        };
    }

    private static boolean isFp(Op op) {
        return op == Op.FLW || op == Op.FLD || op == Op.FSW || op == Op.FSD;
    }

    /** An instruction in a compressed form, of any of the three quadrants. */
    private Item compressed() {
        int rd = writable();
        int p = prime();
        return switch (r.nextInt(16)) {
            case 0 -> rvc(Encoder.i(Op.ADDI, rd, rd, nonzero6()));                          // c.addi
            case 1 -> rvc(Encoder.i(Op.ADDIW, rd, rd, r.nextInt(-32, 32)));                   // c.addiw
            case 2 -> rvc(Encoder.i(Op.ADDI, rd, 0, r.nextInt(-32, 32)));                     // c.li
            case 3 -> rvc(Encoder.u(Op.LUI, rd, nonzero6() & 0xF_FFFF));                      // c.lui
            case 4 -> rvc(Encoder.i(Op.ADDI, p, SP, 4 * r.nextInt(1, 256)));                  // c.addi4spn
            case 5 -> rvc(Encoder.shift(Op.SLLI, rd, rd, r.nextInt(1, 64)));                  // c.slli
            case 6 -> rvc(Encoder.shift(pick(Op.SRLI, Op.SRAI), p, p, r.nextInt(1, 64)));     // c.srli, c.srai
            case 7 -> rvc(Encoder.i(Op.ANDI, p, p, r.nextInt(-32, 32)));                      // c.andi
            case 8 -> rvc(Encoder.r(pick(Op.SUB, Op.XOR, Op.OR, Op.AND, Op.SUBW, Op.ADDW), p, p, prime()));
            case 9 -> rvc(Encoder.r(Op.ADD, rd, 0, nonzeroSource()));                       // c.mv
            case 10 -> rvc(Encoder.r(Op.ADD, rd, rd, nonzeroSource()));                      // c.add
            case 11 -> rvc(switch (r.nextInt(3)) {                                          // c.lwsp, c.ldsp, c.fldsp
                case 0 -> Encoder.i(Op.LW, rd, SP, 4 * r.nextInt(64));
                case 1 -> Encoder.i(Op.LD, rd, SP, 8 * r.nextInt(64));
                default -> Encoder.i(Op.FLD, r.nextInt(32), SP, 8 * r.nextInt(64));
            });
            case 12 -> rvc(switch (r.nextInt(3)) {                                          // c.swsp, c.sdsp, c.fsdsp
                case 0 -> Encoder.s(Op.SW, source(), SP, 4 * r.nextInt(64));
                case 1 -> Encoder.s(Op.SD, source(), SP, 8 * r.nextInt(64));
                default -> Encoder.s(Op.FSD, r.nextInt(32), SP, 8 * r.nextInt(64));
            });
            case 13 -> rvc(Encoder.i(Op.ADDI, 0, 0, r.nextInt(-32, 32)));                    // c.nop and its hints
            case 14 -> moveStack(rd);
            default -> {
                // Quadrant 0 loads and stores through a base register, which c.addi4spn sets.
                Op op = pick(Op.LW, Op.LD, Op.FLD, Op.SW, Op.SD, Op.FSD);
                int w = width(op);
                yield rvc(Encoder.i(Op.ADDI, p, SP, 8 * r.nextInt(1, 128)), access(op, prime(), p, w * r.nextInt(32)));
            }
        };
    }

    /** c.addi16sp there and back, with an sp-relative access at the moved sp in between (never below the data). */
    private Item moveStack(int rd) {
        boolean access = r.nextBoolean();
        int step = 16 * (access || r.nextBoolean() ? r.nextInt(1, 32) : -r.nextInt(1, 32));
        int there = Encoder.i(Op.ADDI, SP, SP, step);
        int back = Encoder.i(Op.ADDI, SP, SP, -step);
        if (!access) {
            return rvc(there, back);
        }
        return rvc(there, r.nextBoolean() ? Encoder.i(Op.LD, rd, SP, 8 * r.nextInt(64)) : Encoder.s(Op.SW, source(), SP, 4 * r.nextInt(64)), back);
    }

    /** {@return straight code, every instruction in its compressed form} */
    private static Item rvc(int... words) {
        int[] out = new int[words.length];
        for (int k = 0; k < words.length; k++) {
            out[k] = Item.compressed(words[k]);
        }
        return new Item.Straight(out);
    }

    /** An F or D operation, a rounding-mode change, or an FP load, store or move. */
    private Item fp() {
        int roll = r.nextInt(20);
        if (roll < 14) {
            Op op = pick(FP_OPS);
            int rm = roundingMode();
            return switch (op.format()) {
                case R4 -> straight(Encoder.r4(op, r.nextInt(32), r.nextInt(32), r.nextInt(32), r.nextInt(32), rm));
                case FR, FR1, FRNR -> straight(Encoder.fp(op, r.nextInt(32), r.nextInt(32), r.nextInt(32), rm));
                case F2X, F2X_NR, FCMP -> straight(Encoder.fp(op, writable(), r.nextInt(32), r.nextInt(32), rm));
                default -> straight(Encoder.fp(op, r.nextInt(32), source(), 0, rm));   // X2F, X2F_NR
            };
        }
        if (roll < 16) {
            int frm = r.nextInt(4) == 0 ? r.nextInt(5, 8) : r.nextInt(5);
            return straight(Encoder.csr(Op.CSRRWI, r.nextBoolean() ? 0 : writable(), FRM, frm));
        }
        if (roll < 18) {
            int t = writable();
            int[] li = Encoder.li32(t, Values.singleBits(r));
            int mv = r.nextBoolean() ? Encoder.fp(Op.FMV_W_X, r.nextInt(32), t, 0, 0) : Encoder.fp(Op.FMV_D_X, r.nextInt(32), t, 0, 0);
            return straight(concat(li, mv));
        }
        Op op = pick(Op.FLW, Op.FLD, Op.FSW, Op.FSD);
        int offset = placement(width(op), Layout.DATA_PAGES);
        int a = writable();
        int lo = offset << 20 >> 20;
        return straight(Encoder.u(Op.LUI, a, (offset - lo) >>> 12), Encoder.r(Op.ADD, a, a, SP), access(op, r.nextInt(32), a, lo));
    }

    /** {@return a rounding-mode field: mostly 0..4 or DYN, now and then a reserved 5 or 6} */
    private int roundingMode() {
        int roll = r.nextInt(20);
        return roll < 13 ? r.nextInt(5) : roll < 19 ? 7 : r.nextInt(5, 7);
    }

    private Item csr(Context ctx) {
        int rd = r.nextInt(4) == 0 ? 0 : writable();
        int roll = r.nextInt(20);
        if (roll < 7) {
            int csr = ctx.machine() && !ctx.supervisor() ? pickInt(FREE_M) : ctx.supervisor() ? pickInt(FREE_S) : pickInt(FREE_U);
            if (!stops.isEmpty() && (csr == MCYCLE || csr == MINSTRET)) {
                csr = MSCRATCH;
            }
            return anyCsrOp(rd, csr);
        }
        if (roll < 10) {
            long mask = pickLong(STATUS_MASKS);
            int t = writable();
            int csr = !ctx.machine() || r.nextInt(3) == 0 ? SSTATUS : MSTATUS;
            return straight(concat(Encoder.li32(t, (int) mask), Encoder.csr(r.nextBoolean() ? Op.CSRRS : Op.CSRRC, rd, csr, t)));
        }
        if (roll < 11) {
            return straight(Encoder.csr(r.nextBoolean() ? Op.CSRRSI : Op.CSRRCI, rd, ctx.machine() ? MSTATUS : SSTATUS, r.nextInt(32)));
        }
        if (roll < 12) {
            return interrupt(ctx);
        }
        if (roll < 13) {
            return satp(ctx, rd);
        }
        if (roll < 15) {
            return straight(Encoder.csr(pick(Op.CSRRS, Op.CSRRC), rd, pickInt(COUNTERS), 0));
        }
        if (roll < 16) {   // illegal in S-mode
            int t = writable();
            return straight(concat(Encoder.li32(t, (int) DELEGATIONS[r.nextInt(DELEGATIONS.length)]),
                    Encoder.csr(Op.CSRRW, rd, MEDELEG, t)));
        }
        if (roll < 18) {
            // Any CSR number, read only: most do not exist, some need more privilege.
            int csr = r.nextBoolean() ? r.nextInt(4096) : Snapshot.CSR_NUMBERS[r.nextInt(Snapshot.CSR_NUMBERS.length)];
            return straight(r.nextBoolean() ? Encoder.csr(pick(Op.CSRRS, Op.CSRRC), rd, csr, 0)
                    : Encoder.csr(pick(Op.CSRRSI, Op.CSRRCI), rd, csr, 0));
        }
        if (roll < 19 && !ctx.machine()) {
            // M-mode CSRs from S-mode: all illegal, writes included.
            int csr = pickInt(MSTATUS, MTVEC, MEPC, MEDELEG, MSCRATCH, MIE, MCYCLE, MHARTID, PMPADDR0);
            return straight(Encoder.csr(pick(Op.CSRRW, Op.CSRRS, Op.CSRRWI), rd, csr, writable()));
        }
        return straight(Encoder.csr(pick(Op.CSRRW, Op.CSRRWI, Op.CSRRS), rd, pickInt(READ_ONLY), 1 + r.nextInt(31)));
    }

    /**
     * Makes a supervisor-level interrupt (software, timer or external) pending and enables it,
     * possibly delegated to S-mode; in M-mode, through {@code stimecmp} too. The runner takes it
     * before the next slice.
     */
    private Item interrupt(Context ctx) {
        int bit = pickInt(1, 5, 9);
        int t = writable();
        int[] mask = Encoder.li32(t, 1 << bit);
        if (!ctx.machine() || (ctx.supervisor() && r.nextBoolean())) {
            // Through the S-mode views, which work in both modes: only delegated bits show there.
            return fixed(concat(mask, Encoder.csr(Op.CSRRS, 0, SIP, t), Encoder.csr(Op.CSRRS, 0, SIE, t),
                    Encoder.csr(Op.CSRRSI, 0, SSTATUS, 2)));
        }
        if (ctx.supervisor()) {
            return fixed(concat(mask, Encoder.csr(Op.CSRRS, 0, SIP, t)));
        }
        int delegate = r.nextInt(3) == 0 ? Encoder.csr(Op.CSRRS, 0, MIDELEG, t) : Encoder.csr(Op.CSRRC, 0, MIDELEG, t);
        if (bit == 5 && r.nextBoolean()) {
            // Sstc: STIP is stimecmp <= time, and the clock is frozen.
            int u = writable();
            return fixed(concat(Encoder.i(Op.ADDI, u, 0, -1), Encoder.shift(Op.SLLI, u, u, 63),
                    Encoder.csr(Op.CSRRS, 0, MENVCFG, u), Encoder.csr(Op.CSRRW, 0, STIMECMP, r.nextBoolean() ? 0 : u),
                    mask, delegate, Encoder.csr(Op.CSRRS, 0, MIE, t), Encoder.csr(Op.CSRRSI, 0, MSTATUS, 8)));
        }
        return fixed(concat(mask, delegate, Encoder.csr(Op.CSRRS, 0, MIP, t), Encoder.csr(Op.CSRRS, 0, MIE, t),
                Encoder.csr(Op.CSRRSI, 0, MSTATUS, 8)));
    }

    private Item anyCsrOp(int rd, int csr) {
        Op op = pick(Op.CSRRW, Op.CSRRS, Op.CSRRC, Op.CSRRWI, Op.CSRRSI, Op.CSRRCI);
        boolean imm = op == Op.CSRRWI || op == Op.CSRRSI || op == Op.CSRRCI;
        int src = imm ? r.nextInt(32) : r.nextInt(5) == 0 ? 0 : source();
        return straight(Encoder.csr(op, rd, csr, src));
    }

    /** A satp write: page table A or B; in M-mode also bare, an unsupported mode (ignored) or Sv48. */
    private Item satp(Context ctx, int rd) {
        int t = writable();
        int k = ctx.supervisor() ? r.nextInt(2) : r.nextInt(5);   // a stretch keeps its code mapped
        int write = Encoder.csr(Op.CSRRW, rd, SATP, t);
        return switch (k) {
            case 0, 1 -> fixed(Encoder.i(Op.LD, t, SP, (int) ((k == 0 ? Layout.SATP_A_SLOT : Layout.SATP_B_SLOT) - Layout.DATA)), write);
            case 2 -> fixed(Encoder.i(Op.ADDI, t, 0, 0), write);
            case 3 -> fixed(Encoder.i(Op.ADDI, t, 0, 1), Encoder.shift(Op.SLLI, t, t, 60), write);
            default -> {
                int u = writable();
                yield fixed(Encoder.i(Op.LD, t, SP, (int) (Layout.SATP_A_SLOT - Layout.DATA)), Encoder.i(Op.ADDI, u, 0, 1),
                        Encoder.shift(Op.SLLI, u, u, 60), Encoder.r(Op.OR, t, t, u), write);
            }
        };
    }

    /** An instruction that traps, for the handlers to step over. */
    private Item trap(Context ctx) {
        return switch (r.nextInt(14)) {
            case 0 -> new Item.Straight(new int[] {0});                                    // the all-zero halfword
            case 1 -> fixed(0xFFFF_FFFF);
            case 2 -> fixed(illegalWord());
            case 3 -> new Item.Straight(new int[] {illegalHalfword()});
            case 4 -> ctx.ecall() ? fixed(Encoder.sys(Op.ECALL, 0, 0)) : fixed(Encoder.sys(Op.EBREAK, 0, 0));
            case 5 -> fixed(Encoder.sys(Op.EBREAK, 0, 0));
            case 6 -> new Item.Straight(new int[] {Item.compressed(Encoder.sys(Op.EBREAK, 0, 0))});
            case 7 -> {                                                                    // misaligned atomic
                Op op = pick(AMOS);
                int a = writable();
                int size = op.name().endsWith("_D") ? 8 : 4;
                int offset = size * r.nextInt(200) + r.nextInt(1, size);
                int amo = r.nextInt(3) == 0 ? Encoder.amo(size == 8 ? Op.LR_D : Op.LR_W, writable(), a, 0, false, false)
                        : r.nextBoolean() ? Encoder.amo(size == 8 ? Op.SC_D : Op.SC_W, writable(), a, source(), false, false)
                        : Encoder.amo(op, writable(), a, source(), r.nextBoolean(), r.nextBoolean());
                yield fixed(Encoder.i(Op.ADDI, a, SP, offset), amo);
            }
            case 8 -> fixed(access(pick(LOADS), r.nextInt(2) == 0 ? writable() : r.nextInt(8, 16), 0, r.nextInt(-2048, 2048)));
            case 9 -> {                                                                    // nothing at 0x1000_0000
                int a = writable();
                Op op = r.nextBoolean() ? pick(LOADS) : pick(STORES);
                yield fixed(Encoder.u(Op.LUI, a, 0x10000), access(op, isFp(op) ? r.nextInt(32) : writableOrSource(op), a, 8 * r.nextInt(8)));
            }
            case 10 -> {                                                                   // just past the end of RAM
                int a = writable();
                Op op = r.nextBoolean() ? pick(LOADS) : pick(STORES);
                int value = isFp(op) ? r.nextInt(32) : writableOrSource(op);
                yield fixed(Encoder.u(Op.LUI, a, (int) ((Layout.RAM_END - Layout.DATA) >>> 12)), Encoder.r(Op.ADD, a, a, SP),
                        access(op, value, a, r.nextInt(64)));
            }
            case 11 -> ctx.sret() && r.nextBoolean() ? fixed(Encoder.sys(Op.SRET, 0, 0))
                    : ctx.mret() ? fixed(Encoder.sys(Op.MRET, 0, 0)) : fixed(Encoder.sys(Op.EBREAK, 0, 0));
            case 12 -> fixed(access(pick(STORES), 8 + r.nextInt(8), 0, 0x100 + 8 * r.nextInt(16)));
            default -> {                                                                   // a reserved rounding mode
                Op op = pick(ROUNDING_OPS);
                int rd = FloatOps.writesX(op) ? writable() : r.nextInt(32);
                yield op.format() == Op.Format.R4
                        ? fixed(Encoder.r4(op, rd, r.nextInt(32), r.nextInt(32), r.nextInt(32), r.nextInt(5, 7)))
                        : fixed(Encoder.fp(op, rd, FloatOps.readsX(op) ? source() : r.nextInt(32), r.nextInt(32), r.nextInt(5, 7)));
            }
        };
    }

    private int writableOrSource(Op op) {
        return op.format() == Op.Format.LOAD ? writable() : source();
    }

    private int illegalWord() {
        while (true) {
            int w = r.nextInt() | 3;
            if (Decoder.op(w) == Op.ILLEGAL) {
                return w;
            }
        }
    }

    private int illegalHalfword() {
        while (true) {
            int h = r.nextInt(1 << 16);
            if ((h & 3) != 3 && Rvc.expand(h) == Rvc.ILLEGAL) {
                return h;
            }
        }
    }

    /** An AMO, or an LR/SC pair, on an aligned doubleword or word of the data area or an alias page. */
    private Item atomic(Context ctx) {
        boolean dbl = r.nextBoolean();
        int size = dbl ? 8 : 4;
        boolean alias = !ctx.machine() && r.nextInt(3) == 0;
        int offset = size * r.nextInt((alias ? Layout.ALIAS_PAGES : Layout.DATA_PAGES) * 4096 / size);
        int a = writable();
        int lo = offset << 20 >> 20;
        int[] address = {Encoder.u(Op.LUI, a, (offset - lo) >>> 12), Encoder.r(Op.ADD, a, a, alias ? GP : SP),
            Encoder.i(Op.ADDI, a, a, lo)};
        if (r.nextInt(3) == 0) {
            // Nothing writes the address register before the AMO in between: at an address loaded
            // from the data, it could write anywhere, the handlers included. An SC elsewhere fails.
            Op lr = dbl ? Op.LR_D : Op.LR_W;
            Op sc = dbl ? Op.SC_D : Op.SC_W;
            int between = r.nextInt(3) == 0 ? Encoder.amo(pick(AMOS), writableBut(a), a, source(), false, false)
                    : Encoder.r(pick(R_OPS), writable(), source(), source());
            int scBase = r.nextInt(5) == 0 ? writable() : a;
            return straight(concat(address, Encoder.amo(lr, writableBut(a), a, 0, r.nextBoolean(), false), between,
                    Encoder.amo(sc, writable(), scBase, source(), false, r.nextBoolean())));
        }
        Op op = pick(AMOS);
        op = Op.valueOf(op.name().substring(0, op.name().length() - 1) + (dbl ? "D" : "W"));
        return straight(concat(address, Encoder.amo(op, r.nextInt(5) == 0 ? 0 : writable(), a, source(), r.nextBoolean(), r.nextBoolean())));
    }

    private Item skip() {
        Item.SkipForm form = pick(Item.SkipForm.values());
        int rs1 = form.compressed() ? prime() : source();
        return new Item.Skip(form, rs1, source(), r.nextInt(1, 5));
    }

    /** Rewrites a level-0 PTE of table A or B, usually followed by sfence.vma. */
    private Item pageTable() {
        if (r.nextInt(4) == 0) {
            return fixed(Encoder.sys(Op.SFENCE_VMA, source(), source()));
        }
        boolean b = r.nextBoolean();
        int index = r.nextInt(Layout.ALIAS_PAGES);
        int v = writable();
        int a = writable();
        long table = b ? Layout.L0_B : Layout.L0_A;
        int[] code = concat(Encoder.li32(v, (int) pte(false)), Encoder.u(Op.LUI, a, (int) ((table - Layout.DATA) >>> 12)),
                Encoder.r(Op.ADD, a, a, SP), Encoder.s(Op.SD, v, a, 8 * index));
        if (r.nextInt(4) != 0) {
            code = concat(code, Encoder.sys(Op.SFENCE_VMA, r.nextBoolean() ? 0 : source(), r.nextBoolean() ? 0 : source()));
        }
        return straight(code);
    }

    private Item call() {
        int sub;
        if (subs.isEmpty() || (subs.size() < 3 && r.nextBoolean())) {
            List<Item> body = items(Context.SUB, r.nextInt(1, 6));
            subs.add(new Item.Sub(body, r.nextBoolean()));
            sub = subs.size() - 1;
        } else {
            sub = r.nextInt(subs.size());
        }
        return new Item.Call(sub, pick(Item.CallForm.values()), writable());
    }

    private Item loop(Context ctx) {
        return new Item.Loop(r.nextInt(1, 7), items(ctx.inLoop(), r.nextInt(1, 6)));
    }

    private Item lowerMode() {
        int t = writable();
        int u = writableBut(t);
        boolean user = r.nextInt(10) < 3;
        return new Item.Lower(user ? Privilege.USER : Privilege.SUPERVISOR, r.nextBoolean(), r.nextBoolean(), t, u,
                items(user ? Context.U_MODE : Context.S_MODE, r.nextInt(3, 14)));
    }

    /**
     * Code that rewrites one of its own instructions with a store or an AMO (two ways for the
     * engines to see a write to code), then (usually) runs FENCE.I, then the instruction: an ALU
     * op that becomes another. The AMO needs the instruction 4-byte aligned, else it traps and the
     * old instruction runs.
     */
    private Item selfModifying() {
        int a = writable();
        int v = writableBut(a);
        int next = Encoder.r(pick(R_OPS), writable(), source(), source());
        int old = Encoder.i(Op.ADDI, writable(), source(), r.nextInt(-2048, 2048));
        int lo = next << 20 >> 20;
        int fence = r.nextInt(4) == 0 ? Encoder.i(Op.ADDI, 0, 0, 0) : Encoder.sys(Op.FENCE_I, 0, 0);
        int[] value = {Encoder.u(Op.AUIPC, a, 0), Encoder.u(Op.LUI, v, (next - lo) >>> 12), Encoder.i(Op.ADDIW, v, v, lo)};
        if (r.nextInt(3) == 0) {
            return fixed(concat(value, Encoder.i(Op.ADDI, a, a, 24), Encoder.amo(Op.AMOSWAP_W, 0, a, v, false, false), fence, old));
        }
        return fixed(concat(value, Encoder.s(Op.SW, v, a, 20), fence, old));
    }

    /** A jump, linking ra, to where no instruction can be fetched; the handler returns to ra. */
    private Item fetchFault() {
        int t = writable();
        return switch (r.nextInt(4)) {
            case 0 -> fixed(Encoder.i(Op.JALR, RA, 0, 0x100 + 4 * r.nextInt(64)));
            case 1 -> fixed(Encoder.u(Op.LUI, t, (int) ((Layout.RAM_END - Layout.DATA) >>> 12)), Encoder.r(Op.ADD, t, t, SP),
                    Encoder.i(Op.JALR, RA, t, 2 * r.nextInt(64)));
            case 2 -> fixed(Encoder.i(Op.ADDI, t, 0, 1), Encoder.shift(Op.SLLI, t, t, 40), Encoder.i(Op.JALR, RA, t, 0));
            default -> new Item.Straight(new int[] {Encoder.i(Op.ADDI, t, 0, 0x200),
                Item.compressed(Encoder.i(Op.JALR, RA, t, 0))});
        };
    }

    private Item misc() {
        return switch (r.nextInt(5)) {
            case 0 -> fixed(Encoder.base(Op.FENCE) | r.nextInt(1 << 8) << 20);
            case 1 -> fixed(Encoder.sys(Op.FENCE_I, 0, 0));
            case 2 -> fixed(Encoder.sys(Op.WFI, 0, 0));
            case 3 -> fixed(Encoder.i(Op.ADDI, 0, 0, 0));
            default -> straight(Encoder.r(pick(Op.ADD, Op.SUB, Op.XOR), 0, source(), source()));   // writes x0
        };
    }

    // ---- helpers -------------------------------------------------------------------------

    /** Straight code whose instructions may each be compressed, where a compressed form exists. */
    private Item straight(int... code) {
        int[] out = code.clone();
        for (int k = 0; k < out.length; k++) {
            if (r.nextInt(3) == 0) {
                int h = Encoder.compress(out[k]);
                if (h >= 0) {
                    out[k] = h;
                }
            }
        }
        return new Item.Straight(out);
    }

    /** Straight code kept as written: its offsets matter, or it must trap as a 32-bit instruction. */
    private static Item fixed(int... code) {
        return new Item.Straight(code);
    }

    private static int[] concat(Object... parts) {
        int n = 0;
        for (Object p : parts) {
            n += p instanceof int[] a ? a.length : 1;
        }
        int[] out = new int[n];
        int k = 0;
        for (Object p : parts) {
            if (p instanceof int[] a) {
                System.arraycopy(a, 0, out, k, a.length);
                k += a.length;
            } else {
                out[k++] = (Integer) p;
            }
        }
        return out;
    }

    private int writable() {
        return Regs.WRITABLE[r.nextInt(Regs.WRITABLE.length)];
    }

    private int writableBut(int not) {
        int w = writable();
        return w == not ? writableBut(not) : w;
    }

    /** {@return a register to read: mostly a writable one, sometimes x0 or a reserved one} */
    private int source() {
        return r.nextInt(5) == 0 ? r.nextInt(32) : writable();
    }

    private int nonzeroSource() {
        int s = source();
        return s == 0 ? writable() : s;
    }

    /** {@return one of x8-x15, which compressed instructions name with 3 bits} */
    private int prime() {
        return 8 + r.nextInt(8);
    }

    private int nonzero6() {
        int v = r.nextInt(-32, 31);
        return v >= 0 ? v + 1 : v;
    }

    private int pickInt(int... values) {
        return values[r.nextInt(values.length)];
    }

    private long pickLong(long... values) {
        return values[r.nextInt(values.length)];
    }

    @SafeVarargs
    private <T> T pick(T... values) {
        return values[r.nextInt(values.length)];
    }

    private static Op[] fpOps(boolean rounding) {
        List<Op> ops = new ArrayList<>();
        for (Op op : Op.values()) {
            if (FloatOps.isComputational(op) && (!rounding || FloatOps.usesRoundingMode(op))) {
                ops.add(op);
            }
        }
        return ops.toArray(Op[]::new);
    }
}
