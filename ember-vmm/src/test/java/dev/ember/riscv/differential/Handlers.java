package dev.ember.riscv.differential;

import static dev.ember.riscv.differential.Regs.RA;
import static dev.ember.riscv.differential.Regs.T4;
import static dev.ember.riscv.differential.Regs.T5;
import static dev.ember.riscv.differential.Regs.TP;

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
 * bad address, so the handlers return to {@code ra}. An {@code ecall} from S-mode is how a
 * program's S-mode stretch ends: the M-mode handler returns from it to M-mode. An interrupt
 * returns to the interrupted instruction with its enable bit in {@code mie} or {@code sie}
 * cleared.
 *
 * <p>The common path is straight-line code, so that a translator makes few regions of each:
 * translating them is a large part of the cost of a short program.
 *
 * <p>They use only {@code tp}, {@code t4} and {@code t5}, which programs never write, and never
 * trap themselves.
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
        int cause = machine ? CsrNumbers.MCAUSE : CsrNumbers.SCAUSE;
        int epc = machine ? CsrNumbers.MEPC : CsrNumbers.SEPC;
        int tval = machine ? CsrNumbers.MTVAL : CsrNumbers.STVAL;
        String log = machine ? "mlog" : "slog";
        String interrupt = machine ? "mint" : "sint";
        c.emit(Encoder.csr(Op.CSRRS, T5, cause, 0));
        c.branch(Op.BLT, T5, 0, interrupt);
        // t4 = -1 for a fetch fault (cause 1 or 12), else 0.
        c.emit(Encoder.i(Op.ADDI, T4, T5, -1));
        c.emit(Encoder.i(Op.SLTIU, T4, T4, 1));
        c.emit(Encoder.i(Op.ADDI, T5, T5, -12));
        c.emit(Encoder.i(Op.SLTIU, T5, T5, 1));
        c.emit(Encoder.r(Op.OR, T4, T4, T5));
        c.emit(Encoder.r(Op.SUB, T4, 0, T4));
        // t5 = the instruction's physical address: its offset in the first 2 MiB, plus RAM_BASE
        // (from the handler's own address); for a fetch fault, RAM_BASE itself, which is readable.
        c.emit(Encoder.csr(Op.CSRRS, T5, epc, 0));
        c.emit(Encoder.shift(Op.SLLI, T5, T5, 43));
        c.emit(Encoder.shift(Op.SRLI, T5, T5, 43));
        c.emit(Encoder.i(Op.XORI, TP, T4, -1));
        c.emit(Encoder.r(Op.AND, T5, T5, TP));
        c.emit(Encoder.u(Op.AUIPC, TP, 0));
        c.emit(Encoder.shift(Op.SRLI, TP, TP, 21));
        c.emit(Encoder.shift(Op.SLLI, TP, TP, 21));
        c.emit(Encoder.r(Op.OR, T5, T5, TP));
        // t5 = its length: 4 if the halfword's low bits are 11, else 2.
        c.emit(Encoder.i(Op.LHU, T5, T5, 0));
        c.emit(Encoder.i(Op.ANDI, T5, T5, 3));
        c.emit(Encoder.i(Op.ADDI, T5, T5, -3));
        c.emit(Encoder.i(Op.SLTIU, T5, T5, 1));
        c.emit(Encoder.shift(Op.SLLI, T5, T5, 1));
        c.emit(Encoder.i(Op.ADDI, T5, T5, 2));
        // xepc = fetch fault ? ra : xepc + length.
        c.emit(Encoder.csr(Op.CSRRS, TP, epc, 0));
        c.emit(Encoder.r(Op.ADD, T5, T5, TP));
        c.emit(Encoder.r(Op.XOR, TP, RA, T5));
        c.emit(Encoder.r(Op.AND, TP, TP, T4));
        c.emit(Encoder.r(Op.XOR, T5, T5, TP));
        c.emit(Encoder.csr(Op.CSRRW, 0, epc, T5));
        if (machine) {
            // An ecall from S-mode returns to M-mode.
            c.emit(Encoder.csr(Op.CSRRS, T5, cause, 0));
            c.emit(Encoder.i(Op.ADDI, T5, T5, -9));
            c.branch(Op.BNE, T5, 0, log);
            c.emit(Encoder.li32(TP, 0x1800));
            c.emit(Encoder.csr(Op.CSRRS, 0, CsrNumbers.MSTATUS, TP));
        }
        c.jump(0, log);
        // An interrupt: return to the interrupted instruction, its enable bit cleared, so that
        // it is not taken again at once (the handler cannot know how to quiet every source).
        c.label(interrupt);
        c.emit(Encoder.i(Op.ADDI, TP, 0, 1));
        c.emit(Encoder.r(Op.SLL, TP, TP, T5));
        c.emit(Encoder.csr(Op.CSRRC, 0, machine ? CsrNumbers.MIE : CsrNumbers.SIE, TP));
        c.label(log);
        long auipc = c.pc();
        c.emit(Encoder.u(Op.AUIPC, TP, (int) ((Layout.LOG - Layout.RAM_BASE) >>> 12)));
        c.emit(Encoder.i(Op.ADDI, TP, TP, (int) -(auipc - Layout.RAM_BASE)));   // tp = LOG
        c.emit(Encoder.i(Op.LD, T4, TP, 0));
        c.emit(Encoder.i(Op.ADDI, T5, T4, 1));
        c.emit(Encoder.s(Op.SD, T5, TP, 0));
        c.emit(Encoder.i(Op.ANDI, T4, T4, Layout.LOG_ENTRIES - 1));
        c.emit(Encoder.shift(Op.SLLI, T4, T4, 4));
        c.emit(Encoder.r(Op.ADD, T4, T4, TP));
        c.emit(Encoder.csr(Op.CSRRS, T5, cause, 0));
        c.emit(Encoder.s(Op.SD, T5, T4, 16));
        c.emit(Encoder.csr(Op.CSRRS, T5, tval, 0));
        c.emit(Encoder.s(Op.SD, T5, T4, 24));
        c.emit(Encoder.sys(machine ? Op.MRET : Op.SRET, 0, 0));
    }
}
