package dev.ember.vmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ember.config.BalloonConfig;
import dev.ember.config.DeviceConfig;
import dev.ember.config.DevicesConfig;
import dev.ember.config.DriveConfig;
import dev.ember.config.EngineConfig;
import dev.ember.config.EntropyConfig;
import dev.ember.config.KeyboardConfig;
import dev.ember.config.NetworkInterfaceConfig;
import dev.ember.config.ShareConfig;
import dev.ember.config.VirtioConsoleConfig;
import dev.ember.config.VsockConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A bare-metal driver that breaks the virtqueue rules on every virtio device at once:
 * {@code baremetal/hostile_virtio.c} posts looping, out-of-RAM, oversized and self-overlapping
 * chains, out-of-table heads and a runaway available index on the request queue of a block,
 * network, vsock, entropy, balloon, keyboard, virtio-fs and console device, and checks after
 * each that the device set DEVICE_NEEDS_RESET or returned the chain (a block read past the
 * disk's end with an error status), and that after a reset a well-formed request works again
 * (the program's header lists the checks). Then it floods the network device with a million
 * frames of {@code baremetal/frames.h}'s mix of valid and garbage traffic, sixteen per
 * notification, straight at the user-mode network stack, and checks that the stack still
 * answers an ICMP echo to the gateway and a DNS question. Meanwhile a {@link Bystander} VM in
 * the same JVM runs checksum jobs through its guest agent, all of which must come back right.
 *
 * <p>Host bound: the hostile VM has {@value #GUEST_MIB} MiB of guest RAM, mapped anonymous and
 * touched by the guest at will, so the process's resident set may grow by that much plus
 * {@value #OVERHEAD_MIB} MiB for the devices, their threads and the translator, and the heap
 * after a GC by at most {@value #HEAP_MIB} MiB. The bystander is booted before the baseline.
 */
class HostileDriverTest {

    static final int GUEST_MIB = 64;
    static final int OVERHEAD_MIB = 96;
    static final int HEAP_MIB = 48;
    private static final long MIB = 1L << 20;
    private static final Duration TIMEOUT = Duration.ofSeconds(400);

    @Test
    void everyDeviceSurvivesHostileChainsAndWorksAfterAReset(@TempDir Path tmp) throws Exception {
        Path disk = tmp.resolve("disk.img");
        byte[] image = new byte[1 << 20];
        System.arraycopy("EMBERHST".getBytes(StandardCharsets.US_ASCII), 0, image, 0, 8);
        Files.write(disk, image);
        Path share = Files.createDirectories(tmp.resolve("share"));
        Files.writeString(share.resolve("hello"), "hello\n");
        // Slot 7 down to 0, the order the program drives them in; the console first, so its
        // oversized output is behind us when the later devices report.
        List<DeviceConfig> devices = List.of(
                new VirtioConsoleConfig(),
                new DriveConfig("disk", disk, false, false),
                new NetworkInterfaceConfig("eth0", null, null, List.of()),
                new VsockConfig(3, tmp.resolve("v.sock")),
                new EntropyConfig(null),
                new BalloonConfig(0, false, 0),
                new KeyboardConfig(),
                new ShareConfig("share", share, false));
        BareMetalProgram program = BareMetalProgram.compile("hostile_virtio");
        try (Bystander bystander = new Bystander()) {
            HostFootprint baseline = HostFootprint.now();
            long cpuBefore = HostFootprint.processCpuNanos();
            bystander.start();
            BareMetalProgram.Run run;
            HostFootprint peak;
            try (HostFootprint.Watch watch = new HostFootprint.Watch(200)) {
                run = program.run(tmp, EngineConfig.jit(8), 1, GUEST_MIB * MIB, new DevicesConfig(devices, null),
                        TIMEOUT, vm -> { });
                watch.close();
                peak = watch.peak();
            }
            Bystander.Jobs jobs = bystander.stop();
            HostFootprint growth = peak.minus(baseline);
            System.out.println(run.describe());
            String console = run.console().replaceAll("[^\\x20-\\x7e\\n]", "");
            console.lines().filter(l -> l.contains("slot") || l.startsWith("hostile") || l.startsWith("flood"))
                    .forEach(System.out::println);
            System.out.println("bystander: " + jobs.describe());
            System.out.println("host growth at peak: " + growth.describe() + "; process CPU "
                    + (HostFootprint.processCpuNanos() - cpuBefore) / 1_000_000 + " ms");

            assertEquals(0, run.status(), run::describe);
            assertThat(console).contains("hostile-virtio: devices 8 all recovered")
                    .contains("flood: 0xf4240 frames sent").contains("echo and dns answered after");
            // The console's well-formed request went through before the first hostile chain and after each reset.
            assertEquals(1 + 8, console.split("\\[console ok]", -1).length - 1, console);
            assertThat(jobs.failures()).isEmpty();
            assertThat(jobs.latenciesNanos()).isNotEmpty();
            assertThat(growth.rssBytes()).isLessThan((GUEST_MIB + OVERHEAD_MIB) * MIB);
            assertThat(growth.heapBytes()).isLessThan(HEAP_MIB * MIB);
        }
    }
}
