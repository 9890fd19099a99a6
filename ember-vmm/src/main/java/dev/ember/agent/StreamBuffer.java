package dev.ember.agent;

import java.io.IOException;
import java.io.InputStream;

/**
 * A bounded byte pipe from a {@link GuestProcess}'s reader thread to the application: the
 * reader {@link #put}s what the guest sent and blocks while the buffer is full, so a process that
 * writes faster than the application reads is held back by vsock flow control (the agent stops
 * reading the process's pipe) instead of filling the host's memory.
 *
 * <p>Threads: one producer (the reader thread), any consumer; guarded by this object's monitor.
 */
final class StreamBuffer extends InputStream {

    private final byte[] ring;
    private int head;      // next byte to read
    private int count;     // bytes waiting
    private boolean ended;         // the producer is done
    private boolean readerClosed;  // the application closed the stream: drop what comes

    StreamBuffer(int capacity) {
        this.ring = new byte[capacity];
    }

    /** Appends {@code b[off, off+len)}, waiting for room; drops it if the stream was closed. */
    synchronized void put(byte[] b, int off, int len) throws InterruptedException {
        while (len > 0 && !readerClosed) {
            while (count == ring.length && !readerClosed) {
                wait();
            }
            if (readerClosed) {
                return;
            }
            int tail = (head + count) % ring.length;
            int n = Math.min(len, Math.min(ring.length - count, ring.length - tail));
            System.arraycopy(b, off, ring, tail, n);
            count += n;
            off += n;
            len -= n;
            notifyAll();
        }
    }

    /** Marks the end: readers get -1 once the buffer is empty. */
    synchronized void end() {
        ended = true;
        notifyAll();
    }

    @Override
    public synchronized int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public synchronized int read(byte[] b, int off, int len) throws IOException {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        if (len == 0) {
            return 0;
        }
        while (count == 0 && !ended && !readerClosed) {
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while reading guest output");
            }
        }
        if (count == 0) {
            return -1;
        }
        int n = Math.min(len, Math.min(count, ring.length - head));
        System.arraycopy(ring, head, b, off, n);
        head = (head + n) % ring.length;
        count -= n;
        notifyAll();
        return n;
    }

    @Override
    public synchronized int available() {
        return count;
    }

    /** Stops reading: what is buffered and what comes later is dropped, so the producer never blocks on it. */
    @Override
    public synchronized void close() {
        readerClosed = true;
        count = 0;
        notifyAll();
    }
}
