package dev.ember.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ember.devices.virtio.FakeDriver;
import dev.ember.devices.virtio.FakeDriver.Buffer;
import dev.ember.devices.virtio.FakeDriver.Used;
import dev.ember.devices.virtio.fs.FuseServer;
import dev.ember.devices.virtio.fs.VirtioFs;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * virtio-fs (VIRTIO 1.2 §5.11) and its FUSE server (Linux {@code include/uapi/linux/fuse.h})
 * under a hostile guest: {@link #requests} sends FUSE requests of any opcode, node and
 * arguments straight to the server; {@link #queues} plays {@link VirtioFuzzing}'s driver script on
 * the device. Each execution shares a fresh empty directory, removed afterwards, so what a
 * request creates stays within it and within the execution.
 */
class VirtioFsFuzzTest {

    // fuse.h opcodes the script favours: the ones that walk, create and change the tree
    private static final int GETATTR = 3, INIT = 26;
    private static final int[] OPCODES = {1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 21, 22, 23, 24,
            25, 26, 27, 28, 29, 30, 34, 35, 36, 38, 39, 40, 42, 43, 44, 45, 46, 47, 48};
    private static final int MAX_REQUESTS = 32;
    private static final int ROOT = 1;

    @FuzzTest
    void requests(FuzzedDataProvider data) throws Exception {
        Path share = Files.createTempDirectory("ember-fuzz-fs");
        try (FuseServer server = new FuseServer(share, data.consumeBoolean(), 64, 16)) {
            byte[] reply = new byte[FuseServer.MAX_REPLY];
            serveChecked(server, request(INIT, 0, initArgs()), reply, reply.length);
            for (int i = 0; i < MAX_REQUESTS && data.remainingBytes() > 0; i++) {
                int opcode = data.consumeBoolean() ? data.pickValue(OPCODES) : data.consumeInt();
                long nodeid = data.consumeBoolean() ? data.consumeLong(0, 8) : data.consumeLong();
                byte[] request = request(opcode, nodeid, data.consumeBytes(data.consumeInt(0, 600)));
                if (data.consumeBoolean()) {   // a header length that lies
                    ByteBuffer.wrap(request).order(ByteOrder.LITTLE_ENDIAN).putInt(0, data.consumeInt());
                }
                int capacity = data.consumeBoolean() ? reply.length : data.consumeInt(0, reply.length);
                serveChecked(server, request, reply, capacity);
            }
            // A new session (the script may have sent DESTROY, after which all but INIT is EIO)
            serveChecked(server, request(INIT, 0, initArgs()), reply, reply.length);
            int n = serveChecked(server, request(GETATTR, ROOT, new byte[16]), reply, reply.length);
            assertTrue(n >= 16, "GETATTR of the root answered");
            assertEquals(0, ByteBuffer.wrap(reply).order(ByteOrder.LITTLE_ENDIAN).getInt(4), "GETATTR of the root: error");
        } finally {
            FuzzFiles.deleteTree(share);
        }
    }

    /** Serves one request; the reply never exceeds the room the guest gave. */
    private static int serveChecked(FuseServer server, byte[] request, byte[] reply, int capacity) {
        int n = server.serve(request, request.length, reply, capacity);
        assertTrue(n >= 0 && n <= capacity, "reply of " + n + " bytes in " + capacity);
        return n;
    }

    @FuzzTest
    void queues(FuzzedDataProvider data) throws Exception {
        Path share = Files.createTempDirectory("ember-fuzz-fs");
        Set<Thread> before = FuzzInvariants.threads();
        try (FakeDriver d = new FakeDriver(new VirtioFs("fuzz", new FuseServer(share, false, 64, 16)),
                VirtioFuzzing.RAM_BYTES)) {
            VirtioFuzzing.drive(d, data, VirtioFuzzing.NO_HOST_EVENT);
            VirtioFuzzing.assertRecovers(d, VirtioFsFuzzTest::answersInit);
        } finally {
            FuzzFiles.deleteTree(share);
        }
        FuzzInvariants.assertNoNewThreads(before);
    }

    /** FUSE_INIT on the request queue (§5.11.2: queue 1) is answered with the server's version. */
    private static void answersInit(FakeDriver d) throws InterruptedException {
        byte[] init = request(INIT, 0, initArgs());
        long reply = d.alloc(256);
        int head = d.post(1, Buffer.in(d.allocWith(init), init.length), Buffer.out(reply, 256));
        d.notify(1);
        List<Used> used = d.awaitUsed(1, 10_000);
        assertEquals(1, used.size(), "answers to FUSE_INIT");
        assertEquals(head, used.getFirst().head());
        assertEquals(0, d.memory().readU32(reply + 4), "FUSE_INIT error");
        assertEquals(FuseServer.MAJOR, d.memory().readU32(reply + 16), "FUSE_INIT major");
    }

    private static byte[] initArgs() {
        return ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN).putInt(7).putInt(37).putInt(65536).array();
    }

    /** A request as fuse.h lays it out: fuse_in_header (40 bytes) then the arguments. */
    private static byte[] request(int opcode, long nodeid, byte[] args) {
        return ByteBuffer.allocate(40 + args.length).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(40 + args.length).putInt(opcode).putLong(1).putLong(nodeid)
                .putInt(0).putInt(0).putInt(1).putInt(0).put(args).array();
    }
}
