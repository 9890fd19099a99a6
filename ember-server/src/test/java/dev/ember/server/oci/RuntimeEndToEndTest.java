package dev.ember.server.oci;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The runtime's lifecycle driven directly, as conmon and containerd's shim drive it, on a bundle
 * that {@code umoci unpack} makes from the riscv64 busybox image: what a caller gets for
 * {@code start} twice, {@code delete} of a running container, {@code kill}, {@code state}, and
 * that one container's failure leaves another alone. Containerd's own {@code ctr run} is the last
 * case. Needs root, umoci and the images, as CI has.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RuntimeEndToEndTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration SLOW = Duration.ofSeconds(240);

    /** Bundles hold the image's absolute applet symlinks, which JUnit's @TempDir warns about: cleaned here instead. */
    private Path tmp;
    private Path root;

    @BeforeAll
    void layoutIsThere() throws Exception {
        assertThat(busyboxLayout()).as("the ember-busybox image must be built (scripts/container-images.sh)").isNotNull();
        tmp = Files.createTempDirectory("ember-oci-test");
    }

    @AfterAll
    void removeBundles() throws IOException {
        try (Stream<Path> s = Files.walk(tmp)) {      // walk does not follow symlinks
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static Path busyboxLayout() throws IOException {
        String cache = System.getenv().getOrDefault("EMBER_CACHE", System.getProperty("user.home") + "/.cache/ember");
        Path images = Path.of(cache, "images");
        if (!Files.isDirectory(images)) {
            return null;
        }
        try (Stream<Path> s = Files.list(images)) {
            return s.filter(p -> p.getFileName().toString().startsWith("ember-busybox-"))
                    .map(p -> p.resolve("layout")).filter(Files::isDirectory)
                    .max((a, b) -> Long.compare(a.toFile().lastModified(), b.toFile().lastModified())).orElse(null);
        }
    }

    /** A bundle with the image's rootfs and a config that runs {@code args} without a terminal. */
    private Path bundle(String name, String... args) throws Exception {
        Path b = tmp.resolve(name);
        PodmanEndToEndTest.Result u = PodmanEndToEndTest.exec(List.of("umoci", "unpack", "--image",
                busyboxLayout() + ":latest", b.toString()), SLOW);
        assertThat(u.status()).as(u.err()).isZero();
        ObjectNode config = (ObjectNode) JSON.readTree(b.resolve("config.json").toFile());
        ObjectNode process = (ObjectNode) config.get("process");
        process.put("terminal", false);
        ArrayNode a = process.putArray("args");
        for (String s : args) {
            a.add(s);
        }
        JSON.writeValue(b.resolve("config.json").toFile(), config);
        return b;
    }

    private PodmanEndToEndTest.Result oci(String... args) throws Exception {
        root = tmp.resolve("state");
        List<String> cmd = new ArrayList<>(List.of(PodmanEndToEndTest.RUNTIME.toString(), "--root", root.toString()));
        cmd.addAll(List.of(args));
        return PodmanEndToEndTest.exec(cmd, SLOW);
    }

    private String status(String id) throws Exception {
        PodmanEndToEndTest.Result s = oci("state", id);
        assertThat(s.status()).as(s.err()).isZero();
        JsonNode n = JSON.readTree(s.out());
        assertThat(n.path("id").asText()).isEqualTo(id);
        return n.path("status").asText();
    }

    @Test
    void lifecycleAndItsMistakes() throws Exception {
        Path b = bundle("sleeper", "sleep", "600");
        Path pidFile = tmp.resolve("sleeper.pid");
        PodmanEndToEndTest.Result c = oci("create", "--bundle", b.toString(), "--pid-file", pidFile.toString(), "s1");
        assertThat(c.status()).as(c.err()).isZero();
        long pid = Long.parseLong(Files.readString(pidFile).strip());
        assertThat(ProcessHandle.of(pid)).isPresent();
        assertThat(status("s1")).isEqualTo("created");

        PodmanEndToEndTest.Result again = oci("create", "--bundle", b.toString(), "s1");
        assertThat(again.status()).isEqualTo(1);
        assertThat(again.err().strip()).isEqualTo("ember-oci: container s1 already exists");

        assertThat(oci("start", "s1").status()).isZero();
        assertThat(status("s1")).isEqualTo("running");
        PodmanEndToEndTest.Result twice = oci("start", "s1");
        assertThat(twice.status()).isEqualTo(1);
        assertThat(twice.err().strip()).isEqualTo("ember-oci: container s1 is already running");

        PodmanEndToEndTest.Result del = oci("delete", "s1");
        assertThat(del.status()).isEqualTo(1);
        assertThat(del.err().strip()).startsWith("ember-oci: cannot delete container s1 that is not stopped");
        assertThat(status("s1")).isEqualTo("running");

        // a second container fails to create; the first is untouched
        Path broken = bundle("broken", "true");
        Files.writeString(broken.resolve("config.json"), "{ not json");
        assertThat(oci("create", "--bundle", broken.toString(), "s2").status()).isEqualTo(1);
        assertThat(status("s1")).isEqualTo("running");

        assertThat(oci("kill", "s1", "TERM").status()).isZero();
        ProcessHandle.of(pid).ifPresent(h -> h.onExit().join());
        assertThat(status("s1")).isEqualTo("stopped");
        assertThat(oci("kill", "s1", "KILL").status()).isEqualTo(1);      // not running
        assertThat(oci("delete", "s1").status()).isZero();
        assertThat(oci("state", "s1").err()).contains("container s1 does not exist");
    }

    @Test
    void sigkillEndsTheVmAndDeleteForceEndsARunningOne() throws Exception {
        Path b = bundle("k", "sleep", "600");
        Path pidFile = tmp.resolve("k.pid");
        assertThat(oci("create", "--bundle", b.toString(), "--pid-file", pidFile.toString(), "k1").status()).isZero();
        assertThat(oci("start", "k1").status()).isZero();
        long pid = Long.parseLong(Files.readString(pidFile).strip());
        assertThat(oci("kill", "k1", "9").status()).isZero();
        ProcessHandle.of(pid).ifPresent(h -> h.onExit().join());
        assertThat(status("k1")).isEqualTo("stopped");
        assertThat(oci("delete", "k1").status()).isZero();

        assertThat(oci("create", "--bundle", b.toString(), "--pid-file", pidFile.toString(), "k2").status()).isZero();
        assertThat(oci("start", "k2").status()).isZero();
        long pid2 = Long.parseLong(Files.readString(pidFile).strip());
        assertThat(oci("delete", "--force", "k2").status()).isZero();
        assertThat(ProcessHandle.of(pid2).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    }

    @Test
    void containerdRunsTheContainerWithEmberAsItsRuncBinary() throws Exception {
        PodmanEndToEndTest.Result r = PodmanEndToEndTest.exec(List.of("ctr", "run", "--rm", "--runc-binary",
                PodmanEndToEndTest.RUNTIME.toString(), PodmanEndToEndTest.BUSYBOX, "ember-ctr-" + ProcessHandle.current().pid(),
                "sh", "-c", "uname -m; exit 4"), SLOW);
        assertThat(r.out().strip()).as(r.err()).isEqualTo("riscv64");
        assertThat(r.status()).isEqualTo(4);
    }
}
