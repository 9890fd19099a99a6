package dev.ember.riscv.differential;

import dev.ember.memory.GuestMemory;
import dev.ember.memory.PhysicalBus;
import dev.ember.riscv.cpu.ExecutionEngine;
import dev.ember.riscv.cpu.Hart;
import dev.ember.riscv.cpu.Privilege;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A one-hart machine without devices that runs linked programs on one {@link Engine}, each from
 * its initial state to its end.
 *
 * <p>The run mimics the vCPU loop: interrupts are checked, then {@code run(chunk)}, again and
 * again. A program is over when the hart executes the {@code wfi} at its end; a {@code wfi}
 * elsewhere just continues. The clock is frozen, so {@code time} and timer comparisons are the
 * same on every engine and no interrupt becomes pending by itself: the program's own CSR
 * writes make one pending or enabled, and those end the slice in every engine, so interrupts
 * are taken at the same instruction whichever engine runs; or the runner raises one at a
 * {@link Program.Stop stop}, where the engines are brought to the same instruction first.
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
        BUDGET,
        /** The run went past a point where it was told to stop, without stopping there. */
        MISSED
    }

    /** Where a run stopped: after {@code instret} instructions, at {@code pc}. */
    record Point(long instret, long pc) {}

    private final GuestMemory ram;
    private final Hart hart;
    private final ExecutionEngine engine;
    private final Engine kind;
    private long endPc;

    /** A machine for {@code kind}; {@link #load} a program before running it. */
    Machine(Engine kind) {
        this.kind = kind;
        ram = GuestMemory.allocate(Layout.RAM_BASE, Layout.RAM_SIZE);
        hart = new Hart(0, new PhysicalBus(ram), () -> TIME);
        engine = kind.build().apply(hart, ram);
    }

    /** A machine for {@code kind} with {@code program} loaded. */
    Machine(Program program, Program.Image image, Engine kind) {
        this(kind);
        load(program, image);
    }

    /**
     * Makes RAM hold {@code image} and resets the hart to the program's starting state. Only the
     * bytes that differ from what RAM holds are written, as a device would write them, so code
     * the engines decoded or translated earlier is dropped where it changed and kept where it
     * did not: a machine that runs program after program also tests how engines keep their
     * caches in step with memory.
     */
    void load(Program program, Program.Image image) {
        restore(image.ram());
        endPc = image.end() + 4;
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
        stops = List.of();
        reached.clear();
        states.clear();
    }

    /** Writes the runs of 64-byte blocks of {@code image} that differ from RAM. */
    private void restore(byte[] image) {
        MemorySegment seg = ram.segment();
        MemorySegment want = MemorySegment.ofArray(image);
        long offset = 0;
        while (true) {
            long first = seg.asSlice(offset).mismatch(want.asSlice(offset));
            if (first < 0) {
                return;
            }
            long from = offset + (first & ~63);
            long to = from + 64;
            while (to < image.length && seg.asSlice(to, 64).mismatch(want.asSlice(to, 64)) >= 0) {
                to += 64;
            }
            ram.write(Layout.RAM_BASE + from, java.util.Arrays.copyOfRange(image, (int) from, (int) to));
            offset = to;
            if (offset >= image.length) {
                return;
            }
        }
    }

    /**
     * Runs until the program ends or about {@code limit} instructions were attempted.
     *
     * @param chunk the budget of each {@code run} call
     */
    Outcome run(int chunk, long limit) {
        return run(chunk, limit, List.of(), null);
    }


    /**
     * Runs as {@link #run(int, long)}, making {@code stops} on the way, in order: each at the
     * first slice boundary where {@code instret} has reached its {@code instret}, or, when
     * {@code at} is given, exactly at the points it lists: the run is then cut into slices that
     * stop there (an engine that stops exactly where told, the interpreter, can so be brought to
     * where another stopped). At each stop the state is recorded, then the stop's interrupt raised.
     */
    Outcome run(int chunk, long limit, List<Program.Stop> stops, List<Point> at) {
        this.stops = stops;
        long attempted = 0;
        int next = 0;
        int last = at == null ? stops.size() : at.size();
        while (attempted < limit) {
            int budget = chunk;
            while (next < last) {
                Program.Stop stop = stops.get(next);
                Point point = at == null ? null : at.get(next);
                if (point == null ? hart.instret >= stop.instret() : hart.instret == point.instret() && hart.pc == point.pc()) {
                    reached.add(new Point(hart.instret, hart.pc));
                    states.add(snapshot());
                    if (stop.interrupt() >= 0) {
                        hart.setPending(stop.interrupt(), true);
                    }
                    next++;
                    continue;
                }
                if (point != null) {
                    long remaining = point.instret() - hart.instret;
                    if (remaining < 0) {
                        return Outcome.MISSED;
                    }
                    // At the right count but not yet the right pc: only a trap can come between.
                    budget = remaining == 0 ? 1 : (int) Math.min(chunk, remaining);
                }
                break;
            }
            // Only the program makes interrupts pending or enabled (but for the stops'), and
            // every instruction that can ends the slice in every engine, so they are taken at
            // the same instruction whichever engine runs.
            if (hart.checkInterrupts()) {
                acknowledge(next);
            }
            attempted += Math.max(1, engine.run(budget));
            if (hart.waitingForInterrupt) {
                hart.waitingForInterrupt = false;
                if (hart.pc == endPc) {
                    return next == last || at == null ? Outcome.DONE : Outcome.MISSED;
                }
            }
        }
        return Outcome.BUDGET;
    }

    /**
     * Lowers the line of a raised interrupt the hart has just taken, as a device does once its
     * interrupt is serviced, so the handler need not (and the line can be raised again).
     */
    private void acknowledge(int stopsMade) {
        long cause = hart.priv == Privilege.MACHINE ? hart.mcause : hart.scause;
        for (int k = 0; k < stopsMade; k++) {
            int bit = stops.get(k).interrupt();
            if (bit >= 0 && (cause & 63) == bit) {
                hart.setPending(bit, false);
            }
        }
    }

    private List<Program.Stop> stops = List.of();
    private final List<Point> reached = new ArrayList<>();
    private final List<Snapshot> states = new ArrayList<>();

    /** {@return where the run made its stops} */
    List<Point> reached() {
        return reached;
    }

    /** {@return the state at each stop, before its interrupt was raised} */
    List<Snapshot> states() {
        return states;
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
