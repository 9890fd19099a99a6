package dev.ember.devices.virtio.console;

import dev.ember.devices.virtio.VirtioContext;
import dev.ember.devices.virtio.VirtioDevice;
import dev.ember.devices.virtio.queue.DescriptorChain;
import dev.ember.devices.virtio.queue.Virtqueue;
import dev.ember.devices.virtio.queue.VirtqueueViolation;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;

/**
 * A single-port virtio console (VIRTIO 1.2 §5.3), as Linux's {@code virtio_console} drives it
 * for {@code hvc0}: guest output goes to a host {@link Output}, host input typed on the VMM's
 * console-input thread goes to the guest.
 *
 * <pre>
 *   queue 0  receiveq0   device-writable buffers the driver posts for input   (§5.3.2)
 *   queue 1  transmitq0  device-readable buffers of output
 *   config   cols:le16 | rows:le16 | max_nr_ports:le32 | emerg_wr:le32        (§5.3.4)
 * </pre>
 *
 * <p>Features: only VIRTIO_CONSOLE_F_EMERG_WRITE (§5.3.3): a write to {@code emerg_wr} sends
 * one byte of output without any queue. Neither F_SIZE (cols and rows read 0) nor F_MULTIPORT
 * (no control queues, one port) is offered.
 *
 * <p>Output (§5.3.6): each transmit chain's readable bytes, at most {@link #MAX_TX_CHAIN}, go
 * to the output in order and the chain is returned at once with used length 0, on the vCPU
 * that notified. Linux's {@code __send_to_port} spins until that happens, so it must not wait.
 *
 * <p>Input (§5.3.6.1): {@link #offer} puts bytes into a bounded input ring
 * ({@link #INPUT_CAPACITY}) and moves as much of it as fits into the receive buffers the driver
 * has posted; what does not fit waits there until the driver posts more (a receiveq notify).
 * A full ring refuses further bytes so the caller waits ({@link #awaitInputSpace}) and retries:
 * the same contract as {@code Uart16550.offer}, so the VMM can feed either. Input typed before
 * the driver is ready, or across a device reset, stays queued for the next driver.
 *
 * <p><b>Guest-controlled.</b> The chains and their lengths. A transmit chain longer than
 * {@link #MAX_TX_CHAIN} is cut there (the rest is dropped and counted), so a guest cannot make
 * one notification copy gigabytes; writable buffers in it are ignored. A receive chain without
 * writable space is returned empty and counted. The guest cannot make the device hold more
 * than {@link #INPUT_CAPACITY} bytes of input, nor block the input thread: it only stops
 * taking input, which the caller waits out with a timeout. Configuration writes other than a
 * 4-byte write of {@code emerg_wr} are ignored.
 *
 * <p>Threads: the transport calls in on vCPU threads under this object's monitor; the VMM's
 * console-input thread calls {@link #offer} and {@link #awaitInputSpace}, which take the same
 * monitor, so input is delivered to the receive queue on that thread. The output is called
 * with the monitor held, which keeps output in order; it must not call back into this device.
 */
public final class VirtioConsole implements VirtioDevice {

    /** Where guest output goes. Called under the device monitor; must not throw or block long. */
    @FunctionalInterface
    public interface Output {
        /** Writes {@code b[off..off+len)}. */
        void write(byte[] b, int off, int len);

        /** {@return an output that hands each byte, 0..255, to {@code sink}, e.g. the VMM's console writer} */
        static Output bytewise(IntConsumer sink) {
            Objects.requireNonNull(sink, "sink");
            return (b, off, len) -> {
                for (int i = 0; i < len; i++) {
                    sink.accept(b[off + i] & 0xFF);
                }
            };
        }
    }

