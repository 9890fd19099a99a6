/**
 * JMH micro-benchmarks of Ember's hot paths, each on a bare one-hart machine with no devices:
 * tight guest loops on either engine ({@link dev.ember.bench.jmh.InterpreterBenchmark}), one
 * translated region and a call/return loop between regions, beside the interpreter
 * ({@link dev.ember.bench.jmh.RegionBenchmark}), the translator's memory fast path against the
 * interpreter's ({@link dev.ember.bench.jmh.MemoryFastPathBenchmark}) and the MMU's TLB-hit
 * accessors ({@link dev.ember.bench.jmh.TlbHitBenchmark}).
 *
 * <p>Run them with {@code ./ember bench jmh [JMH options]}, which is
 * {@code java -cp 'ember-bench/target/ember-bench-0.1.0-SNAPSHOT.jar:ember-bench/target/lib/*'
 * org.openjdk.jmh.Main [JMH options]}; for a quick look, {@code -wi 2 -i 3 -f 1}. JMH's
 * annotation processor (configured in {@code ember-bench/pom.xml}) writes
 * {@code META-INF/BenchmarkList} into the jar.
 *
 * <p>Guest programs are encoded by {@link dev.ember.bench.jmh.Asm}, a few hand-written
 * encoders, so the benchmarks need no cross toolchain.
 *
 * <p>Package map: uses memory, riscv.cpu, riscv.interp, riscv.jit, log; libraries org.openjdk.jmh.
 */
package dev.ember.bench.jmh;
