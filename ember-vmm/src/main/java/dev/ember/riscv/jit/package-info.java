/**
 * The translator: hot guest code becomes JVM bytecode that HotSpot compiles.
 *
 * <p>A tour: {@link dev.ember.riscv.jit.JitEngine} is a hart's engine. It interprets a basic
 * block at a time until a block is hot, then asks the {@link dev.ember.riscv.jit.TranslationCache}
 * for a {@link dev.ember.riscv.jit.Region}: {@code RegionBuilder} chooses the blocks of the page
 * that have run, {@code RegionCompiler} emits one hidden class per region with
 * {@code java.lang.classfile}, and the cache keys it by physical address and mode so that MMU
 * changes keep it. Generated code keeps guest registers in JVM locals, inlines the TLB hit path
 * of every load and store, and calls {@link dev.ember.riscv.jit.Helpers} for the rest. Guest
 * traps are no exceptions on the fast path: a helper reports an instruction's trap as a flag,
 * and only a memory access that has missed the TLB and then faults throws the hart's
 * preallocated, stackless {@code Trap}, caught by the region's one handler. Writes to code, from any hart
 * or device, reach the cache through {@link dev.ember.memory.CodePages}.
 *
 * <p>May use: {@code riscv.cpu}, {@code riscv.cpu.fpu}, {@code riscv.isa}, {@code riscv.interp} (the interpreter runs
 * cold code, and its instruction semantics are shared), {@code memory}.
 *
 * <p>Package map: uses riscv.cpu, riscv.cpu.fpu, riscv.isa, riscv.interp, memory, log.
 */
package dev.ember.riscv.jit;
