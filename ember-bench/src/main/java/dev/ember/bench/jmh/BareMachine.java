package dev.ember.bench.jmh;

import dev.ember.memory.GuestMemory;
import dev.ember.memory.PhysicalBus;
import dev.ember.riscv.cpu.ExecutionEngine;
import dev.ember.riscv.cpu.Hart;
import dev.ember.riscv.cpu.Privilege;
import dev.ember.riscv.interp.DecodedPages;
import dev.ember.riscv.interp.Interpreter;
import dev.ember.riscv.jit.JitEngine;
import dev.ember.riscv.jit.TranslationCache;

/**
 * One hart in M-mode over a few MiB of RAM at {@link #RAM_BASE}, with no devices, no SBI and
 * a clock stuck at zero: the smallest machine the interpreter and the MMU run on.
 *
 * <p>With {@code satp} zero, M-mode accesses are untranslated, but they still go through the
 * TLBs, so after the first access to a page every access takes the same hit path as under Sv39.
 *
 * <p>Owned by the benchmark thread.
 */
final class BareMachine implements AutoCloseable {

    static final long RAM_BASE = 0x8000_0000L;
    static final long RAM_SIZE = 4L << 20;
    /** Where programs are loaded and the hart starts. */
    static final long CODE = RAM_BASE;
    /** A data area on its own pages, well away from the code. */
    static final long DATA = RAM_BASE + (1L << 20);

    final GuestMemory ram;
    final Hart hart;
    final ExecutionEngine engine;

    /**
     * A machine running on {@code engine}: {@code "interp"}, or {@code "jit"} (the translator,
     * translating code on its first execution).
     */
    BareMachine(String engine) {
        ram = GuestMemory.allocate(RAM_BASE, RAM_SIZE);
        hart = new Hart(0, new PhysicalBus(ram), () -> 0L);
        hart.reset(CODE, Privilege.MACHINE);
        DecodedPages decoded = new DecodedPages(ram);
        Interpreter interpreter = new Interpreter(hart, decoded);
        this.engine = switch (engine) {
            case "interp" -> interpreter;
            case "jit" -> new JitEngine(hart, interpreter, new TranslationCache(ram, decoded, 0));
            default -> throw new IllegalArgumentException("unknown engine " + engine);
        };
    }

    /** Writes 32-bit instruction words at {@link #CODE}. */
    void load(int... words) {
        loadAt(CODE, words);
    }

    /** Writes 32-bit instruction words at {@code gpa}. */
    void loadAt(long gpa, int... words) {
        for (int i = 0; i < words.length; i++) {
            ram.write32(gpa + 4L * i, words[i]);
        }
    }

    /**
     * Runs exactly {@code instructions} instructions in slices of at most {@code slice}, and
     * checks that the code ran where it was meant to: with the translator, at least 90% of them
     * in translated code.
     *
     * @throws IllegalStateException when a slice ran more or fewer than asked, or the translator
     *                               left the code to the interpreter
     */
    void runChecked(String what, int instructions, int slice) {
        long translatedBefore = engine.translatedInstructions();
        for (int left = instructions; left > 0; ) {
            int ask = Math.min(slice, left);
            int done = engine.run(ask);
            if (done != ask) {
                throw new IllegalStateException(what + ": a slice of " + ask + " ran " + done + " instructions");
            }
            left -= done;
        }
        long translated = engine.translatedInstructions() - translatedBefore;
        if (engine instanceof JitEngine && translated < 0.9 * instructions) {
            throw new IllegalStateException(what + ": only " + translated + " of " + instructions
                    + " instructions ran in translated code");
        }
    }

    /** Writes 16-bit (compressed) instruction parcels at {@link #CODE}. */
    void load(short... parcels) {
        for (int i = 0; i < parcels.length; i++) {
            ram.write16(CODE + 2L * i, parcels[i]);
        }
    }

    @Override
    public void close() {
        ram.close();
    }
}
