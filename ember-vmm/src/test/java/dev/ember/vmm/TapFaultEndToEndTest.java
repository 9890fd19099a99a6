package dev.ember.vmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ember.config.BootSourceConfig;
import dev.ember.config.MachineConfig;
import dev.ember.config.NetworkInterfaceConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A TAP interface deleted on the host while the guest uses it (issue 12, injected host faults):
 * the guest sees its link go down (VIRTIO_NET_S_LINK_UP cleared with a configuration change,
 * VIRTIO 1.2 §5.1.4), what it sends afterwards is dropped, and the VM runs on and closes
 * cleanly. Needs root and {@code /dev/net/tun}; skipped with a message otherwise.
 */
class TapFaultEndToEndTest {

    private static final Path GUEST = Path.of(System.getProperty("ember.guest.dir", "guest/out"));
    private static final Duration T = Duration.ofSeconds(120);
    private static final String TAP = "emberfault0";
    private static final String HOST_IP = "10.213.79.1";
    private static final String GUEST_IP = "10.213.79.2";

    @Test
    void deletingTheTapTakesTheGuestsLinkDownAndTheVmRunsOn() throws Exception {
        assumeTrue(HostFaults.isRoot() && Files.exists(Path.of("/dev/net/tun")),
                "needs root and /dev/net/tun to create a TAP interface");
        HostFaults.run("ip", "link", "del", TAP);   // a leftover from an interrupted run
        HostFaults.Result created = HostFaults.run("ip", "tuntap", "add", "dev", TAP, "mode", "tap");
        assumeTrue(created.ok(), "this host cannot create a TAP interface: " + created.output().strip());
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        try {
            HostFaults.must("ip", "addr", "add", HOST_IP + "/24", "dev", TAP);
            HostFaults.must("ip", "link", "set", TAP, "up");
            try (MicroVm vm = MicroVm.builder()
                    .name("tap-fault")
                    .bootSource(new BootSourceConfig(GUEST.resolve("Image"), GUEST.resolve("initramfs.cpio"), null))
                    .machineConfig(new MachineConfig(1, 128, false, false))
                    .networkInterface(new NetworkInterfaceConfig("eth0", "02:00:00:00:79:02", TAP, List.of()))
                    .guestAgent(true)
                    .log(dev.ember.log.LogSink.stream(new PrintStream(errors, true)))
                    .build()) {
                vm.start();
                vm.agent().awaitReady(T);
                assertEquals("1\n", sh(vm, "ifconfig eth0 " + GUEST_IP + " netmask 255.255.255.0 up;"
                        + " for i in 1 2 3; do ping -c 1 -W 5 " + HOST_IP + " >/dev/null && break; done &&"
                        + " cat /sys/class/net/eth0/carrier").stdoutText());

                HostFaults.must("ip", "link", "del", TAP);
                // The device tells the driver within the tap reader's poll interval.
                assertEquals("0\n", sh(vm, "for i in $(seq 300); do [ $(cat /sys/class/net/eth0/carrier) = 0 ] && break;"
                        + " sleep 0.1; done; cat /sys/class/net/eth0/carrier").stdoutText());
                ExecResult ping = sh(vm, "ping -c 1 -W 1 " + HOST_IP);
                assertThat(ping.exitCode()).as(ping.toString()).isNotZero();
                assertEquals("alive\n", sh(vm, "echo alive").stdoutText());
            }
        } finally {
            HostFaults.run("ip", "link", "del", TAP);
        }
        assertThat(errors.toString(StandardCharsets.UTF_8))
                .contains("ember: tap " + TAP + ": receive stopped: interface gone");
    }

    private static ExecResult sh(MicroVm vm, String command) throws Exception {
        return vm.exec(List.of("/bin/sh", "-c", command), null, T);
    }
}
