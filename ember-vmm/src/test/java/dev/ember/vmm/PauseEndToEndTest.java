package dev.ember.vmm;

import dev.ember.log.LogSink;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Pauses and resumes a booted guest in this JVM, as Firecracker's {@code PATCH /vm}: while
 * paused no vCPU retires an instruction, and after resuming the guest carries on where it was.
 */
class PauseEndToEndTest {

    private static long instret(VirtualMachine vm) {
        long sum = 0;
        for (var h : vm.harts()) {
            sum += h.instret;
        }
        return sum;
    }

    @Test
    void pausedGuestRetiresNothingAndResumesWhereItWas() throws Exception {
        Path dir = Path.of(System.getProperty("ember.guest.dir", "guest/out"));
        VmConfig config = new VmConfig(2, 128L << 20, dir.resolve("Image"), dir.resolve("initramfs.cpio"),
                VmConfig.DEFAULT_CMDLINE, null, null);
        TextConsole console = new TextConsole();
        try (VirtualMachine vm = new VirtualMachine(config, console, LogSink.stream(new PrintStream(console, true)))) {
            CompletableFuture<Integer> run = TextConsole.runInBackground(vm);
            int at = console.awaitPrompt();
            // A busy loop keeps both harts' counters moving while the guest runs.
            TextConsole.type(vm, "i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; echo loop-$((6*7))");

            vm.pause();
            assertThat(vm.isPaused()).isTrue();
            long before = instret(vm);
            int shown = console.text().length();
            Thread.sleep(300);
            assertEquals(before, instret(vm), "no instruction retired while paused");
            assertEquals(shown, console.text().length(), "no console output while paused");

            vm.resume();
            console.await("loop-42", at, 120_000);
            assertThat(instret(vm)).isGreaterThan(before);
            TextConsole.type(vm, "poweroff");
            assertEquals(0, run.get());
        }
    }
}
