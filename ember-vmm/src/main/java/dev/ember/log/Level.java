package dev.ember.log;

/**
 * How much an event matters, most severe first: Firecracker's levels ({@code Error},
 * {@code Warning}, {@code Info}, {@code Debug}, {@code Trace}) and the JDK's.
 */
public enum Level {
    /** Something failed that the user must know of: a vCPU stopped, a write may be lost. */
    ERROR,
    /** Something went wrong and was handled: a driver error, a host I/O error answered IOERR. */
    WARN,
    /** What a user may want to see: boot time, a socket ready. */
    INFO,
    /** What a developer looks at. */
    DEBUG,
    /** Every step. */
    TRACE;

    /** {@return whether a sink set to this level passes an event of {@code event}'s level} */
    public boolean admits(Level event) {
        return event.ordinal() <= ordinal();
    }
}
