package dev.ember.bench;

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
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A guest's serial console seen from the host: a child process whose stdin is the guest's
 * keyboard and whose stdout is the guest's screen. The process's stderr (the VMM's own
 * messages: Ember's engine statistics, JVM warnings, QEMU's complaints) is kept apart, so that
 * it neither interleaves with the guest's output nor is mistaken for it.
 *
 * <p>Every chunk of output is stamped with {@link System#nanoTime()} by a reader thread the
 * moment it arrives, so {@link #await} returns the arrival time of the text it waited for,
 * not the time the waiting thread woke up. Output is decoded as ISO-8859-1, one char per
 * byte, so offsets are byte offsets and a chunk boundary never splits a character.
 *
 * <p>A cursor makes waits sequential: each {@link #await} searches from the end of the
 * previous match, so a marker printed twice is found twice, in order.
 *
 * <p>Threads: one caller thread drives the console; two reader threads only append output,
 * one for stdout and one for stderr. {@link #close} kills the process and its descendants and
 * may be called from any thread.
 */
final class GuestConsole implements AutoCloseable {

    /** Thrown when the awaited text did not appear in time or the process ended first. */
    static final class ConsoleException extends Exception {
        ConsoleException(String message) {
            super(message);
        }
    }

    /** Text found on the console: where it starts and ends, and when its last byte arrived. */
    record Match(int start, int end, long nanos) {}

    private record Chunk(int end, long nanos) {}

    private final String name;
    private final Process process;
    private final long startNanos;
    private final OutputStream stdin;
    private final Thread reader;
    private final Thread errorReader;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final StringBuilder output = new StringBuilder();
    private final List<Chunk> chunks = new ArrayList<>();
    /** The process's stderr, unstamped. */
    private final StringBuilder errors = new StringBuilder();
    private boolean eof;
    private int cursor;

    private GuestConsole(String name, Process process, long startNanos) {
        this.name = name;
        this.process = process;
        this.startNanos = startNanos;
        this.stdin = process.getOutputStream();
        this.reader = Thread.ofPlatform().daemon().name(name + "-console").start(this::pump);
        this.errorReader = Thread.ofPlatform().daemon().name(name + "-stderr").start(this::pumpErrors);
    }

    /**
     * Starts {@code command} with its console attached to this object.
     *
     * @return the console; its {@link #startNanos()} is taken just before the process starts
     */
    static GuestConsole start(String name, List<String> command) throws IOException {
        return start(name, command, false);
    }

    /**
     * Starts {@code command}; with {@code withStderr} its standard error is read as part of the
     * console (an API process logs the boot timer's line there, as Firecracker does).
     */
    static GuestConsole start(String name, List<String> command, boolean withStderr) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(withStderr);
        long t0 = System.nanoTime();
        Process p = pb.start();
        return new GuestConsole(name, p, t0);
    }

    /** {@return {@link System#nanoTime()} just before the process was started} */
    long startNanos() {
        return startNanos;
    }

    /** {@return seconds from process start to {@code nanos}} */
    double sinceStart(long nanos) {
        return (nanos - startNanos) / 1e9;
    }

    private void pump() {
        byte[] buf = new byte[8192];
        try (InputStream in = process.getInputStream()) {
            int n;
            while ((n = in.read(buf)) > 0) {
                long now = System.nanoTime();
                lock.lock();
                try {
                    output.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
                    chunks.add(new Chunk(output.length(), now));
                    changed.signalAll();
                } finally {
                    lock.unlock();
                }
            }
        } catch (IOException e) {
            // The process was killed or its pipe closed: treated as end of output.
        } finally {
            lock.lock();
            try {
                eof = true;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    private void pumpErrors() {
        byte[] buf = new byte[8192];
        try (InputStream in = process.getErrorStream()) {
            int n;
            while ((n = in.read(buf)) > 0) {
                lock.lock();
                try {
                    errors.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
                } finally {
                    lock.unlock();
                }
            }
        } catch (IOException e) {
            // The process was killed or its pipe closed: treated as end of output.
        }
    }

    /**
     * Waits until {@code text} appears after the cursor, then moves the cursor past it.
     *
     * @throws ConsoleException on timeout or when the process's output ends first
     */
    Match await(String text, Duration timeout) throws ConsoleException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (true) {
                int at = output.indexOf(text, cursor);
                if (at >= 0) {
                    int end = at + text.length();
                    cursor = end;
                    return new Match(at, end, arrival(end));
                }
                if (eof) {
                    throw new ConsoleException(name + ": output ended before '" + printable(text) + "' appeared"
                            + exitNote());
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new ConsoleException(name + ": '" + printable(text) + "' did not appear within "
                            + timeout.toSeconds() + " s");
                }
                changed.awaitNanos(left);
            }
        } finally {
            lock.unlock();
        }
    }

    /** {@return the arrival time of the chunk holding the byte just before {@code end}} */
    private long arrival(int end) {
        int lo = 0, hi = chunks.size() - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (chunks.get(mid).end() >= end) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return chunks.get(lo).nanos();
    }

    /** {@return the offset where the next {@link #await} starts searching} */
    int cursor() {
        lock.lock();
        try {
            return cursor;
        } finally {
            lock.unlock();
        }
    }

    /** {@return the console text between two offsets} */
    String text(int from, int to) {
        lock.lock();
        try {
            return output.substring(from, to);
        } finally {
            lock.unlock();
        }
    }

    /**
     * {@return every match of {@code pattern} in the console text between two offsets, each
     * with the arrival time of its last character}
     */
    List<Match> findAll(Pattern pattern, int from, int to) {
        lock.lock();
        try {
            List<Match> found = new ArrayList<>();
            Matcher m = pattern.matcher(output).region(from, to);
            while (m.find()) {
                found.add(new Match(m.start(), m.end(), arrival(m.end())));
            }
            return found;
        } finally {
            lock.unlock();
        }
    }

    /** {@return everything the process wrote to stderr so far} */
    String errors() {
        lock.lock();
        try {
            return errors.toString();
        } finally {
            lock.unlock();
        }
    }

    /** {@return the last {@code n} characters of output, for error messages} */
    String tail(int n) {
        lock.lock();
        try {
            return output.substring(Math.max(0, output.length() - n));
        } finally {
            lock.unlock();
        }
    }

    /**
     * Types {@code line} and Enter on the guest's console.
     *
     * @return {@link System#nanoTime()} just after the bytes were flushed to the pipe
     */
    long sendLine(String line) throws IOException {
        stdin.write((line + "\n").getBytes(StandardCharsets.ISO_8859_1));
        stdin.flush();
        return System.nanoTime();
    }

    /**
     * Waits for the process to exit.
     *
     * @return {@link System#nanoTime()} when the exit was observed
     * @throws ConsoleException on timeout
     */
    long awaitExit(Duration timeout) throws ConsoleException, InterruptedException {
        if (!process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
            throw new ConsoleException(name + ": did not exit within " + timeout.toSeconds() + " s");
        }
        return System.nanoTime();
    }

    /**
     * {@return everything the process wrote to stderr, once the stderr reader has seen its end}
     * Only after {@link #awaitExit}; waits at most {@code timeout} for the pipe to drain.
     */
    String errorsAfterExit(Duration timeout) throws InterruptedException {
        errorReader.join(timeout);
        return errors();
    }

    /** {@return the exit status; only after {@link #awaitExit}} */
    int exitValue() {
        return process.exitValue();
    }

    private String exitNote() {
        try {
            if (process.waitFor(2, TimeUnit.SECONDS)) {
                return " (process exited with status " + process.exitValue() + ")";
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return "";
    }

    /** Writes everything the console printed so far to {@code file}, and stderr to {@code errorFile}. */
    void saveLog(Path file, Path errorFile) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        lock.lock();
        try {
            Files.writeString(file, output, StandardCharsets.ISO_8859_1);
            Files.writeString(errorFile, errors, StandardCharsets.ISO_8859_1);
        } finally {
            lock.unlock();
        }
    }

    /** Kills the process and everything it started; waits briefly for the reader to drain. */
    @Override
    public void close() {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
            reader.join(Duration.ofSeconds(2));
            errorReader.join(Duration.ofSeconds(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String printable(String s) {
        return s.replace("\r", "\\r").replace("\n", "\\n");
    }
}
