package dev.ember.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class WarmupJobTest {

    private static final long S = 1_000_000_000L;

    @Test
    void hashChainMatchesWhatTheGuestPrints() {
        // (echo 0; head -c 131072 /dev/zero) | sha256sum, and the next link, as busybox and coreutils print them.
        WarmupJob job = new WarmupJob();
        assertEquals("2ca3157b34572caac0cb7ee55325797edaa52f3d901fa9ded8c7ec5541ffd069", job.expectedHash(1));
        assertEquals("f93c6a791e78faffc1b4bdda0c20e9f97ebe27bf4d25c32781735b06e6003f51", job.expectedHash(2));
    }

    @Test
    void checkNamesAMissingUnit() {
        WarmupJob job = new WarmupJob();
        List<WarmupJob.Progress> lines = List.of(new WarmupJob.Progress(1, S, job.expectedHash(1)),
                new WarmupJob.Progress(3, 2 * S, job.expectedHash(3)));
        assertTrue(job.check(lines).contains("unit 3"), job.check(lines));
        assertNull(job.check(lines.subList(0, 1)));
    }

    @Test
    void checkNamesAWrongHash() {
        WarmupJob job = new WarmupJob();
        String wrong = job.check(List.of(new WarmupJob.Progress(1, S, job.expectedHash(2))));
        assertTrue(wrong.startsWith("unit 1 gave hash"), wrong);
    }

    @Test
    void unitsAreSpreadLinearlyBetweenArrivals() {
        long start = 100 * S;
        // Unit 1 at 2 s, unit 2 at 2.5 s, unit 3 at 3.5 s.
        List<WarmupJob.Progress> lines = List.of(new WarmupJob.Progress(1, start + 2 * S, ""),
                new WarmupJob.Progress(2, start + 5 * S / 2, ""), new WarmupJob.Progress(3, start + 7 * S / 2, ""));
        double[] rate = WarmupJob.unitsPerSecond(lines, start, 4);
        assertArrayEquals(new double[] {0.5, 0.5, 1.5, Double.NaN}, rate, 1e-9);
        assertEquals(3, WarmupJob.finishedBy(lines, start, 3.5), 1e-9);
    }

    @Test
    void linesInOneChunkCountTogether() {
        long start = 0;
        List<WarmupJob.Progress> lines = List.of(new WarmupJob.Progress(1, S / 2, ""), new WarmupJob.Progress(2, S / 2, ""),
                new WarmupJob.Progress(3, 2 * S, ""));
        assertEquals(2, WarmupJob.finishedBy(lines, start, 0.5), 1e-9);
        assertEquals(2.5, WarmupJob.finishedBy(lines, start, 1.25), 1e-9);
    }
}
