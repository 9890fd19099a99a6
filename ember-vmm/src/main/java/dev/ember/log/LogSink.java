package dev.ember.log;

import java.io.PrintStream;
import java.util.Objects;

/**
 * Where a VM's {@link LogEvent}s go. A VM is given one (the builder's {@code log}); every
 * component of that VM reports to it through a {@link Log}.
 *
 * <p>Implementations are called from any of the VM's threads (vCPUs, device threads, the VMM
 * thread) at once, so they must be thread-safe, and must not throw: a sink that cannot write
 * drops the event.
 */
@FunctionalInterface
public interface LogSink {

    /** Takes one event; never throws. */
    void log(LogEvent event);

    /** {@return whether events at {@code level} are kept}; {@link Log} builds none that are not */
    default boolean isEnabled(Level level) {
        return true;
    }

    /** {@return whether events should carry the reporting line ({@link LogEvent#origin}), which costs a stack walk} */
    default boolean wantsOrigin() {
        return false;
    }

    /** {@return this sink, passed only events at {@code threshold} or more severe} */
    default LogSink atLeast(Level threshold) {
        LogSink inner = this;
        return new LogSink() {
            @Override
            public void log(LogEvent event) {
                if (threshold.admits(event.level())) {
                    inner.log(event);
                }
            }

            @Override
            public boolean isEnabled(Level level) {
                return threshold.admits(level) && inner.isEnabled(level);
            }

            @Override
            public boolean wantsOrigin() {
                return inner.wantsOrigin();
            }
        };
    }

    /** {@return a sink that gives every event to this one and then to {@code other}} */
    default LogSink and(LogSink other) {
        LogSink first = this;
        Objects.requireNonNull(other, "other");
        return new LogSink() {
            @Override
            public void log(LogEvent event) {
                if (first.isEnabled(event.level())) {
                    first.log(event);
                }
                if (other.isEnabled(event.level())) {
                    other.log(event);
                }
            }

            @Override
            public boolean isEnabled(Level level) {
                return first.isEnabled(level) || other.isEnabled(level);
            }

            @Override
            public boolean wantsOrigin() {
                return first.wantsOrigin() || other.wantsOrigin();
            }
        };
    }

    /** {@return a sink that keeps nothing} */
    static LogSink discard() {
        return new LogSink() {
            @Override
            public void log(LogEvent event) {
            }

            @Override
            public boolean isEnabled(Level level) {
                return false;
            }
        };
    }

    /**
     * {@return a sink that prints each event's message as one line on {@code out}, with the
     * cause's stack trace under an ERROR and the cause's own line under the other levels}; what
     * {@code ember run} prints on stderr, INFO and above
     */
    static LogSink stream(PrintStream out) {
        Objects.requireNonNull(out, "out");
        return event -> {
            synchronized (out) {
                if (event.cause() == null) {
                    out.println(event.message());
                } else if (event.level() == Level.ERROR) {
                    out.println(event.message());
                    event.cause().printStackTrace(out);
                } else {
                    out.println(event.message() + ": " + event.cause());
                }
            }
        };
    }

    /** {@return {@link #stream} on {@code System.err}, INFO and above} */
    static LogSink stderr() {
        return stream(System.err).atLeast(Level.INFO);
    }

    /**
     * {@return a sink that hands every event to the JDK's {@link System.Logger} named by the
     * event's {@link LogEvent#logger}}: the embedding application's logging framework, when it
     * provides a {@code LoggerFinder} (SLF4J's {@code slf4j-jdk-platform-logging}, Log4j's
     * {@code log4j-jpl}), or JUL; the levels map one to one and the cause is passed whole
     */
    static LogSink systemLogger() {
        return new SystemLoggerSink();
    }
}
