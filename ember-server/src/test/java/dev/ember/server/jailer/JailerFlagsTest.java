package dev.ember.server.jailer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ember.server.EmberCommand;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/**
 * {@code ember jailer}'s flags, checked before anything is made: each bad one is one line naming
 * it and a non-zero status (1, or 2 for picocli's usage errors); and the parsers behind them.
 */
class JailerFlagsTest {

    private record Result(int status, String err) {
    }

    private static Result run(String... args) {
        CommandLine cl = EmberCommand.commandLine();
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err, true));
        cl.setOut(new PrintWriter(new StringWriter(), true));
        int status = cl.execute(args);
        return new Result(status, err.toString());
    }

    private static void assertOneLine(Result r, int status, String start) {
        assertThat(r.status()).isEqualTo(status);
        assertThat(r.err().strip()).startsWith(start).doesNotContain("\n");
    }

    /** A refused command line: the flags after {@code jailer --id vm1 --uid 4242 --gid 4242} (or in place of them), the status, the line's start. */
    private record Refused(String what, List<String> args, int status, String start) {
        @Override
        public String toString() {
            return what;
        }
    }

    private static final List<String> IDS = List.of("--id", "vm1", "--uid", "4242", "--gid", "4242");

    private static Stream<Refused> refused() {
        return Stream.of(
                new Refused("id with a slash", List.of("--id", "../etc", "--uid", "4242", "--gid", "4242"), 1,
                        "ember: --id must be 1 to 64 letters"),
                new Refused("missing uid", List.of("--id", "vm1", "--gid", "4242"), 2,
                        "ember: Missing required option: '--uid=UID'"),
                new Refused("uid 0", List.of("--id", "vm1", "--uid", "0", "--gid", "4242"), 1,
                        "ember: --uid and --gid must name an unprivileged"),
                new Refused("cgroup file outside the cgroup", with("--cgroup", "../../memory.max=1"), 1,
                        "ember: --cgroup: \"../../memory.max\" is not a cgroup file name"),
                new Refused("cgroup without a value", with("--cgroup", "pids.max"), 1,
                        "ember: --cgroup must be FILE=VALUE"),
                new Refused("unknown resource", with("--resource-limit", "cpu=1"), 1,
                        "ember: --resource-limit: unknown resource \"cpu\" (known: no-file, fsize)"),
                new Refused("relative chroot base", with("--chroot-base-dir", "jails"), 1,
                        "ember: --chroot-base-dir must be an absolute path"),
                new Refused("parent cgroup with ..", with("--parent-cgroup", "a/../../b"), 1,
                        "ember: --parent-cgroup must be a relative path of names"),
                new Refused("netns that is not a namespace", with("--netns", "/etc/hostname"), 1,
                        "ember: --netns /etc/hostname is not a network namespace file"),
                new Refused("cgroup version 3", with("--cgroup-version", "3"), 1,
                        "ember: --cgroup-version must be 1 or 2, not 3"),
                new Refused("id given to ember", with("--", "--id", "other"), 1,
                        "ember: give the id to the jailer"));
    }

    private static List<String> with(String... more) {
        List<String> out = new java.util.ArrayList<>(IDS);
        out.addAll(List.of(more));
        return out;
    }

    @ParameterizedTest
    @MethodSource("refused")
    void badFlagIsOneLineAndANonZeroStatus(Refused r) {
        List<String> args = new java.util.ArrayList<>(List.of("jailer"));
        args.addAll(r.args());
        assertOneLine(run(args.toArray(String[]::new)), r.status(), r.start());
    }

    @Test
    void runOutsideTheLauncherIsRefusedBeforeAnythingIsMade() {
        // The launcher names itself in EMBER_JAILER_LAUNCHER; a test JVM's parent is not one.
        Result r = run("jailer", "--id", "vm1", "--uid", "4242", "--gid", "4242", "--chroot-base-dir", "/nonexistent/base");
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err().strip()).doesNotContain("\n");
        assertThat(Path.of("/nonexistent/base")).doesNotExist();
    }

    @Test
    void emberArgumentsGetTheIdAndTheDefaultSocket() throws Exception {
        JailerCommand c = new JailerCommand();
        new CommandLine(c).parseArgs("--id", "vm1", "--uid", "4242", "--gid", "4242", "--", "--boot-timer");
        assertThat(c.check().emberArgs()).containsExactly("--id", "vm1", "--api-sock", "/run/ember.socket", "--boot-timer");
    }

    @Test
    void memoryLimitSizesTheJvmBecauseItCannotSeeItsCgroup() {
        assertThat(JailerCommand.jvmOptions(List.of(new CgroupSetting("memory.max", "512M")))).contains("-XX:MaxRAM=536870912");
        assertThat(JailerCommand.jvmOptions(List.of(new CgroupSetting("memory.max", "max")))).noneMatch(o -> o.startsWith("-XX:MaxRAM"));
    }

    @Test
    void mountInfoGivesCgroupMountsWithTheirControllers() {
        List<Cgroups.Mount> mounts = Cgroups.parseMountInfo(List.of(
                "30 25 0:26 / /sys/fs/cgroup/cpu\\054cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct",
                "35 25 0:31 / /sys/fs/cgroup/unified rw,relatime shared:14 - cgroup2 cgroup2 rw",
                "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw"));
        assertThat(mounts).hasSize(2);
        assertThat(mounts.get(0).path()).isEqualTo(Path.of("/sys/fs/cgroup/cpu,cpuacct"));
        assertThat(mounts.get(0).options()).contains("cpu", "cpuacct");
        assertThat(new Cgroups(mounts).hierarchy(1, "cpuacct")).isEqualTo(Path.of("/sys/fs/cgroup/cpu,cpuacct"));
        assertThat(new Cgroups(mounts).hierarchy(2, "memory")).isEqualTo(Path.of("/sys/fs/cgroup/unified"));
    }

    @Test
    void jvmLaunchKeepsTheLauncherOptionsAndDropsTrainingOnes() throws Exception {
        JvmLaunch l = JvmLaunch.parse(List.of("/jdk/bin/java", "--enable-native-access=ALL-UNNAMED", "-XX:AOTCache=/e/ember.aot",
                "-XX:AOTCacheOutput=/x", "-cp", "/e/a.jar:/e/b.jar", "dev.ember.server.EmberCommand", "jailer"),
                "dev.ember.server.EmberCommand", Path.of("/jdk"));
        assertThat(l.options()).containsExactly("--enable-native-access=ALL-UNNAMED", "-XX:AOTCache=/e/ember.aot");
        assertThat(l.classPath()).containsExactly(Path.of("/e/a.jar"), Path.of("/e/b.jar"));
        assertThat(l.aotCache()).isEqualTo(Path.of("/e/ember.aot"));
    }
}
