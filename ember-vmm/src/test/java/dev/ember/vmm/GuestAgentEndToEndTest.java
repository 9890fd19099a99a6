package dev.ember.vmm;

import dev.ember.log.LogSink;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ember.agent.AgentException;
import dev.ember.agent.GuestProcess;
import dev.ember.agent.ProcessSpec;
import dev.ember.config.BootSourceConfig;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The guest agent on the default guest: {@code ember-agent} started by busybox init, reached
 * through a vsock device that {@link MicroVmBuilder#guestAgent} attaches. One VM serves the class.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GuestAgentEndToEndTest {

    private static final Path GUEST = Path.of(System.getProperty("ember.guest.dir", "guest/out"));
    private static final Duration T = Duration.ofSeconds(120);

    private MicroVm vm;

    @BeforeAll
    void boot() throws Exception {
        vm = AgentGuest.boot(AgentGuest.builder("agent", 128), T);
    }

    @AfterAll
    void close() {
        vm.close();
    }

    @Test
    void stdoutAndStderrArriveApart() throws Exception {
        ExecResult r = vm.exec("echo out; echo err >&2; exit 3", null, T);
        assertEquals("out\n", r.stdoutText());
        assertEquals("err\n", r.stderrText());
        assertEquals(3, r.exitCode());
    }

    @Test
    void binaryOutputArrivesByteForByte() throws Exception {
        StringBuilder all = new StringBuilder("printf '");
        for (int b = 0; b < 256; b++) {
            all.append(String.format("\\%03o", b));
        }
        ExecResult r = vm.exec(all.append("'").toString(), null, T);
        byte[] expected = new byte[256];
        for (int b = 0; b < 256; b++) {
            expected[b] = (byte) b;
        }
        assertArrayEquals(expected, r.stdout());
    }

    @Test
    void largeRandomOutputArrivesWhole() throws Exception {
        ExecResult r = vm.exec("head -c 300000 /dev/urandom | tee /tmp/rand | sha256sum | cut -d' ' -f1 >&2; "
                + "cat /tmp/rand", null, T);
        assertEquals(300_000, r.stdout().length);
        assertEquals(sha256(r.stdout()) + "\n", r.stderrText());
    }

    @Test
    void stdinReachesTheProcess() throws Exception {
        byte[] input = new byte[200_000];
        new java.util.Random(7).nextBytes(input);
        ExecResult r = vm.exec(List.of("sha256sum"), input, T);
        assertEquals(sha256(input) + "  -\n", r.stdoutText());
    }

    @Test
    void aMissingProgramExitsWith127AndSaysWhy() throws Exception {
        ExecResult r = vm.exec(List.of("no-such-program"), null, T);
        assertEquals(127, r.exitCode());
        assertThat(r.stderrText()).contains("no-such-program").contains("No such file or directory");
        AgentException e = assertThrows(AgentException.class,
                () -> vm.spawn(ProcessSpec.builder("true").cwd("/no/such/dir").build()));
        assertEquals(126, e.exitCode());
        assertThat(e.getMessage()).contains("chdir /no/such/dir");
    }

    @Test
    void aSignalEndsTheProcessWith128PlusItsNumber() throws Exception {
        try (GuestProcess p = vm.spawn(ProcessSpec.of("sleep", "100"))) {
            p.signal(15);
            assertEquals(128 + 15, p.waitFor(T));
        }
    }

    @Test
    void severalCommandsRunAtOnce() throws Exception {
        // Each sleeps 2 s after the marker file of the previous is seen: serial execution would deadlock
        // on the last one's wait for the others' markers, so the three only finish if they overlap.
        vm.exec("rm -f /tmp/c-*", null, T);
        List<CompletableFuture<ExecResult>> runs = List.of(1, 2, 3).stream()
                .map(i -> CompletableFuture.supplyAsync(() -> execUnchecked(
                        "touch /tmp/c-" + i + "; while [ $(ls /tmp/c-* | wc -l) -lt 3 ]; do sleep 0.1; done; echo " + i)))
                .toList();
        for (int i = 0; i < 3; i++) {
            ExecResult r = runs.get(i).get();
            assertEquals((i + 1) + "\n", r.stdoutText());
        }
    }

    @Test
    void userGroupsAndCwdAreTheSpecs() throws Exception {
        ProcessSpec spec = ProcessSpec.builder("/bin/sh", "-c", "id; pwd")
                .user(1000, 1001).groups(List.of(5, 6)).cwd("/tmp").build();
        ExecResult r = vm.exec(spec, null, T);
        assertEquals("uid=1000 gid=1001 groups=5,6\n/tmp\n", r.stdoutText().replaceAll("\\([^)]*\\)", ""));
    }

    @Test
    void theProcessGetsExactlyTheSpecsEnvironment() throws Exception {
        ProcessSpec spec = ProcessSpec.builder("env").env(List.of("GREETING=hi", "PATH=/usr/bin:/bin")).build();
        assertEquals("GREETING=hi\nPATH=/usr/bin:/bin\n", vm.exec(spec, null, T).stdoutText());
    }

    @Test
    void aTerminalProcessRunsOnAGuestPty() throws Exception {
        try (GuestProcess p = vm.spawn(ProcessSpec.builder("/bin/sh", "-c", "tty; stty size").terminal(30, 100).build())) {
            String out = new String(p.stdout().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.waitFor(T));
            assertThat(out).matches("(?s)/dev/pts/\\d+\r\n30 100\r\n");
            assertEquals(-1, p.stderr().read());
        }
    }

    @Test
    void resizeReachesTheTerminal() throws Exception {
        try (GuestProcess p = vm.spawn(ProcessSpec.builder("/bin/sh", "-c", "read x; stty size").terminal(24, 80).build())) {
            p.resize(50, 132);
            p.stdin().write("go\n".getBytes(StandardCharsets.US_ASCII));
            p.stdin().flush();
            String out = new String(p.stdout().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.waitFor(T));
            assertThat(out).endsWith("50 132\r\n");
        }
    }

    @Test
    void closingTheProcessKillsItInTheGuest() throws Exception {
        int pid;
        try (GuestProcess p = vm.spawn(ProcessSpec.of("sleep", "1000"))) {
            pid = p.pid();
        }
        ExecResult r = null;
        for (int i = 0; i < 50; i++) {
            r = vm.exec("kill -0 " + pid, null, T);
            if (r.exitCode() != 0) {
                break;
            }
            Thread.sleep(100);
        }
        assertFalse(r.succeeded(), "process " + pid + " still runs");
    }

    @Test
    void execOfAShellCommandGoesThroughTheAgent() throws Exception {
        long consoleBytes = vm.metrics().get("uart", "write_count");
        GuestCommandResult r = vm.exec("echo to-out; echo to-err >&2; exit 4", T);
        assertEquals(4, r.exitCode());
        assertThat(r.output()).contains("to-out").contains("to-err");
        assertThat(vm.console().text()).doesNotContain("to-out");
        assertThat(vm.metrics().get("uart", "write_count") - consoleBytes).isLessThan(10);
    }

    @Test
    void malformedRequestsCloseTheirConnectionAndTheAgentServesOn() throws Exception {
        byte[][] hostile = {
            {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 'S'},            // 4 GiB frame
            {1, 0, 0x10, 0, 'S'},                                                  // 1 MiB + 1
            {0, 0, 0, 0, 'Z'},                                                     // unknown type
            {5, 0, 0, 0, 'S', 'a', (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x7F},  // field longer than the frame
            {0, 0, 0, 0, 'S'},                                                     // spawn without a program
        };
        for (byte[] request : hostile) {
            try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                c.connect(UnixDomainSocketAddress.of(vm.agent().udsPath()));
                c.write(ByteBuffer.wrap("CONNECT 1024\n".getBytes(StandardCharsets.US_ASCII)));
                c.write(ByteBuffer.wrap(request));
                // The answer, if any, is a failure; then the agent closes the connection.
                byte[] rest = Channels.newInputStream(c).readAllBytes();
                assertThat(new String(rest, StandardCharsets.ISO_8859_1)).startsWith("OK ").doesNotContain("\np");
            }
        }
        assertEquals("ember-agent 1", vm.agent().ping());
        assertEquals("still\n", vm.exec("echo still", null, T).stdoutText());
    }

    @Test
    void rlimitsApplyToTheProcess() throws Exception {
        ProcessSpec spec = ProcessSpec.builder("/bin/sh", "-c", "ulimit -n; ulimit -H -n")
                .rlimit(new ProcessSpec.Rlimit("RLIMIT_NOFILE", 64, 128)).build();
        assertEquals("64\n128\n", vm.exec(spec, null, T).stdoutText());
    }

    @Test
    void execFallsBackToTheConsoleWhenNoAgentAnswers() throws Exception {
        // A vsock device, but a guest whose only program is a shell on the console: no agent.
        try (MicroVm own = MicroVm.builder()
                .bootSource(new BootSourceConfig(GUEST.resolve("Image"), GUEST.resolve("initramfs.cpio"),
                        "console=ttyS0 rdinit=/bin/sh"))
                .guestAgent(true)
                .log(LogSink.discard())
                .build()) {
            own.start();
            assertEquals(new GuestCommandResult("via-console", 0), own.exec("echo via-$((1))console | tr -d 1", T));
            assertThat(own.console().text()).contains("via-console");
        }
    }

    @Test
    void theAgentAnswersPing() throws Exception {
        assertEquals("ember-agent 1", vm.agent().ping());
    }

    private ExecResult execUnchecked(String command) {
        try {
            return vm.exec(command, null, T);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    @Test
    void shutdownThroughTheAgentPowersOffCleanlyAndTheSocketIsDeletedOnClose() throws Exception {
        Path socket;
        try (MicroVm own = MicroVm.builder()
                .bootSource(new BootSourceConfig(GUEST.resolve("Image"), GUEST.resolve("initramfs.cpio"), null))
                .guestAgent(true)
                .log(LogSink.discard())
                .build()) {
            socket = own.agent().udsPath();
            assertThat(socket).exists();
            own.start();
            own.agent().awaitReady(T);
            assertEquals(0, own.shutdown(T));
            assertThat(own.console().text()).doesNotContain("# poweroff");   // nothing typed at the console shell
        }
        assertFalse(Files.exists(socket));
        assertFalse(Files.exists(socket.getParent()));
    }
}
