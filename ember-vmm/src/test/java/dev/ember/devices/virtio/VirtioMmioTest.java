package dev.ember.devices.virtio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ember.devices.virtio.FakeDriver.Buffer;
import dev.ember.devices.virtio.FakeDriver.Used;
import dev.ember.devices.virtio.queue.DescriptorChain;
import dev.ember.devices.virtio.queue.Virtqueue;
import dev.ember.devices.virtio.queue.VirtqueueViolation;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The virtio-mmio transport and split queues, driven by {@link FakeDriver}, hostile drivers included. */
class VirtioMmioTest {

    /**
     * A device that copies each request's readable bytes, upper-cased, into its writable part:
     * one queue, device type 0x7E.
     */
    static final class UpperDevice implements VirtioDevice {
        VirtioContext context;
        int activations;
        int resets;

        @Override public int deviceType() { return 0x7E; }
        @Override public long deviceFeatures() { return 1L << 3; }
        @Override public int queueCount() { return 1; }
        @Override public int queueMaxSize(int index) { return 16; }
        @Override public long readConfig(int offset, int width) { return offset == 0 ? 0x1234_5678L & ((1L << (8 * width)) - 1) : 0; }
        @Override public void activate(VirtioContext c) { context = c; activations++; }
        @Override public void reset() { context = null; resets++; }

        @Override
        public void queueNotify(int index) throws VirtqueueViolation {
            Virtqueue q = context.queue(index);
            do {
                for (DescriptorChain c; (c = q.pop()) != null; ) {
                    byte[] in = c.readAll(1 << 16);
                    String up = new String(in, StandardCharsets.US_ASCII).toUpperCase();
                    byte[] out = up.getBytes(StandardCharsets.US_ASCII);
                    q.addUsed(c.head(), c.write(0, out, 0, out.length));
                }
            } while (q.enableNotification());
            if (q.needsInterrupt()) {
                context.usedBuffers();
            }
        }
    }

    private final UpperDevice device = new UpperDevice();
    private final FakeDriver driver = new FakeDriver(device, 4 << 20);

    @AfterEach
    void close() {
        driver.close();
    }

    private long text(String s) {
        return driver.allocWith(s.getBytes(StandardCharsets.US_ASCII));
    }

    private String string(long gpa, int length) {
        return new String(driver.memory().read(gpa, length), StandardCharsets.US_ASCII);
    }

    @Test
    void identificationRegistersFollowSection4_2_2() {
        assertEquals(0x74726976, driver.reg(0x000));
        assertEquals(2, driver.reg(0x004));
        assertEquals(0x7E, driver.reg(0x008));
        assertEquals(VirtioMmio.VENDOR_ID, driver.reg(0x00c));
        assertEquals(-1, driver.reg(0x0b0), "no shared memory region");
    }

    @Test
    void offeredFeaturesAreTheDevicesPlusTheTransports() {
        assertEquals(1L << 3 | VirtioFeatures.TRANSPORT, driver.deviceFeatures());
    }

    @Test
    void featuresWithoutVersion1AreRefused() {
        assertThat(driver.initialize(1L << 3, 8)).isFalse();
        assertEquals(0, device.activations);
    }

    @Test
    void featuresNotOfferedAreRefused() {
        assertThat(driver.initialize(VirtioFeatures.TRANSPORT | 1L << 5, 8)).isFalse();
    }

    @Test
    void driverOkActivatesTheDeviceOnce() {
        assertThat(driver.initialize(8)).isTrue();
        assertEquals(1, device.activations);
        assertThat(device.context.negotiated(VirtioFeatures.VIRTIO_F_RING_EVENT_IDX)).isTrue();
    }

    @Test
    void configSpaceIsReadAtOffset0x100InAnyWidth() {
        assertEquals(0x78, driver.transport().read(0x100, 1));
        assertEquals(0x5678, driver.transport().read(0x100, 2));
        assertEquals(0x1234_5678L, driver.transport().read(0x100, 4));
    }

    @Test
    void narrowAccessToControlRegistersReadsZero() {
        assertEquals(0, driver.transport().read(0x000, 2));
    }

