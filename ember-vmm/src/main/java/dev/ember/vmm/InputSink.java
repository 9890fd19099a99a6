package dev.ember.vmm;

/**
 * Where console input bytes go: the UART's receive buffer, or the SBI console's when the guest
 * runs its console on {@code hvc0}. Both accept what fits and let the writer wait for room, so
 * no input is ever dropped.
 */
interface InputSink {

    /** {@return how many bytes of {@code b[off..off+len)} were taken, from the front} */
    int offer(byte[] b, int off, int len);

    /** Waits up to {@code timeoutMillis} for room. */
    void awaitSpace(long timeoutMillis) throws InterruptedException;
}
