package dev.ember.riscv.differential;

import static dev.ember.riscv.differential.Regs.RA;
import static dev.ember.riscv.differential.Regs.SP;
import static dev.ember.riscv.differential.Regs.T6;

import dev.ember.riscv.cpu.Mstatus;
import dev.ember.riscv.cpu.Privilege;
import dev.ember.riscv.isa.CsrNumbers;
import dev.ember.riscv.isa.Op;
import java.util.List;

/**
 * One position-independent piece of a generated program. Control flow is structural, never an
 * address: a {@link Skip} jumps over the next items of its list, a {@link Loop} repeats its
 * body, a {@link Call} names a subroutine by number, a {@link Lower} runs its body in S or
 * U-mode. Branch offsets are computed when the
 * program is laid out ({@link #emitList}), so the minimizer can drop any item and the rest
 * still encodes.
 *
 * <p>Every item terminates: the only backward branch is a loop's, counted down in {@code t6},
 * which nothing else writes; loops do not nest.
 */
sealed interface Item permits Item.Straight, Item.Skip, Item.Loop, Item.Call, Item.Lower {

    /** {@return the size in bytes, which does not depend on where the item is placed} */
    int size();

    /** {@return how many items this is, counting those nested in it} */
    default int count() {
        return 1;
    }

    /** Straight-line code: 32-bit words and 16-bit halfwords (see {@link Code}). */
    record Straight(int[] code) implements Item {
        @Override
        public int size() {
            int n = 0;
            for (int b : code) {
                n += Code.Line.length(b);
            }
            return n;
        }
    }

    /** The instruction a {@link Skip} branches with. */
    enum SkipForm {
        BEQ(Op.BEQ), BNE(Op.BNE), BLT(Op.BLT), BGE(Op.BGE), BLTU(Op.BLTU), BGEU(Op.BGEU),
        C_BEQZ(Op.BEQ), C_BNEZ(Op.BNE), C_J(Op.JAL), JAL(Op.JAL);

        final Op op;

        SkipForm(Op op) {
            this.op = op;
        }

        boolean compressed() {
            return name().startsWith("C_");
        }

        /** {@return the longest forward offset the form encodes} */
        int reach() {
            return switch (this) {
                case C_BEQZ, C_BNEZ -> 254;
                case C_J -> 2046;
                case JAL -> (1 << 20) - 2;
                default -> 4094;
            };
        }
    }

    /**
     * A forward branch (or jump) over the next {@code over} items of its list, fewer if they
     * are out of the form's reach. Compressed branches compare {@code rs1} (x8-x15) with zero.
     */
    record Skip(SkipForm form, int rs1, int rs2, int over) implements Item {
        @Override
        public int size() {
            return form.compressed() ? 2 : 4;
        }
    }

    /** {@code t6 = iterations; do body while (--t6 != 0)}. */
    record Loop(int iterations, List<Item> body) implements Item {
        @Override
        public int size() {
            int body = sizeOf(this.body);
            return 4 + body + 4 + (body + 4 <= 4096 ? 4 : 8);
        }

        @Override
        public int count() {
            return 1 + countOf(body);
        }
    }

    /** How a {@link Call} reaches its subroutine. */
    enum CallForm { JAL, AUIPC_JALR, AUIPC_C_JALR }

    /** Calls subroutine {@code sub}, linking {@code ra}; {@code temp} holds the target for the AUIPC forms. */
    record Call(int sub, CallForm form, int temp) implements Item {
        @Override
        public int size() {
            return switch (form) {
                case JAL -> 4;
                case AUIPC_JALR -> 8;
                case AUIPC_C_JALR -> 10;
            };
        }
    }

    /**
     * A stretch in S-mode or U-mode: switches {@code satp} to page table A or B, enters the mode
     * through {@code mret}, runs the body and returns to M-mode with an {@code ecall}. S-mode code
     * runs at the code's identity address or, with {@code alias}, at its alias, and jumps back to
     * the identity address before its ecall; U-mode code always runs at its user alias, the only
     * mapping of code it may execute. Uses {@code temp} and {@code temp2}.
     */
    record Lower(int privilege, boolean rootB, boolean alias, int temp, int temp2, List<Item> body) implements Item {
        private static final int ALIAS_EXIT = 28;

        public Lower {
            alias |= privilege == Privilege.USER;
        }

        /** {@return the same stretch with another body} */
        Lower withBody(List<Item> newBody) {
            return new Lower(privilege, rootB, alias, temp, temp2, newBody);
        }

        boolean user() {
            return privilege == Privilege.USER;
        }

        @Override
        public int size() {
            int entry = 40 + (user() ? 0 : 12) + (alias ? 8 : 0);
            int exit = 4 + (alias && !user() ? ALIAS_EXIT : 0);
            return entry + sizeOf(body) + exit;
        }

        @Override
        public int count() {
            return 1 + countOf(body);
        }
    }

    /** A subroutine: its body, then {@code ret} (or {@code c.jr ra}). */
    record Sub(List<Item> body, boolean compressedReturn) {
        int size() {
            return sizeOf(body) + (compressedReturn ? 2 : 4);
        }
    }

    static int sizeOf(List<Item> items) {
        int n = 0;
        for (Item i : items) {
            n += i.size();
        }
        return n;
    }

    static int countOf(List<Item> items) {
        int n = 0;
        for (Item i : items) {
            n += i.count();
        }
        return n;
    }