    @Test
    void directChainIsServedAndInterruptRaised() {
        driver.initialize(8);
        long in = text("hello");
        long out = driver.alloc(5);
        int head = driver.post(0, Buffer.in(in, 5), Buffer.out(out, 5));
        driver.notify(0);
        assertEquals(List.of(new Used(head, 5)), driver.takeUsed(0));
        assertEquals("HELLO", string(out, 5));
        assertThat(driver.irqAsserted()).isTrue();
        assertEquals(VirtioMmio.INTERRUPT_USED_BUFFER, driver.ackInterrupt());
        assertThat(driver.irqAsserted()).isFalse();
    }

    @Test
    void notificationsAreCountedPerQueueOnlyWhileTheDeviceIsLive() {
        driver.notify(0);   // before DRIVER_OK: ignored, not counted
        driver.initialize(8);
        for (int i = 0; i < 3; i++) {
            driver.post(0, Buffer.in(text("x"), 1), Buffer.out(driver.alloc(1), 1));
            driver.notify(0);
        }
        assertEquals(3, driver.transport().notifications(0));
        assertEquals(3, driver.takeUsed(0).size());
    }

    @Test
    void indirectChainSpanningBuffersIsServed() {
        driver.initialize(8);
        long a = text("ab");
        long b = text("cde");
        long out1 = driver.alloc(1);
        long out2 = driver.alloc(4);
        int head = driver.postIndirect(0, Buffer.in(a, 2), Buffer.in(b, 3), Buffer.out(out1, 1), Buffer.out(out2, 4));
        driver.notify(0);
        assertEquals(List.of(new Used(head, 5)), driver.takeUsed(0));
        assertEquals("A", string(out1, 1));
        assertEquals("BCDE", string(out2, 4));
    }

    @Test
    void manyRequestsWrapTheRing() {
        driver.initialize(4);
        for (int i = 0; i < 40; i++) {
            long in = text("x" + (i % 10));
            long out = driver.alloc(2);
            driver.post(0, Buffer.in(in, 2), Buffer.out(out, 2));
            driver.notify(0);
            assertEquals(1, driver.takeUsed(0).size());
            assertEquals("X" + (i % 10), string(out, 2));
        }
        assertThat(driver.needsReset()).isFalse();
    }

    @Test
    void eventIdxSuppressesInterruptsUntilUsedEventIsReached() {
        driver.initialize(8);
        // used_event = 2: the driver wants an interrupt only once the third entry is used.
        driver.memory().write16(driver.availGpa(0) + 4 + 2 * 8, 2);
        for (int i = 0; i < 3; i++) {
            driver.post(0, Buffer.in(text("a"), 1), Buffer.out(driver.alloc(1), 1));
            driver.notify(0);
            boolean expected = i == 0 || i == 2;   // the first ever entry always signals
            assertEquals(expected, driver.ackInterrupt() != 0, "entry " + i);
        }
    }

    @Test
    void deviceAsksToBeNotifiedForTheNextEntry() {
        driver.initialize(8);
        driver.post(0, Buffer.in(text("a"), 1), Buffer.out(driver.alloc(1), 1));
        driver.post(0, Buffer.in(text("b"), 1), Buffer.out(driver.alloc(1), 1));
        driver.notify(0);
        int availEvent = driver.memory().readU16(driver.usedGpa(0) + 4 + 8 * 8);
        assertEquals(2, availEvent);
    }

    @Test
    void noInterruptFlagIsHonouredWithoutEventIdx() {
        driver.initialize(VirtioFeatures.TRANSPORT & ~(1L << VirtioFeatures.VIRTIO_F_RING_EVENT_IDX), 8);
        driver.memory().write16(driver.availGpa(0), Virtqueue.VIRTQ_AVAIL_F_NO_INTERRUPT);
        driver.post(0, Buffer.in(text("a"), 1), Buffer.out(driver.alloc(1), 1));
        driver.notify(0);
        assertEquals(1, driver.takeUsed(0).size());
        assertThat(driver.irqAsserted()).isFalse();
    }

    // ---- hostile drivers ----

    private void assertNeedsResetAndRecovers() {
        assertThat(driver.needsReset()).isTrue();
        assertThat(driver.ackInterrupt() & VirtioMmio.INTERRUPT_CONFIG_CHANGE).isNotZero();
        assertEquals(1, driver.transport().violations());
        assertEquals(1, driver.log().size());
        // Further notifications are ignored until reset...
        driver.notify(0);
        assertEquals(1, driver.transport().violations());
        // ...and a reset brings the device back into service.
        assertThat(driver.initialize(8)).isTrue();
        assertThat(driver.needsReset()).isFalse();
        long out = driver.alloc(2);
        driver.post(0, Buffer.in(text("ok"), 2), Buffer.out(out, 2));
        driver.notify(0);
        assertEquals("OK", string(out, 2));
    }

