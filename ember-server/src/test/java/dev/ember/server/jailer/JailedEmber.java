package dev.ember.server.jailer;

import dev.ember.server.api.ApiProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real {@code ./ember jailer} run for tests: the launcher script as a user runs it, followed
 * through {@link ApiProcess} on the API socket inside the chroot. {@link #close} kills the jail's
 * processes and removes its chroot and cgroups.
 */
final class JailedEmber implements AutoCloseable {

    static final Path LAUNCHER = Path.of(System.getProperty("ember.root", "..")).toAbsolutePath().normalize().resolve("ember");
    /** The API socket inside the chroot when the jailer is given none. */
    static final String SOCK = "/run/ember.socket";

    final Path jailDir;
    final ApiProcess api;
    private final List<Path> cgroups = new ArrayList<>();

    private JailedEmber(Path jailDir, ApiProcess api) {
        this.jailDir = jailDir;
        this.api = api;
    }

    /**
     * Starts {@code ./ember jailer --id ID --chroot-base-dir BASE <flags>}; with {@code awaitApi},
     * waits until the jailed API answers.
     */
    static JailedEmber start(Path base, String id, boolean awaitApi, String... flags) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(LAUNCHER.toString(), "jailer", "--id", id,
                "--chroot-base-dir", base.toString()));
        command.addAll(List.of(flags));
        Path jailDir = base.resolve("ember").resolve(id);
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        return new JailedEmber(jailDir, ApiProcess.attach(p, awaitApi ? jailDir.resolve("root" + SOCK) : null,
                Duration.ofSeconds(60)));
    }

    /** {@return the chroot: what the jailed VMM sees as /} */
    Path root() {
        return jailDir.resolve("root");
    }

    /** Removes this cgroup directory on close (after the processes are gone). */
    void cleanUpCgroup(Path dir) {
        cgroups.add(dir);
    }

    /** {@return the jailed JVM: the launcher's descendant that runs java} */
    ProcessHandle vmm() {
        return api.process().descendants().filter(h -> h.info().command().orElse("").endsWith("/bin/java")).findFirst()
                .orElseThrow(() -> new AssertionError("no jailed java process:\n" + api.output()));
    }

    /** {@return the named line of /proc/PID/status, after the colon, trimmed} */
    static String status(ProcessHandle h, String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + h.pid() + "/status"))) {
            if (line.startsWith(field + ":")) {
                return line.substring(field.length() + 1).trim();
            }
        }
        throw new AssertionError("no " + field + " in /proc/" + h.pid() + "/status");
    }

    @Override
    public void close() throws Exception {
        Process p = api.process();
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        api.close();
        p.waitFor(10, TimeUnit.SECONDS);
        for (Path dir : cgroups) {
            // A cgroup can be removed once its last task is gone, a moment after SIGKILL.
            for (int i = 0; i < 100 && Files.exists(dir); i++) {
                try {
                    Files.delete(dir);
                } catch (IOException busy) {
                    Thread.sleep(50);
                }
            }
        }
        if (Files.exists(jailDir)) {
            try (Stream<Path> s = Files.walk(jailDir)) {   // walk does not follow symbolic links
                for (Path f : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }
}
