/**
 * Power control: the SiFive test finisher through which the guest powers off or resets the
 * machine, and the {@link dev.ember.devices.power.PowerListener} the VMM implements to act
 * on it.
 *
 * <p>May use {@code dev.ember.memory}; imports nothing from the CPU or the VMM.
 *
 * <p>Package map: uses memory, log.
 */
package dev.ember.devices.power;
