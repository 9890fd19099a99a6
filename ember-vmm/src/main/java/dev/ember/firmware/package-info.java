/**
 * What firmware provides to a kernel, provided by the VMM: the built-in SBI v2.0
 * ({@link dev.ember.firmware.Sbi}), the paravirtual interface a supervisor-mode kernel calls
 * instead of trapping hardware, and the device tree that describes the board
 * ({@link dev.ember.firmware.DeviceTree}, written by {@code fdt}).
 *
 * <p>May use: {@code riscv.cpu} (the SBI acts on harts), {@code memory}, {@code devices.irq}
 * (for constants of the board only).
 */
package dev.ember.firmware;
