package dev.ember.agent;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A process the guest agent started ({@link GuestAgent#spawn}), with its standard streams, as
 * {@link java.lang.Process} for a host process: {@link #stdin} (closing it ends the process's
 * input), {@link #stdout} and {@link #stderr} (binary-safe; on a terminal everything arrives on
 * stdout), {@link #signal}, {@link #resize}, {@link #waitFor}.
 *
 * <p>Buffering is bounded: each output stream holds at most {@link #BUFFER_BYTES}; when one is
 * full the reader thread waits, the agent stops reading that process's output, and the process
 * blocks in {@code write} - as with a host pipe. Read both streams (or close the one you do not
 * want) while waiting for a process that writes much.
 *
 * <p>Threads: a virtual thread {@code ember-agent-<pid>} reads the connection; every method may
 * be called from any thread. {@link #close} drops the connection, and the agent then kills the
 * process (SIGKILL).
 *
 * <p><b>Guest-controlled.</b> Every frame after the SPAWN: an oversized or unknown frame, or one
 * that does not belong after a SPAWN, ends the connection and {@link #waitFor} reports an
 * {@link IOException}; output beyond what the application reads waits in the bounded buffers.
 */
public final class GuestProcess implements AutoCloseable {

    /** How many bytes of stdout and of stderr wait for the application, at most: 256 KiB each. */
    public static final int BUFFER_BYTES = 256 * 1024;

    /** The largest stdin frame sent. */
    private static final int STDIN_CHUNK = 64 * 1024;

    private final AgentConnection connection;
    private final int pid;
    private final StreamBuffer stdout = new StreamBuffer(BUFFER_BYTES);
    private final StreamBuffer stderr = new StreamBuffer(BUFFER_BYTES);
    private final CompletableFuture<Integer> exit = new CompletableFuture<>();
    private final OutputStream stdin = new StdinStream();

    GuestProcess(AgentConnection connection, int pid) {
        this.connection = connection;
        this.pid = pid;
        Thread.ofVirtual().name("ember-agent-" + pid).start(this::readFrames);
    }

    private void readFrames() {
        try {
            AgentProtocol.Frame f;
            while ((f = connection.readFrame()) != null) {
                switch (f.type()) {
                    case AgentProtocol.STDOUT -> stdout.put(f.payload(), 0, f.payload().length);
                    case AgentProtocol.STDERR -> stderr.put(f.payload(), 0, f.payload().length);
                    case AgentProtocol.EXIT -> exit.complete(f.u32());
                    default -> throw new AgentProtocol.ProtocolException("unexpected frame " + f + " from a running process");
                }
            }
            exit.completeExceptionally(new IOException("guest agent closed the connection of process " + pid
                    + " without its exit status"));
        } catch (IOException e) {
            exit.completeExceptionally(new IOException("connection to guest process " + pid + " failed: "
                    + e.getMessage(), e));
        } catch (InterruptedException e) {
            exit.completeExceptionally(e);
        } finally {
            stdout.end();
            stderr.end();
            connection.close();
        }
    }

    /** {@return the process's id in the guest} */
    public int pid() {
        return pid;
    }

    /** {@return the process's standard input: writes go to the guest in order; {@code close} ends the input} */
    public OutputStream stdin() {
        return stdin;
    }

    /** {@return the process's standard output (on a terminal: everything the terminal shows)} */
    public InputStream stdout() {
        return stdout;
    }

    /** {@return the process's standard error; empty on a terminal} */
    public InputStream stderr() {
        return stderr;
    }

    /**
     * Sends signal {@code signal} (Linux numbering: 15 SIGTERM, 9 SIGKILL...) to the process, or
     * to its process group when it runs on a terminal. Nothing happens once it has exited.
     */
    public void signal(int signal) throws IOException {
        if (signal <= 0 || signal > 64) {
            throw new IllegalArgumentException("signal number must be 1 to 64, not " + signal);
        }
        connection.send(AgentProtocol.SIGNAL, AgentProtocol.u32(signal));
    }

    /** Sets the terminal's size (TIOCSWINSZ; the process gets SIGWINCH); ignored without a terminal. */
    public void resize(int rows, int cols) throws IOException {
        ProcessSpec.TerminalSize size = new ProcessSpec.TerminalSize(rows, cols);
        byte[] p = {(byte) size.rows(), (byte) (size.rows() >> 8), (byte) size.cols(), (byte) (size.cols() >> 8)};
        connection.send(AgentProtocol.WINDOW, p);
    }

    /** Kills the process (SIGKILL), as {@link Process#destroyForcibly}. */
    public void kill() throws IOException {
        signal(9);
    }

    /** {@return a future completed with the exit status once the process has exited and its output was read in} */
    public CompletableFuture<Integer> onExit() {
        return exit.copy();
    }

    /**
     * Waits for the process to end.
     *
     * @return its exit status: 0-255, or 128+N if signal N ended it
     * @throws IOException if the connection broke before the exit status arrived
     */
    public int waitFor() throws InterruptedException, IOException {
        try {
            return exit.get();
        } catch (ExecutionException e) {
            throw asIo(e);
        }
    }

    /**
     * Waits at most {@code timeout} for the process to end.
     *
     * @throws TimeoutException if it still runs; it is not killed
     */
    public int waitFor(Duration timeout) throws InterruptedException, IOException, TimeoutException {
        try {
            return exit.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            throw asIo(e);
        }
    }

    private static IOException asIo(ExecutionException e) {
        return e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
    }

    /** Drops the connection: the agent kills the process if it still runs. Idempotent. */
    @Override
    public void close() {
        connection.close();
        stdout.close();
        stderr.close();
    }

    @Override
    public String toString() {
        return "GuestProcess[pid " + pid + (exit.isDone() && !exit.isCompletedExceptionally()
                ? ", exited " + exit.join() : "") + "]";
    }

    /** Stdin as frames of at most {@value #STDIN_CHUNK} bytes; close sends the end. */
    private final class StdinStream extends OutputStream {
        private boolean closed;

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) throws IOException {
            java.util.Objects.checkFromIndexSize(off, len, b.length);
            if (closed) {
                throw new IOException("stdin of guest process " + pid + " is closed");
            }
            for (int done = 0; done < len; ) {
                int n = Math.min(STDIN_CHUNK, len - done);
                connection.send(AgentProtocol.STDIN, b, off + done, n);
                done += n;
            }
        }

        @Override
        public synchronized void close() throws IOException {
            if (!closed) {
                closed = true;
                connection.send(AgentProtocol.STDIN_END, new byte[0]);
            }
        }
    }
}
