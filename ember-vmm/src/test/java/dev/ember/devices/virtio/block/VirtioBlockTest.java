package dev.ember.devices.virtio.block;

import static dev.ember.devices.virtio.block.VirtioBlock.VIRTIO_BLK_S_IOERR;
import static dev.ember.devices.virtio.block.VirtioBlock.VIRTIO_BLK_S_OK;
import static dev.ember.devices.virtio.block.VirtioBlock.VIRTIO_BLK_S_UNSUPP;
import static dev.ember.devices.virtio.block.VirtioBlock.VIRTIO_BLK_T_FLUSH;
import static dev.ember.devices.virtio.block.VirtioBlock.VIRTIO_BLK_T_GET_ID;
import static dev.ember.devices.virtio.block.VirtioBlock.VIRTIO_BLK_T_IN;
import static dev.ember.devices.virtio.block.VirtioBlock.VIRTIO_BLK_T_OUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.devices.virtio.FakeDriver;
import dev.ember.devices.virtio.FakeDriver.Buffer;
import dev.ember.devices.virtio.FakeDriver.Used;
import dev.ember.devices.virtio.VirtioFeatures;
import dev.ember.devices.virtio.VirtioMmio;
import dev.ember.devices.virtio.queue.Virtqueue;
import dev.ember.log.LogSink;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** virtio-blk (VIRTIO 1.2 §5.2) against a temporary image file, driven by {@link FakeDriver}. */
class VirtioBlockTest {

    private static final int SECTORS = 64;
    private static final int SECTOR = DiskImage.SECTOR_SIZE;

    @TempDir
    Path dir;

    private Path file;
    private byte[] original;
    private VirtioBlock device;
    private FakeDriver driver;
    private final List<String> log = new ArrayList<>();

    @BeforeEach
    void createImage() throws IOException {
        file = dir.resolve("disk.img");
        original = new byte[SECTORS * SECTOR];
        new Random(42).nextBytes(original);
        Files.write(file, original);
    }

    @AfterEach
    void close() {
        if (driver != null) {
            driver.close();
        }
    }

    private void start(boolean readOnly) throws DiskImageException {
        start("rootfs", readOnly);
    }

    private void start(String id, boolean readOnly) throws DiskImageException {
        device = new VirtioBlock(id, DiskImage.open(id, file, readOnly), e -> log.add(e.message()));
        driver = new FakeDriver(device, 8 << 20);
        assertTrue(driver.initialize(VirtioBlock.QUEUE_SIZE));
    }

