package dev.ember.devices.virtio.net;

import static dev.ember.devices.virtio.FakeDriver.Buffer.in;
import static dev.ember.devices.virtio.FakeDriver.Buffer.out;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.devices.virtio.FakeDriver;
import dev.ember.devices.virtio.FakeDriver.Used;
import dev.ember.devices.virtio.VirtioFeatures;
import dev.ember.devices.virtio.VirtioMmio;
import dev.ember.devices.virtio.queue.Virtqueue;
import dev.ember.net.NetBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class VirtioNetTest {

    private static final int RX = VirtioNet.RECEIVEQ, TX = VirtioNet.TRANSMITQ, HDR = VirtioNet.HEADER_BYTES;
    private static final byte[] MAC = {0x02, 0x00, 0x00, 0x12, 0x34, 0x56};
    /** What Linux posts per receive chain in small-buffers mode: hdr_len + GOOD_PACKET_LEN. */
    private static final int LINUX_RX_BUFFER = HDR + 1518;

    /** A backend that records what it is given. */
    static class FakeBackend implements NetBackend {
        final List<byte[]> sent = new ArrayList<>();
        FrameSink sink;
        int starts;
        int closes;
        int spaceAvailable;
        boolean echo;

        @Override public void start(FrameSink guest) {
            sink = guest;
            starts++;
        }

        @Override public void transmit(byte[] frame, int offset, int length) {
            sent.add(Arrays.copyOfRange(frame, offset, offset + length));
            if (echo) {
                sink.deliver(frame, offset, length);
            }
        }

        @Override public void receiveSpaceAvailable() {
            spaceAvailable++;
        }

        @Override public void close() {
            closes++;
        }
    }

    private FakeBackend backend;
    private VirtioNet net;
    private FakeDriver driver;

    @BeforeEach
    void setUp() {
        backend = new FakeBackend();
        net = new VirtioNet("eth0", MAC, backend);
        driver = new FakeDriver(net, 8 << 20);
    }

    @AfterEach
    void tearDown() {
        driver.close();
    }

    private void init() {
        assertTrue(driver.initialize(64));
        assertNotNull(backend.sink);
    }

    /** A frame of {@code length} bytes: broadcast destination, our source, then a counting pattern. */
    private static byte[] frame(int length) {
        byte[] f = new byte[length];
        for (int i = 0; i < length; i++) {
            f[i] = (byte) (i * 7 + 3);
        }
        Arrays.fill(f, 0, Math.min(6, length), (byte) 0xFF);
        return f;
    }

    private static byte[] withHeader(byte[] frame) {
        byte[] b = new byte[HDR + frame.length];
        System.arraycopy(frame, 0, b, HDR, frame.length);
        return b;
    }

    private boolean deliver(byte[] frame) {
        return backend.sink.deliver(frame, 0, frame.length);
    }

    private long postRx(int length) {
        long gpa = driver.alloc(length);
        driver.post(RX, out(gpa, length));
        return gpa;
    }

    // ---- identity, features, configuration space (§5.1.1, §5.1.3, §5.1.4) ----

    @Test
    void deviceIdIsNetwork() {
        assertEquals(1, driver.reg(0x008));
    }

    @Test
    void offersMacStatusMtuAndTransmitChecksumButNoReceiveChecksumOrMergeableBuffers() {
        long f = driver.deviceFeatures();
        assertTrue((f & 1L << VirtioNet.VIRTIO_NET_F_MAC) != 0);
        assertTrue((f & 1L << VirtioNet.VIRTIO_NET_F_STATUS) != 0);
        assertTrue((f & 1L << VirtioNet.VIRTIO_NET_F_MTU) != 0);
        assertTrue((f & 1L << VirtioNet.VIRTIO_NET_F_CSUM) != 0);
        // GUEST_CSUM only for a backend that vouches for its checksums; this one does not.
        assertEquals(0, f & (1L << VirtioNet.VIRTIO_NET_F_GUEST_CSUM
                | 1L << VirtioNet.VIRTIO_NET_F_MRG_RXBUF | 1L << VirtioNet.VIRTIO_NET_F_CTRL_VQ));
        assertTrue((f & 1L << VirtioFeatures.VIRTIO_F_VERSION_1) != 0);
    }

    /** A 14 + 20 + 8 + 5 byte UDP frame, 10.0.2.15:1000 -> 10.0.2.2:2000, payload "hello". */
    private static byte[] udpFrame() {
        byte[] f = new byte[47];
        Arrays.fill(f, 0, 6, (byte) 0xFF);
        f[12] = 0x08;
        f[14] = 0x45;
        f[16] = 0; f[17] = 33;                           // IPv4 total length
        f[22] = 64; f[23] = 17;                          // TTL, protocol UDP
        byte[] src = {10, 0, 2, 15}, dst = {10, 0, 2, 2};
        System.arraycopy(src, 0, f, 26, 4);
        System.arraycopy(dst, 0, f, 30, 4);
        f[34] = 0x03; f[35] = (byte) 0xE8;               // source port 1000
        f[36] = 0x07; f[37] = (byte) 0xD0;               // destination port 2000
        f[38] = 0; f[39] = 13;                           // UDP length
        System.arraycopy("hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, f, 42, 5);
        return f;
    }

    /** The ones' complement sum of {@code b[from..to)} as big-endian 16-bit words, not folded to a complement. */
    private static int sum16(byte[] b, int from, int to, long seed) {
        long sum = seed;
        for (int i = from; i < to; i += 2) {
            sum += (b[i] & 0xFF) << 8 | (i + 1 < to ? b[i + 1] & 0xFF : 0);
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int) sum;
    }

    private static int pseudoHeaderSum(byte[] f) {
        long sum = sum16(f, 26, 34, 0) + 17 + 13;
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int) sum;
    }

    @Test
    void partialChecksumIsCompletedBeforeTheBackendSeesTheFrame() {
        init();
        byte[] frame = udpFrame();
        int pseudo = pseudoHeaderSum(frame);
        frame[40] = (byte) (pseudo >>> 8);               // Linux leaves the pseudo-header sum in the field
        frame[41] = (byte) pseudo;
        byte[] b = withHeader(frame);
        b[0] = VirtioNet.VIRTIO_NET_HDR_F_NEEDS_CSUM;
        b[6] = 34;                                       // csum_start: the UDP header
        b[8] = 6;                                        // csum_offset: its checksum field
        driver.post(TX, in(driver.allocWith(b), b.length));
        driver.notify(TX);
        byte[] sent = backend.sent.getFirst();
        // A correct UDP checksum makes the sum over pseudo-header and datagram all ones.
        assertEquals(0xFFFF, sum16(sent, 34, sent.length, pseudoHeaderSum(sent)));
        assertArrayEquals(Arrays.copyOfRange(frame, 42, 47), Arrays.copyOfRange(sent, 42, 47));
    }

    @Test
    void partialChecksumOutsideTheFrameIsDropped() {
        init();
        byte[] b = withHeader(udpFrame());
        b[0] = VirtioNet.VIRTIO_NET_HDR_F_NEEDS_CSUM;
        b[6] = 34;
        b[8] = 40;                                       // field at 74, past the 47-byte frame
        driver.post(TX, in(driver.allocWith(b), b.length));
        driver.notify(TX);
        assertTrue(backend.sent.isEmpty());
        assertEquals(1, net.metrics().txDropsMalformed());
    }

    @Test
    void backendThatVouchesForChecksumsGetsFramesMarkedDataValid() {
        FakeBackend vouching = new FakeBackend() {
            @Override public boolean deliversValidChecksums() { return true; }
        };
        try (FakeDriver d = new FakeDriver(new VirtioNet("eth1", MAC, vouching), 8 << 20)) {
            assertTrue((d.deviceFeatures() & 1L << VirtioNet.VIRTIO_NET_F_GUEST_CSUM) != 0);
            assertTrue(d.initialize(64));
            long gpa = d.alloc(LINUX_RX_BUFFER);
            d.post(RX, out(gpa, LINUX_RX_BUFFER));
            byte[] f = frame(60);
            assertTrue(vouching.sink.deliver(f, 0, f.length));
            assertEquals(VirtioNet.VIRTIO_NET_HDR_F_DATA_VALID, d.memory().readU8(gpa));
        }
    }

    @Test
    void configMacReadsByteByByte() {
        for (int i = 0; i < 6; i++) {
            assertEquals(MAC[i] & 0xFF, driver.transport().read(0x100 + i, 1), "mac[" + i + "]");
        }
    }

    @Test
    void configStatusPairsAndMtuReadAsLe16() {
        assertEquals(VirtioNet.VIRTIO_NET_S_LINK_UP, driver.transport().read(0x106, 2));
        assertEquals(1, driver.transport().read(0x108, 2));
        assertEquals(1500, driver.transport().read(0x10a, 2));
    }

    @Test
    void aBackendLinkGoingDownClearsLinkUpAndRaisesAConfigChange() {
        init();
        driver.ackInterrupt();
        long generation = driver.transport().read(0x0fc, 4);
        backend.sink.linkChanged(false);
        assertEquals(0, driver.transport().read(0x106, 2));
        assertEquals(VirtioMmio.INTERRUPT_CONFIG_CHANGE, driver.ackInterrupt() & VirtioMmio.INTERRUPT_CONFIG_CHANGE);
        assertNotEquals(generation, driver.transport().read(0x0fc, 4));
        backend.sink.linkChanged(true);
        assertEquals(VirtioNet.VIRTIO_NET_S_LINK_UP, driver.transport().read(0x106, 2));
    }

    @Test
    void configWideReadIsLittleEndianAndPastTheEndIsZero() {
        assertEquals(0x1200_0002L, driver.transport().read(0x100, 4));
        assertEquals(0x0001_5634L, driver.transport().read(0x104, 4));
        assertEquals(0, driver.transport().read(0x10c, 4));
        assertEquals(0, driver.transport().read(0x1ff, 1));
    }

    @Test
    void constructorRejectsMulticastOrShortMac() {
        assertThrows(IllegalArgumentException.class, () -> new VirtioNet("x", new byte[] {1, 0, 0, 0, 0, 0}, backend));
        assertThrows(IllegalArgumentException.class, () -> new VirtioNet("x", new byte[5], backend));
    }

    // ---- backend lifecycle ----

    @Test
    void backendStartsAtDriverOkOnlyOnceAcrossResets() {
        assertEquals(0, backend.starts);
        init();
        assertEquals(1, backend.starts);
        driver.reg(0x070, 0);
        init();
        assertEquals(1, backend.starts);
    }

    @Test
    void closeClosesBackendOnce() {
        init();
        net.close();
        net.close();
        assertEquals(1, backend.closes);
    }

    // ---- transmit (§5.1.6.2) ----

    @Test
    void txFrameInOneDescriptorReachesBackendWithoutHeader() {
        init();
        byte[] f = frame(60);
        int head = driver.post(TX, in(driver.allocWith(withHeader(f)), HDR + f.length));
        driver.notify(TX);
        assertEquals(1, backend.sent.size());
        assertArrayEquals(f, backend.sent.get(0));
        assertEquals(List.of(new Used(head, 0)), driver.takeUsed(TX));
        assertTrue(driver.irqAsserted());
    }

    @Test
    void txFrameSpreadOverSeveralDescriptorsIsGathered() {
        init();
        byte[] f = frame(1514);
        long hdr = driver.allocWith(new byte[HDR]);
        long a = driver.allocWith(Arrays.copyOfRange(f, 0, 14));
        long b = driver.allocWith(Arrays.copyOfRange(f, 14, 700));
        long c = driver.allocWith(Arrays.copyOfRange(f, 700, 1514));
        driver.post(TX, in(hdr, HDR), in(a, 14), in(b, 686), in(c, 814));
        driver.notify(TX);
        assertArrayEquals(f, backend.sent.get(0));
    }

    @Test
    void txHeaderSplitAcrossDescriptorsIsStillStripped() {
        init();
        byte[] buf = withHeader(frame(100));
        long gpa = driver.allocWith(buf);
        driver.post(TX, in(gpa, 5), in(gpa + 5, buf.length - 5));
        driver.notify(TX);
        assertArrayEquals(frame(100), backend.sent.get(0));
    }

    @Test
    void txIndirectChainReachesBackend() {
        init();
        byte[] f = frame(300);
        long hdr = driver.allocWith(new byte[HDR]);
        long a = driver.allocWith(Arrays.copyOfRange(f, 0, 100));
        long b = driver.allocWith(Arrays.copyOfRange(f, 100, 300));
        int head = driver.postIndirect(TX, in(hdr, HDR), in(a, 100), in(b, 200));
        driver.notify(TX);
        assertArrayEquals(f, backend.sent.get(0));
        assertEquals(List.of(new Used(head, 0)), driver.takeUsed(TX));
    }

    @Test
    void txBatchReturnsEveryChainAndCountsBytes() {
        init();
        for (int i = 0; i < 5; i++) {
            byte[] b = withHeader(frame(64 + i));
            driver.post(TX, in(driver.allocWith(b), b.length));
        }
        driver.notify(TX);
        assertEquals(5, backend.sent.size());
        assertEquals(5, driver.takeUsed(TX).size());
        VirtioNetMetrics m = net.metrics();
        assertEquals(5, m.txFrames());
        assertEquals(64 + 65 + 66 + 67 + 68, m.txBytes());
    }

    @Test
    void hostileTxChainWithOnlyHeaderIsDroppedCountedAndReturned() {
        init();
        int head = driver.post(TX, in(driver.allocWith(new byte[HDR]), HDR));
        driver.notify(TX);
        assertTrue(backend.sent.isEmpty());
        assertEquals(List.of(new Used(head, 0)), driver.takeUsed(TX));
        assertEquals(1, net.metrics().txDropsMalformed());
        assertFalse(driver.needsReset());
    }

    @Test
    void hostileTxChainShorterThanHeaderIsDroppedCountedAndReturned() {
        init();
        int head = driver.post(TX, in(driver.alloc(4), 4));
        driver.notify(TX);
        assertTrue(backend.sent.isEmpty());
        assertEquals(List.of(new Used(head, 0)), driver.takeUsed(TX));
        assertEquals(1, net.metrics().txDropsMalformed());
    }

    @Test
    void hostileTxChainLongerThanBoundIsDroppedCountedAndReturned() {
        init();
        int length = HDR + VirtioNet.MAX_TX_FRAME + 1;
        long gpa = driver.alloc(length);
        int head = driver.post(TX, in(gpa, 1000), in(gpa + 1000, length - 1000));
        driver.notify(TX);
        assertTrue(backend.sent.isEmpty());
        assertEquals(List.of(new Used(head, 0)), driver.takeUsed(TX));
        assertEquals(1, net.metrics().txDropsOversize());
        assertFalse(driver.needsReset());
    }

    @Test
    void txChainOfExactlyTheBoundIsSent() {
        init();
        int length = HDR + VirtioNet.MAX_TX_FRAME;
        driver.post(TX, in(driver.alloc(length), length));
        driver.notify(TX);
        assertEquals(VirtioNet.MAX_TX_FRAME, backend.sent.get(0).length);
    }

    @Test
    void txWritableDescriptorsAreIgnored() {
        init();
        byte[] b = withHeader(frame(80));
        long junk = driver.alloc(64);
        driver.post(TX, in(driver.allocWith(b), b.length), out(junk, 64));
        driver.notify(TX);
        assertArrayEquals(frame(80), backend.sent.get(0));
    }

    // ---- receive (§5.1.6.3, §5.1.6.4) ----

    @Test
    void rxDeliveryWritesHeaderWithNumBuffersOneThenFrame() {
        init();
        long gpa = postRx(LINUX_RX_BUFFER);
        driver.notify(RX);
        driver.ackInterrupt();
        byte[] f = frame(1514);
        assertTrue(deliver(f));
        List<Used> used = driver.takeUsed(RX);
        assertEquals(1, used.size());
        assertEquals(HDR + 1514, used.get(0).length());
        byte[] expectedHeader = new byte[HDR];
        expectedHeader[10] = 1;
        assertArrayEquals(expectedHeader, driver.memory().read(gpa, HDR));
        assertArrayEquals(f, driver.memory().read(gpa + HDR, f.length));
        assertTrue(driver.irqAsserted());
        assertEquals(1, net.metrics().rxFrames());
        assertEquals(1514, net.metrics().rxBytes());
    }

    @Test
    void aQuiescedDeviceHoldsFramesAndDeliversThemWhenThePauseEnds() {
        init();
        postRx(LINUX_RX_BUFFER);
        driver.notify(RX);
        driver.ackInterrupt();
        driver.transport().quiesce();
        byte[] f = frame(100);
        assertTrue(deliver(f));
        assertEquals(0, driver.takeUsed(RX).size(), "nothing reaches guest memory while paused");
        assertEquals(0, net.metrics().rxFrames());
        assertEquals(1, net.backlogFrames());
        driver.transport().unquiesce();
        List<Used> used = driver.takeUsed(RX);
        assertEquals(1, used.size());
        assertEquals(HDR + 100, used.get(0).length());
        assertEquals(1, net.metrics().rxFrames());
        assertTrue(driver.irqAsserted());
    }

    @Test
    void rxOverwritesStaleHeaderBytes() {
        init();
        long gpa = postRx(LINUX_RX_BUFFER);
        byte[] junk = new byte[HDR];
        Arrays.fill(junk, (byte) 0x5A);
        driver.memory().write(gpa, junk);
        assertTrue(deliver(frame(60)));
        assertEquals(1, driver.memory().readU16(gpa + 10));
        assertEquals(0, driver.memory().readU8(gpa));
        assertEquals(0, driver.memory().readU8(gpa + 1));
    }

    @Test
    void rxFrameScattersOverSeveralWritableDescriptors() {
        init();
        long hdr = driver.alloc(HDR);
        long a = driver.alloc(1000);
        long b = driver.alloc(1000);
        driver.post(RX, out(hdr, HDR), out(a, 1000), out(b, 1000));
        byte[] f = frame(1500);
        assertTrue(deliver(f));
        assertEquals(1, driver.memory().readU16(hdr + 10));
        assertArrayEquals(Arrays.copyOfRange(f, 0, 1000), driver.memory().read(a, 1000));
        assertArrayEquals(Arrays.copyOfRange(f, 1000, 1500), driver.memory().read(b, 500));
        assertEquals(HDR + 1500, driver.takeUsed(RX).get(0).length());
    }

    @Test
    void rxIndirectChainReceivesFrame() {
        init();
        long gpa = driver.alloc(LINUX_RX_BUFFER);
        int head = driver.postIndirect(RX, out(gpa, HDR), out(gpa + HDR, LINUX_RX_BUFFER - HDR));
        assertTrue(deliver(frame(99)));
        assertEquals(List.of(new Used(head, HDR + 99)), driver.takeUsed(RX));
        assertArrayEquals(frame(99), driver.memory().read(gpa + HDR, 99));
    }

    @Test
    void rxWithoutBuffersBacklogsThenFlushesInOrderWhenBuffersArePosted() {
        init();
        byte[][] frames = {frame(60), frame(61), frame(62)};
        for (byte[] f : frames) {
            assertTrue(deliver(f));
        }
        assertEquals(3, net.backlogFrames());
        assertTrue(driver.takeUsed(RX).isEmpty());

        long a = postRx(LINUX_RX_BUFFER);
        long b = postRx(LINUX_RX_BUFFER);
        driver.notify(RX);
        List<Used> used = driver.takeUsed(RX);
        assertEquals(List.of(HDR + 60, HDR + 61), used.stream().map(Used::length).toList());
        assertArrayEquals(frames[0], driver.memory().read(a + HDR, 60));
        assertArrayEquals(frames[1], driver.memory().read(b + HDR, 61));
        assertEquals(1, net.backlogFrames());
        assertEquals(1, backend.spaceAvailable);

        postRx(LINUX_RX_BUFFER);
        driver.notify(RX);
        assertEquals(HDR + 62, driver.takeUsed(RX).get(0).length());
        assertEquals(0, net.backlogFrames());
    }

    @Test
    void rxNewFrameQueuesBehindBacklogEvenWhenBufferAppearsWithoutNotify() {
        init();
        assertTrue(deliver(frame(60)));
        long a = postRx(LINUX_RX_BUFFER);   // posted, not yet notified
        long b = postRx(LINUX_RX_BUFFER);
        assertTrue(deliver(frame(70)));
        assertEquals(List.of(HDR + 60, HDR + 70), driver.takeUsed(RX).stream().map(Used::length).toList());
        assertArrayEquals(frame(60), driver.memory().read(a + HDR, 60));
        assertArrayEquals(frame(70), driver.memory().read(b + HDR, 70));
    }

    @Test
    void rxWithFullBacklogRefusesFrame() {
        init();
        for (int i = 0; i < VirtioNet.BACKLOG_FRAMES; i++) {
            assertTrue(deliver(frame(60)));
        }
        assertFalse(deliver(frame(60)));
        assertEquals(VirtioNet.BACKLOG_FRAMES, net.backlogFrames());
        assertEquals(1, net.metrics().rxDropsBacklogFull());
    }

    @Test
    void rxWithEventIdxPublishesAvailEventWhenOutOfBuffers() {
        init();
        postRx(LINUX_RX_BUFFER);
        assertTrue(deliver(frame(60)));
        assertTrue(deliver(frame(60)));    // no buffer: the device asks to be told of the next one
        int size = driver.queueSize(RX);
        assertEquals(1, driver.memory().readU16(driver.usedGpa(RX) + 4 + 8L * size));
    }

    @Test
    void rxFrameLargerThanBufferIsDroppedAndBufferKeptForNextFrame() {
        init();
        int head = driver.post(RX, out(driver.alloc(HDR + 100), HDR + 100));
        assertTrue(deliver(frame(200)));
        assertTrue(driver.takeUsed(RX).isEmpty());
        assertEquals(1, net.metrics().rxDropsOversize());
        assertTrue(deliver(frame(100)));
        assertEquals(List.of(new Used(head, HDR + 100)), driver.takeUsed(RX));
    }

    @Test
    void rxFrameOverTheBoundIsDropped() {
        init();
        postRx(LINUX_RX_BUFFER);
        assertTrue(backend.sink.deliver(new byte[VirtioNet.MAX_FRAME + 1], 0, VirtioNet.MAX_FRAME + 1));
        assertTrue(deliver(new byte[5]));
        assertTrue(driver.takeUsed(RX).isEmpty());
        assertEquals(2, net.metrics().rxDropsOversize());
    }

    @Test
    void hostileRxBufferTooSmallForHeaderIsReturnedEmptyAndNextBufferUsed() {
        init();
        int bad = driver.post(RX, out(driver.alloc(8), 8));
        int good = driver.post(RX, out(driver.alloc(LINUX_RX_BUFFER), LINUX_RX_BUFFER));
        assertTrue(deliver(frame(60)));
        assertEquals(List.of(new Used(bad, 0), new Used(good, HDR + 60)), driver.takeUsed(RX));
        assertEquals(1, net.metrics().rxBadBuffers());
        assertFalse(driver.needsReset());
    }

    @Test
    void hostileRxChainOfReadableBuffersIsReturnedEmpty() {
        init();
        int bad = driver.post(RX, in(driver.alloc(LINUX_RX_BUFFER), LINUX_RX_BUFFER));
        assertTrue(deliver(frame(60)));
        assertEquals(List.of(new Used(bad, 0)), driver.takeUsed(RX));
        assertEquals(1, net.backlogFrames());
    }

    @Test
    void hostileLoopingRxChainMarksDeviceNeedsReset() {
        init();
        driver.writeDescriptor(RX, 0, driver.alloc(64), 64,
                Virtqueue.VIRTQ_DESC_F_WRITE | Virtqueue.VIRTQ_DESC_F_NEXT, 0);
        driver.publish(RX, 0);
        assertTrue(deliver(frame(60)));
        assertTrue(driver.needsReset());
        assertTrue(deliver(frame(60)));
        assertEquals(1, net.metrics().rxDropsInactive());
    }

    @Test
    void rxBeforeActivationAfterResetIsDroppedAndCounted() {
        init();
        driver.reg(0x070, 0);
        assertTrue(deliver(frame(60)));
        assertEquals(1, net.metrics().rxDropsInactive());
        assertEquals(0, net.backlogFrames());
    }

    @Test
    void resetDropsBacklogAndReactivationDeliversAgain() {
        init();
        assertTrue(deliver(frame(60)));
        driver.reg(0x070, 0);
        assertEquals(0, net.backlogFrames());
        init();
        postRx(LINUX_RX_BUFFER);
        driver.notify(RX);
        assertTrue(deliver(frame(90)));
        assertEquals(List.of(HDR + 90), driver.takeUsed(RX).stream().map(Used::length).toList());
    }

    @Test
    void rxAfterCloseIsDropped() {
        init();
        postRx(LINUX_RX_BUFFER);
        net.close();
        assertTrue(deliver(frame(60)));
        assertTrue(driver.takeUsed(RX).isEmpty());
    }

    @Test
    void backendDeliveringInsideTransmitEchoesToGuest() {
        init();
        backend.echo = true;
        long rx = postRx(LINUX_RX_BUFFER);
        byte[] b = withHeader(frame(64));
        driver.post(TX, in(driver.allocWith(b), b.length));
        driver.notify(TX);
        assertEquals(List.of(HDR + 64), driver.takeUsed(RX).stream().map(Used::length).toList());
        assertArrayEquals(frame(64), driver.memory().read(rx + HDR, 64));
    }

    @Test
    void deliveryFromAnotherThreadReachesGuest() throws InterruptedException {
        init();
        postRx(LINUX_RX_BUFFER);
        Thread t = Thread.ofPlatform().start(() -> deliver(frame(128)));
        t.join();
        List<Used> used = driver.awaitUsed(RX, 1000);
        assertEquals(HDR + 128, used.get(0).length());
    }
}
