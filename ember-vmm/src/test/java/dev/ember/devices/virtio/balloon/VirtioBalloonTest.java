package dev.ember.devices.virtio.balloon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.devices.virtio.FakeDriver;
import dev.ember.devices.virtio.FakeDriver.Buffer;
import dev.ember.devices.virtio.FakeDriver.Used;
import dev.ember.devices.virtio.VirtioFeatures;
import dev.ember.devices.virtio.VirtioMmio;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** virtio-balloon (VIRTIO 1.2 §5.5) through {@link FakeDriver}: config, inflate/deflate, statistics. */
class VirtioBalloonTest {

    private static final int INFLATE = VirtioBalloon.INFLATEQ, DEFLATE = VirtioBalloon.DEFLATEQ, STATS = VirtioBalloon.STATSQ;
    private static final long RAM_BYTES = 4 << 20;
    private static final long PATTERN_GPA = FakeDriver.RAM_BASE + (3 << 20);   // above the buffers FakeDriver carves

    private final VirtioBalloon balloon = new VirtioBalloon(0, true, 0);
    private final FakeDriver driver = new FakeDriver(balloon, RAM_BYTES);

    @AfterEach
    void close() {
        driver.close();
    }

    private static long pfn(long gpa) {
        return gpa >>> VirtioBalloon.VIRTIO_BALLOON_PFN_SHIFT;
    }

    private long pfnBuffer(long... pfns) {
        ByteBuffer b = ByteBuffer.allocate(4 * pfns.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long p : pfns) {
            b.putInt((int) p);
        }
        return driver.allocWith(b.array());
    }

    /** {@return packed {le16 tag, le64 val} entries} */
    private static byte[] stats(long... tagValuePairs) {
        ByteBuffer b = ByteBuffer.allocate(10 * (tagValuePairs.length / 2)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < tagValuePairs.length; i += 2) {
            b.putShort((short) tagValuePairs[i]).putLong(tagValuePairs[i + 1]);
        }
        return b.array();
    }

    private long config(int offset) {
        return driver.transport().read(0x100 + offset, 4);
    }

    private byte[] page(int fill) {
        byte[] b = new byte[VirtioBalloon.PAGE_SIZE];
        Arrays.fill(b, (byte) fill);
        return b;
    }

    @Test
    void offersStatsQueueAndDeflateOnOomWhenAsked() {
        assertEquals(5, driver.reg(0x008));
        assertEquals(1L << VirtioBalloon.VIRTIO_BALLOON_F_STATS_VQ | 1L << VirtioBalloon.VIRTIO_BALLOON_F_DEFLATE_ON_OOM
                | VirtioFeatures.TRANSPORT, driver.deviceFeatures());
        assertEquals(1L << VirtioBalloon.VIRTIO_BALLOON_F_STATS_VQ, new VirtioBalloon(0, false, 0).deviceFeatures());
    }

    @Test
    void configHoldsTargetPagesFromTheConstructorInMib() {
        try (FakeDriver d = new FakeDriver(new VirtioBalloon(8, false, 0), RAM_BYTES)) {
            assertEquals(8 * 256, d.transport().read(0x100, 4));
            assertEquals(0, d.transport().read(0x104, 4));
            assertEquals(0, d.transport().read(0x108, 4), "free_page_hint_cmd_id");
            assertEquals(8 * 256 >>> 8, d.transport().read(0x101, 1), "byte access");
        }
    }

    @Test
    void driverWritesActualAndCannotWriteTheTarget() {
        balloon.setTargetPages(300);
        assertTrue(driver.initialize(16));
        driver.transport().write(0x104, 4, 123);
        driver.transport().write(0x100, 4, 999);

        assertEquals(123, balloon.actualPages());
        assertEquals(123, config(4));
        assertEquals(300, config(0));
        assertEquals(300, balloon.targetPages());
    }

    @Test
    void actualComposesFromByteWrites() {
        driver.transport().write(0x104, 1, 0x34);
        driver.transport().write(0x105, 1, 0x12);
        assertEquals(0x1234, balloon.actualPages());
    }