    private long header(int type, long sector) {
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, type).putInt(4, 0).putLong(8, sector);
        return driver.allocWith(b.array());
    }

    /** {@return a one-byte status buffer holding 0xFF, so a status the device did not write shows} */
    private long statusBuffer() {
        long gpa = driver.alloc(1);
        driver.memory().write8(gpa, 0xFF);
        return gpa;
    }

    private long filled(int length, int value) {
        byte[] b = new byte[length];
        Arrays.fill(b, (byte) value);
        return driver.allocWith(b);
    }

    private Used submit(Buffer... buffers) {
        driver.post(0, buffers);
        driver.notify(0);
        List<Used> used = driver.takeUsed(0);
        assertEquals(1, used.size(), "one used entry per request");
        return used.get(0);
    }

    private Used submitIndirect(Buffer... buffers) {
        driver.postIndirect(0, buffers);
        driver.notify(0);
        List<Used> used = driver.takeUsed(0);
        assertEquals(1, used.size(), "one used entry per request");
        return used.get(0);
    }

    private int status(long gpa) {
        return driver.memory().readU8(gpa);
    }

    private byte[] sectors(byte[] image, long first, int count) {
        return Arrays.copyOfRange(image, (int) first * SECTOR, (int) (first + count) * SECTOR);
    }

    private byte[] fileBytes() throws IOException {
        return Files.readAllBytes(file);
    }

    // --- identification, features, configuration ---

    @Test
    void deviceIdIsTwoAndFeaturesAreSegMaxBlkSizeFlushOnAWritableDrive() throws Exception {
        start(false);
        assertEquals(VirtioBlock.VIRTIO_ID_BLOCK, driver.reg(0x008));
        long expected = 1L << VirtioBlock.VIRTIO_BLK_F_SEG_MAX | 1L << VirtioBlock.VIRTIO_BLK_F_BLK_SIZE
                | 1L << VirtioBlock.VIRTIO_BLK_F_FLUSH | VirtioFeatures.TRANSPORT;
        assertEquals(expected, driver.deviceFeatures());
    }

    @Test
    void readOnlyDriveAlsoOffersVirtioBlkFRo() throws Exception {
        start(true);
        assertTrue((driver.deviceFeatures() & 1L << VirtioBlock.VIRTIO_BLK_F_RO) != 0);
        assertTrue(device.readOnly());
    }

    @Test
    void queueMaxSizeIs256() throws Exception {
        start(false);
        driver.reg(0x030, 0);
        assertEquals(256, driver.reg(0x034));
    }

    @Test
    void configSpaceReportsCapacitySegMaxAndBlkSize() throws Exception {
        start(false);
        assertEquals(SECTORS, device.capacitySectors());
        assertEquals(SECTORS, driver.transport().read(0x100, 8), "capacity, one 64-bit read");
        assertEquals(SECTORS, driver.transport().read(0x100, 4), "capacity, low half");
        assertEquals(0, driver.transport().read(0x104, 4), "capacity, high half");
        assertEquals(0, driver.transport().read(0x108, 4), "size_max: VIRTIO_BLK_F_SIZE_MAX not offered");
        assertEquals(VirtioBlock.SEG_MAX, driver.transport().read(0x10c, 4));
        assertEquals(512, driver.transport().read(0x114, 4), "blk_size");
        assertEquals(0x02, driver.transport().read(0x115, 1), "byte access inside blk_size");
    }

    @Test
    void configSpaceBeyondItsEndReadsZero() throws Exception {
        start(false);
        assertEquals(0, driver.transport().read(0x100 + 72, 4));
        assertEquals(0, driver.transport().read(0x100 + 0x800, 8));
        assertEquals(0, device.readConfig(-4, 4));
    }

    @Test
    void capacityIgnoresATrailingPartialSector() throws Exception {
        Files.write(file, new byte[SECTOR * 3 + 100]);
        start(false);
        assertEquals(3, device.capacitySectors());
        assertEquals(3, driver.transport().read(0x100, 8));
    }

    // --- IN ---

    @Test
    void readOneSectorCopiesTheFileIntoGuestRam() throws Exception {
        start(false);
        long data = driver.alloc(SECTOR);
        long status = statusBuffer();
        Used used = submit(Buffer.in(header(VIRTIO_BLK_T_IN, 5), 16), Buffer.out(data, SECTOR), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_OK, status(status));
        assertEquals(SECTOR + 1, used.length(), "data plus the status byte");
        assertArrayEquals(sectors(original, 5, 1), driver.memory().read(data, SECTOR));
        assertTrue(driver.irqAsserted());
        assertEquals(1, device.metrics().reads());
        assertEquals(SECTOR, device.metrics().readBytes());
    }

    @Test
    void readIntoAPageOfCodeReportsTheBytesItWrote() throws Exception {
        // A disk read that lands where a hart has decoded or translated code must drop that code
        // (dev.ember.memory.CodePages): the guest may be loading a program over an old one.
        start(false);
        long data = driver.alloc(2 * SECTOR);
        long status = statusBuffer();
        List<String> written = new ArrayList<>();
        driver.memory().codePages().addListener(new dev.ember.memory.CodePages.Listener() {
            @Override public boolean codeWritten(long pageIndex, int from, int to) {
                written.add(pageIndex + ":" + from + "-" + to);
                return true;
            }
            @Override public boolean holdsCode(long pageIndex) { return true; }
        });
        long page = (data - FakeDriver.RAM_BASE) >>> 12;
        driver.memory().codePages().markCode(page, null);
        submit(Buffer.in(header(VIRTIO_BLK_T_IN, 0), 16), Buffer.out(data, SECTOR), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_OK, status(status));
        int from = (int) ((data - FakeDriver.RAM_BASE) & 0xFFF);
        assertTrue(written.contains(page + ":" + from + "-" + Math.min(4096, from + SECTOR)), written.toString());
    }

    @Test
    void readOfTheLastSectorSucceeds() throws Exception {
        start(false);
        long data = driver.alloc(SECTOR);
        long status = statusBuffer();
        submit(Buffer.in(header(VIRTIO_BLK_T_IN, SECTORS - 1), 16), Buffer.out(data, SECTOR), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_OK, status(status));
        assertArrayEquals(sectors(original, SECTORS - 1, 1), driver.memory().read(data, SECTOR));
    }

    @Test
    void readIntoSeveralUnevenDataBuffersFillsThemInOrder() throws Exception {
        start(false);
        long a = driver.alloc(100);
        long b = driver.alloc(924);
        long c = driver.alloc(512);
        long status = statusBuffer();
        Used used = submit(Buffer.in(header(VIRTIO_BLK_T_IN, 10), 16),
                Buffer.out(a, 100), Buffer.out(b, 924), Buffer.out(c, 512), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_OK, status(status));
        assertEquals(3 * SECTOR + 1, used.length());
        byte[] expected = sectors(original, 10, 3);
        assertArrayEquals(Arrays.copyOfRange(expected, 0, 100), driver.memory().read(a, 100));
        assertArrayEquals(Arrays.copyOfRange(expected, 100, 1024), driver.memory().read(b, 924));
        assertArrayEquals(Arrays.copyOfRange(expected, 1024, 1536), driver.memory().read(c, 512));
    }

    @Test
    void readThroughAnIndirectChain() throws Exception {
        start(false);
        long a = driver.alloc(SECTOR);
        long b = driver.alloc(SECTOR);
        long status = statusBuffer();
        Used used = submitIndirect(Buffer.in(header(VIRTIO_BLK_T_IN, 0), 16),
                Buffer.out(a, SECTOR), Buffer.out(b, SECTOR), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_OK, status(status));
        assertEquals(2 * SECTOR + 1, used.length());
        assertArrayEquals(sectors(original, 0, 1), driver.memory().read(a, SECTOR));
        assertArrayEquals(sectors(original, 1, 1), driver.memory().read(b, SECTOR));
    }

    @Test
    void readWithDataAndStatusInOneWritableBufferPutsTheStatusLast() throws Exception {
        start(false);
        long buffer = filled(SECTOR + 1, 0xFF);
        Used used = submit(Buffer.in(header(VIRTIO_BLK_T_IN, 3), 16), Buffer.out(buffer, SECTOR + 1));
        assertEquals(SECTOR + 1, used.length());
        assertArrayEquals(sectors(original, 3, 1), driver.memory().read(buffer, SECTOR));
        assertEquals(VIRTIO_BLK_S_OK, status(buffer + SECTOR));
    }

    @Test
    void headerSplitAcrossTwoDescriptorsIsReassembled() throws Exception {
        start(false);
        long header = header(VIRTIO_BLK_T_IN, 7);
        long data = driver.alloc(SECTOR);
        long status = statusBuffer();
        submit(Buffer.in(header, 6), Buffer.in(header + 6, 10), Buffer.out(data, SECTOR), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_OK, status(status));
        assertArrayEquals(sectors(original, 7, 1), driver.memory().read(data, SECTOR));
    }

    @Test
    void readOfAWholeLargeImageInOneBufferMatchesTheFile() throws Exception {
        byte[] big = new byte[4 << 20];
        new Random(7).nextBytes(big);
        Files.write(file, big);
        start(false);
        long data = driver.alloc(big.length);
        long status = statusBuffer();
        Used used = submit(Buffer.in(header(VIRTIO_BLK_T_IN, 0), 16), Buffer.out(data, big.length), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_OK, status(status));
        assertEquals(big.length + 1, used.length());
        assertArrayEquals(big, driver.memory().read(data, big.length));
    }

    // --- OUT ---

    @Test
    void writeTwoSectorsChangesExactlyThoseSectorsOfTheFile() throws Exception {
        start(false);
        long data = filled(2 * SECTOR, 0xA5);
        long status = statusBuffer();
        Used used = submit(Buffer.in(header(VIRTIO_BLK_T_OUT, 20), 16), Buffer.in(data, 2 * SECTOR), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_OK, status(status));
        assertEquals(1, used.length(), "only the status byte is written into guest RAM");
        byte[] expected = original.clone();
        Arrays.fill(expected, 20 * SECTOR, 22 * SECTOR, (byte) 0xA5);
        assertArrayEquals(expected, fileBytes());
        assertEquals(1, device.metrics().writes());
        assertEquals(2 * SECTOR, device.metrics().writeBytes());
    }

    @Test
    void writeFromSeveralDataBuffersLandsContiguously() throws Exception {
        start(false);
        long a = filled(300, 0x11);
        long b = filled(212, 0x22);
        long c = filled(512, 0x33);
        long status = statusBuffer();
        submit(Buffer.in(header(VIRTIO_BLK_T_OUT, 1), 16), Buffer.in(a, 300), Buffer.in(b, 212), Buffer.in(c, 512),
                Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_OK, status(status));
        byte[] expected = original.clone();
        Arrays.fill(expected, SECTOR, SECTOR + 300, (byte) 0x11);
        Arrays.fill(expected, SECTOR + 300, 2 * SECTOR, (byte) 0x22);
        Arrays.fill(expected, 2 * SECTOR, 3 * SECTOR, (byte) 0x33);
        assertArrayEquals(expected, fileBytes());
    }

    @Test
    void writeWithHeaderAndDataInOneReadableBuffer() throws Exception {
        start(false);
        byte[] request = new byte[16 + SECTOR];
        ByteBuffer.wrap(request).order(ByteOrder.LITTLE_ENDIAN).putInt(0, VIRTIO_BLK_T_OUT).putLong(8, 9);
        Arrays.fill(request, 16, request.length, (byte) 0x5A);
        long status = statusBuffer();
        submit(Buffer.in(driver.allocWith(request), request.length), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_OK, status(status));
        assertArrayEquals(Arrays.copyOfRange(request, 16, request.length), sectors(fileBytes(), 9, 1));
    }

    @Test
    void writeThroughAnIndirectChain() throws Exception {
        start(false);
        long data = filled(SECTOR, 0x77);
        long status = statusBuffer();
        submitIndirect(Buffer.in(header(VIRTIO_BLK_T_OUT, 63), 16), Buffer.in(data, SECTOR), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_OK, status(status));
        byte[] expected = original.clone();
        Arrays.fill(expected, 63 * SECTOR, 64 * SECTOR, (byte) 0x77);
        assertArrayEquals(expected, fileBytes());
    }

    @Test
    void writtenDataReadsBackThroughTheDevice() throws Exception {
        start(false);
        long data = filled(SECTOR, 0x3C);
        submit(Buffer.in(header(VIRTIO_BLK_T_OUT, 30), 16), Buffer.in(data, SECTOR), Buffer.out(statusBuffer(), 1));
        long back = driver.alloc(SECTOR);
        long status = statusBuffer();
        submit(Buffer.in(header(VIRTIO_BLK_T_IN, 30), 16), Buffer.out(back, SECTOR), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_OK, status(status));
        assertArrayEquals(driver.memory().read(data, SECTOR), driver.memory().read(back, SECTOR));
    }

    // --- FLUSH, GET_ID ---

    @Test
    void flushSucceedsAndIsCounted() throws Exception {
        start(false);
        long status = statusBuffer();
        Used used = submit(Buffer.in(header(VIRTIO_BLK_T_FLUSH, 0), 16), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_OK, status(status));
        assertEquals(1, used.length());
        assertEquals(1, device.metrics().flushes());
    }

    @Test
    void flushOnAReadOnlyDriveSucceeds() throws Exception {
        start(true);
        long status = statusBuffer();
        submit(Buffer.in(header(VIRTIO_BLK_T_FLUSH, 0), 16), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_OK, status(status));
    }

    @Test
    void getIdReturnsTheDriveIdNulPaddedTo20Bytes() throws Exception {
        start(false);
        long id = filled(20, 0xFF);
        long status = statusBuffer();
        Used used = submit(Buffer.in(header(VIRTIO_BLK_T_GET_ID, 0), 16), Buffer.out(id, 20), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_OK, status(status));
        assertEquals(21, used.length());
        byte[] expected = new byte[20];
        System.arraycopy("rootfs".getBytes(), 0, expected, 0, 6);
        assertArrayEquals(expected, driver.memory().read(id, 20));
        assertEquals(1, device.metrics().getIds());
    }

    @Test
    void getIdTruncatesALongDriveIdTo20BytesWithoutNul() throws Exception {
        start("a_drive_id_longer_than_twenty", false);
        long id = filled(20, 0xFF);
        long status = statusBuffer();
        submit(Buffer.in(header(VIRTIO_BLK_T_GET_ID, 0), 16), Buffer.out(id, 20), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_OK, status(status));
        assertEquals("a_drive_id_longer_th", new String(driver.memory().read(id, 20)));
    }

    @Test
    void getIdWithAShortBufferWritesOnlyWhatFits() throws Exception {
        start(false);
        long buffer = filled(9, 0xEE);   // 8 bytes of id, then the status
        Used used = submit(Buffer.in(header(VIRTIO_BLK_T_GET_ID, 0), 16), Buffer.out(buffer, 9));
        assertEquals(9, used.length());
        assertEquals("rootfs\0\0", new String(driver.memory().read(buffer, 8)));
        assertEquals(VIRTIO_BLK_S_OK, status(buffer + 8));
    }

    // --- refusals ---

    @Test
    void writeToAReadOnlyDriveIsIoErrAndLeavesTheFileUnchanged() throws Exception {
        start(true);
        long data = filled(SECTOR, 0x99);
        long status = statusBuffer();
        Used used = submit(Buffer.in(header(VIRTIO_BLK_T_OUT, 0), 16), Buffer.in(data, SECTOR), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_IOERR, status(status));
        assertEquals(1, used.length());
        assertArrayEquals(original, fileBytes());
        assertEquals(0, device.metrics().writes());
        assertEquals(1, device.metrics().invalidRequests());
    }

    @Test
    void readOnAReadOnlyDriveWorks() throws Exception {
        start(true);
        long data = driver.alloc(SECTOR);
        long status = statusBuffer();
        submit(Buffer.in(header(VIRTIO_BLK_T_IN, 2), 16), Buffer.out(data, SECTOR), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_OK, status(status));
        assertArrayEquals(sectors(original, 2, 1), driver.memory().read(data, SECTOR));
    }

    @ParameterizedTest(name = "sector {0}")
    @ValueSource(longs = {SECTORS, SECTORS - 1, SECTORS + 1000, Long.MAX_VALUE, -1L, Long.MIN_VALUE})
    void writeBeyondTheCapacityIsIoErrAndLeavesTheFileUnchanged(long sector) throws Exception {
        start(false);
        long data = filled(2 * SECTOR, 0x42);
        long status = statusBuffer();
        Used used = submit(Buffer.in(header(VIRTIO_BLK_T_OUT, sector), 16), Buffer.in(data, 2 * SECTOR), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_IOERR, status(status));
        assertEquals(1, used.length());
        assertArrayEquals(original, fileBytes());
        assertEquals(SECTORS * SECTOR, Files.size(file), "the file did not grow");
        assertEquals(1, device.metrics().invalidRequests());
    }

    @ParameterizedTest(name = "sector {0}")
    @ValueSource(longs = {SECTORS, SECTORS - 1, Long.MAX_VALUE, -1L})
    void readBeyondTheCapacityIsIoErrAndLeavesGuestBuffersAlone(long sector) throws Exception {
        start(false);
        long data = filled(2 * SECTOR, 0x42);
        long status = statusBuffer();
        Used used = submit(Buffer.in(header(VIRTIO_BLK_T_IN, sector), 16), Buffer.out(data, 2 * SECTOR), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_IOERR, status(status));
        assertEquals(1, used.length());
        byte[] untouched = new byte[2 * SECTOR];
        Arrays.fill(untouched, (byte) 0x42);
        assertArrayEquals(untouched, driver.memory().read(data, 2 * SECTOR));
    }

    @Test
    void writeOfAPartialSectorIsIoErrAndLeavesTheFileUnchanged() throws Exception {
        start(false);
        long data = filled(100, 0x42);
        long status = statusBuffer();
        submit(Buffer.in(header(VIRTIO_BLK_T_OUT, 0), 16), Buffer.in(data, 100), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_IOERR, status(status));
        assertArrayEquals(original, fileBytes());
    }

    @Test
    void readIntoAPartialSectorIsIoErr() throws Exception {
        start(false);
        long data = driver.alloc(SECTOR - 1);
        long status = statusBuffer();
        submit(Buffer.in(header(VIRTIO_BLK_T_IN, 0), 16), Buffer.out(data, SECTOR - 1), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_IOERR, status(status));
    }

    @ParameterizedTest(name = "type {0}")
    @ValueSource(ints = {2, 10, 11, 13, 14, 0x1234, 0x8000_0000})
    void unsupportedRequestTypeIsUnsupp(int type) throws Exception {
        start(false);
        long data = filled(SECTOR, 0x42);
        long status = statusBuffer();
        Used used = submit(Buffer.in(header(type, 0), 16), Buffer.in(data, SECTOR), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_UNSUPP, status(status));
        assertEquals(1, used.length());
        assertArrayEquals(original, fileBytes());
        assertEquals(1, device.metrics().unsupported());
    }

    @Test
    void requestWithoutAWritableByteGoesBackWithUsedLengthZero() throws Exception {
        start(false);
        long data = filled(SECTOR, 0x42);
        Used used = submit(Buffer.in(header(VIRTIO_BLK_T_OUT, 0), 16), Buffer.in(data, SECTOR));
        assertEquals(0, used.length());
        assertArrayEquals(original, fileBytes(), "without a status the request is not executed");
        assertEquals(1, device.metrics().invalidRequests());
        assertFalse(driver.needsReset(), "a bad request is not a queue violation");
    }

    @Test
    void requestWithOnlyAZeroLengthWritableBufferGoesBackWithUsedLengthZero() throws Exception {
        start(false);
        Used used = submit(Buffer.in(header(VIRTIO_BLK_T_FLUSH, 0), 16), Buffer.out(driver.alloc(0), 0));
        assertEquals(0, used.length());
        assertEquals(0, device.metrics().flushes());
    }

    @Test
    void headerShorterThan16BytesIsIoErr() throws Exception {
        start(false);
        long status = statusBuffer();
        Used used = submit(Buffer.in(header(VIRTIO_BLK_T_FLUSH, 0), 12), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_IOERR, status(status));
        assertEquals(1, used.length());
        assertEquals(0, device.metrics().flushes());
    }

    @Test
    void deviceKeepsServingAfterABadRequest() throws Exception {
        start(false);
        submit(Buffer.in(header(VIRTIO_BLK_T_IN, 0), 16), Buffer.in(driver.alloc(SECTOR), SECTOR));
        long data = driver.alloc(SECTOR);
        long status = statusBuffer();
        submit(Buffer.in(header(VIRTIO_BLK_T_IN, 4), 16), Buffer.out(data, SECTOR), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_OK, status(status));
        assertArrayEquals(sectors(original, 4, 1), driver.memory().read(data, SECTOR));
    }

    @Test
    void hostIoErrorIsAnsweredIoErrAndCountedNotThrown() throws Exception {
        start(false);
        device.image().close();   // every later file access fails with ClosedChannelException
        long data = driver.alloc(SECTOR);
        long status = statusBuffer();
        Used used = submit(Buffer.in(header(VIRTIO_BLK_T_IN, 0), 16), Buffer.out(data, SECTOR), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_IOERR, status(status));
        assertEquals(1, used.length());
        long flushStatus = statusBuffer();
        submit(Buffer.in(header(VIRTIO_BLK_T_FLUSH, 0), 16), Buffer.out(flushStatus, 1));
        assertEquals(VIRTIO_BLK_S_IOERR, status(flushStatus));
        assertEquals(2, device.metrics().hostErrors());
        assertFalse(driver.needsReset());
    }

    @Test
    void hostIoErrorReachesTheApplicationsLoggerOnceWithItsCause() throws Exception {
        // An application that embeds Ember with no sink of its own gets the JDK's System.Logger,
        // here its default backend, java.util.logging.
        List<LogRecord> records = new ArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord r) {
                records.add(r);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger jul = Logger.getLogger(VirtioBlock.class.getName());
        jul.addHandler(handler);
        try {
            device = new VirtioBlock("rootfs", DiskImage.open("rootfs", file, false), LogSink.systemLogger());
            driver = new FakeDriver(device, 8 << 20);
            assertTrue(driver.initialize(VirtioBlock.QUEUE_SIZE));
            device.image().close();   // every later file access fails with ClosedChannelException
            for (int i = 0; i < 3; i++) {
                long status = statusBuffer();
                submit(Buffer.in(header(VIRTIO_BLK_T_IN, 0), 16), Buffer.out(driver.alloc(SECTOR), SECTOR),
                        Buffer.out(status, 1));
                assertEquals(VIRTIO_BLK_S_IOERR, status(status));
            }
        } finally {
            jul.removeHandler(handler);
        }

        List<LogRecord> warnings = records.stream().filter(r -> r.getLevel() == java.util.logging.Level.WARNING).toList();
        assertEquals(1, warnings.size(), "the first host error is a warning; the rest are at DEBUG");
        assertThat(warnings.get(0).getMessage()).contains("drive rootfs").contains("host read");
        assertThat(warnings.get(0).getThrown()).isInstanceOf(IOException.class);
        assertEquals(3, device.metrics().hostErrors());
    }

    @Test
    void imageThatShrankUnderTheDeviceGivesIoErrOnRead() throws Exception {
        start(false);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.truncate(10 * SECTOR);
        }
        long status = statusBuffer();
        submit(Buffer.in(header(VIRTIO_BLK_T_IN, 20), 16), Buffer.out(driver.alloc(SECTOR), SECTOR), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_IOERR, status(status));
        assertEquals(1, device.metrics().hostErrors());
    }

    @Test
    void interruptedVcpuThreadNeitherClosesTheImageNorLosesItsInterrupt() throws Exception {
        start(false);
        long status = statusBuffer();
        Thread.currentThread().interrupt();
        try {
            submit(Buffer.in(header(VIRTIO_BLK_T_IN, 0), 16), Buffer.out(driver.alloc(SECTOR), SECTOR), Buffer.out(status, 1));
        } finally {
            assertTrue(Thread.interrupted(), "the interrupt status is given back (and cleared here)");
        }
        assertEquals(VIRTIO_BLK_S_OK, status(status));
        assertFalse(device.image().isClosed());
    }

    // --- queue handling ---

    @Test
    void severalRequestsPostedBeforeOneNotifyAreAllServedInOrder() throws Exception {
        start(false);
        long[] data = new long[3];
        long[] status = new long[3];
        int[] heads = new int[3];
        for (int i = 0; i < 3; i++) {
            data[i] = driver.alloc(SECTOR);
            status[i] = statusBuffer();
            heads[i] = driver.post(0, Buffer.in(header(VIRTIO_BLK_T_IN, i), 16), Buffer.out(data[i], SECTOR),
                    Buffer.out(status[i], 1));
        }
        driver.notify(0);
        List<Used> used = driver.takeUsed(0);
        assertEquals(3, used.size());
        for (int i = 0; i < 3; i++) {
            assertEquals(heads[i], used.get(i).head());
            assertEquals(VIRTIO_BLK_S_OK, status(status[i]));
            assertArrayEquals(sectors(original, i, 1), driver.memory().read(data[i], SECTOR));
        }
        assertEquals(VirtioMmio.INTERRUPT_USED_BUFFER, driver.ackInterrupt());
    }

    @Test
    void driverThatSuppressesInterruptsGetsNone() throws Exception {
        start(false);
        // With EVENT_IDX negotiated, used_event = 5 asks for an interrupt only after the 6th entry.
        driver.memory().write16(driver.availGpa(0) + 4 + 2L * driver.queueSize(0), 5);
        driver.ackInterrupt();
        long status = statusBuffer();
        driver.post(0, Buffer.in(header(VIRTIO_BLK_T_FLUSH, 0), 16), Buffer.out(status, 1));
        driver.notify(0);
        assertEquals(VIRTIO_BLK_S_OK, status(status));
        driver.ackInterrupt();
        long status2 = statusBuffer();
        driver.post(0, Buffer.in(header(VIRTIO_BLK_T_FLUSH, 0), 16), Buffer.out(status2, 1));
        driver.notify(0);
        assertEquals(VIRTIO_BLK_S_OK, status(status2));
        assertFalse(driver.irqAsserted(), "used_event not reached");
    }

    @Test
    void notifyWithNothingAvailableRaisesNoInterrupt() throws Exception {
        start(false);
        driver.ackInterrupt();
        driver.notify(0);
        assertFalse(driver.irqAsserted());
    }

    @Test
    void loopingChainIsAQueueViolationThatNeedsReset() throws Exception {
        start(false);
        driver.writeDescriptor(0, 0, header(VIRTIO_BLK_T_FLUSH, 0), 16, Virtqueue.VIRTQ_DESC_F_NEXT, 1);
        driver.writeDescriptor(0, 1, statusBuffer(), 1, Virtqueue.VIRTQ_DESC_F_NEXT | Virtqueue.VIRTQ_DESC_F_WRITE, 0);
        driver.publish(0, 0);
        driver.notify(0);
        assertTrue(driver.needsReset());
        assertEquals(0, device.metrics().flushes());
    }

    @Test
    void deviceServesAgainAfterADriverReset() throws Exception {
        start(false);
        driver.reg(0x070, 0);
        assertTrue(driver.initialize(VirtioBlock.QUEUE_SIZE));
        long data = driver.alloc(SECTOR);
        long status = statusBuffer();
        submit(Buffer.in(header(VIRTIO_BLK_T_IN, 8), 16), Buffer.out(data, SECTOR), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_OK, status(status));
        assertArrayEquals(sectors(original, 8, 1), driver.memory().read(data, SECTOR));
    }

    @Test
    void featureNegotiationWithoutReadOnlyBitStillRefusesWrites() throws Exception {
        start(true);
        driver.initialize(1L << VirtioFeatures.VIRTIO_F_VERSION_1, 16);
        long data = filled(SECTOR, 0x99);
        long status = statusBuffer();
        submit(Buffer.in(header(VIRTIO_BLK_T_OUT, 0), 16), Buffer.in(data, SECTOR), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_IOERR, status(status));
        assertArrayEquals(original, fileBytes());
    }

    @Test
    void withoutNegotiatedFlushEveryWriteIsForcedToDisk() throws Exception {
        start(false);
        driver.initialize(1L << VirtioFeatures.VIRTIO_F_VERSION_1, 16);
        long data = filled(SECTOR, 0x5A);
        long status = statusBuffer();
        submit(Buffer.in(header(VIRTIO_BLK_T_OUT, 0), 16), Buffer.in(data, SECTOR), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_OK, status(status));
        assertEquals(1, device.metrics().flushes.sum(), "write-through: the write was forced");
    }

    @Test
    void withNegotiatedFlushWritesWaitForTheDriversFlush() throws Exception {
        start(false);
        assertTrue(driver.initialize(VirtioBlock.QUEUE_SIZE));
        long data = filled(SECTOR, 0x5A);
        long status = statusBuffer();
        submit(Buffer.in(header(VIRTIO_BLK_T_OUT, 0), 16), Buffer.in(data, SECTOR), Buffer.out(status, 1));
        assertEquals(VIRTIO_BLK_S_OK, status(status));
        assertEquals(0, device.metrics().flushes.sum());
    }

    // --- close ---

    @Test
    void closeClosesTheImageAndIsIdempotent() throws Exception {
        start(false);
        device.close();
        device.close();
        assertTrue(device.image().isClosed());
        assertThat(log).isEmpty();
        // The lock is gone with the file: the image opens read-write again.
        DiskImage.open("again", file, false).close();
    }
}
