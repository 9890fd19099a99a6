package dev.ember.vmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ember.agent.ProcessSpec;
import dev.ember.config.DriveConfig;
import dev.ember.config.NetworkInterfaceConfig;
import dev.ember.config.RateLimiterConfig;
import dev.ember.config.TokenBucketConfig;
import dev.ember.riscv.testing.Assembler;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile programs in real Linux guests, each run while a {@link Bystander} VM in the same JVM
 * runs checksum jobs through its guest agent, all of which must come back right. The program,
 * {@code guestprograms/hostile-guest.c}, is compiled by the test (static, riscv64) and sent into
 * the guest through its agent, so the default guest's image does not carry it.
 *
 * <ul>
 *   <li>A flood of Ethernet frames through AF_PACKET at the user-mode network stack,
 *       {@code baremetal/frames.h}'s mix of valid and garbage frames (ARP, IPv4 with options,
 *       fragments and broken lengths, TCP, UDP to fresh ports, DHCP, DNS, ICMP, unknown
 *       ethertypes): afterwards a TCP connection from the guest to a host port still answers.
 *       Through the guest kernel a frame costs about 23,000 guest instructions, so CI sends
 *       {@value #FLOOD_FRAMES} this way ({@code -Dember.hostile.floodFrames=1000000} for the
 *       full million); {@link HostileDriverTest} sends the million straight into the device.</li>
 *   <li>A fork bomb whose processes take memory without end, as an unprivileged user under
 *       {@code RLIMIT_NPROC} {@value #BOMB_NPROC}: the guest's fork limit or its OOM killer stops
 *       it (the test asserts that one of them acted and reports both), no process of it is left
 *       after a {@code kill -9 -1}, and the guest answers afterwards.</li>
 *   <li>A guest that writes its disk as fast as it can, without and with a rate limiter on that
 *       disk: the bystander's round trips are reported for each, and for an idle neighbour.</li>
 * </ul>
 *
 * <p>Host bound, per hostile VM: its guest RAM ({@value #GUEST_MIB} MiB, {@value #BOMB_GUEST_MIB}
 * MiB for the fork bomb) is anonymous memory the guest may touch in full, so the process's
 * resident set may grow by that much plus {@value #OVERHEAD_MIB} MiB (devices, network flows,
 * translator, the VM's threads); the heap
 * in use after a GC by at most {@value #HEAP_MIB} MiB. Growth is measured from a baseline taken
 * after the hostile VM booted, so the bound covers what the hostile program makes the host do.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileGuestProgramsTest {

    static final int GUEST_MIB = 128;
    static final int OVERHEAD_MIB = 64;
    static final int HEAP_MIB = 64;
    static final int FLOOD_FRAMES = 5_000;
    static final int BOMB_NPROC = 32;
    static final int BOMB_MIB = 4;
    static final int BOMB_GUEST_MIB = 64;
    static final int BOMB_SECONDS = 20;
    static final int WRITE_SECONDS = 10;
    static final int LIMIT_MIB_PER_S = 4;
    private static final long MIB = 1L << 20;
    private static final Duration T = Duration.ofSeconds(120);
    private static final String PROGRAM = "/tmp/hostile-guest";

    private final int floodFrames = Integer.getInteger("ember.hostile.floodFrames", FLOOD_FRAMES);
    private Bystander bystander;

    @TempDir
    Path tmp;

    @BeforeAll
    void bootBystander() throws Exception {
        bystander = new Bystander();
    }

    @AfterAll
    void closeBystander() {
        bystander.close();
    }

    private static byte[] program() throws IOException {
        try (InputStream in = HostileGuestProgramsTest.class.getResourceAsStream("/guestprograms/hostile-guest.c")) {
            return Assembler.compileLinuxProgram(BareMetalProgram.expand(new String(in.readAllBytes(), StandardCharsets.UTF_8)));
        }
    }

    private MicroVm boot(String name, UnaryOperator<MicroVmBuilder> devices) throws Exception {
        return boot(name, GUEST_MIB, devices);
    }

    private MicroVm boot(String name, int memoryMib, UnaryOperator<MicroVmBuilder> devices) throws Exception {
        MicroVm vm = AgentGuest.boot(devices.apply(AgentGuest.builder(name, memoryMib)), T);
        ExecResult put = vm.exec("cat > " + PROGRAM + " && chmod 755 " + PROGRAM, program(), T);
        assertEquals(0, put.exitCode(), put.stderrText());
        return vm;
    }

    /** What the hostile program did, the bystander saw, and the host grew by. */
    private record Outcome(ExecResult result, Bystander.Jobs jobs, HostFootprint growth, long millis, int guestMib) {

        void assertBounded(String what) {
            System.out.printf("%s: %d ms; %s%nbystander: %s%nhost growth at peak: %s%n", what, millis,
                    result.stdoutText().strip(), jobs.describe(), growth.describe());
            assertThat(jobs.failures()).isEmpty();
            assertThat(jobs.latenciesNanos()).isNotEmpty();
            assertThat(growth.rssBytes()).isLessThan((guestMib + OVERHEAD_MIB) * MIB);
            assertThat(growth.heapBytes()).isLessThan(HEAP_MIB * MIB);
        }
    }

    /** Runs {@code spec} in {@code vm} while the bystander works and the host is watched. */
    private Outcome hostile(MicroVm vm, ProcessSpec spec, Duration timeout) throws Exception {
        HostFootprint baseline = HostFootprint.now();
        bystander.start();
        long start = System.nanoTime();
        ExecResult result;
        HostFootprint peak;
        try (HostFootprint.Watch watch = new HostFootprint.Watch(200)) {
            result = vm.exec(spec, null, timeout);
            watch.close();
            peak = watch.peak();
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        long guestMib = vm.machine().config().memoryBytes() / MIB;
        return new Outcome(result, bystander.stop(), peak.minus(baseline), millis, (int) guestMib);
    }

    /**
     * A fork bomb as uid 1000 under {@code RLIMIT_NPROC} {@value #BOMB_NPROC}, every process but
     * the first taking {@value #BOMB_MIB} MiB more each round, without end: the fork limit
     * refuses forks and the OOM killer kills, and afterwards the guest answers as before.
     */
    @Test
    void aForkBombThatEatsMemoryIsStoppedByTheGuestsOwnLimits() throws Exception {
        // The smallest guest the default image runs well in, so that the bomb exhausts it soon.
        try (MicroVm vm = boot("bomb", BOMB_GUEST_MIB, b -> b)) {
            ProcessSpec bomb = ProcessSpec.builder(PROGRAM, "bomb", Integer.toString(BOMB_SECONDS), Integer.toString(BOMB_MIB))
                    .user(1000, 1000)
                    .rlimit(new ProcessSpec.Rlimit("RLIMIT_NPROC", BOMB_NPROC, BOMB_NPROC))
                    .build();
            Outcome o = hostile(vm, bomb, Duration.ofMinutes(3));
            o.assertBounded("fork bomb for " + BOMB_SECONDS + " s");
            // The first process ends by itself at the deadline, or is the OOM killer's choice.
            assertThat(o.result().exitCode()).isIn(0, 137);

            // What is left of the bomb goes, and the guest answers as before.
            vm.exec(ProcessSpec.builder("/bin/sh", "-c", "kill -9 -1").user(1000, 1000).build(), null, T);
            ExecResult after = vm.exec("dmesg | grep -c 'Killed process'; i=0;"
                    + " while [ $(ps -o user | grep -c '^1000') != 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done;"
                    + " ps -o user | grep -c '^1000'; echo alive", null, T);
            System.out.println("bomb aftermath (OOM kills, uid 1000 processes left): " + after.stdoutText().replace('\n', ' '));
            String[] lines = after.stdoutText().split("\n");
            Matcher refused = Pattern.compile("(\\d+) refused").matcher(o.result().stdoutText());
            long oomKills = Long.parseLong(lines[0].trim());
            long forksRefused = refused.find() ? Long.parseLong(refused.group(1)) : 0;
            assertThat(oomKills + forksRefused).as("the OOM killer or the fork limit acted").isPositive();
            assertEquals("0", lines[1].trim(), "no process of the bomb is left");
            assertEquals("alive", lines[2]);
        }
    }

    /**
     * A guest writing its disk flat out beside the bystander, for {@value #WRITE_SECONDS} s
     * without a rate limiter and {@value #WRITE_SECONDS} s with one ({@value #LIMIT_MIB_PER_S}
     * MiB/s), after {@value #WRITE_SECONDS} s of the bystander alone: the round trips of each
     * phase are printed, not asserted, as the machine's load decides them.
     */
    @Test
    void aDiskWriterBesideALatencySensitiveNeighbour() throws Exception {
        Path disk = tmp.resolve("scratch.img");
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(64 * MIB);
        }
        try (MicroVm vm = boot("writer", b -> b.drive(new DriveConfig("scratch", disk, false, false)))) {
            bystander.start();
            Thread.sleep(WRITE_SECONDS * 1000L);
            Bystander.Jobs idle = bystander.stop();
            System.out.println("bystander beside an idle VM: " + idle.describe());
            assertThat(idle.failures()).isEmpty();

            ProcessSpec write = ProcessSpec.of(PROGRAM, "write", "/dev/vda", Integer.toString(WRITE_SECONDS));
            Outcome unlimited = hostile(vm, write, Duration.ofMinutes(2));
            unlimited.assertBounded("disk writer, no rate limiter");

            // A bucket of a quarter second's bytes, refilled every 250 ms: one 1 MiB write fits it.
            long bucket = LIMIT_MIB_PER_S * MIB / 4;
            vm.machine().updateDriveRateLimiter("scratch",
                    new RateLimiterConfig(new TokenBucketConfig(bucket, 0, 250), null));
            Outcome limited = hostile(vm, write, Duration.ofMinutes(2));
            limited.assertBounded("disk writer, " + LIMIT_MIB_PER_S + " MiB/s rate limiter");
            assertEquals(0, unlimited.result().exitCode(), unlimited.result().stderrText());
            assertEquals(0, limited.result().exitCode(), limited.result().stderrText());
            long limitedBytes = bytesWritten(limited.result());
            assertThat(limitedBytes).as("the limiter holds the writer to its rate")
                    .isLessThanOrEqualTo((LIMIT_MIB_PER_S * (WRITE_SECONDS + 1) + 1) * MIB);
            assertThat(bytesWritten(unlimited.result())).isPositive();
        }
    }

    private static long bytesWritten(ExecResult r) {
        Matcher m = Pattern.compile("write: (\\d+) bytes").matcher(r.stdoutText());
        assertThat(m.find()).as(r.stdoutText()).isTrue();
        return Long.parseLong(m.group(1));
    }

    @Test
    void aFloodOfFramesLeavesTheNetworkWorking() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             MicroVm vm = boot("flood",
                     b -> b.networkInterface(new NetworkInterfaceConfig("eth0", null, null, List.of())))) {
            Thread answers = Thread.ofPlatform().daemon().name("pong").start(() -> {
                while (!server.isClosed()) {
                    try (Socket s = server.accept()) {
                        s.getInputStream().read(new byte[64]);
                        s.getOutputStream().write("pong\n".getBytes(StandardCharsets.US_ASCII));
                    } catch (IOException e) {
                        // closed at the end of the test, or the guest hung up
                    }
                }
            });
            String ping = "echo ping | nc -w 10 10.0.2.2 " + server.getLocalPort();
            assertEquals("pong\n", vm.exec(ping, null, T).stdoutText(), "the network works before the flood");

            Outcome o = hostile(vm, ProcessSpec.of(PROGRAM, "flood", "eth0", Integer.toString(floodFrames)),
                    Duration.ofMinutes(5));
            o.assertBounded("flood of " + floodFrames + " frames");
            assertEquals(0, o.result().exitCode(), o.result().stderrText());
            assertThat(o.result().stdoutText()).startsWith("flood: " + floodFrames + " sent");
            System.out.println(vm.metrics());

            assertEquals("pong\n", vm.exec(ping, null, T).stdoutText(), "the network works after the flood");
            server.close();
            answers.join(5000);
        }
    }
}
