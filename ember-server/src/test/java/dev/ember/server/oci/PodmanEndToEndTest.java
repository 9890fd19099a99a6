package dev.ember.server.oci;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Containers run by Debian's podman with {@code ember-oci} as the runtime, as a user would run
 * them: the images are the riscv64 ones {@code scripts/container-images.sh} builds from Debian's
 * packages, the configuration is {@code scripts/container-tools.sh}'s ({@code CONTAINERS_CONF},
 * {@code CONTAINERS_STORAGE_CONF} in the environment, as {@code ./ember test} sets them). Each
 * container boots its own microVM. Needs root and podman, as CI has; without them the test fails
 * and says so.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PodmanEndToEndTest {

    static final Path RUNTIME = Path.of(System.getProperty("ember.root", "..")).toAbsolutePath().normalize().resolve("ember-oci");
    static final String BUSYBOX = "localhost/ember-busybox:latest";
    static final String PYTHON = "localhost/ember-python:latest";
    private static final Duration RUN = Duration.ofSeconds(240);

    record Result(int status, String out, String err) { }

    @BeforeAll
    void podmanIsThere() throws Exception {
        Result v = podman(List.of("version", "--format", "{{.Client.Version}}"), Duration.ofSeconds(60));
        assertThat(v.status()).as("podman must be installed and configured (scripts/container-tools.sh): %s", v.err()).isZero();
        Result img = podman(List.of("image", "exists", BUSYBOX), Duration.ofSeconds(60));
        assertThat(img.status()).as("the image %s must be built (scripts/container-images.sh)", BUSYBOX).isZero();
    }

    @AfterAll
    void cleanUp() throws Exception {
        podman(List.of("rm", "-f", "-a"), Duration.ofSeconds(60));
    }

    static Result podman(List<String> args, Duration timeout) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("podman", "--runtime", RUNTIME.toString()));
        cmd.addAll(args);
        return exec(cmd, timeout);
    }

    static Result exec(List<String> cmd, Duration timeout) throws IOException, InterruptedException {
        return exec(cmd, Path.of("/dev/null"), timeout);
    }

    static Result exec(List<String> cmd, Path stdin, Duration timeout) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(stdin.toFile()));
        Path out = Files.createTempFile("podman", ".out");
        Path err = Files.createTempFile("podman", ".err");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        try {
            if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(cmd + " did not end within " + timeout + "; stderr: " + Files.readString(err));
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    private static Result run(String... args) throws Exception {
        List<String> a = new ArrayList<>(List.of("run", "--rm", "--network", "none"));
        a.addAll(List.of(args));
        return podman(a, RUN);
    }

    @Test
    void unameInsideTheContainerIsRiscv64() throws Exception {
        Result r = run(BUSYBOX, "uname", "-m");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out().strip()).isEqualTo("riscv64");
    }

    @Test
    void theExitStatusComesBack() throws Exception {
        Result r = run(BUSYBOX, "sh", "-c", "echo to-stderr >&2; exit 3");
        assertThat(r.status()).isEqualTo(3);
        assertThat(r.err()).contains("to-stderr");
    }

    @Test
    void environmentWorkingDirectoryAndUserTakeEffect() throws Exception {
        Result r = run("-e", "GREETING=hello from the host", "-w", "/tmp", "--user", "1000:1000",
                BUSYBOX, "sh", "-c", "echo \"$GREETING\"; pwd; id -u; id -g");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out().lines().toList()).containsExactly("hello from the host", "/tmp", "1000", "1000");
    }

    @Test
    void aHostDirectoryIsSharedBothWays(@TempDir Path host) throws Exception {
        Files.writeString(host.resolve("from-host.txt"), "written on the host\n");
        Result r = run("-v", host + ":/data", BUSYBOX, "sh", "-c",
                "cat /data/from-host.txt && echo 'written in the guest' > /data/from-guest.txt && mkdir /data/dir && sync");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).contains("written on the host");
        assertThat(host.resolve("from-guest.txt")).hasContent("written in the guest");
        assertThat(host.resolve("dir")).isDirectory();
    }

    @Test
    void standardInputReachesTheContainerWithDashI(@TempDir Path dir) throws Exception {
        byte[] data = new byte[300_000];
        new java.util.Random(11).nextBytes(data);
        Path in = Files.write(dir.resolve("in.bin"), data);
        String expected = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(data));
        List<String> cmd = new ArrayList<>(List.of("podman", "--runtime", RUNTIME.toString(), "run", "--rm", "-i",
                "--network", "none", BUSYBOX, "sha256sum"));
        Result r = exec(cmd, in, RUN);
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).startsWith(expected);
    }

    @Test
    void memoryAndCpuLimitsSizeTheMicroVm() throws Exception {
        Result r = run("--cpus", "2", "-m", "300m", BUSYBOX, "sh", "-c", "nproc; grep MemTotal /proc/meminfo");
        assertThat(r.status()).as(r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines.getFirst()).isEqualTo("2");
        long kib = Long.parseLong(lines.get(1).replaceAll("[^0-9]", ""));
        assertThat(kib).isBetween(250L * 1024, 300L * 1024);     // 300 MiB less what the kernel keeps
    }

    @Test
    void aTerminalIsAPseudoTerminal() throws Exception {
        Result r = run("-t", BUSYBOX, "sh", "-c", "tty; stty size");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).contains("/dev/pts/");
        assertThat(r.out()).contains("\r\n");         // the guest terminal's line discipline (ONLCR)
    }

    @Test
    void stopEndsASleepingContainerAndPsShowsEachState() throws Exception {
        String name = "ember-sleeper";
        Result c = podman(List.of("create", "--name", name, "--network", "none", BUSYBOX, "sleep", "600"), RUN);
        assertThat(c.status()).as(c.err()).isZero();
        assertThat(status(name)).startsWith("Created");
        Result s = podman(List.of("start", name), RUN);
        assertThat(s.status()).as(s.err()).isZero();
        assertThat(status(name)).startsWith("Up ");
        Result stop = podman(List.of("stop", "-t", "20", name), RUN);
        assertThat(stop.status()).as(stop.err()).isZero();
        assertThat(status(name)).startsWith("Exited (143)");   // SIGTERM in the guest: 128 + 15
        podman(List.of("rm", name), Duration.ofSeconds(60));
    }

    private static String status(String name) throws Exception {
        Result ps = podman(List.of("ps", "-a", "--filter", "name=" + name, "--format", "{{.Status}}"), Duration.ofSeconds(60));
        return ps.out().strip();
    }

    @Test
    void pythonFromDebianRuns() throws Exception {
        Result img = podman(List.of("image", "exists", PYTHON), Duration.ofSeconds(60));
        assertThat(img.status()).as("the image %s must be built (scripts/container-images.sh)", PYTHON).isZero();
        Result r = run("-m", "512m", PYTHON, "python3", "-c", "print(sum(range(10**6)))");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out().strip()).isEqualTo("499999500000");
    }
}
