package dev.ember.vmm;

import dev.ember.agent.AgentException;
import dev.ember.agent.GuestAgent;
import dev.ember.agent.GuestProcess;
import dev.ember.agent.ProcessSpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs one process to completion through the guest agent for {@link MicroVm#exec}: feeds its
 * stdin, collects stdout and stderr (each up to {@link MicroVm#MAX_EXEC_OUTPUT} bytes; the rest
 * is read and dropped so the process is never blocked), and kills it if it outlives its time.
 *
 * <p>Threads: the caller's, plus two virtual threads per call (stdin writer, stderr reader).
 */
final class AgentExec {

    /** How long the output streams may take to end after the exit status arrived. */
    private static final long OUTPUT_END_SECONDS = 10;

    private AgentExec() {
    }

    static ExecResult run(GuestAgent agent, ProcessSpec spec, byte[] stdin, long deadlineNanos, String vmName)
            throws InterruptedException, TimeoutException {
        GuestProcess p;
        try {
            p = agent.spawn(spec);
        } catch (AgentException e) {
            return new ExecResult(new byte[0], (e.getMessage() + "\n").getBytes(StandardCharsets.UTF_8),
                    e.exitCode() < 0 ? 126 : e.exitCode());
        } catch (IOException e) {
            throw new IllegalStateException("VM " + vmName + ": the guest agent failed: " + e.getMessage(), e);
        }
        try (p) {
            CompletableFuture<Void> input = CompletableFuture.runAsync(() -> feed(p, stdin), AgentExec::virtual);
            CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> collect(p.stdout()), AgentExec::virtual);
            CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> collect(p.stderr()), AgentExec::virtual);
            int status = p.waitFor(Duration.ofNanos(Math.max(0, deadlineNanos - System.nanoTime())));
            input.cancel(true);
            // The exit status comes after the last output and the agent then closes: both streams end promptly.
            return new ExecResult(out.get(OUTPUT_END_SECONDS, TimeUnit.SECONDS), err.get(OUTPUT_END_SECONDS, TimeUnit.SECONDS),
                    status);
        } catch (IOException | ExecutionException e) {
            throw new IllegalStateException("VM " + vmName + ": lost the guest process " + p.pid() + ": "
                    + e.getMessage(), e);
        } catch (TimeoutException e) {
            throw new TimeoutException("VM " + vmName + ": " + spec.args() + " did not finish in time; it was killed");
        }
    }

    private static void virtual(Runnable r) {
        Thread.ofVirtual().name("ember-exec").start(r);
    }

    private static void feed(GuestProcess p, byte[] stdin) {
        try (var in = p.stdin()) {
            if (stdin != null) {
                in.write(stdin);
            }
        } catch (IOException e) {
            // The process ended or closed its input: the rest of stdin has nowhere to go.
        }
    }

    /** Reads {@code in} to its end, keeping the first {@link MicroVm#MAX_EXEC_OUTPUT} bytes. */
    private static byte[] collect(InputStream in) {
        ByteArrayOutputStream kept = new ByteArrayOutputStream();
        byte[] buf = new byte[16 * 1024];
        try {
            for (int n; (n = in.read(buf)) >= 0; ) {
                kept.write(buf, 0, Math.min(n, Math.max(0, MicroVm.MAX_EXEC_OUTPUT - kept.size())));
            }
        } catch (IOException e) {
            // The connection ended: keep what arrived.
        }
        return kept.toByteArray();
    }
}
