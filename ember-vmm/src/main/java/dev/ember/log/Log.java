package dev.ember.log;

import java.time.Instant;
import java.util.Objects;

/**
 * A component's logger: reports {@link LogEvent}s under one name to the VM's {@link LogSink}.
 * Components take one in their constructor (or make one from the sink they are given:
 * {@code Log.of(sink, VirtioBlock.class)}); a component given none uses {@link #discard}.
 *
 * <p>Thread-safe if its sink is: every method may be called from any thread.
 */
public final class Log {

    private static final StackWalker WALKER = StackWalker.getInstance();

    private final LogSink sink;
    private final String name;

    private Log(LogSink sink, String name) {
        this.sink = Objects.requireNonNull(sink, "sink");
        this.name = Objects.requireNonNull(name, "name");
    }

    /** {@return a logger named after {@code owner} that reports to {@code sink}} */
    public static Log of(LogSink sink, Class<?> owner) {
        return new Log(sink, owner.getName());
    }

    /** {@return a logger that reports nothing} */
    public static Log discard(Class<?> owner) {
        return of(LogSink.discard(), owner);
    }

    /** {@return the sink this logger reports to, for the parts a component builds} */
    public LogSink sink() {
        return sink;
    }

    /** {@return whether an event at {@code level} would be kept: check before building a costly message} */
    public boolean isEnabled(Level level) {
        return sink.isEnabled(level);
    }

    public void error(String message) {
        log(Level.ERROR, message, null);
    }

    public void error(String message, Throwable cause) {
        log(Level.ERROR, message, cause);
    }

    public void warn(String message) {
        log(Level.WARN, message, null);
    }

    public void warn(String message, Throwable cause) {
        log(Level.WARN, message, cause);
    }

    public void info(String message) {
        log(Level.INFO, message, null);
    }

    public void debug(String message) {
        log(Level.DEBUG, message, null);
    }

    public void debug(String message, Throwable cause) {
        log(Level.DEBUG, message, cause);
    }

    public void trace(String message) {
        log(Level.TRACE, message, null);
    }

    /** Reports {@code message} at {@code level} with its {@code cause} (null for none). */
    public void log(Level level, String message, Throwable cause) {
        if (!sink.isEnabled(level)) {
            return;
        }
        StackTraceElement origin = sink.wantsOrigin()
                ? WALKER.walk(frames -> frames.filter(f -> !f.getClassName().equals(Log.class.getName())).findFirst())
                        .map(StackWalker.StackFrame::toStackTraceElement).orElse(null)
                : null;
        sink.log(new LogEvent(Instant.now(), level, name, Thread.currentThread().getName(), message, cause, origin));
    }
}
