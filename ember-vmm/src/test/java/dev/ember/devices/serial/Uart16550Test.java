package dev.ember.devices.serial;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class Uart16550Test {

    // Register offsets and bits as Linux's include/uapi/linux/serial_reg.h names them.
    private static final int UART_RX = 0, UART_TX = 0, UART_DLL = 0, UART_IER = 1, UART_DLM = 1;
    private static final int UART_IIR = 2, UART_FCR = 2, UART_LCR = 3, UART_MCR = 4;
    private static final int UART_LSR = 5, UART_MSR = 6, UART_SCR = 7;
    private static final int UART_IER_RDI = 0x01, UART_IER_THRI = 0x02;
    private static final int UART_IIR_NO_INT = 0x01, UART_IIR_THRI = 0x02, UART_IIR_RDI = 0x04;
    private static final int UART_LSR_DR = 0x01, UART_LSR_THRE = 0x20, UART_LSR_TEMT = 0x40;
    private static final int UART_LCR_DLAB = 0x80, UART_LCR_WLEN8 = 0x03;
    private static final int UART_FCR_ENABLE_FIFO = 0x01, UART_FCR_CLEAR_RCVR = 0x02, UART_FCR_CLEAR_XMIT = 0x04;

    private final ByteArrayOutputStream sent = new ByteArrayOutputStream();
    private final List<Boolean> irqLevels = new ArrayList<>();
    private Uart16550 uart;

    @BeforeEach
    void setUp() {
        uart = new Uart16550(sent::write, irqLevels::add);
    }

    private int in(int reg) {
        return (int) uart.read(reg, 1);
    }

    private void out(int reg, int value) {
        uart.write(reg, 1, value);
    }

    private boolean irq() {
        return !irqLevels.isEmpty() && irqLevels.getLast();
    }

    @Test
    void thrWriteTransmitsAtOnce() {
        out(UART_LCR, UART_LCR_WLEN8);
        for (byte b : "hi\n".getBytes()) {
            out(UART_TX, b);
        }
        assertArrayEquals("hi\n".getBytes(), sent.toByteArray());
        assertEquals(UART_LSR_THRE | UART_LSR_TEMT, in(UART_LSR));
    }

    @Test
    void bytesThroughThrAndRbrAreCountedButNotDivisorWrites() {
        out(UART_LCR, UART_LCR_DLAB | UART_LCR_WLEN8);
        out(UART_DLL, 1);
        out(UART_LCR, UART_LCR_WLEN8);
        for (byte b : "abc".getBytes()) {
            out(UART_TX, b);
        }
        uart.offer("xy".getBytes(), 0, 2);
        in(UART_RX);
        in(UART_RX);
        in(UART_RX);   // empty: reads 0 and counts nothing
        assertEquals(3, uart.bytesTransmitted());
        assertEquals(2, uart.bytesReceived());
    }

    @Test
    void divisorLatchHoldsDivisorAndHidesThr() {
        out(UART_LCR, UART_LCR_DLAB | UART_LCR_WLEN8);
        out(UART_DLL, 0x01);
        out(UART_DLM, 0x02);
        assertEquals(0x01, in(UART_DLL));
        assertEquals(0x02, in(UART_DLM));
        assertEquals(0, sent.size());

        out(UART_LCR, UART_LCR_WLEN8);
        assertEquals(0, in(UART_IER));
        out(UART_TX, 'x');
        assertEquals(1, sent.size());
        out(UART_LCR, UART_LCR_DLAB);
        assertEquals(0x0201, in(UART_DLL) | in(UART_DLM) << 8);
    }

    @Test
    void receivedByteSetsDrAndRaisesRdaWhenEnabled() {
        assertTrue(uart.offer((byte) 'a'));
        assertEquals(UART_LSR_DR, in(UART_LSR) & UART_LSR_DR);
        assertEquals(UART_IIR_NO_INT, in(UART_IIR) & 0x0F);
        assertFalse(irq());

        out(UART_IER, UART_IER_RDI);
        assertTrue(irq());
        assertEquals(UART_IIR_RDI, in(UART_IIR) & 0x0F);
        assertEquals(UART_IIR_RDI, in(UART_IIR) & 0x0F);   // reading IIR does not clear RDA

        assertEquals('a', in(UART_RX));
        assertEquals(0, in(UART_LSR) & UART_LSR_DR);
        assertEquals(UART_IIR_NO_INT, in(UART_IIR) & 0x0F);
        assertFalse(irq());
    }

    @Test
    void rdaStaysWhileFifoHoldsData() {
        out(UART_FCR, UART_FCR_ENABLE_FIFO);
        out(UART_IER, UART_IER_RDI);
        assertEquals(3, uart.offer("xyz".getBytes(), 0, 3));
        StringBuilder got = new StringBuilder();
        while ((in(UART_IIR) & 0x0F) == UART_IIR_RDI) {
            got.append((char) in(UART_RX));
        }
        assertEquals("xyz", got.toString());
        assertFalse(irq());
    }

    @Test
    void iirReportsFifoModeInTopBits() {
        assertEquals(0x00, in(UART_IIR) & 0xC0);
        out(UART_FCR, UART_FCR_ENABLE_FIFO);
        assertEquals(0xC0, in(UART_IIR) & 0xC0);
        out(UART_FCR, 0);
        assertEquals(0x00, in(UART_IIR) & 0xC0);
    }

    @Test
    void enablingThriWithEmptyThrRaisesIt() {
        out(UART_IER, UART_IER_THRI);
        assertTrue(irq());
        assertEquals(UART_IIR_THRI, in(UART_IIR) & 0x0F);
    }

    @Test
    void readingIirAcknowledgesThri() {
        out(UART_IER, UART_IER_THRI);
        assertEquals(UART_IIR_THRI, in(UART_IIR) & 0x0F);
        assertEquals(UART_IIR_NO_INT, in(UART_IIR) & 0x0F);
        assertFalse(irq());
    }

    @Test
    void thrWriteReraisesThriOnceSent() {
        out(UART_IER, UART_IER_THRI);
        in(UART_IIR);
        out(UART_TX, 'z');
        assertTrue(irq());
        assertEquals(UART_IIR_THRI, in(UART_IIR) & 0x0F);
    }

    @Test
    void clearingThriDropsItAndRewritingIerWithoutEdgeDoesNotRaise() {
        out(UART_IER, UART_IER_THRI);
        out(UART_IER, 0);
        assertFalse(irq());
        assertEquals(UART_IIR_NO_INT, in(UART_IIR) & 0x0F);

        out(UART_IER, UART_IER_THRI);
        in(UART_IIR);                      // acknowledged
        out(UART_IER, UART_IER_THRI | UART_IER_RDI);   // THRI unchanged: no new edge
        assertEquals(UART_IIR_NO_INT, in(UART_IIR) & 0x0F);
    }

    @Test
    void rdaOutranksThriAndThriSurvivesIt() {
        out(UART_IER, UART_IER_THRI | UART_IER_RDI);
        uart.offer((byte) 'q');
        assertEquals(UART_IIR_RDI, in(UART_IIR) & 0x0F);
        assertEquals('q', in(UART_RX));
        assertEquals(UART_IIR_THRI, in(UART_IIR) & 0x0F);
        assertEquals(UART_IIR_NO_INT, in(UART_IIR) & 0x0F);
    }

    /** serial8250_do_startup's UART_BUG_THRE and UART_BUG_TXEN probes must find no bug. */
    @Test
    void linuxStartupProbesSeeAWorkingThre() {
        out(UART_LCR, UART_LCR_WLEN8);
        // THRE test.
        out(UART_IER, UART_IER_THRI);
        int iir1 = in(UART_IIR);
        out(UART_IER, 0);
        out(UART_IER, UART_IER_THRI);
        int iir = in(UART_IIR);
        out(UART_IER, 0);
        assertEquals(0, iir1 & UART_IIR_NO_INT, "THRE not raised on first enable");
        assertEquals(0, iir & UART_IIR_NO_INT, "UART_BUG_THRE would be set");
        // TXEN test.
        out(UART_IER, UART_IER_THRI);
        int lsr = in(UART_LSR);
        iir = in(UART_IIR);
        out(UART_IER, 0);
        assertTrue((lsr & UART_LSR_TEMT) != 0 && (iir & UART_IIR_NO_INT) == 0, "UART_BUG_TXEN would be set");
        assertFalse(irq());
    }

    /** The interrupt-driven transmit path: start_tx, the IRQ handler's tx_chars loop, stop_tx. */
    @Test
    void linuxInterruptDrivenTransmitDrainsAndStops() {
        out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT);
        out(UART_IER, UART_IER_RDI);
        byte[] message = "0123456789abcdefghijklmnopqrstuvwxyz".getBytes();
        int next = 0;
        out(UART_IER, UART_IER_RDI | UART_IER_THRI);   // __start_tx
        int interrupts = 0;
        while (irq() && interrupts++ < 100) {
            // serial8250_handle_irq: read IIR, then LSR; tx_chars when THRE and THRI enabled.
            int iir = in(UART_IIR);
            if ((iir & UART_IIR_NO_INT) != 0) {
                continue;
            }
            int lsr = in(UART_LSR);
            if ((lsr & UART_LSR_THRE) != 0 && (in(UART_IER) & UART_IER_THRI) != 0) {
                if (next == message.length) {
                    out(UART_IER, UART_IER_RDI);        // __stop_tx
                } else {
                    for (int n = 0; n < 16 && next < message.length; n++) {
                        out(UART_TX, message[next++]);
                    }
                }
            }
        }
        assertArrayEquals(message, sent.toByteArray());
        assertFalse(irq());
        assertEquals(UART_IIR_NO_INT, in(UART_IIR) & 0x0F);
    }

    @Test
    void fullInputBufferRefusesMoreUntilTheGuestReads() throws InterruptedException {
        byte[] lots = new byte[Uart16550.INPUT_CAPACITY + 904];
        for (int i = 0; i < lots.length; i++) {
            lots[i] = (byte) i;
        }
        assertEquals(Uart16550.INPUT_CAPACITY, uart.offer(lots, 0, lots.length));
        assertFalse(uart.offer((byte) 1));
        assertEquals(0, uart.offer(lots, 0, 10));
        assertFalse(uart.awaitInputSpace(1));

        assertEquals(0, in(UART_RX));
        assertTrue(uart.awaitInputSpace(0));
        assertEquals(1, uart.offer(lots, Uart16550.INPUT_CAPACITY, 904));
        for (int i = 1; i <= Uart16550.INPUT_CAPACITY; i++) {
            assertEquals(i & 0xFF, in(UART_RX), "byte " + i);
        }
        assertEquals(0, in(UART_LSR) & UART_LSR_DR);
    }

    @Test
    void waitingInputThreadWakesWhenTheGuestReads() throws Exception {
        while (uart.offer((byte) 7)) {
            // fill
        }
        Thread reader = Thread.ofPlatform().start(() -> {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            in(UART_RX);
        });
        assertTrue(uart.awaitInputSpace(10_000));
        reader.join();
    }

    static Stream<Arguments> receiveFlushes() {
        return Stream.of(
            // name                 FIFO on  bytes offered  bytes left after RCVR clear
            arguments("FIFO mode",  true,    40,            24),
            arguments("FIFO mode, few", true, 5,            0),
            arguments("16450 mode", false,   40,            39));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("receiveFlushes")
    void receiveFifoResetDropsOnlyTheFifo(String name, boolean fifo, int offered, int left) {
        out(UART_FCR, fifo ? UART_FCR_ENABLE_FIFO : 0);
        uart.offer(new byte[offered], 0, offered);
        out(UART_FCR, (fifo ? UART_FCR_ENABLE_FIFO : 0) | UART_FCR_CLEAR_RCVR);
        int count = 0;
        while ((in(UART_LSR) & UART_LSR_DR) != 0) {
            in(UART_RX);
            count++;
        }
        assertEquals(left, count, name);
    }

    static Stream<Arguments> plainRegisters() {
        return Stream.of(
            // register   written  read back
            arguments(UART_SCR, 0xA5, 0xA5),
            arguments(UART_LCR, 0x1B, 0x1B),
            arguments(UART_MCR, 0xFF, 0x1F),
            arguments(UART_IER, 0xFF, 0x0F));
    }

    @ParameterizedTest(name = "register {0}")
    @MethodSource("plainRegisters")
    void registersReadBackTheirImplementedBits(int reg, int written, int expected) {
        out(reg, written);
        assertEquals(expected, in(reg));
    }

    @Test
    void msrReportsCarrierAndLoopbackMapsMcr() {
        assertEquals(0xB0, in(UART_MSR));
        out(UART_MCR, 0x10 | 0x0A);        // Linux autoconfig's loopback check
        assertEquals(0x90, in(UART_MSR) & 0xF0);
    }

    @Test
    void hostileAccessesNeverThrow() {
        long[] offsets = {-1, Long.MIN_VALUE, Long.MAX_VALUE, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0xFF, 0x100, 0x1_0000_0000L};
        int[] widths = {0, 1, 2, 3, 4, 8, 16, -1};
        long[] values = {0, 0xFF, 0x1FF, -1, Long.MIN_VALUE, 0x80, 0x07};
        for (long off : offsets) {
            for (int w : widths) {
                for (long v : values) {
                    assertDoesNotThrow(() -> {
                        uart.write(off, w, v);
                        uart.read(off, w);
                    }, () -> "offset " + off + " width " + w + " value " + v);
                }
            }
        }
    }

    @Test
    void offsetsPastTheRegistersReadZero() {
        out(UART_SCR, 0x55);
        assertEquals(0, uart.read(8, 1));
        assertEquals(0, uart.read(0xFF, 1));
    }
}
