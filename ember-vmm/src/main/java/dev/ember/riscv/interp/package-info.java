/**
 * The interpreter, Ember's reference execution engine: fetch through the MMU's fetch TLB,
 * RVC expansion by table, and one small method per opcode group
 * ({@link dev.ember.riscv.interp.Interpreter}); F/D instruction semantics in
 * {@link dev.ember.riscv.interp.FloatOps}; atomic memory operations in {@code Amo}.
 *
 * <p>May use: {@code riscv.cpu}, {@code riscv.isa}, {@code memory}.
 */
package dev.ember.riscv.interp;
