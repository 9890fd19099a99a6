package dev.ember.riscv.testing;

import dev.ember.memory.GuestMemory;
import dev.ember.memory.PhysicalBus;
import dev.ember.riscv.cpu.Hart;
import dev.ember.riscv.cpu.Privilege;
import dev.ember.riscv.interp.Interpreter;
import dev.ember.riscv.isa.CsrNumbers;
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
 * <p>Execution mimics the vCPU loop one instruction at a time: interrupts are checked before
 * every instruction, so they are taken at exact instruction boundaries. The clock reads
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

    private static final List<String> X_NAMES = List.of("zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2",
            "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7",
            "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6");
    private static final List<String> F_NAMES = List.of("ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7",
            "fs0", "fs1", "fa0", "fa1", "fa2", "fa3", "fa4", "fa5", "fa6", "fa7",
            "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11");

    private final GuestMemory ram;
    private final PhysicalBus bus;
    private final Hart hart;
    private final Interpreter interpreter;
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
        this.interpreter = new Interpreter(hart);
        this.symbols = symbols;
        this.done = symbols.get("done");
        this.trap = symbols.get("trap");
        startIn(Privilege.MACHINE);
    }

    /** {@return a machine with {@code asm} loaded, the hart reset in M-mode at its first instruction, not yet run} */
    public static HartFixture load(String asm) {
        return sharing(1, asm).getFirst();
    }

    /** {@return {@code harts} machines with {@code asm} loaded into one shared RAM, hart ids 0 to harts - 1} */
    public static List<HartFixture> sharing(int harts, String asm) {
        String source = asm + EPILOGUE;
        GuestMemory ram = GuestMemory.allocate(Assembler.RAM_BASE, RAM_SIZE);
        ram.write(Assembler.RAM_BASE, Assembler.assemble(source));
        PhysicalBus bus = new PhysicalBus(ram);
        Map<String, Long> symbols = Assembler.symbols(source);
        List<HartFixture> fixtures = new ArrayList<>();
        for (int id = 0; id < harts; id++) {
            fixtures.add(new HartFixture(bus, id, symbols));
        }
        return fixtures;
    }

    /** Loads and runs {@code asm} in M-mode; fails unless it reaches {@code done}. */
    public static HartFixture run(String asm) {
        return load(asm).runToDone();
    }

    /** Loads and runs {@code asm} in M-mode; fails unless it ends in an unhandled trap. */
    public static HartFixture runToTrap(String asm) {
        HartFixture fixture = load(asm).run();
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
        for (long step = 0; step < budget; step++) {
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
            interpreter.run(1);
            time++;
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
