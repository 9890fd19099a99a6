/**
 * One hart: its architectural state and CSRs ({@link dev.ember.riscv.cpu.Hart}), trap entry
 * and return, interrupts, and address translation with its TLBs ({@link dev.ember.riscv.cpu.Mmu}),
 * including the optional hypervisor extension: V, the hypervisor and VS CSRs
 * ({@link dev.ember.riscv.cpu.Hstatus}), and two-stage translation. The F/D arithmetic lives in
 * {@code fpu}.
 *
 * <p>Execution engines ({@code riscv.interp}, {@code riscv.jit}) implement
 * {@link dev.ember.riscv.cpu.ExecutionEngine} and depend on this package, never the reverse. Devices are never imported: interrupts arrive through
 * {@link dev.ember.riscv.cpu.Hart#setPending} and the timer compare fields, wired in {@code vmm}.
 *
 * <p>May use: {@code memory}, {@code riscv.isa}, {@code riscv.cpu.fpu}.
 *
 * <p>Package map: uses memory, riscv.isa, riscv.cpu.fpu, log.
 */
package dev.ember.riscv.cpu;
