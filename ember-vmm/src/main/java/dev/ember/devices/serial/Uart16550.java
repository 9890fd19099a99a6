package dev.ember.devices.serial;

import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;

import dev.ember.devices.irq.IrqLine;
import dev.ember.memory.MmioDevice;

/**
 * An NS16550A UART with 16-byte FIFOs and register shift 0, as QEMU's {@code virt} board has
 * at {@code 0x1000_0000} and as Linux's 8250 driver ({@code drivers/tty/serial/8250}) drives
 * it (National Semiconductor PC16550D datasheet; QEMU {@code hw/char/serial.c}).
 *
 * <pre>
 *   off  DLAB=0 read   DLAB=0 write   DLAB=1
 *   0    RBR           THR            DLL
 *   1    IER           IER            DLM
 *   2    IIR           FCR
 *   3    LCR           LCR
 *   4    MCR           MCR
 *   5    LSR           (ignored)
 *   6    MSR           (ignored)
 *   7    SCR           SCR
 * </pre>
 *
 * <p>Transmission is instant: a THR write hands the byte to the output sink, so LSR.THRE and
 * LSR.TEMT always read as set. The THR-empty interrupt follows serial.c: it becomes pending
 * when THR empties (after every THR write, and on a transmit FIFO reset) and on a rising edge
 * of IER.ETBEI while THR is empty; it is withdrawn by writing THR, by clearing IER.ETBEI, or
 * by reading IIR while IIR reports it. Linux's start-up probes ({@code UART_BUG_TXEN},
 * {@code UART_BUG_THRE}) and its {@code serial8250_tx_chars} loop depend on exactly this.
 *
 * <p>Reception is fed by a host thread through {@link #offer}: bytes enter a bounded input
 * buffer ({@link #INPUT_CAPACITY}) whose first 16 bytes (1 with FIFOs disabled) are the
 * receive FIFO. A full buffer refuses further bytes, so the caller waits
 * ({@link #awaitInputSpace}) and retries: input is never dropped by the device, and LSR.OE is
 * never set. The one guest-requested loss is an FCR receive-FIFO reset, which discards what
 * sits in the FIFO, as on hardware. IIR reports "received data available" whenever data is
 * ready and IER.ERBFI is set, regardless of the FIFO trigger level, so no character-timeout
 * indication is needed. Line-status and modem-status interrupts never occur: no line errors
 * exist, and MSR reads DCD|DSR|CTS (in loopback, the MCR outputs as the datasheet maps them;
 * loopback does not echo data). The IRQ line is high while IIR reports any interrupt; MCR.OUT2
 * does not gate it, as in QEMU.
 *
 * <p><b>Guest-controlled.</b> Every register takes any byte value; only offsets 0..7 are
 * decoded, an access of any width reaches the single register at its offset with the low
 * byte of the value, and offsets 8..{@code SIZE-1} read zero. The guest cannot make the
 * device buffer more than {@link #INPUT_CAPACITY} bytes or block the host input thread.
 *
 * <p>Threads: vCPU threads (MMIO) and one host input thread ({@link #offer}); all state is
 * guarded by this object's monitor. The output sink and the IRQ line are called with the
 * monitor held, which keeps output bytes and line levels in order; neither may call back
 * into this UART.
 */
public final class Uart16550 implements MmioDevice {

    /** Size of the register window, as QEMU {@code virt}'s {@code VIRT_UART0}. */
    public static final long SIZE = 0x100;

    /** Bytes the input buffer holds before {@link #offer} refuses more. */
    public static final int INPUT_CAPACITY = 4096;

    /** Depth of the receive and transmit FIFOs when FCR.FIFOE is set. */
    public static final int FIFO_DEPTH = 16;

    static final int RBR = 0, THR = 0, DLL = 0;
    static final int IER = 1, DLM = 1;
    static final int IIR = 2, FCR = 2;
    static final int LCR = 3;
    static final int MCR = 4;
    static final int LSR = 5;
    static final int MSR = 6;
    static final int SCR = 7;

    static final int IER_ERBFI = 0x01;   // received data available
    static final int IER_ETBEI = 0x02;   // transmitter holding register empty
    static final int IER_MASK = 0x0F;

    static final int IIR_NO_INT = 0x01;
    static final int IIR_THRI = 0x02;
    static final int IIR_RDI = 0x04;
    static final int IIR_FIFO_ENABLED = 0xC0;

    static final int FCR_FIFOE = 0x01;
    static final int FCR_RFR = 0x02;     // receive FIFO reset, self-clearing
    static final int FCR_XFR = 0x04;     // transmit FIFO reset, self-clearing
    static final int FCR_STICKY = 0xC9;  // trigger level, DMA mode, FIFO enable

    static final int LCR_DLAB = 0x80;

