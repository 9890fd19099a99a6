/**
 * Interrupt controllers of the virt board: the SiFive PLIC for device interrupts and the
 * CLINT-compatible ACLINT (MSWI and MTIMER) for software and timer interrupts. They drive the
 * harts through {@link dev.ember.devices.irq.HartInterruptInputs}, which the VMM implements,
 * and devices drive them through {@link dev.ember.devices.irq.IrqLine}s.
 *
 * <p>May use: {@code memory}. Never the CPU.
 *
 * <p>Package map: uses memory, log.
 */
package dev.ember.devices.irq;
