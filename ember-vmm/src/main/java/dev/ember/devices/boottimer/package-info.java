/**
 * The boot-timer pseudo-device: the guest signals "userspace is up" with one write and the VMM
 * logs how long boot took. May use: {@code memory}.
 *
 * <p>Package map: uses memory, log.
 */
package dev.ember.devices.boottimer;
