package dev.ember.vmm;

import java.io.IOException;
import java.io.OutputStream;

/**
 * The guest console's output side: bytes from the UART, the SBI console and HTIF, gathered in
 * a buffer that a flusher thread writes to the host stream, at once after a newline and within
 * a few milliseconds otherwise (prompts have no newline).
 *
 * <p>A vCPU never does host I/O here, so a slow terminal delays no other vCPU while it holds
 * the lock. If the host stops reading altogether and the 64 KiB buffer fills, the writing vCPU
 * waits for room: console output is never dropped.
 *
 * <p>Thread-safe: any vCPU thread writes; the flusher thread and {@link #flush} write out.
 */
public final class ConsoleOutput implements AutoCloseable {

    private static final int CAPACITY = 64 * 1024;

    private final OutputStream out;
    private final Object ioLock = new Object();
    private byte[] buffer = new byte[CAPACITY];
    private byte[] spare = new byte[CAPACITY];
    private int length;
    private final Thread flusher;
    private volatile boolean closed;

    public ConsoleOutput(OutputStream out) {
        this(out, "ember-console-flush");
    }

    /** A console whose flusher thread is named {@code threadName}. */
    ConsoleOutput(OutputStream out, String threadName) {
        this.out = out;
        this.flusher = Thread.ofPlatform().daemon().name(threadName).start(this::flushLoop);
    }

    /** Appends one byte, waiting only if the host has not drained a full buffer. */
    public synchronized void write(int b) {
        while (length == buffer.length && !closed) {
            notifyAll();
            try {
                wait(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        if (length < buffer.length) {
            buffer[length++] = (byte) b;
        }
        if (b == '\n') {
            notifyAll();
        }
    }

    private void flushLoop() {
        while (!closed) {
            synchronized (this) {
                if (length == 0) {
                    try {
                        wait(5);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
            flush();
        }
    }

    /** Writes everything buffered so far to the host stream. */
    public void flush() {
        synchronized (ioLock) {
            byte[] chunk;
            int n;
            synchronized (this) {
                if (length == 0) {
                    return;
                }
                chunk = buffer;
                n = length;
                buffer = spare;
                spare = chunk;
                length = 0;
                notifyAll();
            }
            try {
                out.write(chunk, 0, n);
                out.flush();
            } catch (IOException e) {
                // The host terminal is gone (closed pipe): the guest keeps running, its output is dropped.
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        flusher.interrupt();
        flush();
    }
}
