package dev.ember.devices.virtio.rng;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.devices.virtio.FakeDriver;
import dev.ember.devices.virtio.FakeDriver.Buffer;
import dev.ember.devices.virtio.FakeDriver.Used;
import dev.ember.devices.virtio.VirtioFeatures;
import dev.ember.devices.virtio.queue.Virtqueue;
import java.security.SecureRandom;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** virtio-rng (VIRTIO 1.2 §5.4) through {@link FakeDriver}. */
class VirtioRngTest {

    private static final int Q = VirtioRng.REQUESTQ;

    private final VirtioRng rng = new VirtioRng();
    private final FakeDriver driver = new FakeDriver(rng, 4 << 20);

    @AfterEach
    void close() {
        driver.close();
    }

    private static long distinctBytes(byte[] b) {
        return IntStream.range(0, b.length).map(i -> b[i]).distinct().count();
    }

    @Test
    void identifiesAsEntropyDeviceWithNoFeaturesOfItsOwn() {
        assertEquals(4, driver.reg(0x008));
        assertEquals(VirtioFeatures.TRANSPORT, driver.deviceFeatures());
    }

    @Test
    void writableBufferIsFilledWithVaryingBytesAndUsedLengthIsItsSize() {
        assertTrue(driver.initialize(16));
        long buf = driver.alloc(64);
        int head = driver.post(Q, Buffer.out(buf, 64));
        driver.notify(Q);

        assertEquals(List.of(new Used(head, 64)), driver.takeUsed(Q));
        assertThat(distinctBytes(driver.memory().read(buf, 64))).isGreaterThan(8);
        assertTrue(driver.irqAsserted());
        assertEquals(64, rng.metrics().bytes.sum());
    }

    @Test
    void multiBufferChainIsFilledAcrossEveryBuffer() {
        assertTrue(driver.initialize(16));
        long a = driver.alloc(16), b = driver.alloc(48);
        int head = driver.post(Q, Buffer.out(a, 16), Buffer.out(b, 48));
        driver.notify(Q);

        assertEquals(List.of(new Used(head, 64)), driver.takeUsed(Q));
        assertThat(distinctBytes(driver.memory().read(a, 16))).isGreaterThan(2);
        assertThat(distinctBytes(driver.memory().read(b, 48))).isGreaterThan(4);
    }

    @Test
    void indirectChainIsFilled() {
        assertTrue(driver.initialize(16));
        long a = driver.alloc(32), b = driver.alloc(32);
        int head = driver.postIndirect(Q, Buffer.out(a, 32), Buffer.out(b, 32));
        driver.notify(Q);

        assertEquals(List.of(new Used(head, 64)), driver.takeUsed(Q));
        assertThat(distinctBytes(driver.memory().read(b, 32))).isGreaterThan(4);
    }

    @Test
    void severalRequestsInOneNotifyAreAllAnswered() {
        assertTrue(driver.initialize(16));
        int h1 = driver.post(Q, Buffer.out(driver.alloc(8), 8));
        int h2 = driver.post(Q, Buffer.out(driver.alloc(512), 512));
        int h3 = driver.post(Q, Buffer.out(driver.alloc(1), 1));
        driver.notify(Q);

        assertEquals(List.of(new Used(h1, 8), new Used(h2, 512), new Used(h3, 1)), driver.takeUsed(Q));
        assertEquals(3, rng.metrics().requests.sum());
    }

    @Test
    void requestLargerThanTheBoundGetsTheBoundAndTheRestIsUntouched() {
        assertTrue(driver.initialize(16));
        int length = VirtioRng.MAX_REQUEST + 4096;
        long buf = driver.alloc(length);
        int head = driver.post(Q, Buffer.out(buf, length));
        driver.notify(Q);

        assertEquals(List.of(new Used(head, VirtioRng.MAX_REQUEST)), driver.takeUsed(Q));
        assertArrayEquals(new byte[4096], driver.memory().read(buf + VirtioRng.MAX_REQUEST, 4096));
        assertEquals(1, rng.metrics().truncatedRequests.sum());
    }

    @Test
    void chainWithoutWritablePartIsReturnedEmptyAndCounted() {
        assertTrue(driver.initialize(16));
        int head = driver.post(Q, Buffer.in(driver.alloc(16), 16));
        driver.notify(Q);

        assertEquals(List.of(new Used(head, 0)), driver.takeUsed(Q));
        assertEquals(1, rng.metrics().badChains.sum());
        assertFalse(driver.needsReset());
    }

    @Test
    void readablePartIsIgnoredAndLeftIntact() {
        assertTrue(driver.initialize(16));
        long in = driver.allocWith(new byte[] {1, 2, 3, 4});
        long buf = driver.alloc(16);
        int head = driver.post(Q, Buffer.in(in, 4), Buffer.out(buf, 16));
        driver.notify(Q);

        assertEquals(List.of(new Used(head, 16)), driver.takeUsed(Q));
        assertArrayEquals(new byte[] {1, 2, 3, 4}, driver.memory().read(in, 4));
    }

    @Test
    void bytesComeFromTheGivenSource() throws Exception {
        SecureRandom source = SecureRandom.getInstance("SHA1PRNG");
        source.setSeed(42);
        SecureRandom twin = SecureRandom.getInstance("SHA1PRNG");
        twin.setSeed(42);
        byte[] expected = new byte[32];
        twin.nextBytes(expected);

        VirtioRng seeded = new VirtioRng(source);
        try (FakeDriver d = new FakeDriver(seeded, 4 << 20)) {
            assertTrue(d.initialize(16));
            long buf = d.alloc(32);
            d.post(Q, Buffer.out(buf, 32));
            d.notify(Q);
            assertArrayEquals(expected, d.memory().read(buf, 32));
        }
    }

    @Test
    void loopingChainMarksTheDeviceForReset() {
        assertTrue(driver.initialize(16));
        long buf = driver.alloc(8);
        driver.writeDescriptor(Q, 0, buf, 8, Virtqueue.VIRTQ_DESC_F_WRITE | Virtqueue.VIRTQ_DESC_F_NEXT, 0);
        driver.publish(Q, 0);
        driver.notify(Q);

        assertTrue(driver.needsReset());
        assertEquals(List.of(), driver.takeUsed(Q));
    }
}
