/**
 * What firmware provides to a kernel, provided by the VMM: the built-in SBI v2.0
 * ({@link dev.ember.firmware.Sbi}), the paravirtual interface a supervisor-mode kernel calls
 * instead of trapping hardware, and the device tree that describes the board
 * ({@link dev.ember.firmware.DeviceTree}, written by {@code fdt}).
 *
 * <p>May use: {@code riscv.cpu} (the SBI acts on harts), {@code memory}, {@code devices.irq},
 * {@code devices.power} and {@code devices.serial} (for constants of the board only: register
 * window sizes and finisher codes, defined once by the device they describe).
 *
 * <p>Package map: uses riscv.cpu, riscv.isa, memory, devices.irq, devices.power, devices.serial, firmware.fdt, log.
 */
package dev.ember.firmware;
