package dev.ember.riscv.differential;

import dev.ember.memory.GuestMemory;
import dev.ember.memory.PhysicalBus;
import dev.ember.riscv.cpu.ExecutionEngine;
import dev.ember.riscv.cpu.Hart;
import dev.ember.riscv.cpu.Privilege;

/**
 * A one-hart machine without devices that runs one linked program on one {@link Engine}, from
 * the program's initial state, to the program's end.
 *
 * <p>The run mimics the vCPU loop: interrupts are checked, then {@code run(chunk)}, again and
 * again. A program is over when the hart executes the {@code wfi} at its end; a {@code wfi}
 * elsewhere just continues. The clock is frozen, so {@code time} and timer comparisons are the
 * same on every engine and no interrupt becomes pending by itself: only the program's own CSR
 * writes make one pending or enabled, and those end the slice in every engine, so interrupts
 * are taken at the same instruction whichever engine runs.
 *
 * <p>Not thread-safe. Owns native memory: close it.
 */
final class Machine implements AutoCloseable {

    /** What the {@code time} CSR reads. */
    static final long TIME = 0x1234_5678L;

    /** How a run ended. */
    enum Outcome {
        /** The program reached its end. */
        DONE,
        /** The instruction budget ran out first. */
        BUDGET
    }

    private final GuestMemory ram;
    private final Hart hart;
    private final ExecutionEngine engine;
    private final long stop;

    Machine(Program program, Program.Image image, Engine kind) {
        ram = GuestMemory.allocate(Layout.RAM_BASE, Layout.RAM_SIZE);
        ram.write(Layout.RAM_BASE, image.ram());
        hart = new Hart(0, new PhysicalBus(ram), () -> TIME);
        stop = image.end() + 4;
        Program.InitialState init = program.init();
        hart.reset(program.start(), Privilege.MACHINE);
        hart.mtvec = Layout.M_HANDLER;
        hart.stvec = Layout.S_HANDLER;
        System.arraycopy(init.x(), 1, hart.x, 1, 31);
        System.arraycopy(init.f(), 0, hart.f, 0, 32);
        long[] csrs = init.csrs();
        for (int k = 0; k < csrs.length; k += 2) {
            hart.csrAccess((int) csrs[k], csrs[k + 1], -1L, true);
        }
        hart.frm = init.frm();
        hart.fpu.flags = init.fflags();
        kind.tweak().accept(hart);
        engine = kind.build().apply(hart, ram);
    }

    /**
     * Runs until the program ends or about {@code limit} instructions were attempted.
     *
     * @param chunk the budget of each {@code run} call
     */
    Outcome run(int chunk, long limit) {
        long attempted = 0;
        while (attempted < limit) {
            // Only the program makes interrupts pending or enabled, and every instruction that
            // can ends the slice in every engine, so they are taken at the same instruction.
            hart.checkInterrupts();
            attempted += Math.max(1, engine.run(chunk));
            if (hart.waitingForInterrupt) {
                hart.waitingForInterrupt = false;
                if (hart.pc == stop) {
                    return Outcome.DONE;
                }
            }
        }
        return Outcome.BUDGET;
    }

    /** {@return the architectural state now} */
    Snapshot snapshot() {
        return Snapshot.of(hart, ram);
    }

    @Override
    public void close() {
        ram.close();
    }
}
