package dev.ember.server.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --config-file} with and without {@code --no-api}, and the command line's refusals: the
 * same records as the API, so a config file with an unknown key fails as the API would.
 */
class ConfigFileTest {

    @TempDir
    Path dir;

    private String config(String extra) {
        Path guest = ApiProcess.guestDir();
        return "{\"boot-source\": {\"kernel_image_path\": \"" + guest.resolve("Image") + "\", \"initrd_path\": \""
                + guest.resolve("initramfs.cpio") + "\"}, \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128}"
                + extra + "}";
    }

    @Test
    void configFileWithApiBootsAndServesTheRunningVm() throws Exception {
        Path file = Files.writeString(dir.resolve("vm.json"), config(", \"drives\": [], \"balloon\": null"));
        Path socket = dir.resolve("api.sock");
        try (ApiProcess ember = ApiProcess.start(socket, "--api-sock", socket.toString(), "--config-file", file.toString())) {
            ember.await("ember-guest: userspace up", Duration.ofSeconds(60));
            assertEquals("Running", Json.MAPPER.readTree(ember.request("GET", "/", null).body()).get("state").asText());
            String fullConfig = ember.request("GET", "/vm/config", null).body();
            ember.send("poweroff -f");
            assertEquals(0, ember.waitFor(Duration.ofSeconds(30)));
            // What GET /vm/config returns is itself a config file: boot it with --no-api and the boot
            // timer, and a log file, where the boot time is logged at INFO as Firecracker logs it.
            Path log = dir.resolve("ember.log");
            ObjectNode withLogger = (ObjectNode) Json.MAPPER.readTree(fullConfig);
            withLogger.putObject("logger").put("log_path", log.toString()).put("level", "Info").put("show_level", true);
            Path again = Files.writeString(dir.resolve("again.json"), withLogger.toString());
            try (ApiProcess second = ApiProcess.start(null, "--no-api", "--boot-timer", "--config-file", again.toString())) {
                second.await("ember-guest: userspace up", Duration.ofSeconds(60));
                second.await("Guest-boot-time = ", Duration.ofSeconds(10));
                second.send("poweroff -f");
                assertEquals(0, second.waitFor(Duration.ofSeconds(30)));
            }
            assertThat(Files.readString(log)).containsPattern(
                    "\\[anonymous-instance:ember-vcpu-0@anonymous-instance:INFO\\] Guest-boot-time = +\\d+ us");
        }
    }

    @Test
    void unknownKeyInConfigFileIsRefusedLikeTheApi() throws Exception {
        Path file = Files.writeString(dir.resolve("bad.json"), config(", \"cpu-magic\": {}"));
        try (ApiProcess ember = ApiProcess.start(null, "--no-api", "--config-file", file.toString())) {
            assertEquals(1, ember.waitFor(Duration.ofSeconds(30)));
            assertTrue(ember.output().contains("ember: config file " + file + ": An error occurred when deserializing the json "
                    + "body of a request: unknown field `cpu-magic`, expected one of `balloon`, `drives`, `boot-source`, "
                    + "`logger`, `machine-config`, `metrics`, `mmds-config`, `network-interfaces`, `vsock`, `entropy`"),
                    ember.output());
        }
    }

    @Test
    void noApiWithoutConfigFileIsAUsageError() throws Exception {
        try (ApiProcess ember = ApiProcess.start(null, "--no-api")) {
            assertEquals(2, ember.waitFor(Duration.ofSeconds(30)));
            assertTrue(ember.output().startsWith("ember: --no-api needs --config-file"), ember.output());
        }
    }

    @Test
    void existingSocketPathFailsWithOneLine() throws Exception {
        Path socket = Files.createFile(dir.resolve("taken.sock"));
        try (ApiProcess ember = ApiProcess.start(null, "--api-sock", socket.toString())) {
            assertEquals(1, ember.waitFor(Duration.ofSeconds(30)));
            assertEquals("ember: cannot bind the API socket " + socket + ": the path already exists\n", ember.output());
        }
    }

    @Test
    void missingSocketDirectoryFailsWithOneLine() throws Exception {
        Path socket = dir.resolve("no/such/dir/api.sock");
        try (ApiProcess ember = ApiProcess.start(null, "--api-sock", socket.toString())) {
            assertEquals(1, ember.waitFor(Duration.ofSeconds(30)));
            assertEquals("ember: cannot bind the API socket " + socket + ": directory " + socket.getParent()
                    + " does not exist\n", ember.output());
        }
    }
}
