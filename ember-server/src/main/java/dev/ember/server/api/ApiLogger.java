package dev.ember.server.api;

import dev.ember.config.LoggerConfig;
import dev.ember.log.Level;
import dev.ember.log.LogEvent;
import dev.ember.log.LogSink;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;

/**
 * The API server's log sink, in Firecracker's log-file format ({@code logger/logging.rs}):
 * {@code 2024-01-01T00:00:00.000000000 [instance-id:thread:LEVEL:file:line] message}, the level
 * shown when {@code show_level} is set and the reporting line when {@code show_log_origin} is.
 *
 * <p>Before {@code PUT /logger}, errors and warnings go to stderr in that format and nothing else
 * is written; afterwards every event at or above the configured level goes to the log file,
 * opened for append. The VM's own reports reach it through {@link #vmSink}. Thread-safe: lines
 * are written under this object's lock.
 */
final class ApiLogger implements LogSink {

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.nnnnnnnnn");

    private final String instanceId;
    private final PrintStream fallback;
    private OutputStream out;
    private LoggerConfig config;
    private Level threshold;   // null for Off; meaningful once out != null

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
        this.threshold = switch (config.level()) {
            case "Off" -> null;
            case "Error" -> Level.ERROR;
            case "Warning" -> Level.WARN;
            case "Info" -> Level.INFO;
            case "Debug" -> Level.DEBUG;
            default -> Level.TRACE;
        };
    }

    /**
     * {@return the sink for the VM's own reports (the boot timer's line, a device's driver error, a
     * vCPU's failure)}: each at INFO and above goes to {@code stderr} as one line, as {@code ember
     * run} prints it, and once the log is configured also into it, at the level it was reported at
     */
    LogSink vmSink(PrintStream stderr) {
        ApiLogger file = this;
        LogSink fileOnly = new LogSink() {
            @Override
            public void log(LogEvent event) {
                file.logToFile(event);
            }

            @Override
            public boolean isEnabled(Level level) {
                return file.fileAdmits(level);
            }

            @Override
            public boolean wantsOrigin() {
                return file.wantsOrigin();
            }
        };
        return LogSink.stream(stderr).atLeast(Level.INFO).and(fileOnly);
    }

    @Override
    public synchronized void log(LogEvent event) {
        if (out == null) {
            if (Level.WARN.admits(event.level())) {
                fallback.println(line(event, true, false));
            }
            return;
        }
        logToFile(event);
    }

    @Override
    public synchronized boolean isEnabled(Level level) {
        return out == null ? Level.WARN.admits(level) : fileAdmits(level);
    }

    @Override
    public synchronized boolean wantsOrigin() {
        return config != null && config.showLogOrigin();
    }

    private synchronized boolean fileAdmits(Level level) {
        return out != null && threshold != null && threshold.admits(level);
    }

    private synchronized void logToFile(LogEvent event) {
        if (!fileAdmits(event.level())) {
            return;
        }
        try {
            out.write((line(event, config.showLevel(), config.showLogOrigin()) + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            fallback.println("ember: cannot write the log: " + e.getMessage());
        }
    }

    private String line(LogEvent event, boolean showLevel, boolean showOrigin) {
        StringBuilder sb = new StringBuilder();
        sb.append(LocalDateTime.ofInstant(event.time(), ZoneId.systemDefault()).format(TIME)).append(" [")
                .append(instanceId).append(':').append(event.thread());
        if (showLevel) {
            sb.append(':').append(event.level().name());
        }
        if (showOrigin && event.origin() != null) {
            sb.append(':').append(event.origin().getFileName()).append(':').append(event.origin().getLineNumber());
        }
        sb.append("] ").append(event.message());
        if (event.cause() != null) {
            sb.append(": ").append(event.cause());
        }
        return sb.toString();
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
