package dev.ember.riscv.testing;

import dev.ember.memory.GuestMemory;
import dev.ember.memory.PhysicalBus;
import dev.ember.riscv.cpu.ExecutionEngine;
import dev.ember.riscv.cpu.Hart;
import dev.ember.riscv.cpu.Privilege;
import dev.ember.riscv.interp.DecodedPages;
import dev.ember.riscv.interp.Interpreter;
import dev.ember.riscv.jit.JitEngine;
import dev.ember.riscv.jit.TranslationCache;
import dev.ember.riscv.isa.CsrNumbers;
import dev.ember.riscv.isa.Disassembler;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Test support: a one-hart machine (4 MiB of RAM at {@link Assembler#RAM_BASE}, no devices, a
 * fake clock) that runs an assembled program on the interpreter until the program reaches
 * {@code done}, and then exposes the final architectural state by name.
 *
 * <p>The program convention: the fixture appends two labels after the source,
 * {@code done: j done} and {@code trap: j trap}. Falling off the end of the program, or
 * {@code j done}, ends the run normally; {@code mtvec} and {@code stvec} start out pointing at
 * {@code trap}, so an exception or interrupt the program does not handle itself ends the run
 * with {@link Outcome#TRAP}, and {@code mcause}/{@code scause} say which. Programs may
 * install their own handlers and jump to either label.
 *
 * <p>Every program can run on each {@link Engine}: the interpreter, and the translator with
 * threshold 0 (every block translated the first time it runs) or 2 (blocks run once in the
 * interpreter first, so regions hold the paths taken and loops become JVM loops). Test classes
 * run their cases on all of them.
 *
 * <p>Execution mimics the vCPU loop in slices of one instruction: interrupts are checked before
 * every slice, so on the interpreter they are taken at exact instruction boundaries, and on the
 * translator at the end of a region or at a loop's back edge. The clock reads
 * {@link #time()}, which advances one tick per instruction; a WFI with nothing pending
 * jumps it to the next timer deadline, as a sleeping hart would. Every run is bounded by an
 * instruction budget, so a broken CPU fails the test instead of hanging it.
 *
 * <p>Not thread-safe: each fixture is driven by one thread; {@link #sharing} builds fixtures
 * whose harts share one RAM, one per thread.
 */
public final class HartFixture {

    /** RAM size: room for programs, page tables and data. */
    public static final long RAM_SIZE = 4L << 20;
    /** Default instruction budget of a run. */
    public static final long BUDGET = 1_000_000;

    /** The execution engines a program can run on. */
    public enum Engine {
        /** The interpreter, the reference engine. */
        INTERPRETER,
        /** The translator, translating every block the first time it runs. */
        TRANSLATOR,
        /** The translator, translating blocks the second time they run, so regions follow the paths taken. */
        HOT_TRANSLATOR;

        /** {@return an engine of this kind for each of {@code harts}, sharing one machine's caches} */
        List<ExecutionEngine> build(List<Hart> harts, GuestMemory ram) {
            DecodedPages decoded = new DecodedPages(ram);
            TranslationCache cache = this == INTERPRETER ? null
                    : new TranslationCache(ram, decoded, this == TRANSLATOR ? 0 : 2);
            List<ExecutionEngine> engines = new ArrayList<>();
            for (Hart h : harts) {
                Interpreter interpreter = new Interpreter(h, decoded);
                engines.add(cache == null ? interpreter : new JitEngine(h, interpreter, cache));
            }
            return engines;
        }
    }

    /** How a run ended. */
    public enum Outcome {
        /** The program reached {@code done}. */
        DONE,
        /** A trap the program did not handle reached the fixture's {@code trap} label. */
        TRAP,
        /** WFI with no interrupt pending and no timer armed: the hart would sleep forever. */
        WAITING
    }

    private static final String EPILOGUE = """

            .text
            .balign 4
            done: j done
            .balign 4
            trap: j trap
            """;

    private static final List<String> X_NAMES = Disassembler.xNames();
    private static final List<String> F_NAMES = Disassembler.fNames();

    private final GuestMemory ram;
    private final PhysicalBus bus;
    private final Hart hart;
    private ExecutionEngine engine;
    private final Map<String, Long> symbols;
    private final long done;
    private final long trap;
    private long time;
    private long budget = BUDGET;
    private Outcome outcome;

    private HartFixture(PhysicalBus bus, int hartId, Map<String, Long> symbols) {
        this.ram = bus.ram();
        this.bus = bus;
        this.hart = new Hart(hartId, bus, () -> time);
        this.symbols = symbols;
        this.done = symbols.get("done");
        this.trap = symbols.get("trap");
        startIn(Privilege.MACHINE);
    }

    /** {@return a machine with {@code asm} loaded, the hart reset in M-mode at its first instruction, not yet run} */
    public static HartFixture load(Engine engine, String asm) {
        return sharing(engine, 1, asm).getFirst();
    }

    /** {@return {@code harts} machines with {@code asm} loaded into one shared RAM, hart ids 0 to harts - 1} */
    public static List<HartFixture> sharing(Engine engine, int harts, String asm) {
        String source = asm + EPILOGUE;
        GuestMemory ram = GuestMemory.allocate(Assembler.RAM_BASE, RAM_SIZE);
        ram.write(Assembler.RAM_BASE, Assembler.assemble(source));
        PhysicalBus bus = new PhysicalBus(ram);
        Map<String, Long> symbols = Assembler.symbols(source);
        List<HartFixture> fixtures = new ArrayList<>();
        for (int id = 0; id < harts; id++) {
            fixtures.add(new HartFixture(bus, id, symbols));
        }
        List<ExecutionEngine> engines = engine.build(fixtures.stream().map(f -> f.hart).toList(), ram);
        for (int id = 0; id < harts; id++) {
            fixtures.get(id).engine = engines.get(id);
        }
        return fixtures;
    }

    /** Loads and runs {@code asm} in M-mode on {@code engine}; fails unless it reaches {@code done}. */
    public static HartFixture run(Engine engine, String asm) {
        return load(engine, asm).runToDone();
    }

    /** Loads and runs {@code asm} in M-mode on {@code engine}; fails unless it ends in an unhandled trap. */
    public static HartFixture runToTrap(Engine engine, String asm) {
        HartFixture fixture = load(engine, asm).run();
        if (fixture.outcome != Outcome.TRAP) {
            throw new AssertionError("expected a trap, but the run ended with " + fixture.describe());
        }
        return fixture;
    }

    /**
     * {@return assembly that leaves M-mode for {@code privilege} at the instruction after it,
     * through {@code mret}} It uses {@code t6} and the local label {@code 1}.
     */
    public static String enter(int privilege) {
        return """
                li t6, 0x1800
                csrc mstatus, t6
                li t6, %d
                csrs mstatus, t6
                la t6, 1f
                csrw mepc, t6
                mret
                1:
                """.formatted((long) privilege << 11);
    }

    /** Resets the hart to the program's first instruction in {@code privilege} mode, traps vectored to {@code trap}. */
    public HartFixture startIn(int privilege) {
        hart.reset(Assembler.RAM_BASE, privilege);
        hart.mtvec = trap;
        hart.stvec = trap;
        return this;
    }

    /** Sets the clock to {@code ticks}. */
    public HartFixture time(long ticks) {
        time = ticks;
        return this;
    }

    /** Sets the instruction budget of the next run. */
    public HartFixture budget(long instructions) {
        budget = instructions;
        return this;
    }

    /**
     * Runs until the program reaches {@code done}, an unhandled trap reaches {@code trap}, or
     * it waits for an interrupt that can never come.
     *
     * @throws AssertionError when the budget runs out first
     */
    public HartFixture run() {
        for (long step = 0; step < budget; ) {
            if (hart.waitingForInterrupt) {
                if (!hart.interruptPendingForWfi()) {
                    long deadline = hart.nextTimerDeadline();
                    if (deadline == -1) {
                        outcome = Outcome.WAITING;
                        return this;
                    }
                    time = deadline;   // asleep until the timer fires
                }
                hart.waitingForInterrupt = false;
            }
            hart.checkInterrupts();
            if (hart.pc == done || hart.pc == trap) {
                outcome = hart.pc == done ? Outcome.DONE : Outcome.TRAP;
                return this;
            }
            int n = Math.max(1, engine.run(1));
            step += n;
            time += n;
        }
        throw new AssertionError("instruction budget of " + budget + " exhausted; " + describe());
    }

    /** Runs; fails unless the program reaches {@code done}. */
    public HartFixture runToDone() {
        run();
        if (outcome != Outcome.DONE) {
            throw new AssertionError("expected the program to reach done, but the run ended with " + describe());
        }
        return this;
    }

    /** {@return how the last run ended} */
    public Outcome outcome() {
        return outcome;
    }

    /** {@return integer register {@code name}: an ABI name ({@code "a0"}, {@code "fp"}) or {@code "x10"}} */
    public long x(String name) {
        return hart.x[xIndex(name)];
    }

    /** {@return the raw 64 bits of FP register {@code name} ({@code "fa0"} or {@code "f10"})} */
    public long f(String name) {
        int i = name.matches("f\\d+") ? Integer.parseInt(name.substring(1)) : F_NAMES.indexOf(name);
        if (i < 0 || i > 31) {
            throw new IllegalArgumentException("no FP register " + name);
        }
        return hart.f[i];
    }

    /**
     * {@return CSR {@code name} (as in {@link CsrNumbers}, any case) read as M-mode software
     * would read it, whatever the hart's current privilege}
     */
    public long csr(String name) {
        int number;
        try {
            number = CsrNumbers.class.getField(name.toUpperCase(Locale.ROOT)).getInt(null);
        } catch (ReflectiveOperationException e) {
            throw new IllegalArgumentException("no CSR " + name, e);
        }
        int privilege = hart.priv;
        hart.priv = Privilege.MACHINE;   // not setPrivilege: the MMU's keys must stay as the program left them
        try {
            return hart.csrAccess(number, 0, 0, false);
        } finally {
            hart.priv = privilege;
        }
    }

    /** {@return the address of label {@code name}} */
    public long symbol(String name) {
        Long address = symbols.get(name);
        if (address == null) {
            throw new IllegalArgumentException("no symbol " + name);
        }
        return address;
    }

    public long pc() {
        return hart.pc;
    }

    public int privilege() {
        return hart.priv;
    }

    /** {@return the fake clock, in ticks} */
    public long time() {
        return time;
    }

    public long readU64(long gpa) {
        return ram.readU64(gpa);
    }

    public long readU32(long gpa) {
        return ram.readU32(gpa);
    }

    public void write64(long gpa, long value) {
        ram.write64(gpa, value);
    }

    /** {@return the engine that runs the hart} */
    public ExecutionEngine engine() {
        return engine;
    }

    /** {@return the hart, for state that has no name here (mtimecmp, setPending, sbi)} */
    public Hart hart() {
        return hart;
    }

    public GuestMemory memory() {
        return ram;
    }

    public PhysicalBus bus() {
        return bus;
    }

    /** {@return a one-line summary of the hart's state, for failure messages} */
    public String describe() {
        return "outcome=%s pc=0x%x priv=%s mcause=0x%x mepc=0x%x mtval=0x%x scause=0x%x sepc=0x%x stval=0x%x"
                .formatted(outcome, hart.pc, Privilege.name(hart.priv), hart.mcause, hart.mepc, hart.mtval,
                        hart.scause, hart.sepc, hart.stval);
    }

    private static int xIndex(String name) {
        if (name.equals("fp")) {
            return 8;
        }
        int i = name.matches("x\\d+") ? Integer.parseInt(name.substring(1)) : X_NAMES.indexOf(name);
        if (i < 0 || i > 31) {
            throw new IllegalArgumentException("no integer register " + name);
        }
        return i;
    }

    @Override
    public String toString() {
        return describe();
    }
}
