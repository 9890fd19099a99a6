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
 * Translated code in steady state, beside the interpreter: the score is guest instructions per
 * second, one invocation being one {@code ExecutionEngine.run} slice of {@link #SLICE}
 * instructions, as the vCPU loop runs them. With {@code jit} the translator translates code on
 * its first execution (threshold 0), so after warm-up every slice runs translated regions
 * (checked in setup: at least 90% of the instructions).
 * <ul>
 *   <li>{@code loadStoreAlu}: one region, a JVM loop: a running checksum over a ring of 64
 *       doublewords on a data page, {@code ld t1,0(a1); add t2,t2,t1; xor s3,s3,t2;
 *       sd t2,0(a1); addi s2,s2,8; andi s2,s2,0x1f8; add a1,a0,s2; bne a1,zero,loop}.</li>
 *   <li>{@code callReturn}: dispatch and chaining between regions: {@code jal ra,sub} to a
 *       subroutine on the next page and back by {@code ret}, an indirect jump, every four
 *       instructions: {@code loop: jal ra,sub; addi t0,t0,1; add s2,s2,t2; bne t0,zero,loop} and
 *       {@code sub: addi t1,t1,3; xor t2,t2,t1; addi s3,s3,1; ret}.</li>
 * </ul>
 * Both loops are 8 instructions long, so a slice is a whole number of iterations on either
 * engine. Setup runs 1000 iterations in slices and checks registers and memory against a Java
 * model of the loop, so a mis-encoded or mistranslated loop fails loudly instead of being timed.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC"})
public class RegionBenchmark {

    static final int SLICE = InterpreterBenchmark.SLICE;
    static final int LOOP_LENGTH = 8;
    static final long SUBROUTINE = BareMachine.CODE + 0x1000;
    static final int RING_WORDS = 64;

    @Param({"loadStoreAlu", "callReturn"})
    public String program;

    @Param({"jit", "interp"})
    public String engine;

    private BareMachine machine;

    @Setup
    public void setup() {
        machine = new BareMachine(engine);
        long[] x = machine.hart.x;
        switch (program) {
            case "loadStoreAlu" -> {
                machine.load(ld(T1, A1, 0), add(T2, T2, T1), xor(S3, S3, T2), sd(T2, A1, 0),
                        addi(S2, S2, 8), andi(S2, S2, 0x1F8), add(A1, A0, S2), bne(A1, 0, -28));
                for (int i = 0; i < RING_WORDS; i++) {
                    machine.ram.write64(BareMachine.DATA + 8L * i, ringSeed(i));
                }
                x[A0] = BareMachine.DATA;
                x[A1] = BareMachine.DATA;
            }
            case "callReturn" -> {
                machine.load(jal(RA, (int) (SUBROUTINE - BareMachine.CODE)), addi(T0, T0, 1), add(S2, S2, T2),
                        bne(T0, 0, -12));
                machine.loadAt(SUBROUTINE, addi(T1, T1, 3), xor(T2, T2, T1), addi(S3, S3, 1), ret());
            }
            default -> throw new IllegalArgumentException("unknown program " + program);
        }
        int iterations = 1000;
        machine.runChecked(program, iterations * LOOP_LENGTH, SLICE);
        String wrong = program.equals("loadStoreAlu") ? checkLoadStoreAlu(iterations) : checkCallReturn(iterations);
        if (wrong != null || machine.hart.pc != BareMachine.CODE) {
            throw new IllegalStateException(program + " on " + engine + " after " + iterations + " iterations: "
                    + (wrong != null ? wrong : "pc 0x" + Long.toHexString(machine.hart.pc) + ", not the loop head"));
        }
    }

    private static long ringSeed(int i) {
        return (i + 1) * 0x9E37_79B9_7F4A_7C15L;
    }

    /** {@return null when registers and ring hold what {@code iterations} of the loop compute} */
    private String checkLoadStoreAlu(int iterations) {
        long[] ring = new long[RING_WORDS];
        for (int i = 0; i < RING_WORDS; i++) {
            ring[i] = ringSeed(i);
        }
        long t2 = 0, s3 = 0, s2 = 0;
        for (int n = 0; n < iterations; n++) {
            t2 += ring[(int) (s2 >>> 3)];
            s3 ^= t2;
            ring[(int) (s2 >>> 3)] = t2;
            s2 = (s2 + 8) & 0x1F8;
        }
        long[] x = machine.hart.x;
        if (x[T2] != t2 || x[S3] != s3 || x[S2] != s2 || x[A1] != BareMachine.DATA + s2) {
            return "registers t2 s3 s2 a1 = %x %x %x %x, expected %x %x %x %x".formatted(x[T2], x[S3], x[S2], x[A1],
                    t2, s3, s2, BareMachine.DATA + s2);
        }
        for (int i = 0; i < RING_WORDS; i++) {
            long v = machine.ram.readU64(BareMachine.DATA + 8L * i);
            if (v != ring[i]) {
                return "ring word " + i + " is " + Long.toHexString(v) + ", expected " + Long.toHexString(ring[i]);
            }
        }
        return null;
    }

    private String checkCallReturn(int iterations) {
        long t1 = 0, t2 = 0, s2 = 0;
        for (int n = 0; n < iterations; n++) {
            t1 += 3;
            t2 ^= t1;
            s2 += t2;
        }
        long[] x = machine.hart.x;
        if (x[T0] != iterations || x[T1] != t1 || x[T2] != t2 || x[S2] != s2 || x[S3] != iterations
                || x[RA] != BareMachine.CODE + 4) {
            return "registers t0 t1 t2 s2 s3 ra = %x %x %x %x %x %x, expected %x %x %x %x %x %x".formatted(x[T0], x[T1],
                    x[T2], x[S2], x[S3], x[RA], iterations, t1, t2, s2, iterations, BareMachine.CODE + 4);
        }
        return null;
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
