package dev.ember.vmm;

import dev.ember.log.LogSink;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ember.config.BalloonConfig;
import dev.ember.config.DevicesConfig;
import dev.ember.devices.virtio.balloon.VirtioBalloon;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Boots the default guest in this JVM with a virtio-balloon, has the guest touch and free
 * memory, then inflates the balloon and checks that the process's resident memory falls: the
 * inflated pages really went back to the host.
 */
class BalloonEndToEndTest {

    private static final long MIB = 1 << 20;

    private static long residentBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    @Test
    void inflatingTheBalloonLowersResidentMemory() throws Exception {
        Path dir = Path.of(System.getProperty("ember.guest.dir", "guest/out"));
        DevicesConfig devices = new DevicesConfig(List.of(), List.of(), null, null, new BalloonConfig(0, false, 0), false);
        VmConfig config = new VmConfig(1, 384 * MIB, dir.resolve("Image"), dir.resolve("initramfs.cpio"),
                VmConfig.DEFAULT_CMDLINE, null, null, devices);
        TextConsole console = new TextConsole();
        try (VirtualMachine vm = new VirtualMachine(config, console, LogSink.stream(new PrintStream(console, true)))) {
            CompletableFuture<Integer> run = TextConsole.runInBackground(vm);
            int at = console.awaitPrompt();
            // Touch 256 MiB of guest RAM, then free it: the guest no longer uses it, the host still holds it.
            TextConsole.type(vm, "dd if=/dev/zero of=/fill bs=1M count=256 2>/dev/null; rm /fill; echo fill-$((6*7))");
            at = console.await("fill-42", at, 120_000);
            long before = residentBytes();

            VirtioBalloon balloon = vm.balloon();
            // Nearly all the guest's free memory, so most of what the balloon takes was touched.
            balloon.setTargetMib(320);
            long deadline = System.currentTimeMillis() + 120_000;
            while (balloon.actualPages() < balloon.targetPages() && System.currentTimeMillis() < deadline) {
                Thread.sleep(100);
            }
            assertEquals(balloon.targetPages(), balloon.actualPages(), "the guest inflated to the target");
            long after = residentBytes();
            System.out.printf("balloon: inflated to %d MiB; resident memory %d MiB -> %d MiB%n",
                    balloon.actualPages() / VirtioBalloon.PAGES_PER_MIB, before / MIB, after / MIB);
            assertThat(before - after).as("resident memory released: before %d MiB, after %d MiB",
                    before / MIB, after / MIB).isGreaterThan(128 * MIB);

            TextConsole.type(vm, "poweroff");
            assertEquals(0, run.get());
        }
    }
}
