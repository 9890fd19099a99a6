package dev.ember.bench.jmh;

import dev.ember.riscv.cpu.Mmu;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The MMU's TLB-hit data path, {@code Mmu.load64} and {@code Mmu.store64}: one tag compare
 * and one segment access. Scores are nanoseconds per access.
 *
 * <ul>
 *   <li>{@code load64Hit}, {@code store64Hit}: the same doubleword every time.</li>
 *   <li>{@code load64Sweep}: one doubleword in each of {@link #PAGES} consecutive pages, all in
 *       the TLB ({@code Mmu.TLB_SIZE} entries, direct-mapped), so the tag and addend arrays are
 *       read at different indices as guest code does.</li>
 * </ul>
 * Setup touches every page once and checks that its TLB entry is present.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC"})
public class TlbHitBenchmark {

    static final int PAGES = 256;

    private BareMachine machine;
    private Mmu mmu;
    /** A field, not a constant, so the address is not folded into the benchmark. */
    private long gva;
    private long[] sweep;

    @Setup
    public void setup() {
        machine = new BareMachine("interp");
        mmu = machine.hart.mmu;
        gva = BareMachine.DATA + 0x18;
        sweep = new long[PAGES];
        for (int p = 0; p < PAGES; p++) {
            sweep[p] = BareMachine.DATA + ((long) p << 12) + 8 * (p % 64);
            machine.ram.write64(sweep[p], p);
            mmu.load64(sweep[p]);
            mmu.store64(sweep[p], p);
            int i = (int) (sweep[p] >>> 12) & (Mmu.TLB_SIZE - 1);
            if (mmu.readTag[i] != ((sweep[p] & ~0xFFFL) | mmu.dataKey)) {
                throw new IllegalStateException("page 0x" + Long.toHexString(sweep[p]) + " did not enter the TLB");
            }
        }
    }

    @TearDown
    public void tearDown() {
        machine.close();
    }

    @Benchmark
    public long load64Hit() {
        return mmu.load64(gva);
    }

    @Benchmark
    public void store64Hit() {
        mmu.store64(gva, gva);
    }

    @Benchmark
    @OperationsPerInvocation(PAGES)
    public long load64Sweep() {
        long sum = 0;
        for (long a : sweep) {
            sum += mmu.load64(a);
        }
        return sum;
    }
}
