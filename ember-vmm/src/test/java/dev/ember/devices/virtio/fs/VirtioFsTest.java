package dev.ember.devices.virtio.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.devices.virtio.FakeDriver;
import dev.ember.devices.virtio.FakeDriver.Buffer;
import dev.ember.devices.virtio.FakeDriver.Used;
import dev.ember.devices.virtio.VirtioFeatures;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** virtio-fs (VIRTIO 1.2 §5.11) through {@link FakeDriver}: the queues, the configuration space, hostile chains. */
class VirtioFsTest {

    private static final int Q = VirtioFs.REQUEST;

    @TempDir
    Path share;
    private VirtioFs fs;
    private FakeDriver driver;
    private FuseClient requests;

    @BeforeEach
    void setUp() throws Exception {
        fs = new VirtioFs("myshare", new FuseServer(share, false));
        driver = new FakeDriver(fs, 8 << 20);
        requests = new FuseClient(fs.server());
    }

    @AfterEach
    void close() {
        driver.close();
    }

    /** Posts {@code request} with {@code replyRoom} writable bytes on {@code q}; {@return the reply bytes} */
    private ByteBuffer exchange(int q, byte[] request, int replyRoom) throws Exception {
        long in = driver.allocWith(request);
        long out = driver.alloc(Math.max(replyRoom, 1));
        int head = replyRoom == 0 ? driver.post(q, Buffer.in(in, request.length))
                : driver.post(q, Buffer.in(in, request.length), Buffer.out(out, replyRoom));
        driver.notify(q);
        List<Used> used = driver.awaitUsed(q, 5000);
        assertEquals(1, used.size());
        assertEquals(head, used.getFirst().head());
        byte[] reply = driver.memory().read(out, used.getFirst().length());
        return ByteBuffer.wrap(reply).order(ByteOrder.LITTLE_ENDIAN);
    }

    private byte[] init() {
        return requests.request(FuseServer.INIT, 0, FuseClient.args(7, 37, 65536, 0, 0, new byte[44]));
    }

    @Test
    void identifiesAsAFileSystemWithItsTagAndOneRequestQueue() {
        assertEquals(26, driver.reg(0x008));
        assertEquals(VirtioFeatures.TRANSPORT, driver.deviceFeatures());
        byte[] tag = new byte[36];
        for (int i = 0; i < 36; i++) {
            tag[i] = (byte) driver.transport().read(0x100 + i, 1);
        }
        assertEquals("myshare", new String(tag, StandardCharsets.UTF_8).replace("\0", ""));
        assertEquals(1, driver.transport().read(0x100 + 36, 4));
    }

    @Test
    void initAndLookupAreAnsweredOnTheRequestQueue() throws Exception {
        Files.writeString(share.resolve("hello"), "hi");
        assertTrue(driver.initialize(64));
        ByteBuffer r = exchange(Q, init(), 256);
        assertEquals(16 + 64, r.getInt(0));
        assertEquals(0, r.getInt(4));
        assertEquals(7, r.getInt(16));

        r = exchange(Q, requests.request(FuseServer.LOOKUP, 1, FuseClient.args("hello")), 256);
        assertEquals(0, r.getInt(4));
        assertEquals(2, r.getLong(16 + 40 + 8), "size of hello");
        assertTrue(driver.irqAsserted());
    }

    @Test
    void forgetOnTheHiprioQueueGoesBackWithNoReply() throws Exception {
        Files.writeString(share.resolve("hello"), "hi");
        assertTrue(driver.initialize(64));
        exchange(Q, init(), 256);
        long node = exchange(Q, requests.request(FuseServer.LOOKUP, 1, FuseClient.args("hello")), 256).getLong(16);
        assertEquals(2, fs.server().inodeCount());
        assertEquals(0, exchange(VirtioFs.HIPRIO, requests.request(FuseServer.FORGET, node, FuseClient.args(1L)), 0).limit());
        assertEquals(1, fs.server().inodeCount());
    }

    @Test
    void chainsWithoutRoomForAReplyOrTooShortAreReturnedEmptyAndCounted() throws Exception {
        assertTrue(driver.initialize(64));
        exchange(Q, init(), 256);
        assertEquals(0, exchange(Q, requests.request(FuseServer.GETATTR, 1, FuseClient.args(0, 0, 0L)), 0).limit());
        assertEquals(0, exchange(Q, new byte[10], 256).limit());
        assertEquals(2, fs.metrics().invalidRequests());
        assertFalse(driver.needsReset());
        // The device still serves.
        assertEquals(0, exchange(Q, requests.request(FuseServer.GETATTR, 1, FuseClient.args(0, 0, 0L)), 256).getInt(4));
    }

    @Test
    void aResetForgetsEveryNodeOfTheSession() throws Exception {
        Files.writeString(share.resolve("hello"), "hi");
        assertTrue(driver.initialize(64));
        exchange(Q, init(), 256);
        exchange(Q, requests.request(FuseServer.LOOKUP, 1, FuseClient.args("hello")), 256);
        synchronized (fs) {
            assertEquals(2, fs.server().inodeCount());
        }
        driver.reg(0x070, 0);
        synchronized (fs) {
            assertEquals(1, fs.server().inodeCount());
        }
    }

    @Test
    void aSnapshotOfAShareIsRefusedWithAClearError() {
        IllegalStateException e = assertThrows(IllegalStateException.class, fs::saveState);
        assertTrue(e.getMessage().contains("cannot be snapshotted"), e.getMessage());
    }

    @Test
    void aTagLongerThan36BytesIsRefused() throws Exception {
        FuseServer server = new FuseServer(share, false);
        assertThrows(IllegalArgumentException.class, () -> new VirtioFs("t".repeat(37), server));
        server.close();
    }
}
