package dev.ember.vmm;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.Objects;

/**
 * A bounded byte pipe from the embedding application to the VM's console input thread
 * ({@link VirtualMachine#attachConsoleInput}): writers block while it is full, the reader blocks
 * while it is empty, and {@link #close} turns the reader's next empty read into end of stream.
 * Unlike {@link java.io.PipedInputStream}, any number of short-lived threads may write.
 *
 * <p>Thread-safe: any thread writes through {@link #sink}; one console input thread reads.
 */
final class ConsoleInputPipe extends InputStream {

    static final int CAPACITY = 64 * 1024;

    private final byte[] ring = new byte[CAPACITY];
    private int head;
    private int count;
    private boolean closed;

    private final OutputStream sink = new OutputStream() {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            put(b, off, len);
        }
    };

    /** {@return the writing end; writes block while the guest is not taking input} */
    OutputStream sink() {
        return sink;
    }

    private synchronized void put(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        while (len > 0) {
            while (count == CAPACITY && !closed) {
                awaitChange();
            }
            if (closed) {
                throw new IOException("the VM's console is closed");
            }
            int n = Math.min(len, CAPACITY - count);
            for (int i = 0; i < n; i++) {
                ring[(head + count + i) % CAPACITY] = b[off + i];
            }
            count += n;
            off += n;
            len -= n;
            notifyAll();
        }
    }

    /**
     * Puts all of {@code b} into the pipe at once, waiting until there is room for the whole of
     * it or {@code deadlineNanos} ({@link System#nanoTime} time) passes: never part of it, so a
     * line typed at the guest's shell arrives whole or not at all, and a guest that takes no
     * input cannot hold the caller past its deadline.
     *
     * @return whether it was put; false if the deadline passed first
     * @throws IOException if the pipe is closed (the VM has stopped), or the thread was interrupted
     */
    synchronized boolean offerWhole(byte[] b, long deadlineNanos) throws IOException {
        if (b.length > CAPACITY) {
            throw new IllegalArgumentException(b.length + " bytes cannot be put at once in a pipe of " + CAPACITY);
        }
        while (CAPACITY - count < b.length && !closed) {
            long leftNanos = deadlineNanos - System.nanoTime();
            if (leftNanos <= 0) {
                return false;
            }
            awaitChange(Math.max(1, leftNanos / 1_000_000));
        }
        put(b, 0, b.length);
        return true;
    }

    private void awaitChange() throws InterruptedIOException {
        awaitChange(0);
    }

    /** Waits for a read, a write or the close, at most {@code millis} (0: without limit). */
    private void awaitChange(long millis) throws InterruptedIOException {
        try {
            wait(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for the guest to take console input");
        }
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public synchronized int read(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        if (len == 0) {
            return 0;
        }
        while (count == 0 && !closed) {
            awaitChange();
        }
        if (count == 0) {
            return -1;
        }
        int n = Math.min(len, count);
        for (int i = 0; i < n; i++) {
            b[off + i] = ring[(head + i) % CAPACITY];
        }
        head = (head + n) % CAPACITY;
        count -= n;
        notifyAll();
        return n;
    }

    /** Ends the pipe: blocked writers fail, the reader sees end of stream. */
    @Override
    public synchronized void close() {
        closed = true;
        notifyAll();
    }
}
