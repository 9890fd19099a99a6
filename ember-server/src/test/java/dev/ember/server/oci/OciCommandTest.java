package dev.ember.server.oci;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The runtime's command line on bad input, without a VM: each mistake is a one-line error and
 * status 1, and nothing of another container is touched.
 */
class OciCommandTest {

    @TempDir Path tmp;

    private record Result(int status, String out, String err) { }

    private Result run(String... args) {
        CommandLine cl = OciCommand.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        PrintStream oldOut = System.out;
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        System.setOut(new PrintStream(stdout, true, StandardCharsets.UTF_8));
        try {
            int status = cl.execute(withRoot(args));
            cl.getOut().flush();
            cl.getErr().flush();
            return new Result(status, out + stdout.toString(StandardCharsets.UTF_8), err.toString());
        } finally {
            System.setOut(oldOut);
        }
    }

    private String[] withRoot(String... args) {
        String[] all = new String[args.length + 5];
        all[0] = "--root";
        all[1] = tmp.resolve("state").toString();
        all[2] = "--log";
        all[3] = tmp.resolve("log.json").toString();
        all[4] = "--log-format=json";
        System.arraycopy(args, 0, all, 5, args.length);
        return all;
    }

    private Path bundle(String config) throws Exception {
        Path b = Files.createDirectories(tmp.resolve("bundle"));
        Files.createDirectories(b.resolve("rootfs"));
        Files.writeString(b.resolve("config.json"), config);
        return b;
    }

    private static final String GOOD = """
            {"ociVersion":"1.0.2","process":{"args":["/bin/true"],"cwd":"/"},"root":{"path":"rootfs"}}""";

    private static void assertOneLineError(Result r, String contains) {
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err().strip()).startsWith("ember-oci: ").contains(contains).doesNotContain("\n");
    }

    @Test
    void aMissingBundleIsOneLineAndNoStateIsLeft() {
        Result r = run("create", "--bundle", tmp.resolve("nope").toString(), "c1");
        assertOneLineError(r, "is not a directory");
        assertThat(tmp.resolve("state/c1")).doesNotExist();
    }

    @Test
    void aConfigThatDoesNotParse() throws Exception {
        Path b = bundle("{\"ociVersion\": \"1.0.2\", \"process\": ");
        assertOneLineError(run("create", "--bundle", b.toString(), "c1"), "does not parse");
        assertThat(tmp.resolve("state/c1")).doesNotExist();
    }

    @Test
    void aConfigWithoutProcessArgsOrWithAMissingRootfs() throws Exception {
        Path b = bundle("{\"ociVersion\":\"1.0.2\",\"process\":{\"cwd\":\"/\"},\"root\":{\"path\":\"rootfs\"}}");
        assertOneLineError(run("create", "--bundle", b.toString(), "c1"), "names no process.args");
        Files.writeString(b.resolve("config.json"), GOOD.replace("\"rootfs\"", "\"missing-rootfs\""));
        assertOneLineError(run("create", "--bundle", b.toString(), "c1"), "root file system");
        Files.delete(b.resolve("config.json"));
        assertOneLineError(run("create", "--bundle", b.toString(), "c1"), "has no config.json");
    }

    @Test
    void aBindMountOfAMissingHostPathIsRefusedBeforeAnyVm() throws Exception {
        Path b = bundle(GOOD.replace("\"root\"", """
                "mounts":[{"destination":"/data","type":"bind","source":"%s","options":["rbind"]}],"root\""""
                .formatted(tmp.resolve("no-such-dir"))));
        Bundle bundle = Bundle.load(b);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> MountPlan.of(bundle))
                .isInstanceOf(OciException.class).hasMessageContaining("does not exist");
    }

    @Test
    void unknownAndInvalidIds() {
        for (String cmd : List.of("state", "start", "delete")) {
            assertOneLineError(run(cmd, "ghost"), "container ghost does not exist");
        }
        assertOneLineError(run("kill", "ghost", "TERM"), "container ghost does not exist");
        assertOneLineError(run("state", "../etc"), "invalid container id");
        assertThat(run("delete", "--force", "ghost").status()).isZero();     // runc's rule: already gone is fine
    }

    @Test
    void anIdInUseIsRefusedAndTheOtherContainerIsUntouched() throws Exception {
        Path b = bundle(GOOD);
        Path other = Files.createDirectories(tmp.resolve("state/taken"));
        Files.writeString(other.resolve("state.json"), "{\"id\":\"taken\",\"status\":\"stopped\"}");
        assertOneLineError(run("create", "--bundle", b.toString(), "taken"), "already exists");
        assertThat(other.resolve("state.json")).hasContent("{\"id\":\"taken\",\"status\":\"stopped\"}");
    }

    @Test
    void anUnknownSignalIsRefused() throws Exception {
        Files.createDirectories(tmp.resolve("state/c1"));
        assertOneLineError(run("kill", "c1", "SIGNOPE"), "unknown signal");
        assertThat(Signals.parse("SIGTERM")).isEqualTo(15);
        assertThat(Signals.parse("kill")).isEqualTo(9);
        assertThat(Signals.parse("RTMIN+2")).isEqualTo(36);
    }

    @Test
    void errorsAlsoGoToTheLogAsRuncJsonLines() throws Exception {
        run("state", "ghost");
        List<String> lines = Files.readAllLines(tmp.resolve("log.json"));
        JsonNode n = new ObjectMapper().readTree(lines.getLast());
        assertThat(n.path("level").asText()).isEqualTo("error");
        assertThat(n.path("msg").asText()).isEqualTo("container ghost does not exist");
        assertThat(n.path("time").asText()).isNotEmpty();
    }

    @Test
    void featuresAndVersion() throws Exception {
        Result f = run("features");
        assertThat(f.status()).isZero();
        JsonNode n = new ObjectMapper().readTree(f.out());
        assertThat(n.path("ociVersionMax").asText()).isEqualTo(OciCommand.SPEC_VERSION);
        assertThat(n.path("mountOptions").toString()).contains("rbind");
        assertThat(new OciCommand.Version().getVersion()).contains("ember-oci version " + OciCommand.VERSION,
                "spec: " + OciCommand.SPEC_VERSION);
    }

    @Test
    void sizingFollowsLinuxResources() throws Exception {
        Path b = bundle(GOOD.replace("\"root\"", """
                "linux":{"resources":{"memory":{"limit":536870912},"cpu":{"quota":150000,"period":100000}}},"root\""""));
        Bundle bundle = Bundle.load(b);
        assertThat(bundle.memMib()).isEqualTo(512);
        assertThat(bundle.vcpus()).isEqualTo(2);
        Files.writeString(b.resolve("config.json"), GOOD);
        assertThat(Bundle.load(b).memMib()).isEqualTo(Bundle.DEFAULT_MEM_MIB);
        assertThat(Bundle.countCpus("0-3,6")).isEqualTo(5);
    }
}
