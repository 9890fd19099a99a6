package dev.ember.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ember.devices.virtio.FakeDriver;
import dev.ember.devices.virtio.FakeDriver.Buffer;
import dev.ember.devices.virtio.FakeDriver.Used;
import dev.ember.devices.virtio.vsock.VirtioVsock;
import dev.ember.devices.virtio.vsock.VsockHeader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * virtio-vsock (VIRTIO 1.2 §5.10) under a hostile driver ({@link VirtioFuzzing}), whose script
 * also sends well-framed packets with arbitrary header fields. No host program listens, so
 * every connection attempt ends in a reset; the device's own thread must end with it.
 */
class VirtioVsockFuzzTest {

    private static final long CID = 3;
    private static final Path DIR = FuzzFiles.tempDir("ember-fuzz-vsock");

    @FuzzTest
    void queues(FuzzedDataProvider data) throws Exception {
        Set<Thread> before = FuzzInvariants.threads();
        Path uds = DIR.resolve("v.sock");
        VirtioVsock vsock = new VirtioVsock(CID, uds);
        try (FakeDriver d = new FakeDriver(vsock, VirtioFuzzing.RAM_BYTES)) {
            VirtioFuzzing.drive(d, data, events -> {
                VsockHeader h = new VsockHeader(events.consumeBoolean() ? CID : events.consumeLong(), VirtioVsock.HOST_CID,
                        events.consumeInt(), events.consumeInt(), events.consumeInt(0, 64), VsockHeader.TYPE_STREAM,
                        events.consumeInt(0, 8), events.consumeInt(0, 3), events.consumeInt(), events.consumeInt());
                byte[] packet = Arrays.copyOf(h.encode(), VsockHeader.SIZE + h.len());
                synchronized (vsock) {
                    if (d.queueSize(VirtioVsock.TXQ) > 0) {
                        d.post(VirtioVsock.TXQ, Buffer.in(d.allocWith(packet), packet.length));
                    }
                }
                d.notify(VirtioVsock.TXQ);
            });
            VirtioFuzzing.assertRecovers(d, VirtioVsockFuzzTest::refusesAConnectionToNoListener);
        }
        assertFalse(Files.exists(uds), "the socket file is removed on close");
        FuzzInvariants.assertNoNewThreads(before);
    }

    /** A REQUEST to a port nobody listens on is answered with RST (§5.10.6.4). */
    private static void refusesAConnectionToNoListener(FakeDriver d) throws InterruptedException {
        long rxHeader = d.alloc(VsockHeader.SIZE);
        int rxHead;
        synchronized (d.transport().device()) {
            rxHead = d.post(VirtioVsock.RXQ, Buffer.out(rxHeader, VsockHeader.SIZE), Buffer.out(d.alloc(4096), 4096));
        }
        d.notify(VirtioVsock.RXQ);
        VsockHeader request = new VsockHeader(CID, VirtioVsock.HOST_CID, 1234, 5678, 0, VsockHeader.TYPE_STREAM,
                VsockHeader.OP_REQUEST, 0, 65536, 0);
        synchronized (d.transport().device()) {
            d.post(VirtioVsock.TXQ, Buffer.in(d.allocWith(request.encode()), VsockHeader.SIZE));
        }
        d.notify(VirtioVsock.TXQ);
        List<Used> used = d.awaitUsed(VirtioVsock.RXQ, 10_000);
        assertEquals(List.of(new Used(rxHead, VsockHeader.SIZE)), used);
        VsockHeader reply = VsockHeader.decode(d.memory().read(rxHeader, VsockHeader.SIZE));
        assertEquals(VsockHeader.OP_RST, reply.op());
        assertEquals(1234, reply.dstPort());
    }
}
