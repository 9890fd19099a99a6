package dev.ember.firmware.fdt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Runs the reference device-tree compiler, {@code dtc}, over blobs in tests. */
public final class Dtc {

    /** What dtc printed for one blob. */
    public record Result(String dts, String warnings) {}

    private Dtc() {}

    /** {@return the DTS that {@code dtc -I dtb -O dts} makes of {@code blob}}; fails the test if dtc rejects it. */
    public static Result decompile(byte[] blob) throws IOException, InterruptedException {
        Path in = Files.createTempFile("ember-fdt", ".dtb");
        Path err = Files.createTempFile("ember-dtc", ".err");
        try {
            Files.write(in, blob);
            Process dtc;
            try {
                dtc = new ProcessBuilder("dtc", "-I", "dtb", "-O", "dts", in.toString())
                        .redirectError(err.toFile())
                        .start();
            } catch (IOException e) {
                return fail("dtc is not installed; install the device-tree compiler "
                        + "(Debian/Ubuntu: apt-get install device-tree-compiler): " + e.getMessage());
            }
            String dts = new String(dtc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!dtc.waitFor(30, TimeUnit.SECONDS)) {
                dtc.destroyForcibly();
                return fail("dtc did not finish");
            }
            String warnings = Files.readString(err);
            assertEquals(0, dtc.exitValue(), () -> "dtc rejected the blob:\n" + warnings);
            return new Result(dts, warnings);
        } finally {
            Files.deleteIfExists(in);
            Files.deleteIfExists(err);
        }
    }
}
