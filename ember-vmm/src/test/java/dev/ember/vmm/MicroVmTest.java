package dev.ember.vmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.boot.BootException;
import dev.ember.config.BootSourceConfig;
import dev.ember.config.DriveConfig;
import dev.ember.config.MachineConfig;
import dev.ember.log.LogSink;
import dev.ember.memory.MmioDevice;
import dev.ember.riscv.testing.Assembler;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedding API on the default guest: one VM booted for the class serves most tests; the
 * tests about several VMs, failures and shutdown boot their own beside it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MicroVmTest {

    private static final Path GUEST = Path.of(System.getProperty("ember.guest.dir", "guest/out"));
    private static final Duration BOOT_AND_RUN = Duration.ofSeconds(120);

    private MicroVm vm;

    private static MicroVmBuilder defaultGuest(String name) {
        return MicroVm.builder()
                .name(name)
                .bootSource(new BootSourceConfig(GUEST.resolve("Image"), GUEST.resolve("initramfs.cpio"), null))
                .machineConfig(new MachineConfig(1, 128, false, false))
                .log(LogSink.discard());
    }

    @BeforeAll
    void bootSharedVm() throws Exception {
        vm = defaultGuest("shared").build();
        vm.start();
    }

    @AfterAll
    void closeSharedVm() {
        vm.close();
    }

    @Test
    void execReturnsTheCommandsOutputAndExitCode() throws Exception {
        GuestCommandResult result = vm.exec("echo hello; false", BOOT_AND_RUN);
        assertEquals(new GuestCommandResult("hello", 1), result);
    }

    @Test
    void metricsCountTheConsoleBytesACommandPrints() throws Exception {
        vm.exec("true", BOOT_AND_RUN);
        long before = vm.metrics().get("uart", "write_count");
        vm.exec("printf '%04000d' 0", BOOT_AND_RUN);
        long printed = vm.metrics().get("uart", "write_count") - before;
        // 4000 zeros plus the markers, the echoed command line and the next prompt; counting
        // each byte twice would pass 8000.
        assertThat(printed).isBetween(4000L, 7900L);
        // Each byte to the UART is one store to its THR register.
        VmMetrics m = vm.metrics();
        assertThat(m.get("vcpu", "exit_mmio_write")).isGreaterThanOrEqualTo(m.get("uart", "write_count"));
        assertEquals(0, vm.metrics().get("vcpu", "failures"));
    }

    @Test
    void theVmsThreadsCarryItsName() throws Exception {
        vm.exec("true", BOOT_AND_RUN);
        assertThat(Thread.getAllStackTraces().keySet()).extracting(Thread::getName)
                .contains("ember-vcpu-0@shared", "ember-console-flush@shared", "ember-vm-shared");
    }

    @Test
    void execRunsInTheRiscvGuest() throws Exception {
        assertEquals(new GuestCommandResult("riscv64", 0), vm.exec("uname -m", BOOT_AND_RUN));
    }

    @Test
    void execKeepsQuotesAndMultiLineOutput() throws Exception {
        GuestCommandResult result = vm.exec("printf '%s\\n' 'it'\\''s' \"two words\"; exit_code=3; (exit $exit_code)",
                BOOT_AND_RUN);
        assertEquals(new GuestCommandResult("it's\ntwo words", 3), result);
    }

    @Test
    void execReportsASyntaxErrorAsOutputAndStatus2() throws Exception {
        GuestCommandResult result = vm.exec("if then", Duration.ofSeconds(30));
        assertEquals(2, result.exitCode(), result.output());
        assertThat(result.output()).contains("syntax error");
        assertEquals(new GuestCommandResult("still here", 0), vm.exec("echo still here", BOOT_AND_RUN));
    }

    @Test
    void execGivesTheCommandNoConsoleInput() throws Exception {
        assertEquals(new GuestCommandResult("", 0), vm.exec("cat", BOOT_AND_RUN));
    }

    @Test
    void execRejectsNewlinesAndControlCharacters() {
        IllegalArgumentException newline = assertThrows(IllegalArgumentException.class,
                () -> vm.exec("echo a\necho b", Duration.ofSeconds(1)));
        assertThat(newline.getMessage()).contains("one line");
        assertThrows(IllegalArgumentException.class, () -> vm.exec("echo a\tb", Duration.ofSeconds(1)));
        assertThrows(IllegalArgumentException.class, () -> vm.exec("echo " + "x".repeat(MicroVm.MAX_COMMAND_BYTES),
                Duration.ofSeconds(1)));
    }

    @Test
    void execThatOutlivesItsTimeoutIsInterruptedAndTheNextOneWorks() throws Exception {
        vm.exec("true", BOOT_AND_RUN);
        TimeoutException timeout = assertThrows(TimeoutException.class, () -> vm.exec("sleep 30", Duration.ofSeconds(1)));
        assertThat(timeout.getMessage()).contains("sleep 30");
        assertEquals(new GuestCommandResult("after", 0), vm.exec("echo after", BOOT_AND_RUN));
    }

    @Test
    void concurrentExecCallsOnOneVmEachGetTheirOwnAnswer() throws Exception {
        vm.exec("true", BOOT_AND_RUN);
        CompletableFuture<GuestCommandResult> a = CompletableFuture.supplyAsync(() -> execUnchecked(vm, "echo $((20+1))"));
        CompletableFuture<GuestCommandResult> b = CompletableFuture.supplyAsync(() -> execUnchecked(vm, "echo $((40+2)); false"));
        assertEquals(new GuestCommandResult("21", 0), a.get());
        assertEquals(new GuestCommandResult("42", 1), b.get());
    }

    @Test
    void consoleStreamsWhatTheGuestPrints() throws Exception {
        assertTrue(vm.awaitOutput("ember-guest: userspace up", BOOT_AND_RUN));
        InputStream out = vm.console().guestOutput();
        byte[] head = out.readNBytes(vm.console().text().indexOf("ember-guest: userspace up") + 25);
        assertThat(new String(head, StandardCharsets.UTF_8)).endsWith("ember-guest: userspace up");
    }

    @Test
    void typedConsoleInputReachesTheShell() throws Exception {
        vm.exec("true", BOOT_AND_RUN);
        long from = vm.console().position();
        vm.console().write("echo typed-$((6*7))\n");
        assertThat(vm.console().awaitOutput("typed-42", from, BOOT_AND_RUN)).isPositive();
    }

    @Test
    void pausedVmRunsNothingUntilResumed() throws Exception {
        vm.exec("true", BOOT_AND_RUN);
        vm.pause();
        try {
            assertTrue(vm.isPaused());
            long from = vm.console().position();
            vm.console().write("echo paused-$((2+3))\n");
            assertEquals(-1, vm.console().awaitOutput("paused-5", from, Duration.ofMillis(500)));
            vm.resume();
            assertThat(vm.console().awaitOutput("paused-5", from, BOOT_AND_RUN)).isPositive();
        } finally {
            vm.resume();
        }
        assertEquals(new GuestCommandResult("resumed", 0), vm.exec("echo resumed", BOOT_AND_RUN));
    }

    @Test
    void killStopsAPausedVm() throws Exception {
        try (MicroVm own = defaultGuest("paused-kill").build()) {
            own.start();
            assertTrue(own.awaitOutput("Linux version", BOOT_AND_RUN));
            own.pause();
            own.kill();
            assertEquals(OptionalInt.of(MicroVm.KILLED_STATUS), own.exitStatus());
        }
    }

    @Test
    void twoVmsRunConcurrentlyWithTheirOwnState() throws Exception {
        try (MicroVm other = defaultGuest("other").build()) {
            other.start();
            CompletableFuture<GuestCommandResult> here = CompletableFuture.supplyAsync(
                    () -> execUnchecked(vm, "echo shared > /tmp/who; cat /tmp/who"));
            CompletableFuture<GuestCommandResult> there = CompletableFuture.supplyAsync(
                    () -> execUnchecked(other, "echo other > /tmp/who; cat /tmp/who"));
            assertEquals(new GuestCommandResult("shared", 0), here.get());
            assertEquals(new GuestCommandResult("other", 0), there.get());
            assertEquals("other", other.exec("cat /tmp/who", BOOT_AND_RUN).output());
            assertEquals("shared", vm.exec("cat /tmp/who", BOOT_AND_RUN).output());
            assertThat(other.machine().memory()).isNotSameAs(vm.machine().memory());
        }
        assertEquals(MicroVm.State.RUNNING, vm.state());
    }

    @Test
    void missingKernelFailsInBuildWhileAnotherVmRuns() throws Exception {
        vm.exec("true", BOOT_AND_RUN);
        BootException e = assertThrows(BootException.class, () -> MicroVm.builder()
                .bootSource(new BootSourceConfig(GUEST.resolve("no-such-Image"), null, null))
                .build());
        assertEquals("kernel " + GUEST.resolve("no-such-Image") + " does not exist", e.getMessage());
        assertEquals(new GuestCommandResult("alive", 0), vm.exec("echo alive", BOOT_AND_RUN));
    }

    @Test
    void vcpuInternalErrorStopsOnlyItsOwnVm(@TempDir Path tmp) throws Exception {
        vm.exec("true", BOOT_AND_RUN);
        Path kernel = tmp.resolve("poke.elf");
        Files.write(kernel, Assembler.assembleElf("""
                _start:
                    li t0, 0x20000000
                    sw zero, 0(t0)
                hang:
                    j hang
                """));
        try (MicroVm broken = MicroVm.builder().name("broken")
                .bootSource(new BootSourceConfig(kernel, null, null))
                .machineConfig(new MachineConfig(1, 16, false, false))
                .log(LogSink.discard())
                .build()) {
            broken.machine().mapDevice(0x2000_0000L, new MmioDevice() {
                @Override public long size() { return 0x1000; }
                @Override public long read(long offset, int width) { return 0; }
                @Override public void write(long offset, int width, long value) {
                    throw new IllegalStateException("device bug for the test");
                }
            });
            broken.start();
            assertEquals(OptionalInt.of(1), broken.awaitExit(BOOT_AND_RUN));
            assertEquals(MicroVm.State.EXITED, broken.state());
            assertThat(broken.errorOutput()).startsWith("ember: vCPU 0 stopped by an internal error")
                    .contains("device bug for the test");
            assertThrows(IllegalStateException.class, () -> broken.exec("true", Duration.ofSeconds(1)));
        }
        assertEquals(new GuestCommandResult("unharmed", 0), vm.exec("echo unharmed", BOOT_AND_RUN));
        assertThat(vm.errorOutput()).isEmpty();
    }

    @Test
    void shutdownPowersTheGuestOffWithStatus0() throws Exception {
        try (MicroVm own = defaultGuest("shutdown").build()) {
            own.start();
            assertEquals(0, own.shutdown(BOOT_AND_RUN));
            assertEquals(OptionalInt.of(0), own.exitStatus());
            assertEquals(MicroVm.State.EXITED, own.state());
        }
    }

    @Test
    void killStopsARunningVmWithTheKilledStatus() throws Exception {
        try (MicroVm own = defaultGuest("kill").build()) {
            own.start();
            own.kill();
            assertEquals(OptionalInt.of(MicroVm.KILLED_STATUS), own.exitStatus());
        }
    }

    @Test
    void closeReleasesTheVmAndEndsItsConsoleStream() throws Exception {
        MicroVm own = defaultGuest("close").build();
        own.start();
        InputStream out = own.console().guestOutput();
        own.close();
        assertEquals(MicroVm.State.CLOSED, own.state());
        out.readAllBytes();
        assertEquals(-1, out.read());
        assertThrows(IllegalStateException.class, own::start);
    }

    @Test
    void buildWithoutBootSourceSaysWhatIsMissing() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MicroVm.builder().build());
        assertThat(e.getMessage()).startsWith("no boot source");
    }

    @Test
    void buildRejectsTwoRootDrives(@TempDir Path tmp) {
        MicroVmBuilder builder = defaultGuest("roots")
                .drive(new DriveConfig("a", tmp.resolve("a"), true, false))
                .drive(new DriveConfig("b", tmp.resolve("b"), true, false));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, builder::build);
        assertEquals("only one drive can be the root device", e.getMessage());
    }

    private static GuestCommandResult execUnchecked(MicroVm target, String command) {
        try {
            return target.exec(command, BOOT_AND_RUN);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
