package dev.ember.vmm;

import dev.ember.log.LogSink;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ember.config.DevicesConfig;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Firecracker's {@code SendCtrlAltDel} on a booted guest in this JVM: Ember's virtio-input
 * keyboard presses Ctrl+Alt+Delete, the guest's VT keyboard handler signals init, and busybox
 * init runs {@code ::ctrlaltdel:/sbin/poweroff}, so {@link VirtualMachine#run} returns 0 without
 * anything typed at the console.

 */
class CtrlAltDelEndToEndTest {

    @Test
    void ctrlAltDelMakesTheGuestPowerOff() throws Exception {
        Path dir = Path.of(System.getProperty("ember.guest.dir", "guest/out"));
        DevicesConfig keyboardOnly = new DevicesConfig(List.of(), List.of(), null, null, null, false, null, true);
        VmConfig config = new VmConfig(1, 128L << 20, dir.resolve("Image"), dir.resolve("initramfs.cpio"),
                VmConfig.DEFAULT_CMDLINE, null, null, keyboardOnly);
        TextConsole console = new TextConsole();
        try (VirtualMachine vm = new VirtualMachine(config, console, LogSink.stream(new PrintStream(console, true)))) {
            CompletableFuture<Integer> run = TextConsole.runInBackground(vm);
            int at = console.await("ember-guest: userspace up", 0, 180_000);
            console.await("# ", at, 60_000);
            // Linux registers the device as it probes it: "input: Ember keyboard as /devices/...".
            assertThat(console.text().substring(0, at)).contains("input: Ember keyboard as ");

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!vm.sendCtrlAltDel()) {
                assertThat(System.nanoTime()).as("driver never activated the keyboard").isLessThan(deadline);
                Thread.sleep(10);
            }

            assertEquals(0, run.get(120, TimeUnit.SECONDS));
            assertThat(console.text().substring(at)).contains("The system is going down NOW!");
        }
    }
}
