package dev.ember.devices.virtio.console;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.devices.virtio.FakeDriver;
import dev.ember.devices.virtio.FakeDriver.Buffer;
import dev.ember.devices.virtio.FakeDriver.Used;
import dev.ember.devices.virtio.VirtioFeatures;
import dev.ember.devices.virtio.VirtioMmio;
import dev.ember.devices.virtio.queue.Virtqueue;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** virtio-console (VIRTIO 1.2 §5.3) through {@link FakeDriver}: output, input both ways, hostile chains. */
class VirtioConsoleTest {

    private static final int RX = VirtioConsole.RECEIVEQ, TX = VirtioConsole.TRANSMITQ;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final VirtioConsole console = new VirtioConsole(out::write);
    private final FakeDriver driver = new FakeDriver(console, 4 << 20);

    @AfterEach
    void close() {
        driver.close();
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private String output() {
        return out.toString(StandardCharsets.US_ASCII);
    }

    private String string(long gpa, int length) {
        return new String(driver.memory().read(gpa, length), StandardCharsets.US_ASCII);
    }

    private int offer(String s) {
        byte[] b = ascii(s);
        return console.offer(b, 0, b.length);
    }

    @Test
    void identifiesAsConsoleOfferingOnlyEmergWrite() {
        assertEquals(3, driver.reg(0x008));
        assertEquals(1L << VirtioConsole.VIRTIO_CONSOLE_F_EMERG_WRITE | VirtioFeatures.TRANSPORT, driver.deviceFeatures());
        assertEquals(2, console.queueCount());
        assertEquals(0, driver.transport().read(0x100, 4), "cols/rows without F_SIZE");
    }

    @Test
    void afterTransportResetInputNoLongerTouchesGuestMemory() {
        // The VMM resets every transport before it unmaps guest RAM; a key typed after that
        // must be held, not written into what may no longer be guest memory.
        assertTrue(driver.initialize(16));
        long gpa = driver.alloc(8);
        driver.post(RX, Buffer.out(gpa, 8));
        driver.transport().reset();
        assertEquals(2, offer("hi"));
        assertEquals(0, driver.memory().readU16(gpa));
        assertEquals(2, console.pendingInput());
    }

    @Test
    void transmitChainReachesOutputAndIsReturnedWithLengthZero() {
        assertTrue(driver.initialize(16));
        int head = driver.post(TX, Buffer.in(driver.allocWith(ascii("hel")), 3), Buffer.in(driver.allocWith(ascii("lo\n")), 3));
        driver.notify(TX);

        assertEquals("hello\n", output());
        assertEquals(List.of(new Used(head, 0)), driver.takeUsed(TX));
        assertTrue(driver.irqAsserted());
        assertEquals(VirtioMmio.INTERRUPT_USED_BUFFER, driver.ackInterrupt());
    }

    @Test
    void indirectTransmitChainsAreServedInOrder() {
        assertTrue(driver.initialize(16));
        int first = driver.postIndirect(TX, Buffer.in(driver.allocWith(ascii("one ")), 4));
        int second = driver.postIndirect(TX, Buffer.in(driver.allocWith(ascii("two")), 3));
        driver.notify(TX);

        assertEquals("one two", output());
        assertEquals(List.of(new Used(first, 0), new Used(second, 0)), driver.takeUsed(TX));
        assertEquals(2, console.metrics().txChains.sum());
    }

    @Test
    void transmitChainLongerThanTheBoundIsCutAndCounted() {
        assertTrue(driver.initialize(16));
        int length = VirtioConsole.MAX_TX_CHAIN + 1000;
        int head = driver.post(TX, Buffer.in(driver.alloc(length), length));
        driver.notify(TX);

        assertEquals(VirtioConsole.MAX_TX_CHAIN, out.size());
        assertEquals(1000, console.metrics().txTruncatedBytes.sum());
        assertEquals(List.of(new Used(head, 0)), driver.takeUsed(TX));
    }

    @Test
    void inputOfferedBeforeTheDriverExistsIsDeliveredWhenItPostsBuffers() {
        assertEquals(3, offer("abc"));
        assertEquals(3, console.pendingInput());
        assertTrue(driver.initialize(16));
        assertEquals(3, offer("def"), "still queued: no receive buffer yet");

        long buf = driver.alloc(64);
        int head = driver.post(RX, Buffer.out(buf, 64));
        driver.notify(RX);

        assertEquals(List.of(new Used(head, 6)), driver.takeUsed(RX));
        assertEquals("abcdef", string(buf, 6));
        assertEquals(0, console.pendingInput());
        assertTrue(driver.irqAsserted());
    }

    @Test
    void inputOfferedWhileBuffersArePostedIsDeliveredAtOnce() {
        assertTrue(driver.initialize(16));
        long buf = driver.alloc(64);
        int head = driver.post(RX, Buffer.out(buf, 64));
        driver.notify(RX);
        assertEquals(List.of(), driver.takeUsed(RX), "nothing to deliver yet");

        assertEquals(2, offer("ls"));

        assertEquals(List.of(new Used(head, 2)), driver.takeUsed(RX));
        assertEquals("ls", string(buf, 2));
        assertTrue(driver.irqAsserted());
        assertEquals(2, console.metrics().rxBytes.sum());
    }

    @Test
    void inputLongerThanOneBufferSpansSeveralChains() {
        assertTrue(driver.initialize(16));
        long a = driver.alloc(4), b = driver.alloc(4);
        int ha = driver.post(RX, Buffer.out(a, 4));
        int hb = driver.post(RX, Buffer.out(b, 4));
        driver.notify(RX);

        assertEquals(6, offer("uptime"));

        assertEquals(List.of(new Used(ha, 4), new Used(hb, 2)), driver.takeUsed(RX));
        assertEquals("upti", string(a, 4));
        assertEquals("me", string(b, 2));
    }

    @Test
    void fullInputRingRefusesMoreUntilTheDriverTakesIt() throws Exception {
        assertTrue(driver.initialize(16));
        byte[] big = new byte[VirtioConsole.INPUT_CAPACITY + 100];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) i;
        }
        assertEquals(VirtioConsole.INPUT_CAPACITY, console.offer(big, 0, big.length));
        assertFalse(console.awaitInputSpace(5));