    @Test
    void loopingChainMarksDeviceNeedsReset() {
        driver.initialize(8);
        long buf = driver.alloc(4);
        driver.writeDescriptor(0, 0, buf, 4, Virtqueue.VIRTQ_DESC_F_NEXT, 1);
        driver.writeDescriptor(0, 1, buf, 4, Virtqueue.VIRTQ_DESC_F_NEXT, 0);
        driver.publish(0, 0);
        driver.notify(0);
        assertThat(driver.log().get(0)).contains("longer than 8");
        assertNeedsResetAndRecovers();
    }

    @Test
    void nextIndexOutsideTableMarksDeviceNeedsReset() {
        driver.initialize(8);
        driver.writeDescriptor(0, 0, driver.alloc(4), 4, Virtqueue.VIRTQ_DESC_F_NEXT, 200);
        driver.publish(0, 0);
        driver.notify(0);
        assertNeedsResetAndRecovers();
    }

    @Test
    void headIndexOutsideTableMarksDeviceNeedsReset() {
        driver.initialize(8);
        driver.publish(0, 9);
        driver.notify(0);
        assertNeedsResetAndRecovers();
    }

    @Test
    void availableIndexRunningAheadMarksDeviceNeedsReset() {
        driver.initialize(8);
        driver.setAvailIdx(0, 9);
        driver.notify(0);
        assertThat(driver.log().get(0)).contains("runs 9 entries ahead");
        assertNeedsResetAndRecovers();
    }

    @Test
    void bufferOutsideRamMarksDeviceNeedsReset() {
        driver.initialize(8);
        driver.writeDescriptor(0, 0, 0x1000, 4, 0, 0);
        driver.publish(0, 0);
        driver.notify(0);
        assertNeedsResetAndRecovers();
    }

    @Test
    void bufferWrappingTheAddressSpaceIsOutsideRam() {
        driver.initialize(8);
        driver.writeDescriptor(0, 0, -16L, 0xFFFF_FFFF, 0, 0);
        driver.publish(0, 0);
        driver.notify(0);
        assertNeedsResetAndRecovers();
    }

    @Test
    void readableAfterWritableMarksDeviceNeedsReset() {
        driver.initialize(8);
        driver.post(0, Buffer.out(driver.alloc(1), 1), Buffer.in(text("a"), 1));
        driver.notify(0);
        assertNeedsResetAndRecovers();
    }

    @Test
    void nestedIndirectTableMarksDeviceNeedsReset() {
        driver.initialize(8);
        long inner = driver.alloc(16);
        long outer = driver.alloc(16);
        driver.memory().write64(outer, inner);
        driver.memory().write32(outer + 8, 16);
        driver.memory().write16(outer + 12, Virtqueue.VIRTQ_DESC_F_INDIRECT);
        driver.writeDescriptor(0, 0, outer, 16, Virtqueue.VIRTQ_DESC_F_INDIRECT, 0);
        driver.publish(0, 0);
        driver.notify(0);
        assertNeedsResetAndRecovers();
    }

    @Test
    void indirectTableOfOddLengthMarksDeviceNeedsReset() {
        driver.initialize(8);
        driver.writeDescriptor(0, 0, driver.alloc(24), 24, Virtqueue.VIRTQ_DESC_F_INDIRECT, 0);
        driver.publish(0, 0);
        driver.notify(0);
        assertNeedsResetAndRecovers();
    }

    @Test
    void loopInsideIndirectTableIsBounded() {
        driver.initialize(8);
        long table = driver.alloc(32);
        long buf = driver.alloc(4);
        for (int i = 0; i < 2; i++) {
            driver.memory().write64(table + 16 * i, buf);
            driver.memory().write32(table + 16 * i + 8, 4);
            driver.memory().write16(table + 16 * i + 12, Virtqueue.VIRTQ_DESC_F_NEXT);
            driver.memory().write16(table + 16 * i + 14, 1 - i);
        }
        driver.writeDescriptor(0, 0, table, 32, Virtqueue.VIRTQ_DESC_F_INDIRECT, 0);
        driver.publish(0, 0);
        driver.notify(0);
        assertNeedsResetAndRecovers();
    }

