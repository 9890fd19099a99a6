package dev.ember.vmm;

import dev.ember.log.LogSink;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.agent.AgentException;
import dev.ember.agent.GuestAgent;
import dev.ember.agent.MountSpec;
import dev.ember.agent.ProcessSpec;
import dev.ember.config.BootSourceConfig;
import dev.ember.config.MachineConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/**
 * The container path without virtio-fs: the default initramfs booted with
 * {@code rdinit=/usr/bin/ember-agent}, so the agent is PID 1; the host assembles a root in a
 * tmpfs with MOUNT requests and an exec, and runs a process chrooted into it.
 */
class AgentAsInitEndToEndTest {

    private static final Path GUEST = Path.of(System.getProperty("ember.guest.dir", "guest/out"));
    private static final Duration T = Duration.ofSeconds(120);
    private static final String ROOT = "/run/ember/rootfs";

    @Test
    void agentAsPid1MountsARootAndRunsAProcessChrootedIntoIt() throws Exception {
        try (MicroVm vm = MicroVm.builder()
                .name("agent-init")
                .bootSource(new BootSourceConfig(GUEST.resolve("Image"), GUEST.resolve("initramfs.cpio"),
                        "console=ttyS0 rdinit=/usr/bin/ember-agent"))
                .machineConfig(new MachineConfig(1, 128, false, false))
                .guestAgent(true)
                .log(LogSink.discard())
                .build()) {
            vm.start();
            assertTrue(vm.awaitOutput("ember-agent: ready", T), vm.console().text());
            GuestAgent agent = vm.agent();
            agent.awaitReady(T);

            agent.mount(MountSpec.of("tmpfs", ROOT, "size=16m", 0));
            ExecResult copy = vm.exec("mkdir " + ROOT + "/bin && cp /bin/busybox " + ROOT + "/bin/"
                    + " && for a in sh ls cat hostname touch; do ln -s busybox " + ROOT + "/bin/$a; done", null, T);
            assertEquals(0, copy.exitCode(), copy.stderrText());
            agent.mount(MountSpec.of("proc", ROOT + "/proc", "", MountSpec.MS_NOSUID | MountSpec.MS_NODEV | MountSpec.MS_NOEXEC));
            agent.mount(MountSpec.bind(ROOT + "/bin", ROOT + "/ro", true));
            agent.hostname("box");

            ProcessSpec inside = ProcessSpec.builder("sh", "-c", "ls /; hostname; cat /proc/1/comm; touch /ro/x")
                    .root(ROOT).env(List.of("PATH=/bin")).build();
            ExecResult r = vm.exec(inside, null, T);
            assertEquals("bin\nproc\nro\nbox\nember-agent\n", r.stdoutText());
            assertThat(r.stderrText()).contains("Read-only file system");
            assertEquals(1, r.exitCode());

            assertEquals(OptionalInt.of(0).getAsInt(), vm.shutdown(T));
        }
    }

    @Test
    void aFailedMountReportsTheGuestsReason() throws Exception {
        try (MicroVm vm = MicroVm.builder()
                .bootSource(new BootSourceConfig(GUEST.resolve("Image"), GUEST.resolve("initramfs.cpio"),
                        "console=ttyS0 rdinit=/usr/bin/ember-agent"))
                .guestAgent(true)
                .log(LogSink.discard())
                .build()) {
            vm.start();
            vm.agent().awaitReady(T);
            AgentException e = org.junit.jupiter.api.Assertions.assertThrows(AgentException.class,
                    () -> vm.agent().mount(MountSpec.of("no-such-fs", "/mnt/x", "", 0)));
            assertThat(e.getMessage()).contains("/mnt/x").contains("No such device");
        }
    }

    @Test
    void closingAVmWhoseGuestReadsNoConsoleEndsItsConsoleInputThread() throws Exception {
        MicroVm vm = MicroVm.builder()
                .name("no-console-reader")
                .bootSource(new BootSourceConfig(GUEST.resolve("Image"), GUEST.resolve("initramfs.cpio"),
                        "console=ttyS0 rdinit=/usr/bin/ember-agent"))
                .guestAgent(true)
                .log(LogSink.discard())
                .build();
        try (vm) {
            vm.start();
            vm.agent().awaitReady(T);
            // Nothing in the guest reads ttyS0: the UART's input buffer fills and stays full.
            vm.console().write(("typed at a console nobody reads " + "x".repeat(67) + "\n").repeat(
                    2 * dev.ember.devices.serial.Uart16550.INPUT_CAPACITY / 100));
        }
        Thread input = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("ember-console-in@no-console-reader")).findFirst().orElse(null);
        if (input != null) {
            input.join(10_000);
            assertFalse(input.isAlive(), "the console input thread of a closed VM still runs");
        }
    }
}
