/**
 * Differential testing of the execution engines: random RV64GC programs, seeded and
 * reproducible, run from the same starting state on the interpreter and on the translator, with
 * the complete architectural state compared afterwards.
 *
 * <p>A tour. {@link dev.ember.riscv.differential.Generator} turns a seed into a
 * {@link dev.ember.riscv.differential.Program}: a list of position-independent
 * {@link dev.ember.riscv.differential.Item}s (straight code, forward skips, bounded loops,
 * calls, S- and U-mode stretches) and a starting state (registers full of edge cases, CSRs, random
 * data, page tables). Instructions are encoded by {@link dev.ember.riscv.differential.Encoder},
 * the decoder's inverse, so no assembler runs. {@link dev.ember.riscv.differential.Program#link}
 * lays the program out in the memory map of {@link dev.ember.riscv.differential.Layout}, beside
 * the two {@link dev.ember.riscv.differential.Handlers} that let a program take trap after trap.
 * {@link dev.ember.riscv.differential.Machine} runs it on one
 * {@link dev.ember.riscv.differential.Engine} to its final {@code wfi}, and
 * {@link dev.ember.riscv.differential.Snapshot} records and compares the final states.
 * {@link dev.ember.riscv.differential.DifferentialTester} puts these together, comparing states
 * at the end and at sampled slice boundaries of the translator, where interrupts from outside
 * are raised too; on a mismatch, {@link dev.ember.riscv.differential.Minimizer} shrinks the
 * program by delta debugging and the tester prints the seed, the small program and the
 * differing fields. Machines run blocks of programs one after another, restoring only the RAM
 * that differs, so the engines' caches of decoded and translated code live across programs as
 * on a real machine; a failure is rechecked on fresh machines.
 *
 * <p>Why programs always end, and end the same on every engine: the only backward branch is a
 * loop's, counted in a register nothing else writes; registers that hold addresses are never
 * overwritten ({@link dev.ember.riscv.differential.Regs}); the handlers step over every trap;
 * the clock is frozen; and interrupts only become pending or enabled by instructions that end
 * an engine's slice, so the runner takes them at the same instruction on every engine.
 */
package dev.ember.riscv.differential;
