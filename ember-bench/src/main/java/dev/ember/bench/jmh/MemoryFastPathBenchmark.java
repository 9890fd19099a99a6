package dev.ember.bench.jmh;

import static dev.ember.bench.jmh.Asm.*;

import dev.ember.riscv.cpu.Mmu;
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
 * The TLB-hit path of guest loads and stores, as translated code takes it (the translator's
 * inlined helpers, {@code dev.ember.riscv.jit.Helpers.ld}/{@code sd}) and as the interpreter
 * takes it ({@code Mmu.load64}/{@code store64} behind its decode and dispatch). The score is
 * nanoseconds per guest memory access.
 *
 * <p>The translator's helpers take a package-private context, so they are measured the way
 * guest code reaches them: through a guest loop run by the engine, 12 of whose 16 instructions
 * access memory, all on one data page whose TLB entry hits. The loop walks a 2 KiB window
 * ({@code a1 = a0 + s8}, {@code s8} advancing by 8 and wrapping), and each iteration stores
 * what it loaded to where later iterations load from, so no access is the same as the last
 * iteration's and none can be hoisted out of the loop or forwarded from a store:
 * {@code ld s2..s7, 0..40(a1)} (6 loads), {@code sd s3..s7,s2, 48..88(a1)} (6 stores),
 * {@code addi s8,s8,8; andi s8,s8,0x7f8; add a1,a0,s8; bne a1,zero,loop}. One invocation is
 * one slice of {@link InterpreterBenchmark#SLICE} instructions, 256 iterations, 3,072
 * accesses, so the score includes the loop's four other instructions and the slice's entry,
 * as guest code pays them.
 * <ul>
 *   <li>{@code guestLoop} with {@code engine=jit}: the loop as one translated region.</li>
 *   <li>{@code guestLoop} with {@code engine=interp}: the interpreter.</li>
 *   <li>{@code mmuDirect}: the same loads and stores called on {@code Mmu.load64}/{@code store64}
 *       from Java, the interpreter's memory path without decode or dispatch (see also
 *       {@link TlbHitBenchmark}).</li>
 * </ul>
 * Setup runs the loop 1000 times and checks registers and memory against a Java model of it,
 * and with the translator that at least 90% of it ran in translated code.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC"})
public class MemoryFastPathBenchmark {

    static final int SLICE = InterpreterBenchmark.SLICE;
    static final int LOOP_LENGTH = 16;
    static final int LOADS = 6, STORES = 6;
    static final int ITERATIONS_PER_SLICE = SLICE / LOOP_LENGTH;
    static final int ACCESSES_PER_SLICE = ITERATIONS_PER_SLICE * (LOADS + STORES);
    /** The window's size mask: {@code s8} stays in [0, 2 KiB). */
    static final int WINDOW_MASK = 0x7F8;
    /** Doublewords the loop can touch: the window plus the last store's offset. */
    static final int WORDS = (WINDOW_MASK + 8) / 8 + LOADS + STORES;
    private static final int[] LOADED = {S2, S3, S4, S5, S6, S7};
    /** The register each store writes: the loaded values, rotated by one. */
    private static final int[] STORED = {S3, S4, S5, S6, S7, S2};

    private static long seed(int i) {
        return 0x1111_1111_1111_1111L * (i + 1);
    }

    /** The guest loop on one engine. */
    @State(Scope.Thread)
    public static class GuestLoop {

        @Param({"jit", "interp"})
        public String engine;

        BareMachine machine;

        @Setup
        public void setup() {
            machine = new BareMachine(engine);
            int[] loop = new int[LOOP_LENGTH];
            for (int i = 0; i < LOADS; i++) {
                loop[i] = ld(LOADED[i], A1, 8 * i);
            }
            for (int i = 0; i < STORES; i++) {
                loop[LOADS + i] = sd(STORED[i], A1, 8 * (LOADS + i));
            }
            int k = LOADS + STORES;
            loop[k] = addi(S8, S8, 8);
            loop[k + 1] = andi(S8, S8, WINDOW_MASK);
            loop[k + 2] = add(A1, A0, S8);
            loop[k + 3] = bne(A1, 0, -4 * (LOOP_LENGTH - 1));
            machine.load(loop);
            for (int i = 0; i < WORDS; i++) {
                machine.ram.write64(BareMachine.DATA + 8L * i, seed(i));
            }
            machine.hart.x[A0] = BareMachine.DATA;
            machine.hart.x[A1] = BareMachine.DATA;
            int iterations = 1000;
            machine.runChecked("memory loop on " + engine, iterations * LOOP_LENGTH, SLICE);
            String wrong = check(iterations);
            if (wrong != null || machine.hart.pc != BareMachine.CODE) {
                throw new IllegalStateException("memory loop on " + engine + " after " + iterations + " iterations: "
                        + (wrong != null ? wrong : "pc 0x" + Long.toHexString(machine.hart.pc)));
            }
        }