    /** §5: device ID of a console. */
    public static final int DEVICE_ID = 3;
    /** §5.3.3: feature bits. */
    public static final int VIRTIO_CONSOLE_F_SIZE = 0, VIRTIO_CONSOLE_F_MULTIPORT = 1,
            VIRTIO_CONSOLE_F_EMERG_WRITE = 2;
    /** §5.3.2: queue indices of port 0. */
    public static final int RECEIVEQ = 0, TRANSMITQ = 1;
    /** Bytes of input held while the driver has no receive buffer posted. */
    public static final int INPUT_CAPACITY = 4096;
    /** Most bytes taken from one transmit chain. */
    public static final int MAX_TX_CHAIN = 64 * 1024;

    private static final int CONFIG_EMERG_WR = 8;

    private final Output output;
    private final VirtioConsoleMetrics metrics = new VirtioConsoleMetrics();
    private final byte[] input = new byte[INPUT_CAPACITY];   // ring
    private int inputHead;
    private int inputCount;
    private byte[] txBuffer = new byte[256];
    private VirtioContext context;   // non-null while active

    /**
     * @param output receives guest output, on the vCPU thread that sent it
     */
    public VirtioConsole(Output output) {
        this.output = Objects.requireNonNull(output, "output");
    }

    /** {@return the device's counters} */
    public VirtioConsoleMetrics metrics() {
        return metrics;
    }

    @Override
    public int deviceType() {
        return DEVICE_ID;
    }

    @Override
    public long deviceFeatures() {
        return 1L << VIRTIO_CONSOLE_F_EMERG_WRITE;
    }

    @Override
    public int queueCount() {
        return 2;
    }

    @Override
    public long readConfig(int offset, int width) {
        return 0;   // cols, rows and max_nr_ports are only meaningful with F_SIZE / F_MULTIPORT
    }

    @Override
    public synchronized void writeConfig(int offset, int width, long value) {
        // §5.3.4: emerg_wr is a 32-bit field whose low byte is the character. It works before
        // DRIVER_OK too (an early console), when no negotiated feature set is visible here.
        if (offset == CONFIG_EMERG_WR && width == 4) {
            metrics.emergencyWrites.increment();
            emit(new byte[] {(byte) value}, 1);
        }
    }

    @Override
    public synchronized void activate(VirtioContext context) throws VirtqueueViolation {
        this.context = context;
        drainTransmit();
        deliver();
    }

    @Override
    public synchronized void queueNotify(int index) throws VirtqueueViolation {
        if (index == TRANSMITQ) {
            drainTransmit();
        } else if (index == RECEIVEQ) {
            deliver();
        }
    }

    @Override
    public synchronized void reset() {
        context = null;   // queued input stays for the next driver
    }

    /**
     * Queues as many of {@code b[off..off+len)} as fit for the guest, in order, and delivers
     * what the driver has receive buffers for.
     *
     * @return how many bytes were taken, from the front; the caller retries with the rest
     */
    public synchronized int offer(byte[] b, int off, int len) {
        Objects.checkFromIndexSize(off, len, b.length);
        int taken = 0;
        while (taken < len) {
            int n = Math.min(len - taken, INPUT_CAPACITY - inputCount);
            if (n == 0) {
                break;
            }
            for (int i = 0; i < n; i++) {
                input[(inputHead + inputCount + i) % INPUT_CAPACITY] = b[off + taken + i];
            }
            inputCount += n;
            taken += n;
            if (!deliverOrFail()) {
                break;   // no receive buffers: what is queued waits for the driver
            }
        }
        return taken;
    }

    /**
     * Waits until the input ring has room or {@code timeoutMillis} passes.
     *
     * @return whether the ring has room now
     */
    public synchronized boolean awaitInputSpace(long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (inputCount == INPUT_CAPACITY) {
            long leftMillis = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (leftMillis <= 0) {
                return false;
            }
            wait(leftMillis);
        }
        return true;
    }

    /** {@return the bytes of input waiting for receive buffers} */
    public synchronized int pendingInput() {
        return inputCount;
    }