        CompletableFuture<Boolean> waiter = CompletableFuture.supplyAsync(() -> {
            try {
                return console.awaitInputSpace(5000);
            } catch (InterruptedException e) {
                return false;
            }
        });
        long buf = driver.alloc(VirtioConsole.INPUT_CAPACITY);
        int head = driver.post(RX, Buffer.out(buf, VirtioConsole.INPUT_CAPACITY));
        driver.notify(RX);

        assertTrue(waiter.get(5, TimeUnit.SECONDS));
        assertEquals(List.of(new Used(head, VirtioConsole.INPUT_CAPACITY)), driver.takeUsed(RX));
        assertThat(driver.memory().read(buf, VirtioConsole.INPUT_CAPACITY))
                .isEqualTo(java.util.Arrays.copyOf(big, VirtioConsole.INPUT_CAPACITY));
        assertEquals(100, console.offer(big, VirtioConsole.INPUT_CAPACITY, 100), "the rest is taken now");
    }

    @Test
    void receiveChainWithoutWritableSpaceIsReturnedEmptyAndCounted() {
        assertTrue(driver.initialize(16));
        int bad = driver.post(RX, Buffer.in(driver.alloc(8), 8));
        long buf = driver.alloc(8);
        int good = driver.post(RX, Buffer.out(buf, 8));

        assertEquals(1, offer("q"));

        assertEquals(List.of(new Used(bad, 0), new Used(good, 1)), driver.takeUsed(RX));
        assertEquals("q", string(buf, 1));
        assertEquals(1, console.metrics().badChains.sum());
    }

    @Test
    void emergencyWriteSendsOneByteOfOutput() {
        driver.transport().write(0x100 + 8, 4, 'Z');
        driver.transport().write(0x100 + 8, 1, 'X');   // not a 32-bit write: ignored

        assertEquals("Z", output());
        assertEquals(1, console.metrics().emergencyWrites.sum());
    }

    @Test
    void inputQueuedBeforeAResetReachesTheNextDriver() {
        assertTrue(driver.initialize(16));
        assertEquals(4, offer("boot"));
        driver.reg(0x070, 0);   // reset

        assertTrue(driver.initialize(16));
        long buf = driver.alloc(16);
        int head = driver.post(RX, Buffer.out(buf, 16));
        driver.notify(RX);

        assertEquals(List.of(new Used(head, 4)), driver.takeUsed(RX));
        assertEquals("boot", string(buf, 4));
    }

    @Test
    void loopingReceiveChainMarksTheDeviceForResetAndKeepsTheInput() {
        assertTrue(driver.initialize(16));
        driver.writeDescriptor(RX, 0, driver.alloc(8), 8, Virtqueue.VIRTQ_DESC_F_WRITE | Virtqueue.VIRTQ_DESC_F_NEXT, 1);
        driver.writeDescriptor(RX, 1, driver.alloc(8), 8, Virtqueue.VIRTQ_DESC_F_WRITE | Virtqueue.VIRTQ_DESC_F_NEXT, 0);
        driver.publish(RX, 0);

        assertEquals(3, offer("abc"), "taken into the ring although the queue is broken");

        assertTrue(driver.needsReset());
        assertEquals(3, console.pendingInput());
        assertEquals(1, driver.transport().violations());
    }

    @Test
    void transmitWhenTheHostOutputThrowsIsStillReturned() {
        VirtioConsole failing = new VirtioConsole((b, off, len) -> { throw new IllegalStateException("closed"); });
        try (FakeDriver d = new FakeDriver(failing, 4 << 20)) {
            assertTrue(d.initialize(16));
            int head = d.post(TX, Buffer.in(d.allocWith(ascii("x")), 1));
            d.notify(TX);

            assertEquals(List.of(new Used(head, 0)), d.takeUsed(TX));
            assertEquals(1, failing.metrics().outputErrors.sum());
            assertFalse(d.needsReset());
        }
    }

    @Test
    void bytewiseOutputHandsEachByteUnsigned() {
        StringBuilder seen = new StringBuilder();
        VirtioConsole.Output.bytewise(b -> seen.append(b).append(',')).write(new byte[] {1, (byte) 0xFF, 65}, 1, 2);
        assertEquals("255,65,", seen.toString());
    }
}
