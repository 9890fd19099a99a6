package dev.ember.server.jailer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The jailer's seccomp program, installed by bwrap as the jailer installs it, on programs that
 * make the calls: a denied call fails with EPERM under the filter and succeeds without it (as
 * root), and ordinary programs run. The jailed JVM booting a guest under it is
 * {@link JailerEndToEndTest}'s.
 */
class SeccompFilterTest {

    @TempDir
    static Path dir;
    private static Path program;

    private record Result(int status, String output) {
    }

    @BeforeAll
    static void writeProgram() throws Exception {
        assumeTrue(Posix.geteuid() == 0, "the seccomp tests need root to unshare without the filter (CI runs as root)");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/bwrap")), "bubblewrap is not installed (scripts/test.sh installs it)");
        program = Files.write(dir.resolve("seccomp.bpf"), SeccompFilter.program());
    }

    /** Runs {@code command} under bwrap (host root read-only), with the filter on fd 9 when {@code filtered}. */
    private static Result run(boolean filtered, String... command) throws Exception {
        List<String> c = new ArrayList<>(List.of("sh", "-c", filtered
                ? "exec bwrap --ro-bind / / --dev /dev --seccomp 9 -- \"$@\" 9<\"$SECCOMP\""
                : "exec bwrap --ro-bind / / --dev /dev -- \"$@\"", "sh"));
        c.addAll(List.of(command));
        ProcessBuilder pb = new ProcessBuilder(c).redirectErrorStream(true);
        pb.environment().put("SECCOMP", program.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out);
    }

    @Test
    void unshareIsDeniedWithEpermUnderTheFilter() throws Exception {
        Result without = run(false, "unshare", "--net", "true");
        assertThat(without.status()).as(without.output()).isZero();
        Result with = run(true, "unshare", "--net", "true");
        assertThat(with.status()).isNotZero();
        assertThat(with.output()).contains("Operation not permitted");
    }

    @Test
    void mountIsDeniedUnderTheFilter() throws Exception {
        Result without = run(false, "mount", "-t", "tmpfs", "none", "/tmp");
        assertThat(without.status()).as(without.output()).isZero();
        Result with = run(true, "mount", "-t", "tmpfs", "none", "/tmp");
        assertThat(with.status()).isNotZero();
        assertThat(with.output()).contains("permission denied");   // util-linux's words for EPERM from mount(2)
    }

    @Test
    void ordinaryProgramsRunUnderTheFilter() throws Exception {
        Result with = run(true, "sh", "-c", "echo threads-and-files > /dev/null && ls / > /dev/null && echo ok");
        assertThat(with.status()).as(with.output()).isZero();
        assertThat(with.output().strip()).isEqualTo("ok");
    }

    @Test
    void programIsWholeInstructionsWithTheDeniedCallsListed() throws Exception {
        assertThat(SeccompFilter.program().length % 8).isZero();
        assertThat(SeccompFilter.deniedCalls()).contains("ptrace", "mount", "unshare", "setns", "bpf", "userfaultfd",
                "kexec_load", "init_module", "perf_event_open", "keyctl");
    }
}
