package dev.ember.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * {@code ember run} on a real terminal (a pseudo-terminal from util-linux {@code script}): the
 * host terminal is put in raw mode so keys reach the guest unchanged, and Ctrl-A X quits, as
 * in QEMU, while the guest is still running.
 */
class TerminalEndToEndTest {

    @Test
    void ctrlAXQuitsARunningGuestFromATerminal() throws Exception {
        Path dir = EmberProcess.guestDir();
        try (EmberProcess vm = EmberProcess.startInTerminal("run", "--kernel", dir.resolve("Image").toString(),
                "--initrd", dir.resolve("initramfs.cpio").toString())) {
            int at = vm.await("ember-guest: userspace up", 0, Duration.ofSeconds(180));
            at = vm.await("# ", at, Duration.ofSeconds(180));
            vm.type("echo tty-$((2 * 3))\r");   // Enter on a raw terminal sends CR
            vm.await("tty-6", at, Duration.ofSeconds(60));
            vm.type("\u0001x");
            assertEquals(0, vm.waitFor(Duration.ofSeconds(30)), "exit status after Ctrl-A X");
        }
    }
}
