package dev.ember.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code ember} process for end-to-end tests: the {@link EmberCommand} main class in a
 * child JVM with this test's class path, its console on pipes.
 *
 * <p>Output is collected by a reader thread; {@link #await} waits for text to appear, so tests
 * read like a person at the console: wait for the prompt, type a command, wait for its output.
 */
final class EmberProcess implements AutoCloseable {

    private final Process process;
    private final StringBuilder output = new StringBuilder();
    private final OutputStream stdin;
    private final Thread reader;
    private final long startNanos = System.nanoTime();

    private EmberProcess(Process process) {
        this.process = process;
        this.stdin = process.getOutputStream();
        this.reader = Thread.ofPlatform().daemon().name("ember-test-reader").start(this::readLoop);
    }

    /** Starts {@code ember <args>} with stderr merged into stdout. */
    static EmberProcess start(String... args) throws IOException {
        return launch(command(args));
    }

    /**
     * Starts {@code ember <args>} on a pseudo-terminal, as a person at a terminal runs it: the
     * util-linux {@code script} command gives it a TTY on stdin and stdout.
     */
    static EmberProcess startInTerminal(String... args) throws IOException {
        StringBuilder shell = new StringBuilder();
        for (String word : command(args)) {
            shell.append('\'').append(word.replace("'", "'\\''")).append("' ");
        }
        return launch(List.of("script", "-qefc", shell.toString(), "/dev/null"));
    }

    private static List<String> command(String... args) {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.add("--enable-native-access=ALL-UNNAMED");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(EmberCommand.class.getName());
        command.addAll(List.of(args));
        return command;
    }

    private static EmberProcess launch(List<String> command) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().remove("EMBER_GUEST_DIR");
        return new EmberProcess(pb.start());
    }

    /**
     * The translator's threshold in the end-to-end tests: far below the default (20000, which
     * leaves most of a boot to the interpreter), so that most of each boot, reboot and device
     * test runs in translated code.
     */
    static final String TEST_JIT_THRESHOLD = "64";

    /** {@return the command-line arguments that select {@code engine} ("jit" or "interp") for an end-to-end test} */
    static String[] engineArgs(String engine) {
        return engine.equals("jit")
                ? new String[] {"--engine", "jit", "--jit-threshold", TEST_JIT_THRESHOLD}
                : new String[] {"--engine", engine};
    }

    /** {@return the default guest's directory, failing the test with a hint when it is not built} */
    static Path guestDir() {
        Path dir = Path.of(System.getProperty("ember.guest.dir", "guest/out"));
        if (!Files.isRegularFile(dir.resolve("Image")) || !Files.isRegularFile(dir.resolve("initramfs.cpio"))) {
            throw new AssertionError("the default guest is not built in " + dir
                    + "; run ./ember test (or guest/build.sh) first");
        }
        return dir;
    }

    private void readLoop() {
        byte[] buf = new byte[4096];
        try (InputStream in = process.getInputStream()) {
            int n;
            while ((n = in.read(buf)) > 0) {
                synchronized (output) {
                    output.append(new String(buf, 0, n, StandardCharsets.UTF_8));
                    output.notifyAll();
                }
            }
        } catch (IOException e) {
            // Process ended.
        }
    }

    /**
     * Waits until the output, after {@code from}, contains {@code text}.
     *
     * @return the index just past the match, for chaining waits
     * @throws AssertionError with the output so far when it does not appear in time
     */
    int await(String text, int from, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (output) {
            while (true) {
                int at = output.indexOf(text, from);
                if (at >= 0) {
                    return at + text.length();
                }
                long left = deadline - System.nanoTime();
                if (left <= 0 || (!process.isAlive() && !reader.isAlive())) {
                    throw new AssertionError("did not see '" + text + "' within " + timeout.toSeconds()
                            + " s; output so far:\n" + tail(output.toString()));
                }
                output.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 200)));
            }
        }
    }

    /** Types {@code line} and a newline at the guest console. */
    void send(String line) throws IOException {
        type(line + "\n");
    }

    /** Types exactly {@code keys}, control characters included. */
    void type(String keys) throws IOException {
        stdin.write(keys.getBytes(StandardCharsets.UTF_8));
        stdin.flush();
    }

    /** Waits for the process to exit and returns its status. */
    int waitFor(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("ember did not exit within " + timeout.toSeconds() + " s; output:\n"
                    + tail(output()));
        }
        reader.join(5000);
        return process.exitValue();
    }

    /** {@return everything printed so far} */
    String output() {
        synchronized (output) {
            return output.toString();
        }
    }

    /** Kills the process with SIGKILL, as an out-of-memory killer or a crash would, and waits for it. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
        reader.join(5000);
    }

    /** {@return the process id} */
    long pid() {
        return process.pid();
    }

    /** {@return seconds since the process was started} */
    double elapsedSeconds() {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    private static String tail(String s) {
        return s.length() > 6000 ? "..." + s.substring(s.length() - 6000) : s;
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