    @Test
    void indirectWithoutNegotiationMarksDeviceNeedsReset() {
        driver.initialize(VirtioFeatures.TRANSPORT & ~(1L << VirtioFeatures.VIRTIO_F_RING_INDIRECT_DESC), 8);
        driver.postIndirect(0, Buffer.in(text("a"), 1), Buffer.out(driver.alloc(1), 1));
        driver.notify(0);
        assertNeedsResetAndRecovers();
    }

    @Test
    void queueSizeAboveMaximumIsRefused() {
        driver.reg(0x070, VirtioMmio.ACKNOWLEDGE | VirtioMmio.DRIVER);
        driver.reg(0x030, 0);
        driver.reg(0x038, 17);
        driver.reg(0x044, 1);
        assertEquals(0, driver.reg(0x044));
        assertThat(driver.needsReset()).isTrue();
    }

    @Test
    void queueSizeNotAPowerOfTwoIsRefused() {
        driver.reg(0x070, VirtioMmio.ACKNOWLEDGE | VirtioMmio.DRIVER);
        driver.reg(0x030, 0);
        driver.reg(0x038, 12);
        driver.reg(0x044, 1);
        assertEquals(0, driver.reg(0x044));
        assertThat(driver.needsReset()).isTrue();
    }

    @Test
    void ringsOutsideRamAreRefusedAtDriverOk() {
        driver.reg(0x070, 0);
        driver.reg(0x070, VirtioMmio.ACKNOWLEDGE | VirtioMmio.DRIVER);
        driver.reg(0x020, (int) VirtioFeatures.TRANSPORT);
        driver.reg(0x024, 1);
        driver.reg(0x020, (int) (VirtioFeatures.TRANSPORT >>> 32));
        driver.reg(0x070, VirtioMmio.ACKNOWLEDGE | VirtioMmio.DRIVER | VirtioMmio.FEATURES_OK);
        driver.reg(0x030, 0);
        driver.reg(0x038, 8);
        driver.reg(0x080, 0x1000);   // below RAM
        driver.reg(0x044, 1);
        driver.reg(0x070, VirtioMmio.ACKNOWLEDGE | VirtioMmio.DRIVER | VirtioMmio.FEATURES_OK | VirtioMmio.DRIVER_OK);
        assertEquals(0, device.activations);
        assertThat(driver.needsReset()).isTrue();
    }

    @Test
    void queueRegistersAreIgnoredWhileTheQueueIsReady() {
        driver.initialize(8);
        driver.reg(0x030, 0);
        driver.reg(0x080, 0x1000);
        driver.reg(0x038, 2);
        long out = driver.alloc(2);
        driver.post(0, Buffer.in(text("ok"), 2), Buffer.out(out, 2));
        driver.notify(0);
        assertEquals("OK", string(out, 2));
    }

    @Test
    void notifyForAMissingQueueIsIgnored() {
        driver.initialize(8);
        driver.notify(5);
        driver.notify(-1);
        assertThat(driver.needsReset()).isFalse();
        assertEquals(0, driver.reg(0x060));
    }

    @Test
    void statusZeroResetsDeviceAndTransport() {
        driver.initialize(8);
        driver.reg(0x070, 0);
        assertEquals(1, device.resets);
        assertEquals(0, driver.reg(0x070));
        driver.reg(0x030, 0);
        assertEquals(0, driver.reg(0x044), "queue no longer ready");
    }

    @Test
    void garbageRegisterWritesNeverThrow() {
        java.util.Random random = new java.util.Random(42);
        for (int i = 0; i < 20_000; i++) {
            long offset = random.nextInt(0x1100);
            int width = 1 << random.nextInt(4);
            driver.transport().write(offset, width, random.nextLong());
            driver.transport().read(offset, width);
        }
        // Whatever state that left, a proper reset makes the device usable again.
        assertThat(driver.initialize(8)).isTrue();
        long out = driver.alloc(2);
        driver.post(0, Buffer.in(text("ok"), 2), Buffer.out(out, 2));
        driver.notify(0);
        assertEquals("OK", string(out, 2));
    }
}