    static final int MCR_MASK = 0x1F;
    static final int MCR_LOOP = 0x10;

    static final int LSR_DR = 0x01;
    static final int LSR_THRE = 0x20;
    static final int LSR_TEMT = 0x40;

    static final int MSR_CTS = 0x10, MSR_DSR = 0x20, MSR_RI = 0x40, MSR_DCD = 0x80;

    private final IntConsumer output;
    private final IrqLine irq;

    private int ier;
    private int lcr;
    private int mcr;
    private int fcr;
    private int scr;
    private int divisor;
    private boolean thrInterruptPending;
    private boolean irqLevel;

    private final byte[] input = new byte[INPUT_CAPACITY];   // ring; its head is the receive FIFO
    private int inputHead;
    private int inputCount;
    // Written under the monitor, read without it: a reader must not wait behind a vCPU whose
    // console output is blocked on a host that stopped reading.
    private volatile long bytesTransmitted;
    private volatile long bytesReceived;

    /**
     * Creates the UART in its reset state: FIFOs off, interrupts disabled, line low.
     *
     * @param output receives each transmitted byte (0..255), on the transmitting vCPU thread;
     *               it must not throw, since a guest store must never fail
     * @param irq    the interrupt line; PLIC source 10 on {@code virt}
     */
    public Uart16550(IntConsumer output, IrqLine irq) {
        this.output = Objects.requireNonNull(output, "output");
        this.irq = Objects.requireNonNull(irq, "irq");
    }

    /**
     * Returns the registers to their reset state for a machine reset (interrupts disabled,
     * FIFOs off). Input already typed stays queued for the rebooted guest.
     */
    public synchronized void reset() {
        ier = 0;
        lcr = 0;
        mcr = 0;
        fcr = 0;
        scr = 0;
        divisor = 0;
        thrInterruptPending = false;
        updateIrq();
    }

    @Override
    public long size() {
        return SIZE;
    }

    /** {@return bytes the guest wrote to THR}: Firecracker's {@code uart.write_count} */
    public long bytesTransmitted() {
        return bytesTransmitted;
    }

    /** {@return bytes the guest read from RBR}: Firecracker's {@code uart.read_count} */
    public long bytesReceived() {
        return bytesReceived;
    }

    /**
     * Queues one received byte for the guest.
     *
     * @return false if the input buffer is full and the byte was not taken
     */
    public synchronized boolean offer(byte b) {
        if (inputCount == INPUT_CAPACITY) {
            return false;
        }
        input[(inputHead + inputCount) % INPUT_CAPACITY] = b;
        inputCount++;
        updateIrq();
        return true;
    }

    /**
     * Queues as many of {@code b[off..off+len)} as fit in the input buffer, in order.
     *
     * @return how many bytes were taken, from the front; the caller retries with the rest
     */
    public synchronized int offer(byte[] b, int off, int len) {
        Objects.checkFromIndexSize(off, len, b.length);
        int taken = Math.min(len, INPUT_CAPACITY - inputCount);
        for (int i = 0; i < taken; i++) {
            input[(inputHead + inputCount + i) % INPUT_CAPACITY] = b[off + i];
        }
        inputCount += taken;
        if (taken > 0) {
            updateIrq();
        }
        return taken;
    }

