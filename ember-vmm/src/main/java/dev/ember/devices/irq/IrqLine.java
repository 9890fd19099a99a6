package dev.ember.devices.irq;

/**
 * One level-triggered interrupt line from a device to an interrupt controller.
 *
 * <p>Threads: callable from any thread; implementations synchronise.
 */
@FunctionalInterface
public interface IrqLine {

    /** Drives the line high ({@code true}) or low. */
    void set(boolean asserted);

    /** A line that goes nowhere, for devices that are not wired. */
    IrqLine NONE = asserted -> { };
}
