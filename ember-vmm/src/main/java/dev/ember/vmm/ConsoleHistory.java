package dev.ember.vmm;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * The guest console's output as a bounded history addressed by absolute byte positions: byte
 * {@code p} is the {@code p}-th byte the guest ever printed. The newest {@code maxBytes} are kept;
 * older ones are dropped, and {@link #start} moves past them. Waiters (searches, readers) are
 * woken on every append.
 *
 * <p>Why drop rather than block: the vCPU that prints waits when {@link ConsoleOutput}'s buffer
 * is full, so a history that blocked would stall a guest whose embedder never reads the console
 * (the common case for an application that only uses {@link MicroVm#exec}).
 *
 * <p><b>Guest-controlled.</b> Everything stored here. The guest can print without end; memory
 * stays at most {@code maxBytes}, and the buffer grows from 64 KiB only as output arrives.
 *
 * <p>Thread-safe: the console flusher thread appends; any thread searches or reads.
 */
final class ConsoleHistory extends OutputStream {

    private static final int INITIAL_CAPACITY = 64 * 1024;

    private final int maxBytes;
    private final OutputStream copy;
    private byte[] ring;
    private long start;
    private long end;
    private boolean closed;

    /**
     * @param maxBytes how much output to keep, at least 1
     * @param copy     a stream that gets every byte as well (e.g. the host's terminal), or null
     */
    ConsoleHistory(int maxBytes, OutputStream copy) {
        if (maxBytes < 1) {
            throw new IllegalArgumentException("console history must keep at least 1 byte, not " + maxBytes);
        }
        this.maxBytes = maxBytes;
        this.copy = copy;
        this.ring = new byte[Math.min(maxBytes, INITIAL_CAPACITY)];
    }

    @Override
    public void write(int b) {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        synchronized (this) {
            int keptOff = off;
            int keptLen = len;
            if (keptLen > maxBytes) {
                end += keptLen - maxBytes;
                keptOff += keptLen - maxBytes;
                keptLen = maxBytes;
                start = end;
            }
            long needed = end + keptLen - start;
            while (needed > ring.length && ring.length < maxBytes) {
                grow((int) Math.min(maxBytes, 2L * ring.length));
            }
            for (int i = 0; i < keptLen; i++) {
                ring[index(end + i)] = b[keptOff + i];
            }
            end += keptLen;
            start = Math.max(start, end - ring.length);
            notifyAll();
        }
        if (copy != null) {
            try {
                copy.write(b, off, len);
                copy.flush();
            } catch (IOException e) {
                // The copy's reader is gone; the history itself is unaffected.
            }
        }
    }

    private void grow(int capacity) {
        byte[] bigger = new byte[capacity];
        for (long p = start; p < end; p++) {
            bigger[(int) (p % capacity)] = ring[index(p)];
        }
        ring = bigger;
    }

    private int index(long position) {
        return (int) (position % ring.length);
    }

    /** {@return the position of the oldest byte still kept} */
    synchronized long start() {
        return start;
    }

    /** {@return the position after the newest byte: how many bytes the guest has printed} */
    synchronized long end() {
        return end;
    }

    /** {@return the kept bytes in {@code [from, to)}, clipped to what is kept} */
    synchronized byte[] copy(long from, long to) {
        long s = Math.max(from, start);
        long e = Math.min(to, end);
        if (e <= s) {
            return new byte[0];
        }
        byte[] out = new byte[(int) (e - s)];
        for (int i = 0; i < out.length; i++) {
            out[i] = ring[index(s + i)];
        }
        return out;
    }

    /**
     * Waits until {@code needle} appears at or after {@code from}.
     *
     * @return the position where the first match starts, or -1 if none appeared before
     *         {@code deadlineNanos} (a {@link System#nanoTime} value) or the history was closed
     */
    synchronized long find(byte[] needle, long from, long deadlineNanos) throws InterruptedException {
        if (needle.length == 0) {
            return Math.max(from, start);
        }
        long scanFrom = from;
        while (true) {
            long s = Math.max(scanFrom, start);
            for (long p = s; p + needle.length <= end; p++) {
                if (matchesAt(needle, p)) {
                    return p;
                }
            }
            scanFrom = Math.max(s, end - needle.length + 1);
            if (closed) {
                return -1;
            }
            long leftNanos = deadlineNanos - System.nanoTime();
            if (leftNanos <= 0) {
                return -1;
            }
            wait(Math.max(1, leftNanos / 1_000_000));
        }
    }

    private boolean matchesAt(byte[] needle, long p) {
        for (int i = 0; i < needle.length; i++) {
            if (ring[index(p + i)] != needle[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Copies kept bytes from {@code position} into {@code dst}, waiting for at least one.
     *
     * @return the position after the bytes copied, where the copy began being
     *         {@code max(position, start())}; {@code position} itself if the history was closed
     *         with nothing left at or after it
     */
    synchronized long read(long position, byte[] dst, int off, int len, int[] count) throws InterruptedException {
        while (Math.max(position, start) >= end && !closed) {
            wait();
        }
        long s = Math.max(position, start);
        int n = (int) Math.min(len, end - s);
        if (n <= 0) {
            count[0] = -1;
            return position;
        }
        for (int i = 0; i < n; i++) {
            dst[off + i] = ring[index(s + i)];
        }
        count[0] = n;
        return s + n;
    }

    /** Ends the history: waiters return, readers see end of stream once they have read what is kept. */
    @Override
    public synchronized void close() {
        closed = true;
        notifyAll();
    }

    /** {@return a new stream over the output, from the oldest kept byte; a reader that falls behind by more than the history skips ahead} */
    InputStream reader() {
        return new InputStream() {
            private long position = start();
            private final int[] count = new int[1];

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                int n = read(one, 0, 1);
                return n < 0 ? -1 : one[0] & 0xFF;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                java.util.Objects.checkFromIndexSize(off, len, b.length);
                if (len == 0) {
                    return 0;
                }
                try {
                    position = ConsoleHistory.this.read(position, b, off, len, count);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted while waiting for guest console output");
                }
                return count[0];
            }

            @Override
            public int available() {
                synchronized (ConsoleHistory.this) {
                    return (int) Math.min(Integer.MAX_VALUE, Math.max(0, end - Math.max(position, start)));
                }
            }
        };
    }

    @Override
    public synchronized String toString() {
        return "ConsoleHistory[start=" + start + ", end=" + end + ", capacity=" + ring.length + "]"
                + (closed ? " closed" : "");
    }
}
