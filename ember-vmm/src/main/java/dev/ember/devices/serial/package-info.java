/**
 * Serial ports: the NS16550A UART of the {@code virt} board.
 *
 * <p>Devices here implement {@link dev.ember.memory.MmioDevice} and raise interrupts through
 * {@link dev.ember.devices.irq.IrqLine}; they take host input and give host output through
 * plain functional interfaces, and import nothing from the CPU or the VMM.
 *
 * <p>Package map: uses memory, devices.irq, log.
 */
package dev.ember.devices.serial;