    /**
     * Lays out {@code items} at the code's current address.
     *
     * @param subs the address of each subroutine
     */
    static void emitList(Code c, List<Item> items, long[] subs) {
        long[] bounds = new long[items.size() + 1];
        bounds[0] = c.pc();
        for (int k = 0; k < items.size(); k++) {
            bounds[k + 1] = bounds[k] + items.get(k).size();
        }
        for (int k = 0; k < items.size(); k++) {
            long before = c.pc();
            emit(c, items.get(k), bounds, k, subs);
            if (c.pc() - before != items.get(k).size()) {
                throw new IllegalStateException("size of " + items.get(k) + " is " + (c.pc() - before));
            }
        }
    }

    private static void emit(Code c, Item item, long[] bounds, int k, long[] subs) {
        switch (item) {
            case Straight s -> c.emit(s.code());
            case Skip s -> {
                int t = Math.min(k + 1 + s.over(), bounds.length - 1);
                while (bounds[t] - bounds[k] > s.form().reach()) {
                    t--;
                }
                int offset = (int) (bounds[t] - bounds[k]);
                c.emit(switch (s.form()) {
                    case C_BEQZ, C_BNEZ -> compressed(Encoder.b(s.form().op, s.rs1(), 0, offset));
                    case C_J -> compressed(Encoder.jal(0, offset));
                    case JAL -> Encoder.jal(0, offset);
                    default -> Encoder.b(s.form().op, s.rs1(), s.rs2(), offset);
                });
            }
            case Loop l -> {
                c.emit(Encoder.i(Op.ADDI, T6, 0, l.iterations()));
                long body = c.pc();
                emitList(c, l.body(), subs);
                c.emit(Encoder.i(Op.ADDI, T6, T6, -1));
                int back = (int) (body - c.pc());
                if (back >= -4096) {
                    c.emit(Encoder.b(Op.BNE, T6, 0, back));
                } else {
                    c.emit(Encoder.b(Op.BEQ, T6, 0, 8));
                    c.emit(Encoder.jal(0, back - 4));
                }
            }
            case Call call -> {
                long offset = subs[call.sub()] - c.pc();
                int lo = (int) offset << 20 >> 20;
                int hi = (int) ((offset - lo) >>> 12);
                switch (call.form()) {
                    case JAL -> c.emit(Encoder.jal(RA, (int) offset));
                    case AUIPC_JALR -> c.emit(Encoder.u(Op.AUIPC, call.temp(), hi), Encoder.i(Op.JALR, RA, call.temp(), lo));
                    case AUIPC_C_JALR -> c.emit(Encoder.u(Op.AUIPC, call.temp(), hi),
                            Encoder.i(Op.ADDI, call.temp(), call.temp(), lo),
                            compressed(Encoder.i(Op.JALR, RA, call.temp(), 0)));
                }
            }
            case Lower s -> emitLower(c, s, subs);
        }
    }

    private static void emitLower(Code c, Lower s, long[] subs) {
        int t = s.temp();
        int u = s.temp2();
        // Interrupts off first: one taken before the mret would leave MPP and mepc changed.
        c.emit(Encoder.csr(Op.CSRRCI, 0, CsrNumbers.MSTATUS, (int) Mstatus.MIE));
        // MPRV off, so that the load of the satp value is not translated and cannot fault.
        c.emit(Encoder.li32(t, (int) (Mstatus.MPP | Mstatus.MPRV)));
        c.emit(Encoder.csr(Op.CSRRC, 0, CsrNumbers.MSTATUS, t));
        c.emit(Encoder.i(Op.LD, t, SP, (int) ((s.rootB() ? Layout.SATP_B_SLOT : Layout.SATP_A_SLOT) - Layout.DATA)));
        c.emit(Encoder.csr(Op.CSRRW, 0, CsrNumbers.SATP, t));
        if (!s.user()) {
            c.emit(Encoder.li32(t, (int) ((long) Privilege.SUPERVISOR << Mstatus.MPP_SHIFT)));
            c.emit(Encoder.csr(Op.CSRRS, 0, CsrNumbers.MSTATUS, t));
        }
        long auipc = c.pc();
        c.emit(Encoder.u(Op.AUIPC, t, 0));
        if (s.alias()) {
            long alias = s.user() ? Layout.USER_CODE_ALIAS : Layout.CODE_ALIAS;
            c.emit(Encoder.u(Op.LUI, u, (int) ((Layout.RAM_BASE - alias) >>> 12)));
            c.emit(Encoder.r(Op.SUB, t, t, u));
        }
        int toBody = (int) (c.pc() - auipc) + 12;   // addi, csrw and mret come first
        c.emit(Encoder.i(Op.ADDI, t, t, toBody));
        c.emit(Encoder.csr(Op.CSRRW, 0, CsrNumbers.MEPC, t));
        c.emit(Encoder.sys(Op.MRET, 0, 0));
        emitList(c, s.body(), subs);
        if (s.alias() && !s.user()) {
            // Back to the identity address: keep the offset in the 2 MiB window, add RAM_BASE.
            c.emit(Encoder.u(Op.AUIPC, t, 0));
            c.emit(Encoder.shift(Op.SLLI, t, t, 43));
            c.emit(Encoder.shift(Op.SRLI, t, t, 43));
            c.emit(Encoder.i(Op.ADDI, u, 0, 1));
            c.emit(Encoder.shift(Op.SLLI, u, u, 31));
            c.emit(Encoder.r(Op.OR, t, t, u));
            c.emit(Encoder.i(Op.JALR, 0, t, 28));
        }
        c.emit(Encoder.sys(Op.ECALL, 0, 0));
    }

    /** {@return the 16-bit form of {@code word}} */
    static int compressed(int word) {
        int h = Encoder.compress(word);
        if (h < 0) {
            throw new IllegalArgumentException("no compressed form of 0x" + Integer.toHexString(word));
        }
        return h;
    }
}
