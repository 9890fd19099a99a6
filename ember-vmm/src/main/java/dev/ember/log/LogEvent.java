package dev.ember.log;

import java.time.Instant;

/**
 * One report: when, how severe, who reported it, what happened and why.
 *
 * @param time    when it was reported
 * @param level   how much it matters
 * @param logger  the reporting class's name (a {@link System.Logger} name: SLF4J and JUL
 *                configurations select by it)
 * @param thread  the reporting thread's name ({@code ember-vcpu-0@vm1}, {@code ember-api})
 * @param message what happened, one line, for a user
 * @param cause   the exception behind it, or null: sinks print or pass it whole, so its type
 *                and stack are kept, never only its message
 * @param origin  the reporting line of code, or null when the sink did not ask for it
 *                ({@link LogSink#wantsOrigin})
 */
public record LogEvent(Instant time, Level level, String logger, String thread, String message, Throwable cause,
                       StackTraceElement origin) {
}
