package dev.ember.server.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ember.config.LoggerConfig;
import dev.ember.log.Log;
import dev.ember.log.LogSink;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The API's log sink: Firecracker's log-file lines, its level filter, and where the VM's reports go. */
class ApiLoggerTest {

    private static final String TIME = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}";

    @TempDir
    Path dir;

    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    private final ApiLogger logger = new ApiLogger("vm-7", new PrintStream(stderr, true, StandardCharsets.UTF_8));

    private List<String> fileLines() throws IOException {
        return Files.readAllLines(dir.resolve("ember.log"));
    }

    private void configure(String level, boolean showLevel, boolean showOrigin) {
        logger.configure(new LoggerConfig(dir.resolve("ember.log"), level, showLevel, showOrigin));
    }

    @Test
    void configuredLogGetsFirecrackerLinesWithInstanceThreadAndLevel() throws IOException {
        configure("Info", true, false);

        Log.of(logger, ApiLoggerTest.class).info("API server started.");

        String thread = Thread.currentThread().getName();
        assertThat(fileLines()).singleElement().asString()
                .matches(TIME + " \\[vm-7:" + java.util.regex.Pattern.quote(thread) + ":INFO\\] API server started\\.");
    }

    @Test
    void lineWithoutShowLevelOmitsTheLevelAndWithShowLogOriginNamesTheReportingLine() throws IOException {
        configure("Info", false, true);

        Log.of(logger, ApiLoggerTest.class).info("here");

        assertThat(fileLines()).singleElement().asString().matches(TIME + " \\[vm-7:[^:\\]]+:ApiLoggerTest\\.java:\\d+\\] here");
    }

    @Test
    void configuredLevelDropsLessSevereEvents() throws IOException {
        configure("Warning", true, false);
        Log log = Log.of(logger, ApiLoggerTest.class);

        log.info("not kept");
        log.warn("kept", new IOException("disk gone"));
        log.error("kept too");

        List<String> lines = fileLines();
        assertEquals(2, lines.size(), lines::toString);
        assertThat(lines.get(0)).endsWith(":WARN] kept: java.io.IOException: disk gone");
        assertThat(lines.get(1)).endsWith(":ERROR] kept too");
    }

    @Test
    void levelOffWritesNothing() throws IOException {
        configure("Off", true, false);

        Log.of(logger, ApiLoggerTest.class).error("dropped");

        assertThat(fileLines()).isEmpty();
    }

    @Test
    void beforeConfigurationWarningsGoToStderrInTheSameFormatAndInfoIsDropped() {
        Log log = Log.of(logger, ApiLoggerTest.class);

        log.info("dropped");
        log.warn("shown");

        assertThat(stderr.toString(StandardCharsets.UTF_8).strip()).matches(TIME + " \\[vm-7:[^\\]]+:WARN\\] shown");
    }

    @Test
    void vmReportsGoToStderrAsPlainLinesAndToTheFileAtTheirOwnLevel() throws IOException {
        ByteArrayOutputStream vmStderr = new ByteArrayOutputStream();
        LogSink vm = logger.vmSink(new PrintStream(vmStderr, true, StandardCharsets.UTF_8));
        Log.of(vm, ApiLoggerTest.class).warn("before the logger");
        configure("Info", true, false);

        Log.of(vm, ApiLoggerTest.class).info("Guest-boot-time = 1 us 0 ms");

        assertEquals("before the logger\nGuest-boot-time = 1 us 0 ms\n", vmStderr.toString(StandardCharsets.UTF_8));
        assertEquals("", stderr.toString(StandardCharsets.UTF_8), "the VM's reports are not printed twice");
        assertThat(fileLines()).singleElement().asString().endsWith(":INFO] Guest-boot-time = 1 us 0 ms");
    }
}
