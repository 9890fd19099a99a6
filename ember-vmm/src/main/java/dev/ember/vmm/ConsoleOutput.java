package dev.ember.vmm;

import java.io.IOException;
import java.io.OutputStream;

/**
 * The guest console's output side: bytes from the UART, the SBI console and HTIF, buffered and
 * flushed to the host stream at every newline and, for prompts without one, by a daemon thread
 * a few milliseconds later. The guest never waits on the host terminal.
 *
 * <p>Thread-safe: any vCPU thread writes; the flusher thread flushes.
 */
public final class ConsoleOutput implements AutoCloseable {

    private final OutputStream out;
    private final byte[] buffer = new byte[8192];
    private int length;
    private final Thread flusher;
    private volatile boolean closed;
    private volatile long firstByteNanos;
    private final StringBuilder recent = new StringBuilder();

    public ConsoleOutput(OutputStream out) {
        this.out = out;
        this.flusher = Thread.ofPlatform().daemon().name("ember-console-flush").start(this::flushLoop);
    }

    /** Writes one byte. */
    public synchronized void write(int b) {
        if (firstByteNanos == 0) {
            firstByteNanos = System.nanoTime();
        }
        buffer[length++] = (byte) b;
        if (length == buffer.length || b == '\n') {
            flushLocked();
        }
    }

    private void flushLoop() {
        while (!closed) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                return;
            }
            flush();
        }
    }

    /** Flushes buffered bytes to the host stream. */
    public synchronized void flush() {
        flushLocked();
    }

    private void flushLocked() {
        if (length == 0) {
            return;
        }
        try {
            out.write(buffer, 0, length);
            out.flush();
        } catch (IOException e) {
            // The host terminal is gone (closed pipe): the guest keeps running, its output is dropped.
        }
        length = 0;
    }

    @Override
    public void close() {
        closed = true;
        flusher.interrupt();
        flush();
    }
}
