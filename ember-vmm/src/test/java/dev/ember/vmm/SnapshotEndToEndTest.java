package dev.ember.vmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ember.log.LogSink;
import dev.ember.snapshot.SnapshotException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import dev.ember.config.EngineConfig;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Snapshots a booted two-vCPU guest in the middle of a computation that keeps its state in
 * guest RAM (a shell loop and a file in the initramfs's tmpfs), and restores it in this JVM:
 * twice from the same files, so two VMs run the rest of the computation independently, each
 * reaching the same result the uninterrupted guest would.
 */
class SnapshotEndToEndTest {

    @TempDir
    Path tmp;

    private static VmConfig guest() {
        Path dir = Path.of(System.getProperty("ember.guest.dir", "guest/out"));
        return new VmConfig(2, 128L << 20, dir.resolve("Image"), dir.resolve("initramfs.cpio"),
                VmConfig.DEFAULT_CMDLINE, null, null);
    }

    /** Both engines: the interpreter, and the translator at a low threshold so the guest runs translated. */
    static Stream<EngineConfig> engines() {
        return Stream.of(EngineConfig.INTERPRETER, EngineConfig.jit(64));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("engines")
    void pausedGuestRestoresTwiceAndEachCopyFinishesItsWork(EngineConfig engine) throws Exception {
        Path state = tmp.resolve("vm.state");
        Path mem = tmp.resolve("vm.mem");
        TextConsole console = new TextConsole();
        // Each step appends a line with a running sum to a file; the end prints the file's
        // checksum, which depends on every step having run once, in order.
        String work = "s=0; i=0; while [ $i -lt 1000 ]; do i=$((i+1)); s=$(( (s*31 + i) % 1000003 )); echo $i $s >> /tmp/log; [ $i = 40 ] && echo \"mid\"\"way\";"
                + " done; echo \"res\"\"ult-$s-$(md5sum < /tmp/log | cut -c1-8)\"";
        try (VirtualMachine vm = new VirtualMachine(guest().withEngine(engine), console, LogSink.stream(new PrintStream(console, true)))) {
            CompletableFuture<Integer> run = TextConsole.runInBackground(vm);
            int at = console.awaitPrompt();
            TextConsole.type(vm, "echo \"sta\"\"rted\"; " + work);
            // Snapshot a twenty-fifth of the way through, however fast this machine is.
            console.await("midway", at, 60_000);
            assertThatThrownBy(() -> vm.snapshot(state, mem)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("not paused");
            vm.pause();
            VirtualMachine.SnapshotInfo info = vm.snapshot(state, mem);
            assertThat(info.memoryBytes()).isEqualTo(128L << 20);
            assertThat(Files.size(mem)).isEqualTo((128L << 20) + dev.ember.snapshot.MemoryFile.TRAILER);
            assertThat(console.text()).doesNotContain("result-");
            // The original finishes too: its result is what both copies must print.
            vm.resume();
            String expected = result(console, at);
            TextConsole.type(vm, "poweroff");
            assertEquals(0, run.get());

            for (int copy = 0; copy < 2; copy++) {
                TextConsole c = new TextConsole();
                try (VirtualMachine restored = VirtualMachine.restore(state, mem, cfg -> cfg.named("copy" + c.hashCode()), c,
                        LogSink.stream(new PrintStream(c, true)), null)) {
                    CompletableFuture<Integer> r = TextConsole.runInBackground(restored);
                    assertThat(result(c, 0)).isEqualTo(expected);
                    TextConsole.type(restored, "poweroff");
                    assertEquals(0, r.get());
                }
            }
        }
    }

    /** {@return the rest of the line after the next "result-"} */
    private static String result(TextConsole console, int from) throws InterruptedException {
        int start = console.await("result-", from, 120_000);
        int end = console.await("\n", start, 10_000);
        return console.text().substring(start, end).trim();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("engines")
    void aDiffSnapshotRebasedOnItsBaseIsTheFullSnapshotOfTheSameMomentAndTimeOnDiskIsInvisible(EngineConfig engine)
            throws Exception {
        VmConfig config = new VmConfig(1, 64L << 20, guest().kernel(), guest().initrd(), VmConfig.DEFAULT_CMDLINE, null, null)
                .withEngine(engine);
        TextConsole console = new TextConsole();
        Path baseMem = tmp.resolve("base.mem");
        Path diffState = tmp.resolve("diff.state");
        Path diffMem = tmp.resolve("diff.mem");
        Path fullMem = tmp.resolve("full.mem");
        try (VirtualMachine vm = new VirtualMachine(config, console, LogSink.stream(new PrintStream(console, true)))) {
            vm.trackDirtyPages();
            CompletableFuture<Integer> run = TextConsole.runInBackground(vm);
            int at = console.awaitPrompt();
            vm.pause();
            VirtualMachine.SnapshotInfo base = vm.snapshot(tmp.resolve("base.state"), baseMem);
            vm.resume();
            TextConsole.type(vm, "seq 1 3000 > /tmp/numbers; echo \"wri\"\"tten\"");
            console.await("written", at, 60_000);
            vm.pause();
            long guestTimeAtSnapshot = vm.harts()[0].time();
            VirtualMachine.SnapshotInfo diff = vm.snapshot(diffState, diffMem, true);
            vm.snapshot(tmp.resolve("full.state"), fullMem);
            assertThat(diff.memoryPagesWritten()).isPositive().isLessThan(base.memoryPagesWritten());
            Path rebased = Files.copy(baseMem, tmp.resolve("rebased.mem"));
            dev.ember.snapshot.MemoryFile.rebase(rebased, diffMem);
            // Guest memory is the same byte for byte; the trailers name different snapshots.
            byte[] a = Files.readAllBytes(rebased);
            byte[] b = Files.readAllBytes(fullMem);
            assertThat(java.util.Arrays.equals(a, 0, 64 << 20, b, 0, 64 << 20)).isTrue();
            vm.finish(0);
            run.get();
            Thread.sleep(1500);   // time on disk, which the guest must not see
            TextConsole c = new TextConsole();
            try (VirtualMachine restored = VirtualMachine.restore(diffState, rebased, null, c, LogSink.stream(new PrintStream(c, true)), null)) {
                // Guest time goes on from the snapshot: never backwards, and without the 1.5 s.
                long restoredTime = restored.harts()[0].time();
                assertThat(restoredTime).isGreaterThanOrEqualTo(guestTimeAtSnapshot);
                assertThat(restoredTime - guestTimeAtSnapshot).isLessThan(MachineClock.FREQUENCY_HZ);
                CompletableFuture<Integer> r = TextConsole.runInBackground(restored);
                TextConsole.type(restored, "tail -1 /tmp/numbers; poweroff");
                c.await("3000", 0, 60_000);
                assertThat(r.get()).isZero();
            }
        }
    }

    @Test
    void aDiffSnapshotNeedsDirtyPageTracking() throws Exception {
        TextConsole console = new TextConsole();
        try (VirtualMachine vm = new VirtualMachine(guest(), console, LogSink.stream(new PrintStream(console, true)))) {
            CompletableFuture<Integer> run = TextConsole.runInBackground(vm);
            console.awaitPrompt();
            vm.pause();
            assertThatThrownBy(() -> vm.snapshot(tmp.resolve("s"), tmp.resolve("m"), true))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("dirty-page tracking");
            assertThat(tmp.resolve("s")).doesNotExist();
            vm.finish(0);
            run.get();
        }
    }

    @Test
    void aCorruptedStateFileIsRefusedBeforeAnythingIsBuilt() throws Exception {
        Path state = tmp.resolve("bad.state");
        Files.write(state, new byte[] {'E', 'M', 'B', 'E', 'R', 'V', 'M', 0, 1, 0, 0, 0});
        assertThatThrownBy(() -> VirtualMachine.restore(state, tmp.resolve("none.mem"), null, new TextConsole(),
                LogSink.stderr(), null)).isInstanceOf(SnapshotException.class).hasMessageContaining("truncated");
    }
}