    @Test
    void inflatedPagesReadZeroAfterwardsAndUnlistedPagesKeepTheirContents() {
        assertTrue(driver.initialize(16));
        for (int i = 0; i < 4; i++) {
            driver.memory().write(PATTERN_GPA + 4096L * i, page(0xA0 + i));
        }
        long p = pfn(PATTERN_GPA);
        long list = pfnBuffer(p + 3, p, p + 1);   // p+2 not listed; p and p+1 contiguous
        int head = driver.post(INFLATE, Buffer.in(list, 12));
        driver.notify(INFLATE);

        assertEquals(List.of(new Used(head, 0)), driver.takeUsed(INFLATE));
        assertArrayEquals(page(0), driver.memory().read(PATTERN_GPA, 4096));
        assertArrayEquals(page(0), driver.memory().read(PATTERN_GPA + 4096, 4096));
        assertArrayEquals(page(0xA2), driver.memory().read(PATTERN_GPA + 2 * 4096, 4096));
        assertArrayEquals(page(0), driver.memory().read(PATTERN_GPA + 3 * 4096, 4096));
        assertEquals(3, balloon.metrics().pagesInflated.sum());
        assertEquals(2, balloon.metrics().discardCalls.sum(), "p and p+1 coalesced into one discard");
        assertTrue(driver.irqAsserted());
    }

    @Test
    void pfnsOutsideRamAreIgnoredAndCounted() {
        assertTrue(driver.initialize(16));
        driver.memory().write(PATTERN_GPA, page(0x5A));
        long endOfRam = pfn(FakeDriver.RAM_BASE + RAM_BYTES);
        long list = pfnBuffer(0, pfn(FakeDriver.RAM_BASE) - 1, endOfRam, 0xFFFF_FFFFL, pfn(PATTERN_GPA) + 1);
        int head = driver.post(INFLATE, Buffer.in(list, 20));
        driver.notify(INFLATE);

        assertEquals(List.of(new Used(head, 0)), driver.takeUsed(INFLATE));
        assertEquals(4, balloon.metrics().badPfns.sum());
        assertEquals(1, balloon.metrics().pagesInflated.sum());
        assertArrayEquals(page(0x5A), driver.memory().read(PATTERN_GPA, 4096));
        assertFalse(driver.needsReset());
    }

    @Test
    void partialTrailingPfnIsIgnoredAndTheChainCounted() {
        assertTrue(driver.initialize(16));
        driver.memory().write(PATTERN_GPA, page(0x11));
        long list = pfnBuffer(pfn(PATTERN_GPA), pfn(PATTERN_GPA) + 1);
        int head = driver.post(INFLATE, Buffer.in(list, 6));   // one whole PFN and half of the next
        driver.notify(INFLATE);

        assertEquals(List.of(new Used(head, 0)), driver.takeUsed(INFLATE));
        assertEquals(1, balloon.metrics().pagesInflated.sum());
        assertEquals(1, balloon.metrics().badChains.sum());
        assertArrayEquals(page(0), driver.memory().read(PATTERN_GPA, 4096));
    }

    @Test
    void indirectInflateChainIsServed() {
        assertTrue(driver.initialize(16));
        driver.memory().write(PATTERN_GPA, page(0x22));
        int head = driver.postIndirect(INFLATE, Buffer.in(pfnBuffer(pfn(PATTERN_GPA)), 4));
        driver.notify(INFLATE);

        assertEquals(List.of(new Used(head, 0)), driver.takeUsed(INFLATE));
        assertArrayEquals(page(0), driver.memory().read(PATTERN_GPA, 4096));
    }

    @Test
    void deflateOnlyCountsAndLeavesMemoryAlone() {
        assertTrue(driver.initialize(16));
        driver.memory().write(PATTERN_GPA, page(0x33));
        int head = driver.post(DEFLATE, Buffer.in(pfnBuffer(pfn(PATTERN_GPA), pfn(PATTERN_GPA) + 1, 7), 12));
        driver.notify(DEFLATE);

        assertEquals(List.of(new Used(head, 0)), driver.takeUsed(DEFLATE));
        assertEquals(2, balloon.metrics().pagesDeflated.sum());
        assertEquals(1, balloon.metrics().badPfns.sum());
        assertArrayEquals(page(0x33), driver.memory().read(PATTERN_GPA, 4096));
    }

