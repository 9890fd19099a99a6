/**
 * IEEE 754 binary32 and binary64 arithmetic with RISC-V semantics: the five static rounding
 * modes, the five accrued exception flags, canonical NaNs, tininess detected after rounding,
 * and the saturating float-to-integer conversions (Unprivileged ISA, chapters "F" and "D").
 *
 * <p>{@link dev.ember.riscv.cpu.fpu.Fpu} is the only public type. It works on raw bit
 * patterns and knows nothing of registers, NaN boxing or instruction encodings; the
 * interpreter's {@code FloatOps} and the translator's run-time helpers supply those.
 *
 * <p>Design: every operation first computes the round-to-nearest-even result with the JVM's
 * own arithmetic, together with an exact error term (TwoSum, {@code Math.fma} residuals), and
 * derives the inexact flag and the directed-rounding results from it. Whenever that shortcut
 * cannot be proven exact (overflow, subnormal results, extreme fused multiply-adds) the
 * operation falls back to {@code SoftFloat}, an allocation-free integer implementation that
 * rounds every case exactly. Tests check the two against each other and against QEMU.
 *
 * <p>Imports nothing outside {@code java.lang}.
 *
 * <p>Package map: uses nothing.
 */
package dev.ember.riscv.cpu.fpu;
