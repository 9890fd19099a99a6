package dev.ember.config;

import java.nio.file.Path;

/**
 * Where and what Ember logs, as Firecracker's {@code Logger}.
 *
 * @param logPath       a file or named pipe the log lines are appended to
 * @param level         one of {@code Off, Error, Warning, Info, Debug, Trace}
 * @param showLevel     prefix each line with its level
 * @param showLogOrigin prefix each line with the source of the message
 */
public record LoggerConfig(Path logPath, String level, boolean showLevel, boolean showLogOrigin) {

    /** The levels, most severe first, as Firecracker spells them. */
    public static final java.util.List<String> LEVELS = java.util.List.of("Off", "Error", "Warning", "Info", "Debug", "Trace");

    /** @throws IllegalArgumentException naming the problem */
    public LoggerConfig {
        if (logPath == null) {
            throw new IllegalArgumentException("logger needs a log_path");
        }
        level = level == null ? "Info" : level;
        if (!LEVELS.contains(level)) {
            throw new IllegalArgumentException("unknown log level '" + level + "'");
        }
    }
}