    /**
     * Waits until the input buffer has room or {@code timeoutMillis} passes.
     *
     * @return whether the buffer has room now
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

    @Override
    public synchronized long read(long offset, int width) {
        if (offset < 0 || offset > SCR) {
            return 0;
        }
        return switch ((int) offset) {
            case RBR -> (lcr & LCR_DLAB) != 0 ? divisor & 0xFF : readRbr();
            case IER -> (lcr & LCR_DLAB) != 0 ? divisor >>> 8 : ier;
            case IIR -> readIir();
            case LCR -> lcr;
            case MCR -> mcr;
            case LSR -> (inputCount > 0 ? LSR_DR : 0) | LSR_THRE | LSR_TEMT;
            case MSR -> readMsr();
            default -> scr;
        };
    }

    @Override
    public synchronized void write(long offset, int width, long value) {
        if (offset < 0 || offset > SCR) {
            return;
        }
        int v = (int) value & 0xFF;
        switch ((int) offset) {
            case THR -> {
                if ((lcr & LCR_DLAB) != 0) {
                    divisor = (divisor & 0xFF00) | v;
                } else {
                    output.accept(v);
                    bytesTransmitted++;
                    // Writing THR withdraws the THRE interrupt; the instant transmission
                    // empties THR again, which raises it anew.
                    thrInterruptPending = true;
                    updateIrq();
                }
            }
            case IER -> {
                if ((lcr & LCR_DLAB) != 0) {
                    divisor = (divisor & 0x00FF) | (v << 8);
                } else {
                    writeIer(v);
                }
            }
            case FCR -> writeFcr(v);
            case LCR -> lcr = v;
            case MCR -> mcr = v & MCR_MASK;
            case SCR -> scr = v;
            default -> { }   // LSR and MSR: factory-test writes, ignored
        }
    }

    private int readRbr() {
        if (inputCount == 0) {
            return 0;
        }
        int b = input[inputHead] & 0xFF;
        bytesReceived++;
        inputHead = (inputHead + 1) % INPUT_CAPACITY;
        inputCount--;
        if (inputCount == INPUT_CAPACITY - 1) {
            notifyAll();
        }
        updateIrq();
        return b;
    }

    private int readIir() {
        int id = interruptId();
        if (id == IIR_THRI) {
            thrInterruptPending = false;
            updateIrq();
        }
        return id | ((fcr & FCR_FIFOE) != 0 ? IIR_FIFO_ENABLED : 0);
    }

    private int readMsr() {
        if ((mcr & MCR_LOOP) == 0) {
            return MSR_DCD | MSR_DSR | MSR_CTS;
        }
        // Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD (PC16550D, MCR bit 4).
        return ((mcr & 0x01) != 0 ? MSR_DSR : 0) | ((mcr & 0x02) != 0 ? MSR_CTS : 0)
                | ((mcr & 0x04) != 0 ? MSR_RI : 0) | ((mcr & 0x08) != 0 ? MSR_DCD : 0);
    }

    private void writeIer(int v) {
        int changed = (ier ^ v) & IER_MASK;
        ier = v & IER_MASK;
        if ((changed & IER_ETBEI) != 0) {
            // A rising edge of ETBEI re-samples THRE (always set here); clearing it drops the
            // request, as serial.c does.
            thrInterruptPending = (ier & IER_ETBEI) != 0;
        }
        updateIrq();
    }

    private void writeFcr(int v) {
        if (v == fcr) {
            return;
        }
        if (((v ^ fcr) & FCR_FIFOE) != 0) {
            v |= FCR_RFR | FCR_XFR;   // toggling FIFO mode flushes both FIFOs
        }
        if ((v & FCR_RFR) != 0) {
            int flushed = Math.min(inputCount, (fcr & FCR_FIFOE) != 0 ? FIFO_DEPTH : 1);
            inputHead = (inputHead + flushed) % INPUT_CAPACITY;
            inputCount -= flushed;
            if (flushed > 0) {
                notifyAll();
            }
        }
        if ((v & FCR_XFR) != 0) {
            thrInterruptPending = true;
        }
        fcr = v & FCR_STICKY;
        updateIrq();
    }

    /** {@return the IIR interrupt identification, highest priority first, as serial.c ranks them} */
    private int interruptId() {
        if ((ier & IER_ERBFI) != 0 && inputCount > 0) {
            return IIR_RDI;
        }
        if ((ier & IER_ETBEI) != 0 && thrInterruptPending) {
            return IIR_THRI;
        }
        return IIR_NO_INT;
    }

    private void updateIrq() {
        boolean level = interruptId() != IIR_NO_INT;
        if (level != irqLevel) {
            irqLevel = level;
            irq.set(level);
        }
    }

    /**
     * The UART's state for snapshots: its registers, the pending THR-empty interrupt and the
     * received bytes the guest has not read yet (the receive FIFO and what waits behind it).
     */
    public record State(int ier, int lcr, int mcr, int fcr, int scr, int divisor, boolean thrInterruptPending,
                        byte[] input) { }

    /** {@return the state, for a snapshot} */
    public synchronized State saveState() {
        byte[] pending = new byte[inputCount];
        for (int i = 0; i < inputCount; i++) {
            pending[i] = input[(inputHead + i) % INPUT_CAPACITY];
        }
        return new State(ier, lcr, mcr, fcr, scr, divisor, thrInterruptPending, pending);
    }

    /**
     * Restores {@code s} and drives the interrupt line to match.
     *
     * @throws IllegalArgumentException if more input is saved than the UART can hold
     */
    public synchronized void restoreState(State s) {
        byte[] pending = s.input() == null ? new byte[0] : s.input();
        if (pending.length > INPUT_CAPACITY) {
            throw new IllegalArgumentException("UART state holds " + pending.length + " input bytes, more than " + INPUT_CAPACITY);
        }
        ier = s.ier() & 0xFF;
        lcr = s.lcr() & 0xFF;
        mcr = s.mcr() & 0xFF;
        fcr = s.fcr() & 0xFF;
        scr = s.scr() & 0xFF;
        divisor = s.divisor() & 0xFFFF;
        thrInterruptPending = s.thrInterruptPending();
        System.arraycopy(pending, 0, input, 0, pending.length);
        inputHead = 0;
        inputCount = pending.length;
        updateIrq();
    }
}
