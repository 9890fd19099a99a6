/**
 * The interpreter, Ember's reference execution engine: fetch through the MMU's fetch TLB once
 * per code page, instructions decoded once per physical page ({@link dev.ember.riscv.interp.DecodedPages}),
 * one {@code switch} over their {@link dev.ember.riscv.isa.OpCode}s
 * ({@link dev.ember.riscv.interp.Interpreter}). The instruction semantics that both engines
 * share live here too: F/D in {@link dev.ember.riscv.interp.FloatOps}, the M extension's edge
 * cases in {@link dev.ember.riscv.interp.IntegerOps}, the A extension in
 * {@link dev.ember.riscv.interp.Amo}, the H extension's HLV/HSV/HFENCE in
 * {@code Hypervisor}.
 *
 * <p>May use: {@code riscv.cpu}, {@code riscv.cpu.fpu}, {@code riscv.isa}, {@code memory}.
 *
 * <p>Package map: uses riscv.cpu, riscv.cpu.fpu, riscv.isa, memory, log.
 */
package dev.ember.riscv.interp;
