package dev.ember.riscv.differential;

import dev.ember.riscv.isa.Op;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Machine code being laid out at known addresses: 16- and 32-bit instructions in order, with
 * forward labels for the few branches whose targets are not known yet (the trap handlers').
 * An instruction is an {@code int}; one whose low two bits are not {@code 11} is a 16-bit RVC
 * halfword, as in the ISA.
 *
 * <p>Not thread-safe; one per image being built.
 */
final class Code {

    /** One instruction at its address. */
    record Line(long pc, int bits) {
        int length() {
            return length(bits);
        }

        static int length(int bits) {
            return (bits & 3) == 3 ? 4 : 2;
        }
    }

    private final List<Line> lines = new ArrayList<>();
    private final Map<String, Long> labels = new HashMap<>();
    private final List<Fixup> fixups = new ArrayList<>();
    private long pc;

    private record Fixup(int line, Op op, int rs1, int rs2, int rd, String label) {}

    Code(long start) {
        this.pc = start;
    }

    /** {@return the address of the next instruction} */
    long pc() {
        return pc;
    }

    /** Continues at {@code address}, at or after the current one. */
    void org(long address) {
        if (address < pc) {
            throw new IllegalStateException("code overlaps: 0x%x < 0x%x".formatted(address, pc));
        }
        pc = address;
    }

    void emit(int bits) {
        lines.add(new Line(pc, bits));
        pc += Line.length(bits);
    }

    void emit(int... bits) {
        for (int b : bits) {
            emit(b);
        }
    }

    void label(String name) {
        labels.put(name, pc);
    }

    /** A conditional branch to a label bound later. */
    void branch(Op op, int rs1, int rs2, String label) {
        fixups.add(new Fixup(lines.size(), op, rs1, rs2, 0, label));
        emit(Encoder.b(Op.BEQ, 0, 0, 0));
    }

    /** A jump, linking {@code rd}, to a label bound later. */
    void jump(int rd, String label) {
        fixups.add(new Fixup(lines.size(), Op.JAL, 0, 0, rd, label));
        emit(Encoder.jal(0, 0));
    }

    /** {@return the lines, every label resolved} */
    List<Line> lines() {
        for (Fixup f : fixups) {
            Line l = lines.get(f.line);
            int offset = (int) (labels.get(f.label) - l.pc());
            int bits = f.op == Op.JAL ? Encoder.jal(f.rd, offset) : Encoder.b(f.op, f.rs1, f.rs2, offset);
            lines.set(f.line, new Line(l.pc(), bits));
        }
        fixups.clear();
        return lines;
    }
}
