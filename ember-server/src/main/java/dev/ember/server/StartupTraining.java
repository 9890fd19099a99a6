package dev.ember.server;

import dev.ember.server.api.ApiLauncher;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The training run of the launcher's JVM start-up cache (JDK 25's AOT cache, JEP 483 and 514):
 * what a fresh {@code ember --api-sock} process does before and while it first answers, so the
 * classes it loads and links then come ready-made from the cache. It parses a command line,
 * serves the API on a temporary socket and sends it a handful of pre-boot requests
 * ({@link ApiLauncher#exerciseForTraining}), encodes and decodes a snapshot's state and maps a
 * memory file (what a restore does first), runs {@code ember-oci}'s commands on a throw-away
 * bundle, checks an {@code ember jailer} command line, and stops. It prints nothing and starts no guest.
 *
 * <p>Run by {@code scripts/lib.sh} with {@code -XX:AOTCacheOutput}, once per build of the jars.
 */
public final class StartupTraining {

    private StartupTraining() { }

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("ember-aot-training");
        try {
            EmberCommand.parseForTraining("--api-sock", dir.resolve("api.sock").toString(), "--id", "training");
            // What the jailer's preparing JVM does: parse and check its flags.
            dev.ember.server.jailer.JailerCommand.train();
            ApiLauncher.exerciseForTraining(dir);
            // What a restore does before the guest runs: decode a state file, map a memory file.
            dev.ember.vmm.VmState.exerciseForTraining(dir);
            // What ember-oci's short-lived commands do: parse runc's command line, read a bundle,
            // plan its mounts, keep a container's record, answer state and features.
            dev.ember.server.oci.OciCommand.exerciseForTraining(dir);
        } finally {
            try (var files = Files.list(dir)) {
                for (Path p : files.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
        }
    }
}