    @Test
    void statsBufferIsParsedAndHeld() {
        assertTrue(driver.initialize(16));
        byte[] entries = stats(VirtioBalloonStat.MEMFREE.tag(), 1000, VirtioBalloonStat.MEMTOT.tag(), 4 << 20,
                99, 7, VirtioBalloonStat.HTLB_PGFAIL.tag(), 3);
        driver.post(STATS, Buffer.in(driver.allocWith(entries), entries.length));
        driver.notify(STATS);

        assertEquals(List.of(), driver.takeUsed(STATS), "held until the device wants fresh values");
        VirtioBalloonStatistics s = balloon.statistics();
        assertEquals(OptionalLong.of(1000), s.value(VirtioBalloonStat.MEMFREE));
        assertEquals(OptionalLong.of(4 << 20), s.value(VirtioBalloonStat.MEMTOT));
        assertEquals(OptionalLong.of(3), s.value(VirtioBalloonStat.HTLB_PGFAIL));
        assertEquals(OptionalLong.empty(), s.value(VirtioBalloonStat.SWAP_IN));
        assertNotNull(s.updatedAt());
        assertEquals(1, balloon.metrics().statsUnknownTags.sum());
    }

    @Test
    void statisticsAreEmptyBeforeTheGuestReports() {
        VirtioBalloonStatistics s = balloon.statistics();
        assertNull(s.updatedAt());
        assertThat(s.values()).isEmpty();
    }

    @Test
    void requestStatisticsReturnsTheHeldBufferAndTheRefillUpdatesValues() {
        assertTrue(driver.initialize(16));
        long buf = driver.allocWith(stats(VirtioBalloonStat.MEMFREE.tag(), 1000, VirtioBalloonStat.MINFLT.tag(), 5));
        int head = driver.post(STATS, Buffer.in(buf, 20));
        driver.notify(STATS);
        driver.ackInterrupt();

        assertTrue(balloon.requestStatistics());
        assertFalse(balloon.requestStatistics(), "nothing held until the driver re-posts");
        assertEquals(List.of(new Used(head, 0)), driver.takeUsed(STATS));
        assertEquals(VirtioMmio.INTERRUPT_USED_BUFFER, driver.ackInterrupt());

        driver.memory().write(buf, stats(VirtioBalloonStat.MEMFREE.tag(), 500));
        driver.post(STATS, Buffer.in(buf, 10));
        driver.notify(STATS);

        assertEquals(OptionalLong.of(500), balloon.statistics().value(VirtioBalloonStat.MEMFREE));
        assertEquals(OptionalLong.of(5), balloon.statistics().value(VirtioBalloonStat.MINFLT), "older tag kept");
        assertEquals(2, balloon.metrics().statsUpdates.sum());
    }

    @Test
    void secondStatsBufferWhileOneIsHeldReturnsTheOlderOne() {
        assertTrue(driver.initialize(16));
        int first = driver.post(STATS, Buffer.in(driver.allocWith(stats(4, 1)), 10));
        driver.post(STATS, Buffer.in(driver.allocWith(stats(4, 2)), 10));
        driver.notify(STATS);

        assertEquals(List.of(new Used(first, 0)), driver.takeUsed(STATS));
        assertEquals(OptionalLong.of(2), balloon.statistics().value(VirtioBalloonStat.MEMFREE));
        assertEquals(1, balloon.metrics().statsExtraBuffers.sum());
    }

