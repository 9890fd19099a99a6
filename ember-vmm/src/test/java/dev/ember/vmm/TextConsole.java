package dev.ember.vmm;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;

/** A guest console captured as text, for in-JVM boot tests that wait on what the guest prints. */
final class TextConsole extends ByteArrayOutputStream {
    synchronized String text() {
        return toString(StandardCharsets.UTF_8);
    }

    synchronized int await(String s, int from, long millis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + millis;
        while (true) {
            int at = text().indexOf(s, from);
            if (at >= 0) {
                return at + s.length();
            }
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                throw new AssertionError("no '" + s + "' in:\n" + text());
            }
            wait(Math.min(left, 100));
        }
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
        super.write(b, off, len);
        notifyAll();
    }

    @Override
    public synchronized void write(int b) {
        super.write(b);
        notifyAll();
    }

    /** Types {@code line} and a newline at the guest's UART, waiting while its input FIFO is full. */
    static void type(VirtualMachine vm, String line) throws InterruptedException {
        byte[] b = (line + "\n").getBytes(StandardCharsets.US_ASCII);
        int off = 0;
        while (off < b.length) {
            int n = vm.uart().offer(b, off, b.length - off);
            off += n;
            if (n == 0) {
                vm.uart().awaitInputSpace(100);
            }
        }
    }

    /** Waits for the default guest's first userspace line, then its shell prompt; {@return the index past the prompt} */
    int awaitPrompt() throws InterruptedException {
        int at = await("ember-guest: userspace up", 0, 180_000);
        return await("# ", at, 60_000);
    }

    /** Runs {@code vm} on a background thread; the future completes with {@link VirtualMachine#run}'s status. */
    static CompletableFuture<Integer> runInBackground(VirtualMachine vm) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return vm.run();
            } catch (InterruptedException e) {
                return -1;
            }
        });
    }
}
