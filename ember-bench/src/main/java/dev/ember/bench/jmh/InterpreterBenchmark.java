package dev.ember.bench.jmh;

import static dev.ember.bench.jmh.Asm.*;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Interpreter throughput on tight guest loops: the score is guest instructions per second.
 *
 * <p>Each invocation is one {@code Interpreter.run} slice of {@link #SLICE} instructions, the
 * slice the vCPU loop uses, so the per-slice overhead is included as it is in a real VM. The
 * loops never exit (their counter would need 2<sup>64</sup> iterations to reach zero).
 * <ul>
 *   <li>{@code alu}: {@code addi t0,t0,1; xor t1,t1,t0; add t2,t2,t1; bne t0,zero,loop}</li>
 *   <li>{@code loadStore}: {@code ld t1,0(a0); addi t1,t1,1; sd t1,8(a0); ld t2,8(a0);
 *       addi t0,t0,1; bne t0,zero,loop}, data on another page than the code</li>
 *   <li>{@code compressed}: {@code c.addi s0,1; c.add s1,s0; c.bnez s0,loop}, the RVC path
 *       that most of a Linux kernel's code takes</li>
 * </ul>
 * Setup runs each loop a little and checks the registers, so a mis-encoded loop fails loudly
 * instead of timing a trap handler.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC"})
public class InterpreterBenchmark {

    /** The vCPU loop's slice ({@code Vcpu.SLICE}). */
    static final int SLICE = 4096;

    @Param({"alu", "loadStore", "compressed"})
    public String program;

    @Param({"interp", "jit"})
    public String engine;

    private BareMachine machine;

    @Setup
    public void setup() {
        machine = new BareMachine(engine);
        int loopLength;
        switch (program) {
            case "alu" -> {
                machine.load(addi(T0, T0, 1), xor(T1, T1, T0), add(T2, T2, T1), bne(T0, 0, -12));
                loopLength = 4;
            }
            case "loadStore" -> {
                machine.load(ld(T1, A0, 0), addi(T1, T1, 1), sd(T1, A0, 8), ld(T2, A0, 8),
                        addi(T0, T0, 1), bne(T0, 0, -20));
                loopLength = 6;
            }
            case "compressed" -> {
                machine.load(cAddi(S0, 1), cAdd(S1, S0), cBnez(S0, -4));
                loopLength = 3;
            }
            default -> throw new IllegalArgumentException("unknown program " + program);
        }
        machine.hart.x[A0] = BareMachine.DATA;
        int iterations = 1000;
        int done = machine.engine.run(iterations * loopLength);
        long counter = machine.hart.x[program.equals("compressed") ? S0 : T0];
        if (done != iterations * loopLength || counter != iterations || machine.hart.pc != BareMachine.CODE) {
            throw new IllegalStateException(program + ": after " + done + " instructions the counter is " + counter
                    + " and pc 0x" + Long.toHexString(machine.hart.pc) + "; expected " + iterations + " and the loop head");
        }
    }

    @TearDown
    public void tearDown() {
        machine.close();
    }

    @Benchmark
    @OperationsPerInvocation(SLICE)
    public int run() {
        return machine.engine.run(SLICE);
    }
}