    @Test
    void statsBufferPostedBeforeDriverOkIsReadOnActivation() {
        driver.reg(0x070, 0);
        driver.reg(0x070, VirtioMmio.ACKNOWLEDGE | VirtioMmio.DRIVER);
        long features = driver.deviceFeatures();
        driver.reg(0x024, 0);
        driver.reg(0x020, (int) features);
        driver.reg(0x024, 1);
        driver.reg(0x020, (int) (features >>> 32));
        driver.reg(0x070, VirtioMmio.ACKNOWLEDGE | VirtioMmio.DRIVER | VirtioMmio.FEATURES_OK);
        for (int q = 0; q < 3; q++) {
            driver.reg(0x030, q);
            driver.reg(0x038, 16);
            driver.reg(0x080, (int) driver.descGpa(q));
            driver.reg(0x090, (int) driver.availGpa(q));
            driver.reg(0x0a0, (int) driver.usedGpa(q));
            driver.reg(0x044, 1);
        }
        // Linux's init_vqs: prime the stats queue and kick, before virtio_device_ready.
        byte[] entries = stats(VirtioBalloonStat.AVAIL.tag(), 777);
        driver.writeDescriptor(STATS, 0, driver.allocWith(entries), entries.length, 0, 0);
        driver.memory().write16(driver.availGpa(STATS) + 4, 0);
        driver.memory().write16(driver.availGpa(STATS) + 2, 1);
        driver.notify(STATS);
        assertNull(balloon.statistics().updatedAt(), "not served before DRIVER_OK");

        driver.reg(0x070, VirtioMmio.ACKNOWLEDGE | VirtioMmio.DRIVER | VirtioMmio.FEATURES_OK | VirtioMmio.DRIVER_OK);

        assertEquals(OptionalLong.of(777), balloon.statistics().value(VirtioBalloonStat.AVAIL));
        assertTrue(balloon.requestStatistics());
    }

    @Test
    void targetChangeRaisesAConfigurationInterrupt() {
        assertTrue(driver.initialize(16));
        driver.ackInterrupt();
        int generation = driver.reg(0x0fc);

        balloon.setTargetMib(4);

        assertTrue(driver.irqAsserted());
        assertEquals(VirtioMmio.INTERRUPT_CONFIG_CHANGE, driver.ackInterrupt() & VirtioMmio.INTERRUPT_CONFIG_CHANGE);
        assertEquals(1024, config(0));
        assertThat(driver.reg(0x0fc)).isNotEqualTo(generation);
        assertEquals(1024, balloon.statistics().targetPages());
        assertEquals(4, balloon.statistics().targetMib());
    }

    @Test
    void targetSetBeforeActivationIsAnnouncedOnActivation() {
        balloon.setTargetPages(100);
        assertFalse(driver.irqAsserted());

        assertTrue(driver.initialize(16));

        assertEquals(VirtioMmio.INTERRUPT_CONFIG_CHANGE, driver.ackInterrupt() & VirtioMmio.INTERRUPT_CONFIG_CHANGE);
        assertEquals(100, config(0));
    }

    @Test
    void negativeTargetsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> balloon.setTargetPages(-1));
        assertThrows(IllegalArgumentException.class, () -> balloon.setTargetMib(Integer.MAX_VALUE));
        assertThrows(IllegalArgumentException.class, () -> new VirtioBalloon(0, false, -1));
    }

    @Test
    void resetForgetsActualAndTheHeldStatsBuffer() {
        assertTrue(driver.initialize(16));
        driver.transport().write(0x104, 4, 50);
        driver.post(STATS, Buffer.in(driver.allocWith(stats(4, 1)), 10));
        driver.notify(STATS);

        driver.reg(0x070, 0);

        assertEquals(0, balloon.actualPages());
        assertFalse(balloon.requestStatistics());
    }

    @Test
    void withoutStatsQueueInflationStillWorks() {
        assertTrue(driver.initialize(VirtioFeatures.TRANSPORT, 16));
        driver.memory().write(PATTERN_GPA, page(0x44));
        driver.post(INFLATE, Buffer.in(pfnBuffer(pfn(PATTERN_GPA)), 4));
        driver.notify(INFLATE);

        assertArrayEquals(page(0), driver.memory().read(PATTERN_GPA, 4096));
        assertFalse(balloon.requestStatistics());
    }

    @Test
    void pollingIntervalRequestsStatisticsOnATimer() throws Exception {
        VirtioBalloon polled = new VirtioBalloon(0, false, 1);
        try (FakeDriver d = new FakeDriver(polled, RAM_BYTES)) {
            assertTrue(d.initialize(16));
            int head = d.post(STATS, Buffer.in(d.allocWith(stats(4, 1)), 10));
            d.notify(STATS);

            assertEquals(List.of(new Used(head, 0)), d.awaitUsed(STATS, 5000));
            assertEquals(1, polled.statsPollingIntervalSeconds());
        }
    }
}
