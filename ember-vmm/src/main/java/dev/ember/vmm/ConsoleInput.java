package dev.ember.vmm;

import java.io.IOException;
import java.io.InputStream;

/**
 * Copies host console input to the guest's console device, waiting when its buffer is full so no
 * keystroke or piped byte is lost. When {@link EscapeHandler} is set (an interactive
 * terminal), {@code Ctrl-A x} quits, as in QEMU, and {@code Ctrl-A Ctrl-A} sends one Ctrl-A.
 *
 * <p>Runs on its own daemon thread; ends at end of input, or when interrupted (as
 * {@link VirtualMachine#close} does, since the guest may have stopped taking input).
 */
public final class ConsoleInput implements Runnable {

    /** What Ctrl-A X does. */
    @FunctionalInterface
    public interface EscapeHandler {
        void quit();
    }

    private static final int CTRL_A = 0x01;

    private final InputStream in;
    private final InputSink sink;
    private final EscapeHandler escape;

    ConsoleInput(InputStream in, InputSink sink, EscapeHandler escape) {
        this.in = in;
        this.sink = sink;
        this.escape = escape;
    }

    @Override
    public void run() {
        byte[] buf = new byte[256];
        byte[] filtered = new byte[256];
        boolean sawEscape = false;
        try {
            int n;
            while ((n = in.read(buf)) > 0) {
                if (escape == null) {
                    deliver(buf, n);
                    continue;
                }
                int m = 0;
                for (int i = 0; i < n; i++) {
                    int b = buf[i] & 0xFF;
                    if (sawEscape) {
                        sawEscape = false;
                        if (b == 'x' || b == 'X') {
                            escape.quit();
                            return;
                        }
                        if (b == CTRL_A) {
                            filtered[m++] = (byte) CTRL_A;
                        }
                    } else if (b == CTRL_A) {
                        sawEscape = true;
                    } else {
                        filtered[m++] = (byte) b;
                    }
                }
                deliver(filtered, m);
            }
        } catch (IOException e) {
            // Input closed: the guest keeps running without console input.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void deliver(byte[] data, int length) throws InterruptedException {
        int off = 0;
        while (off < length) {
            int accepted = sink.offer(data, off, length - off);
            off += accepted;
            if (off < length) {
                sink.awaitSpace(100);
            }
        }
    }
}
