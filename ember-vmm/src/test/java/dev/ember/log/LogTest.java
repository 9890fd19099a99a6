package dev.ember.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The facade: level filters, what an event carries, and the stream sink's lines. */
class LogTest {

    private final List<LogEvent> events = new ArrayList<>();
    private final LogSink collect = events::add;

    @Test
    void sinkAtWarnPassesErrorsAndWarningsOnly() {
        Log log = Log.of(collect.atLeast(Level.WARN), LogTest.class);

        log.error("e");
        log.warn("w");
        log.info("i");
        log.debug("d");
        log.trace("t");

        assertEquals(List.of(Level.ERROR, Level.WARN), events.stream().map(LogEvent::level).toList());
    }

    @Test
    void loggerReportsALevelDisabledOnItsSinkAsDisabled() {
        Log log = Log.of(collect.atLeast(Level.INFO), LogTest.class);

        assertThat(log.isEnabled(Level.INFO)).isTrue();
        assertThat(log.isEnabled(Level.DEBUG)).isFalse();
        assertThat(Log.discard(LogTest.class).isEnabled(Level.ERROR)).isFalse();
    }

    @Test
    void eventCarriesTheLoggerNameTheThreadAndTheCauseWhole() {
        IOException cause = new IOException("disk gone");

        Log.of(collect, LogTest.class).warn("drive failed", cause);

        LogEvent event = events.get(0);
        assertEquals(LogTest.class.getName(), event.logger());
        assertEquals(Thread.currentThread().getName(), event.thread());
        assertEquals("drive failed", event.message());
        assertEquals(cause, event.cause());
        assertEquals(null, event.origin(), "no stack walk unless the sink asks for the origin");
    }

    @Test
    void sinkThatWantsTheOriginGetsTheReportingLine() {
        LogSink withOrigin = new LogSink() {
            @Override
            public void log(LogEvent event) {
                events.add(event);
            }

            @Override
            public boolean wantsOrigin() {
                return true;
            }
        };

        Log.of(withOrigin, LogTest.class).info("here");

        assertEquals("LogTest.java", events.get(0).origin().getFileName());
    }

    @Test
    void teeGivesEachSinkWhatItsLevelAdmits() {
        List<LogEvent> second = new ArrayList<>();
        Log log = Log.of(collect.atLeast(Level.ERROR).and(((LogSink) second::add).atLeast(Level.INFO)), LogTest.class);

        log.error("e");
        log.info("i");
        log.debug("d");

        assertEquals(1, events.size());
        assertEquals(2, second.size());
    }

    @Test
    void streamSinkPrintsAStackTraceUnderAnErrorAndOneLineOtherwise() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Log log = Log.of(LogSink.stream(new PrintStream(bytes, true, StandardCharsets.UTF_8)), LogTest.class);

        log.warn("tap0: write failed", new IOException("EIO"));
        log.error("vCPU 0 stopped", new IllegalStateException("bug"));

        String[] lines = bytes.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals("tap0: write failed: java.io.IOException: EIO", lines[0]);
        assertEquals("vCPU 0 stopped", lines[1]);
        assertEquals("java.lang.IllegalStateException: bug", lines[2]);
        assertThat(lines[3]).contains("at dev.ember.log.LogTest.");
    }
}
