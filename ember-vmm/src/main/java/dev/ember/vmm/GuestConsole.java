package dev.ember.vmm;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A {@link MicroVm}'s console as the embedding application sees it: what the guest printed, as a
 * bounded history that streams and searches read, and the guest's keyboard. The console is the
 * one the kernel command line names ({@code console=ttyS0}: the 16550 UART; {@code hvc0}: the SBI
 * console; {@code hvc1}: the virtio console).
 *
 * <p><b>Output is kept, not pushed.</b> Every byte the guest prints gets a position (0 for the
 * first byte after boot). The newest {@link MicroVmBuilder#consoleHistoryBytes history size}
 * bytes (1 MiB unless set) are kept; older ones are dropped. The guest is never made to wait for
 * a slow or absent reader, so an application that never reads the console costs nothing, and a
 * reader that falls more than the history behind skips the bytes it missed. Set
 * {@link MicroVmBuilder#consoleCopy} to get every byte, in order, as it is printed.
 *
 * <p><b>Guest-controlled.</b> All output. Memory is bounded by the history size; a search scans
 * only the kept bytes.
 *
 * <p>Thread-safe: any thread may read, search or write. Writes from several threads reach the
 * guest in some interleaving of whole {@code write} calls; do not type while an
 * {@link MicroVm#exec} is running.
 */
public final class GuestConsole {

    private final ConsoleHistory history;
    private final ConsoleInputPipe input;

    GuestConsole(ConsoleHistory history, ConsoleInputPipe input) {
        this.history = history;
        this.input = input;
    }

    /**
     * {@return a new stream of what the guest prints, starting at the oldest kept byte}
     * Reads block until the guest prints; the stream ends when the VM is closed. Each call gives
     * an independent reader.
     */
    public InputStream guestOutput() {
        return history.reader();
    }

    /**
     * {@return the guest's console input} Bytes go to the guest in order; a write blocks while the
     * guest is not taking input and 64 KiB are already waiting. Writing after the VM is closed
     * fails with an {@link IOException}.
     */
    public OutputStream guestInput() {
        return input.sink();
    }

    /**
     * Types {@code text} (UTF-8) at the guest console, as is: add {@code "\n"} to end a line.
     *
     * @throws UncheckedIOException if the VM is closed
     */
    public void write(String text) {
        try {
            input.sink().write(text.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@return the position after the newest byte: how many bytes the guest has printed so far} */
    public long position() {
        return history.end();
    }

    /** {@return the kept output as text (UTF-8; {@code \r} left in)} */
    public String text() {
        return text(0);
    }

    /** {@return the kept output from {@code from} on, as text} */
    public String text(long from) {
        return new String(history.copy(from, Long.MAX_VALUE), StandardCharsets.UTF_8);
    }

    /**
     * Waits until {@code text} appears anywhere in the kept output.
     *
     * @return whether it appeared within {@code timeout}
     */
    public boolean awaitOutput(String text, Duration timeout) throws InterruptedException {
        return awaitOutput(text, 0, timeout) >= 0;
    }

    /**
     * Waits until {@code text} appears at or after position {@code from}; pass
     * {@link #position()} taken before an action to wait for what the action makes the guest print.
     *
     * @return the position just after the first match, or -1 if none appeared within
     *         {@code timeout} or the VM was closed
     */
    public long awaitOutput(String text, long from, Duration timeout) throws InterruptedException {
        byte[] needle = text.getBytes(StandardCharsets.UTF_8);
        long at = history.find(needle, from, deadline(timeout));
        return at < 0 ? -1 : at + needle.length;
    }

    static long deadline(Duration timeout) {
        long nanos = timeout.isNegative() ? 0 : timeout.compareTo(Duration.ofDays(365)) > 0
                ? Duration.ofDays(365).toNanos() : timeout.toNanos();
        return System.nanoTime() + nanos;
    }

    ConsoleHistory history() {
        return history;
    }
}
