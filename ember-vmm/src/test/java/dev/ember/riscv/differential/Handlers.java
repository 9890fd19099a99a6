package dev.ember.riscv.differential;

import static dev.ember.riscv.differential.Regs.RA;

import dev.ember.riscv.isa.CsrNumbers;
import dev.ember.riscv.isa.Op;

/**
 * The two trap handlers every program runs with, which let a program go on after any trap it
 * causes, so that one program can take many.
 *
 * <p>Both log the trap ({@code cause}, {@code tval}) to the ring at {@link Layout#LOG} and return
 * past the trapping instruction, whose length they read from its first halfword. They read it
 * at its physical address, which is the same offset in RAM's first 2 MiB whether the code ran at
 * its identity or its alias address (and which S-mode sees through the identity map). A fetch
 * fault has no instruction to skip; the programs cause those only by {@code jalr ra, ...} to a
 * bad address, so the handlers return to {@code ra}. An {@code ecall} from S- or U-mode is how
 * a program's stretch in that mode ends: the M-mode handler returns from it to M-mode, at the
 * physical address after it. An interrupt
 * returns to the interrupted instruction with its pending bit cleared, or, where software
 * cannot clear it (a device's line, the Sstc timer), its enable bit.
 *
 * <p>The common path is straight-line code, so that a translator makes few regions of each:
 * translating them is a large part of the cost of a short program.
 *
 * <p>Each uses its own three registers ({@link Regs#M_HANDLER}, {@link Regs#S_HANDLER}), which
 * programs never write, so an interrupt to M-mode in the middle of the S-mode handler does no
 * harm; neither traps itself.
 */
final class Handlers {

    private Handlers() {}

    /** Emits the M-mode handler at {@link Layout#M_HANDLER} and the S-mode one at {@link Layout#S_HANDLER}. */
    static void emit(Code c) {
        c.org(Layout.M_HANDLER);
        handler(c, true);
        c.org(Layout.S_HANDLER);
        handler(c, false);
    }

