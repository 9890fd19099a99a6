package dev.ember.vmm;

import java.nio.charset.StandardCharsets;

/**
 * What a process run by {@link MicroVm#exec(java.util.List, byte[], java.time.Duration)} through
 * the guest agent produced: its standard output and standard error apart, as bytes, and its exit
 * status. The arrays are the caller's to keep; {@code equals} compares them by identity, as
 * records do.
 *
 * @param stdout   everything the process wrote to standard output (at most {@link MicroVm#MAX_EXEC_OUTPUT} bytes)
 * @param stderr   everything it wrote to standard error (same bound); the agent's message if it could not start
 * @param exitCode 0-255 for an exit, 128+N when signal N ended it; 127 when the program was not
 *                 found, 126 when it could not be started otherwise
 */
public record ExecResult(byte[] stdout, byte[] stderr, int exitCode) {

    public ExecResult {
        java.util.Objects.requireNonNull(stdout, "stdout");
        java.util.Objects.requireNonNull(stderr, "stderr");
    }

    /** {@return standard output as UTF-8 text} */
    public String stdoutText() {
        return new String(stdout, StandardCharsets.UTF_8);
    }

    /** {@return standard error as UTF-8 text} */
    public String stderrText() {
        return new String(stderr, StandardCharsets.UTF_8);
    }

    /** {@return whether the process exited with status 0} */
    public boolean succeeded() {
        return exitCode == 0;
    }

    @Override
    public String toString() {
        return "ExecResult[exit " + exitCode + ", stdout " + stdout.length + " bytes, stderr " + stderr.length + " bytes]";
    }
}
