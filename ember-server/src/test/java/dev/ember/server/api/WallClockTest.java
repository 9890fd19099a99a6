package dev.ember.server.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ember.config.LoggerConfig;
import dev.ember.config.MetricsConfig;
import dev.ember.log.Level;
import dev.ember.log.LogEvent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host's wall clock stepped backwards (issue 12, injected host faults), without stepping the
 * real one, which other processes share. Wall time is read in a few places only, each a label
 * for a person or a log reader (metrics timestamps, a report's time, OCI creation times, the
 * time balloon statistics arrived); guest time, rate limiters, timeouts and periods use the monotonic
 * clock. The labels follow an injected clock that steps back, and nothing else changes; a scan
 * of the main sources keeps every other wall-clock read out.
 */
class WallClockTest {

    @TempDir
    Path dir;

    /** A wall clock that a test steps by hand. */
    static final class SteppedClock extends Clock {
        private Instant now;

        SteppedClock(Instant start) {
            now = start;
        }

        void step(Duration by) {
            now = now.plus(by);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException();
        }
    }

    @Test
    void metricsRecordsAfterAStepBackCarryTheSteppedTimeAndWholeCounts() throws IOException {
        SteppedClock clock = new SteppedClock(Instant.parse("2026-06-01T12:00:00Z"));
        ApiMetrics metrics = new ApiMetrics(clock);
        Path file = dir.resolve("metrics.json");
        try {
            metrics.configure(new MetricsConfig(file));
            metrics.inc("put_api_requests", "actions_count");
            metrics.flush();
            clock.step(Duration.ofHours(-1));
            metrics.inc("put_api_requests", "actions_count");
            metrics.inc("put_api_requests", "actions_count");
            metrics.flush();
        } finally {
            metrics.close();
        }
        List<JsonNode> records = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            records.add(Json.MAPPER.readTree(line));
        }
        assertEquals(2, records.size());
        assertEquals(Instant.parse("2026-06-01T12:00:00Z").toEpochMilli(), records.get(0).get("utc_timestamp_ms").asLong());
        assertEquals(Instant.parse("2026-06-01T11:00:00Z").toEpochMilli(), records.get(1).get("utc_timestamp_ms").asLong());
        assertEquals(1, records.get(0).get("put_api_requests").get("actions_count").asLong());
        assertEquals(2, records.get(1).get("put_api_requests").get("actions_count").asLong());
    }

    @Test
    void logLinesAfterAStepBackCarryTheSteppedTime() throws IOException {
        // A report's time is read once, where it is made (dev.ember.log.Log); the file shows it as it is.
        ApiLogger logger = new ApiLogger("vm1", new PrintStream(new ByteArrayOutputStream(), true));
        Path file = dir.resolve("log");
        logger.configure(new LoggerConfig(file, "Info", false, false));
        SteppedClock clock = new SteppedClock(Instant.parse("2026-06-01T12:00:00Z"));
        logger.log(new LogEvent(clock.instant(), Level.INFO, "test", "t", "before", null, null));
        clock.step(Duration.ofHours(-1));
        logger.log(new LogEvent(clock.instant(), Level.INFO, "test", "t", "after", null, null));
        assertThat(Files.readAllLines(file)).containsSubsequence(
                local("2026-06-01T12:00:00Z") + " [vm1:t] before", local("2026-06-01T11:00:00Z") + " [vm1:t] after");
    }

    private static String local(String instant) {
        return java.time.LocalDateTime.ofInstant(Instant.parse(instant), ZoneId.systemDefault())
                .format(java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.nnnnnnnnn"));
    }

    /** Where main code may read the wall clock: each a label, none a duration, deadline or guest time. */
    private static final List<String> WALL_CLOCK_LABELS = List.of(
            "ember-server/src/main/java/dev/ember/server/api/ApiMetrics.java",     // utc_timestamp_ms
            "ember-vmm/src/main/java/dev/ember/log/Log.java",                      // a report's time
            "ember-server/src/main/java/dev/ember/server/oci/RuntimeLog.java",     // runtime log stamps
            "ember-server/src/main/java/dev/ember/server/oci/OciCommand.java",     // OCI state "created"
            "ember-vmm/src/main/java/dev/ember/devices/virtio/balloon/VirtioBalloon.java");  // stats arrival

    @Test
    void onlyTheListedLabelsReadTheWallClock() throws IOException {
        Path root = Path.of("").toAbsolutePath();
        if (!Files.isDirectory(root.resolve("ember-vmm"))) {
            root = root.getParent();   // surefire runs in the module directory
        }
        Pattern wallClock = Pattern.compile("System\\.currentTimeMillis|Instant\\.now|LocalDateTime\\.now"
                + "|ZonedDateTime\\.now|OffsetDateTime\\.now|Clock\\.system|new java\\.util\\.Date\\(|new Date\\("
                + "|java\\.util\\.Timer|LocalTime\\.now|LocalDate\\.now");
        List<String> readers = new ArrayList<>();
        for (String module : List.of("ember-vmm", "ember-server")) {
            try (Stream<Path> files = Files.walk(root.resolve(module).resolve("src/main/java"))) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                    Matcher m = wallClock.matcher(Files.readString(f));
                    if (m.find()) {
                        readers.add(root.relativize(f).toString().replace('\\', '/'));
                    }
                }
            }
        }
        assertThat(readers).isNotEmpty().allSatisfy(r -> assertThat(WALL_CLOCK_LABELS).contains(r));
    }
}