    /**
     * Delivers from the console-input thread, where a driver's rule-breaking cannot be thrown to
     * the transport.
     *
     * @return whether the ring is now empty
     */
    private boolean deliverOrFail() {
        try {
            deliver();
        } catch (VirtqueueViolation v) {
            VirtioContext failing = context;
            if (failing != null) {
                failing.fail(v);
            }
        }
        return inputCount == 0;
    }

    /** Moves queued input into posted receive buffers. */
    private void deliver() throws VirtqueueViolation {
        Virtqueue rx = context == null ? null : context.queue(RECEIVEQ);
        if (rx == null) {
            return;
        }
        boolean used = false;
        while (inputCount > 0) {
            DescriptorChain chain = rx.pop();
            if (chain == null) {
                // Out of buffers with input left: ask for a notification when more arrive.
                if (rx.enableNotification()) {
                    continue;
                }
                break;
            }
            used = true;
            if (chain.writableBytes() == 0) {
                metrics.badChains.increment();
                rx.addUsed(chain.head(), 0);
                continue;
            }
            int n = (int) Math.min(inputCount, chain.writableBytes());
            int first = Math.min(n, INPUT_CAPACITY - inputHead);
            chain.write(0, input, inputHead, first);
            chain.write(first, input, 0, n - first);
            inputHead = (inputHead + n) % INPUT_CAPACITY;
            inputCount -= n;
            metrics.rxBytes.add(n);
            metrics.rxChains.increment();
            rx.addUsed(chain.head(), n);
        }
        if (used) {
            notifyAll();   // room in the ring for awaitInputSpace
            if (rx.needsInterrupt()) {
                context.usedBuffers();
            }
        }
    }

    private void drainTransmit() throws VirtqueueViolation {
        Virtqueue tx = context == null ? null : context.queue(TRANSMITQ);
        if (tx == null) {
            return;
        }
        boolean used = false;
        do {
            for (DescriptorChain chain; (chain = tx.pop()) != null; ) {
                used = true;
                // Bounds: at most MAX_TX_CHAIN bytes per chain, whatever the guest claims.
                int n = (int) Math.min(chain.readableBytes(), MAX_TX_CHAIN);
                if (chain.readableBytes() > MAX_TX_CHAIN) {
                    metrics.txTruncatedBytes.add(chain.readableBytes() - MAX_TX_CHAIN);
                }
                if (txBuffer.length < n) {
                    txBuffer = new byte[Math.max(n, Math.min(2 * txBuffer.length, MAX_TX_CHAIN))];
                }
                chain.read(0, txBuffer, 0, n);
                emit(txBuffer, n);
                metrics.txChains.increment();
                tx.addUsed(chain.head(), 0);
            }
        } while (tx.enableNotification());
        if (used && tx.needsInterrupt()) {
            context.usedBuffers();
        }
    }

    private void emit(byte[] b, int len) {
        if (len == 0) {
            return;
        }
        try {
            output.write(b, 0, len);
            metrics.txBytes.add(len);
        } catch (RuntimeException e) {
            metrics.outputErrors.increment();   // a host sink failing must not fail a guest store
        }
    }

    /** The console's state for snapshots: input the guest has not received yet. */
    public record State(byte[] input) { }

    @Override
    public synchronized Record saveState() {
        byte[] pending = new byte[inputCount];
        for (int i = 0; i < inputCount; i++) {
            pending[i] = input[(inputHead + i) % INPUT_CAPACITY];
        }
        return new State(pending);
    }


    @Override
    public synchronized void restoreState(Record state) {
        byte[] pending = ((State) state).input() == null ? new byte[0] : ((State) state).input();
        if (pending.length > INPUT_CAPACITY) {
            throw new IllegalArgumentException("virtio-console state holds more input than the device can");
        }
        System.arraycopy(pending, 0, input, 0, pending.length);
        inputHead = 0;
        inputCount = pending.length;
    }

    /** The virtio-console {@code config} asks for, writing guest output to {@code output}. */
    public static VirtioConsole create(dev.ember.config.VirtioConsoleConfig config, Output output) {
        return new VirtioConsole(output);
    }
}
