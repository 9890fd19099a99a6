package dev.ember.vmm;

/**
 * The input side of the SBI console (legacy {@code console_getchar} and DBCN
 * {@code console_read}): a bounded byte buffer the console input thread fills and the vCPU
 * that makes the SBI call drains without blocking.
 *
 * <p>Thread-safe.
 */
final class SbiConsoleInput implements InputSink {

    static final int CAPACITY = 4096;

    private final byte[] ring = new byte[CAPACITY];
    private int head;
    private int count;

    @Override
    public synchronized int offer(byte[] b, int off, int len) {
        int taken = Math.min(len, CAPACITY - count);
        for (int i = 0; i < taken; i++) {
            ring[(head + count + i) % CAPACITY] = b[off + i];
        }
        count += taken;
        return taken;
    }

    @Override
    public synchronized void awaitSpace(long timeoutMillis) throws InterruptedException {
        if (count == CAPACITY) {
            wait(timeoutMillis);
        }
    }

    /** {@return the next byte, or -1 when none is waiting} */
    synchronized int poll() {
        if (count == 0) {
            return -1;
        }
        int b = ring[head] & 0xFF;
        head = (head + 1) % CAPACITY;
        count--;
        notifyAll();
        return b;
    }
}
