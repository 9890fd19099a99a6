package dev.ember.server.api;

import dev.ember.config.LoggerConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/**
 * Ember's log, in Firecracker's line format:
 * {@code 2024-01-01T00:00:00.000000000 [instance-id:thread:LEVEL] message}, the level shown
 * when {@code show_level} is set (as Firecracker's {@code logger/logging.rs} does).
 *
 * <p>Before {@code PUT /logger}, errors and warnings go to stderr and nothing else is written;
 * afterwards every line at or above the configured level goes to the log file, opened for
 * append. Thread-safe: lines are written under this object's lock.
 */
final class ApiLogger {

    /** Firecracker's levels, most severe first; a configured level admits those before it. */
    enum Level { ERROR, WARN, INFO, DEBUG, TRACE }

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.nnnnnnnnn");

    private final String instanceId;
    private final PrintStream fallback;
    private OutputStream out;
    private LoggerConfig config;

    ApiLogger(String instanceId, PrintStream fallback) {
        this.instanceId = instanceId;
        this.fallback = fallback;
    }

    /**
     * Opens the log file named by {@code config} (created if missing, appended to).
     *
     * @throws ApiError with Firecracker's logger fault message when it cannot be opened
     */
    synchronized void configure(LoggerConfig config) {
        OutputStream opened;
        try {
            opened = Files.newOutputStream(config.logPath(), StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                    StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw ApiError.badRequest("Logger error: Failed to open target file: " + osError(e));
        }
        if (out != null) {
            try {
                out.close();
            } catch (IOException e) {
                // The old file is being replaced; nothing to report.
            }
        }
        this.out = opened;
        this.config = config;
    }

    /**
     * {@return a stream for the VM's own reports (the boot timer's line, a device's driver
     * error, a vCPU's failure)}: each line goes to {@code stderr} as before, and once the log is
     * configured also into it, the boot timer's at INFO as Firecracker logs it, the rest at WARN
     */
    PrintStream vmReports(PrintStream stderr) {
        OutputStream lines = new OutputStream() {
            private final ByteArrayOutputStream line = new ByteArrayOutputStream();

            @Override
            public synchronized void write(int b) {
                if (b == '\n') {
                    String text = line.toString(StandardCharsets.UTF_8);
                    line.reset();
                    stderr.println(text);
                    logVmReport(text);
                } else if (line.size() < MAX_REPORT_LINE) {
                    line.write(b);
                }
            }
        };
        return new PrintStream(lines, true, StandardCharsets.UTF_8);
    }

    /** Longer VM report lines are cut here; they are one-line messages. */
    private static final int MAX_REPORT_LINE = 4096;

    private synchronized void logVmReport(String text) {
        if (out != null) {
            log(text.startsWith("Guest-boot-time") ? Level.INFO : Level.WARN, text);
        }
    }

    void error(String message) {
        log(Level.ERROR, message);
    }

    void warn(String message) {
        log(Level.WARN, message);
    }

    void info(String message) {
        log(Level.INFO, message);
    }

    synchronized void log(Level level, String message) {
        if (out == null) {
            if (level.ordinal() <= Level.WARN.ordinal()) {
                fallback.println(line(level, message, true, false));
            }
            return;
        }
        int allowed = switch (config.level()) {
            case "Off" -> -1;
            case "Error" -> 0;
            case "Warning" -> 1;
            case "Info" -> 2;
            case "Debug" -> 3;
            default -> 4;
        };
        if (level.ordinal() > allowed) {
            return;
        }
        try {
            out.write((line(level, message, config.showLevel(), config.showLogOrigin()) + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            fallback.println("ember: cannot write the log: " + e.getMessage());
        }
    }

    private String line(Level level, String message, boolean showLevel, boolean showOrigin) {
        StringBuilder sb = new StringBuilder();
        sb.append(LocalDateTime.now().format(TIME)).append(" [").append(instanceId).append(':')
                .append(Thread.currentThread().getName());
        if (showLevel) {
            sb.append(':').append(level.name());
        }
        if (showOrigin) {
            StackTraceElement caller = StackWalker.getInstance().walk(s -> s
                    .filter(f -> !f.getClassName().equals(ApiLogger.class.getName())).findFirst()).map(f -> f.toStackTraceElement())
                    .orElse(null);
            if (caller != null) {
                sb.append(':').append(caller.getFileName()).append(':').append(caller.getLineNumber());
            }
        }
        return sb.append("] ").append(message).toString();
    }

    /** {@return an I/O error worded as Rust's io::Error displays it, where the cause is known} */
    static String osError(IOException e) {
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "No such file or directory (os error 2)";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "Permission denied (os error 13)";
        }
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return String.valueOf(e.getMessage());
    }
}
