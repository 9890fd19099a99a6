package dev.ember.server.oci;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * The runtime's log ({@code --log FILE}, {@code --log-format text|json}), as runc writes it: one
 * line per message, in JSON {@code {"level":"error","msg":"...","time":"..."}} when asked. conmon
 * and containerd's shim read this file to tell their user why a command failed, so every error
 * goes here as well as to standard error. Without {@code --log}, messages go to standard error
 * only.
 */
public final class RuntimeLog {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final boolean json;
    private final boolean debug;

    public RuntimeLog(Path file, String format, boolean debug) {
        this.file = file;
        this.json = "json".equals(format);
        this.debug = debug;
    }

    /** A log that writes nothing to a file. */
    public static RuntimeLog none() {
        return new RuntimeLog(null, "text", false);
    }

    public Path file() {
        return file;
    }

    public String format() {
        return json ? "json" : "text";
    }

    public boolean debugEnabled() {
        return debug;
    }

    public void error(String msg) {
        write("error", msg);
    }

    public void warn(String msg) {
        write("warning", msg);
    }

    public void info(String msg) {
        write("info", msg);
    }

    public void debug(String msg) {
        if (debug) {
            write("debug", msg);
        }
    }

    private void write(String level, String msg) {
        if (file == null) {
            return;
        }
        String line;
        if (json) {
            ObjectNode n = JSON.createObjectNode();
            n.put("level", level);
            n.put("msg", msg);
            n.put("time", Instant.now().toString());
            line = n.toString();
        } else {
            line = Instant.now() + " " + level + " " + msg;
        }
        try {
            Files.writeString(file, line + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
        } catch (IOException e) {
            System.err.println("ember-oci: cannot write the log " + file + ": " + e.getMessage());
        }
    }
}
