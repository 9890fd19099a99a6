package dev.ember.vmm;

import dev.ember.log.LogSink;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ember.config.DevicesConfig;
import dev.ember.config.DriveConfig;
import dev.ember.config.RateLimiterConfig;
import dev.ember.config.TokenBucketConfig;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rate-limited drive's throughput, seen from inside the guest, follows its bucket: a drive
 * limited to 1 MiB/s (a 256 KiB bucket refilled every 250 ms) reads 3 MiB in the time the
 * bucket allows, within 15%.
 */
class RateLimitEndToEndTest {

    private static final long MIB = 1 << 20;

    @TempDir
    Path tmp;

    @Test
    void guestReadsFromALimitedDriveAtTheBucketsRate() throws Exception {
        Path dir = Path.of(System.getProperty("ember.guest.dir", "guest/out"));
        Path disk = tmp.resolve("limited.img");
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(8 * MIB);
        }
        long bucket = 256 * 1024;
        RateLimiterConfig limit = new RateLimiterConfig(new TokenBucketConfig(bucket, 0, 250), null);
        DevicesConfig devices = new DevicesConfig(List.of(new DriveConfig("limited", disk, false, true, limit)),
                List.of(), null, null, null, false);
        VmConfig config = new VmConfig(1, 128L << 20, dir.resolve("Image"), dir.resolve("initramfs.cpio"),
                VmConfig.DEFAULT_CMDLINE, null, null, devices);
        TextConsole console = new TextConsole();
        try (VirtualMachine vm = new VirtualMachine(config, console, LogSink.stream(new PrintStream(console, true)))) {
            CompletableFuture<Integer> run = TextConsole.runInBackground(vm);
            int at = console.awaitPrompt();
            // The guest's own clock times the read; /proc/uptime has 10 ms resolution.
            TextConsole.type(vm, "read s x </proc/uptime; dd if=/dev/vda of=/dev/null bs=64k count=48 2>/dev/null;"
                    + " read e x </proc/uptime; echo \"T=$s $e\"");
            // The echoed command shows "T=$s $e"; only the real answer has digits after T=.
            Pattern answer = Pattern.compile("T=([0-9.]+) ([0-9.]+)");
            Matcher m = answer.matcher("");
            long deadline = System.currentTimeMillis() + 60_000;
            while (!(m = answer.matcher(console.text().substring(at))).find()) {
                assertThat(System.currentTimeMillis()).as("no timing in:\n%s", console.text()).isLessThan(deadline);
                Thread.sleep(50);
            }
            double seconds = Double.parseDouble(m.group(2)) - Double.parseDouble(m.group(1));
            // The first bucketful is free; the rest comes at 1 MiB/s. Readahead may fetch a little more.
            double expected = (3.0 * MIB - bucket) / MIB;
            System.out.printf("rate limiter: 3 MiB read in %.2f s, bucket allows %.2f s%n", seconds, expected);
            assertThat(seconds).isBetween(expected * 0.85, expected * 1.15);
            TextConsole.type(vm, "poweroff");
            assertEquals(0, run.get());
        }
        assertThat(Files.size(disk)).isEqualTo(8 * MIB);
    }
}