        /** {@return null when registers and memory hold what {@code iterations} of the loop leave} */
        private String check(int iterations) {
            long[] words = new long[WORDS];
            long[] reg = new long[32];
            for (int i = 0; i < WORDS; i++) {
                words[i] = seed(i);
            }
            for (int n = 0; n < iterations; n++) {
                int at = (int) (reg[S8] >>> 3);
                for (int i = 0; i < LOADS; i++) {
                    reg[LOADED[i]] = words[at + i];
                }
                for (int i = 0; i < STORES; i++) {
                    words[at + LOADS + i] = reg[STORED[i]];
                }
                reg[S8] = (reg[S8] + 8) & WINDOW_MASK;
            }
            long[] x = machine.hart.x;
            for (int r : new int[] {S2, S3, S4, S5, S6, S7, S8}) {
                if (x[r] != reg[r]) {
                    return "x" + r + " is " + Long.toHexString(x[r]) + ", expected " + Long.toHexString(reg[r]);
                }
            }
            for (int i = 0; i < WORDS; i++) {
                long v = machine.ram.readU64(BareMachine.DATA + 8L * i);
                if (v != words[i]) {
                    return "word " + i + " is " + Long.toHexString(v) + ", expected " + Long.toHexString(words[i]);
                }
            }
            return null;
        }

        @TearDown
        public void tearDown() {
            machine.close();
        }
    }

    /** The MMU alone, on the same addresses. */
    @State(Scope.Thread)
    public static class Direct {

        BareMachine machine;
        Mmu mmu;
        /** Fields, not constants, so the addresses are not folded into the benchmark. */
        long base;
        long offset;

        @Setup
        public void setup() {
            machine = new BareMachine("interp");
            mmu = machine.hart.mmu;
            base = BareMachine.DATA;
            for (int i = 0; i < WORDS; i++) {
                machine.ram.write64(base + 8L * i, seed(i));
            }
            if (mmu.load64(base + 8) != seed(1)) {
                throw new IllegalStateException("Mmu.load64 read the wrong value");
            }
            mmu.store64(base + 8, seed(1));
            int i = (int) (base >>> 12) & (Mmu.TLB_SIZE - 1);
            if (mmu.readTag[i] != ((base & ~0xFFFL) | mmu.dataKey) || mmu.writeTag[i] != ((base & ~0xFFFL) | mmu.dataKey)) {
                throw new IllegalStateException("the data page did not enter the TLB");
            }
        }

        @TearDown
        public void tearDown() {
            machine.close();
        }
    }

    @Benchmark
    @OperationsPerInvocation(ACCESSES_PER_SLICE)
    public int guestLoop(GuestLoop s) {
        return s.machine.engine.run(SLICE);
    }

    @Benchmark
    @OperationsPerInvocation(ACCESSES_PER_SLICE)
    public long mmuDirect(Direct s) {
        Mmu mmu = s.mmu;
        long base = s.base, offset = s.offset;
        for (int n = 0; n < ITERATIONS_PER_SLICE; n++) {
            long a = base + offset;
            long s2 = mmu.load64(a), s3 = mmu.load64(a + 8), s4 = mmu.load64(a + 16);
            long s5 = mmu.load64(a + 24), s6 = mmu.load64(a + 32), s7 = mmu.load64(a + 40);
            mmu.store64(a + 48, s3);
            mmu.store64(a + 56, s4);
            mmu.store64(a + 64, s5);
            mmu.store64(a + 72, s6);
            mmu.store64(a + 80, s7);
            mmu.store64(a + 88, s2);
            offset = (offset + 8) & WINDOW_MASK;
        }
        s.offset = offset;
        return offset;
    }
}