    private static void handler(Code c, boolean machine) {
        int[] regs = machine ? Regs.M_HANDLER : Regs.S_HANDLER;
        final int tp = regs[0];   // named for the M-mode handler's registers
        final int t4 = regs[1];
        final int t5 = regs[2];
        int cause = machine ? CsrNumbers.MCAUSE : CsrNumbers.SCAUSE;
        int epc = machine ? CsrNumbers.MEPC : CsrNumbers.SEPC;
        int tval = machine ? CsrNumbers.MTVAL : CsrNumbers.STVAL;
        String log = machine ? "mlog" : "slog";
        String interrupt = machine ? "mint" : "sint";
        c.emit(Encoder.csr(Op.CSRRS, t5, cause, 0));
        c.branch(Op.BLT, t5, 0, interrupt);
        // t4 = -1 for a fetch fault (cause 1 or 12), else 0.
        c.emit(Encoder.i(Op.ADDI, t4, t5, -1));
        c.emit(Encoder.i(Op.SLTIU, t4, t4, 1));
        c.emit(Encoder.i(Op.ADDI, t5, t5, -12));
        c.emit(Encoder.i(Op.SLTIU, t5, t5, 1));
        c.emit(Encoder.r(Op.OR, t4, t4, t5));
        c.emit(Encoder.r(Op.SUB, t4, 0, t4));
        // t5 = the instruction's physical address: its offset in the first 2 MiB, plus RAM_BASE
        // (from the handler's own address); for a fetch fault, RAM_BASE itself, which is readable.
        c.emit(Encoder.csr(Op.CSRRS, t5, epc, 0));
        c.emit(Encoder.shift(Op.SLLI, t5, t5, 43));
        c.emit(Encoder.shift(Op.SRLI, t5, t5, 43));
        c.emit(Encoder.i(Op.XORI, tp, t4, -1));
        c.emit(Encoder.r(Op.AND, t5, t5, tp));
        c.emit(Encoder.u(Op.AUIPC, tp, 0));
        c.emit(Encoder.shift(Op.SRLI, tp, tp, 21));
        c.emit(Encoder.shift(Op.SLLI, tp, tp, 21));
        c.emit(Encoder.r(Op.OR, t5, t5, tp));
        // t5 = its length: 4 if the halfword's low bits are 11, else 2.
        c.emit(Encoder.i(Op.LHU, t5, t5, 0));
        c.emit(Encoder.i(Op.ANDI, t5, t5, 3));
        c.emit(Encoder.i(Op.ADDI, t5, t5, -3));
        c.emit(Encoder.i(Op.SLTIU, t5, t5, 1));
        c.emit(Encoder.shift(Op.SLLI, t5, t5, 1));
        c.emit(Encoder.i(Op.ADDI, t5, t5, 2));
        // xepc = fetch fault ? ra : xepc + length.
        c.emit(Encoder.csr(Op.CSRRS, tp, epc, 0));
        c.emit(Encoder.r(Op.ADD, t5, t5, tp));
        c.emit(Encoder.r(Op.XOR, tp, RA, t5));
        c.emit(Encoder.r(Op.AND, tp, tp, t4));
        c.emit(Encoder.r(Op.XOR, t5, t5, tp));
        c.emit(Encoder.csr(Op.CSRRW, 0, epc, t5));
        if (machine) {
            // An ecall from U- or S-mode (cause 8 or 9) returns to M-mode, after the ecall at its
            // physical address: the stretch may have run at an alias that M-mode does not have.
            c.emit(Encoder.csr(Op.CSRRS, t5, cause, 0));
            c.emit(Encoder.i(Op.ADDI, t5, t5, -8));
            c.emit(Encoder.shift(Op.SRLI, t5, t5, 1));
            c.branch(Op.BNE, t5, 0, log);
            c.emit(Encoder.li32(tp, 0x1800));
            c.emit(Encoder.csr(Op.CSRRS, 0, CsrNumbers.MSTATUS, tp));
            c.emit(Encoder.csr(Op.CSRRS, t5, epc, 0));
            c.emit(Encoder.shift(Op.SLLI, t5, t5, 43));
            c.emit(Encoder.shift(Op.SRLI, t5, t5, 43));
            c.emit(Encoder.u(Op.AUIPC, tp, 0));
            c.emit(Encoder.shift(Op.SRLI, tp, tp, 21));
            c.emit(Encoder.shift(Op.SLLI, tp, tp, 21));
            c.emit(Encoder.r(Op.OR, t5, t5, tp));   // mepc is past the ecall already
            c.emit(Encoder.csr(Op.CSRRW, 0, epc, t5));
        }
        c.jump(0, log);
        // An interrupt: return to the interrupted instruction, its pending bit cleared where
        // software can, its enable bit where it cannot, so that it is not taken again at once.
        c.label(interrupt);
        int ip = machine ? CsrNumbers.MIP : CsrNumbers.SIP;
        c.emit(Encoder.i(Op.ADDI, tp, 0, 1));
        c.emit(Encoder.r(Op.SLL, tp, tp, t5));
        c.emit(Encoder.csr(Op.CSRRC, 0, ip, tp));
        c.emit(Encoder.csr(Op.CSRRS, t4, ip, 0));
        c.emit(Encoder.r(Op.AND, t4, t4, tp));
        c.emit(Encoder.csr(Op.CSRRC, 0, machine ? CsrNumbers.MIE : CsrNumbers.SIE, t4));
        c.label(log);
        long auipc = c.pc();
        c.emit(Encoder.u(Op.AUIPC, tp, (int) ((Layout.LOG - Layout.RAM_BASE) >>> 12)));
        c.emit(Encoder.i(Op.ADDI, tp, tp, (int) -(auipc - Layout.RAM_BASE)));   // tp = LOG
        c.emit(Encoder.i(Op.LD, t4, tp, 0));
        c.emit(Encoder.i(Op.ADDI, t5, t4, 1));
        c.emit(Encoder.s(Op.SD, t5, tp, 0));
        c.emit(Encoder.i(Op.ANDI, t4, t4, Layout.LOG_ENTRIES - 1));
        c.emit(Encoder.shift(Op.SLLI, t4, t4, 4));
        c.emit(Encoder.r(Op.ADD, t4, t4, tp));
        c.emit(Encoder.csr(Op.CSRRS, t5, cause, 0));
        c.emit(Encoder.s(Op.SD, t5, t4, 16));
        c.emit(Encoder.csr(Op.CSRRS, t5, tval, 0));
        c.emit(Encoder.s(Op.SD, t5, t4, 24));
        c.emit(Encoder.sys(machine ? Op.MRET : Op.SRET, 0, 0));
    }
}
