package dev.ember.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Boots the default guest (Linux 6.1 + busybox, built by {@code guest/build.sh}) through the
 * real command line and checks what the guest prints, as a person at the console would. Every
 * case runs on the translator (at {@link EmberProcess#TEST_JIT_THRESHOLD}, so most of the boot is
 * translated) and on the interpreter ({@code --engine}); the default engine is tested by the API tests.
 */
@ParameterizedClass(name = "--engine {0}")
@ValueSource(strings = {"jit", "interp"})
class BootEndToEndTest {

    @Parameter
    String engine;

    private static final Duration BOOT = Duration.ofSeconds(180);
    private static final Duration COMMAND = Duration.ofSeconds(60);
    static final Path OPENSBI_FW_JUMP = Path.of("/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin");

    private String[] defaultGuest(String... extra) {
        return defaultGuestOn(EmberProcess.engineArgs(engine), extra);
    }

    private static String[] defaultGuestOn(String[] engineArgs, String... extra) {
        Path dir = EmberProcess.guestDir();
        List<String> all = new ArrayList<>(List.of("run"));
        all.addAll(List.of(engineArgs));
        all.addAll(List.of("--kernel", dir.resolve("Image").toString(), "--initrd", dir.resolve("initramfs.cpio").toString()));
        all.addAll(List.of(extra));
        return all.toArray(String[]::new);
    }

    /** Waits, from output index {@code from}, for the guest's first userspace line and prompt. */
    private static int awaitPrompt(EmberProcess vm, int from) throws Exception {
        int at = vm.await("ember-guest: userspace up", from, BOOT);
        return vm.await("# ", at, BOOT);
    }

    /** At a prompt seen at {@code at}: runs a command, waits for its output, then powers off. */
    private static void runAndPowerOff(EmberProcess vm, int at, String command, String expected) throws Exception {
        vm.send(command);
        vm.await(expected, at, COMMAND);
        vm.send("poweroff");
        assertEquals(0, vm.waitFor(COMMAND), "exit status after poweroff");
    }

    /** Boots, runs a command that needs real arithmetic in the shell, then powers off. */
    private static void bootRunAndPowerOff(EmberProcess vm, String command, String expected) throws Exception {
        runAndPowerOff(vm, awaitPrompt(vm, 0), command, expected);
    }

    @Test
    void bootTimerLogsTheTimeToTheGuestsFirstUserspaceWrite() throws Exception {
        try (EmberProcess vm = EmberProcess.start(defaultGuest("--boot-timer"))) {
            int at = vm.await("Guest-boot-time = ", 0, BOOT);
            int end = vm.await(" CPU ms", at, COMMAND);
            String line = vm.output().substring(at, end);
            assertTrue(line.matches(" *\\d+ us \\d+ ms, +\\d+ CPU us \\d+ CPU ms"), line);
            // (Its position among the console lines is not checked: the console reaches stdout through
            // a flusher thread, the timer's line reaches stderr directly.)
            runAndPowerOff(vm, awaitPrompt(vm, 0), "echo ok-$((6*7))", "ok-42");
        }
    }

    @Test
    void defaultGuestRunsTypedCommandsAndPowersOffWithStatusZero() throws Exception {
        try (EmberProcess vm = EmberProcess.start(defaultGuest())) {
            // date reads the clock through the vDSO, i.e. rdtime in U-mode.
            bootRunAndPowerOff(vm, "echo sum=$((40 + 2)); uname -m; echo year=$(date +%Y)", "sum=42");
            assertTrue(vm.output().contains("riscv64"), "uname -m reports riscv64");
            assertTrue(vm.output().contains("year=1970"), "date works (no RTC, so the epoch's year)");
            assertTrue(vm.output().contains("reboot: Power down"), "the kernel powered the machine down");
        }
    }

    @Test
    void fourVcpusAreAllOnline() throws Exception {
        try (EmberProcess vm = EmberProcess.start(defaultGuest("--vcpus", "4"))) {
            bootRunAndPowerOff(vm, "echo cpus=$(nproc)", "cpus=4");
        }
    }

    @Test
    void rebootRestartsTheMachineWithEveryVcpu() throws Exception {
        // SBI SRST cold reboot: the VMM resets harts and devices and boots the same images.
        // The secondary harts were idle in WFI when the old kernel rebooted; they must start again.
        try (EmberProcess vm = EmberProcess.start(defaultGuest("--vcpus", "2"))) {
            int at = awaitPrompt(vm, 0);
            vm.send("reboot");
            at = vm.await("reboot: Restarting system", at, COMMAND);
            runAndPowerOff(vm, awaitPrompt(vm, at), "echo cpus=$(nproc)", "cpus=2");
        }
    }

    @Test
    void bootsThroughDebiansOpenSbiFirmware() throws Exception {
        assertTrue(Files.isRegularFile(OPENSBI_FW_JUMP),
                OPENSBI_FW_JUMP + " is missing: install Debian's opensbi package (./ember test does)");
        try (EmberProcess vm = EmberProcess.start(defaultGuest("--vcpus", "2", "--firmware", OPENSBI_FW_JUMP.toString()))) {
            vm.await("OpenSBI", 0, BOOT);
            bootRunAndPowerOff(vm, "echo cpus=$(nproc)", "cpus=2");
        }
    }

    @Test
    void sbiConsoleOnHvc0CarriesInputAndOutput() throws Exception {
        // console=hvc0 is Linux's SBI console driver: output through console_putchar, typed
        // input through console_getchar, with no UART involved.
        try (EmberProcess vm = EmberProcess.start(defaultGuest("--append", "console=hvc0"))) {
            bootRunAndPowerOff(vm, "echo hvc-$((3 * 3))", "hvc-9");
        }
    }

    @Test
    void defaultGuestBootsWithEveryBlockTranslatedOnItsFirstRun() throws Exception {
        // --jit-threshold 0: the kernel and busybox run almost wholly in translated code (the
        // interpreter only runs the instructions regions leave to it), so a translation bug in
        // anything Linux does on its way to a shell shows here.
        assumeTrue(engine.equals("jit"), "a translator setting");
        try (EmberProcess vm = EmberProcess.start(
                defaultGuestOn(new String[] {"--engine", "jit", "--jit-threshold", "0"}, "--engine-stats"))) {
            bootRunAndPowerOff(vm, "echo sum=$((40 + 2))", "sum=42");
            assertTrue(vm.output().contains("% translated)"), "the engine statistics are printed");
        }
    }

    @Test
    void guestCpuBoundWorkGivesTheRightAnswer() throws Exception {
        // sha256 of 1 MiB of zeros, computed by busybox in the guest: exercises the
        // integer pipeline, loads/stores and the page cache for a few hundred million instructions.
        try (EmberProcess vm = EmberProcess.start(defaultGuest())) {
            bootRunAndPowerOff(vm, "head -c 1048576 /dev/zero | sha256sum",
                    "30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58");
        }
    }
}
