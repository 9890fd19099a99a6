package dev.ember.devices.virtio.vsock;

import static dev.ember.devices.virtio.vsock.VsockGuest.CID;
import static dev.ember.devices.virtio.vsock.VsockGuest.acceptWithin;
import static dev.ember.devices.virtio.vsock.VsockGuest.eofWithin;
import static dev.ember.devices.virtio.vsock.VsockGuest.header;
import static dev.ember.devices.virtio.vsock.VsockGuest.readWithin;
import static dev.ember.devices.virtio.vsock.VsockGuest.writeAll;
import static dev.ember.devices.virtio.vsock.VsockHeader.OP_CREDIT_REQUEST;
import static dev.ember.devices.virtio.vsock.VsockHeader.OP_CREDIT_UPDATE;
import static dev.ember.devices.virtio.vsock.VsockHeader.OP_REQUEST;
import static dev.ember.devices.virtio.vsock.VsockHeader.OP_RESPONSE;
import static dev.ember.devices.virtio.vsock.VsockHeader.OP_RST;
import static dev.ember.devices.virtio.vsock.VsockHeader.OP_RW;
import static dev.ember.devices.virtio.vsock.VsockHeader.OP_SHUTDOWN;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.devices.virtio.FakeDriver.Buffer;
import dev.ember.devices.virtio.FakeDriver.Used;
import dev.ember.devices.virtio.VirtioFeatures;
import dev.ember.devices.virtio.vsock.VsockGuest.Packet;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** virtio-vsock (VIRTIO 1.2 §5.10) with Firecracker's Unix-socket host side, through a fake guest. */
class VirtioVsockTest {

    private static final int GUEST_PORT = 1234;
    private static final int HOST_PORT = 5000;
    private static final int GUEST_BUF = 256 * 1024;

    @TempDir
    Path dir;

    private VsockGuest guest;
    private ServerSocketChannel server;

    @AfterEach
    void tearDown() throws IOException {
        if (guest != null) {
            guest.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private Path uds() {
        return dir.resolve("v.sock");
    }

    private VsockGuest start(VirtioVsock device) {
        guest = new VsockGuest(device);
        guest.initialize();
        return guest;
    }

    private VsockGuest start() throws IOException {
        return start(new VirtioVsock(CID, uds()));
    }

    private ServerSocketChannel listen(int port) throws IOException {
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(Path.of(uds() + "_" + port)));
        return server;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** Guest connects to HOST_PORT; {@return the host end, accepted by the test server} */
    private SocketChannel guestConnects() throws Exception {
        if (server == null) {
            listen(HOST_PORT);
        }
        guest.postRx(8);
        guest.send(header(GUEST_PORT, HOST_PORT, OP_REQUEST, 0, 0, GUEST_BUF, 0));
        Packet response = guest.expect(OP_RESPONSE);
        assertEquals(HOST_PORT, response.header().srcPort());
        assertEquals(GUEST_PORT, response.header().dstPort());
        return acceptWithin(server);
    }

    /** Host connects through uds_path to guest port 5000 and the guest accepts; {@return the host end} */
    private SocketChannel hostConnects(int[] hostPortOut) throws Exception {
        guest.postRx(8);
        SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(uds()));
        writeAll(client, ascii("CONNECT 5000\n"));
        Packet request = guest.expect(OP_REQUEST);
        int hostPort = request.header().srcPort();
        guest.send(header(5000, hostPort, OP_RESPONSE, 0, 0, GUEST_BUF, 0));
        hostPortOut[0] = hostPort;
        return client;
    }

    // ------------------------------------------------------------------ identity and construction

    @Test
    void identifiesAsSocketDeviceOfferingOnlyTransportFeatures() throws IOException {
        VsockGuest g = start();
        assertEquals(19, g.driver.reg(0x008));
        assertEquals(VirtioFeatures.TRANSPORT, g.driver.deviceFeatures());
    }

    @Test
    void configSpaceHoldsGuestCidLittleEndian() throws IOException {
        VsockGuest g = start(new VirtioVsock(0x1234_5678L, uds()));
        assertEquals(0x1234_5678L, g.driver.transport().read(0x100, 8));
        assertEquals(0x1234_5678L, g.driver.transport().read(0x100, 4));
        assertEquals(0, g.driver.transport().read(0x104, 4));
        assertEquals(0x56, g.driver.transport().read(0x101, 1));
        assertEquals(0, g.driver.transport().read(0x108, 4));
    }

    @Test
    void reservedGuestCidsAreRejected() {
        for (long cid : new long[] {0, 1, 2, 0xFFFF_FFFFL, 1L << 32, -1}) {
            assertThrows(IllegalArgumentException.class, () -> new VirtioVsock(cid, uds()), "cid " + cid);
        }
        assertFalse(Files.exists(uds()));
    }

    @Test
    void existingUdsPathFailsWithOneLineMessageNamingIt() throws IOException {
        Files.writeString(uds(), "stale");
        FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class, () -> new VirtioVsock(CID, uds()));
        assertThat(e.getMessage()).contains(uds().toString()).contains("already exists").doesNotContain("\n");
        assertEquals("stale", Files.readString(uds()), "a stale file is left alone");
    }

    @Test
    void missingUdsDirectoryFailsWithOneLineMessage() {
        Path path = dir.resolve("nope").resolve("v.sock");
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> new VirtioVsock(CID, path));
        assertThat(e.getMessage()).contains(path.toString()).contains("directory").doesNotContain("\n");
    }

    @Test
    void constructorListensAndCloseDeletesSocketFile() throws IOException {
        VirtioVsock device = new VirtioVsock(CID, uds());
        assertTrue(Files.exists(uds()));
        device.close();
        assertFalse(Files.exists(uds()));
        device.close();   // idempotent
    }

    @Test
    void parseConnectAcceptsDecimalU32AndNothingElse() {
        assertEquals(52, VirtioVsock.parseConnect("CONNECT 52"));
        assertEquals(0xFFFF_FFFFL, VirtioVsock.parseConnect("CONNECT 4294967295"));
        assertEquals(7, VirtioVsock.parseConnect("CONNECT 7\r"));
        for (String bad : new String[] {"CONNECT", "CONNECT ", "CONNECT 4294967296", "CONNECT -1", "connect 5",
                "CONNECT 5 6", "CONNECT 0x10", "HELLO 5"}) {
            assertEquals(-1, VirtioVsock.parseConnect(bad), bad);
        }
    }

    // ------------------------------------------------------------------ guest-initiated

    @Test
    void guestInitiatedConnectionRelaysBothWaysAndShutsDown() throws Exception {
        start();
        SocketChannel host = guestConnects();

        guest.send(header(GUEST_PORT, HOST_PORT, OP_RW, 5, 0, GUEST_BUF, 0), ascii("hello"));
        assertArrayEquals(ascii("hello"), readWithin(host, 5));

        writeAll(host, ascii("world"));
        Packet data = guest.expect(OP_RW);
        assertArrayEquals(ascii("world"), data.payload());
        assertEquals(VirtioVsock.HOST_CID, data.header().srcCid());
        assertEquals(CID, data.header().dstCid());
        assertEquals(VsockConnection.BUF_ALLOC, data.header().bufAlloc());

        guest.send(header(GUEST_PORT, HOST_PORT, OP_SHUTDOWN, 0,
                VsockHeader.SHUTDOWN_F_RECEIVE | VsockHeader.SHUTDOWN_F_SEND, GUEST_BUF, 5));
        assertTrue(eofWithin(host), "host socket closed after the guest's SHUTDOWN");
        Packet rst = guest.expect(OP_RST);
        assertEquals(GUEST_PORT, rst.header().dstPort());
        assertEquals(0, guest.device.connectionCount());
        assertEquals(1, guest.device.metrics().connectionsOpened.sum());
        assertEquals(1, guest.device.metrics().connectionsClosed.sum());
        assertEquals(5, guest.device.metrics().bytesFromGuest.sum());
        assertEquals(5, guest.device.metrics().bytesToGuest.sum());
    }

    @Test
    void guestShutdownSendHalfClosesHostSocketAndHostCanStillAnswer() throws Exception {
        start();
        SocketChannel host = guestConnects();
        guest.send(header(GUEST_PORT, HOST_PORT, OP_RW, 3, 0, GUEST_BUF, 0), ascii("req"));
        guest.send(header(GUEST_PORT, HOST_PORT, OP_SHUTDOWN, 0, VsockHeader.SHUTDOWN_F_SEND, GUEST_BUF, 0));

        assertArrayEquals(ascii("req"), readWithin(host, 3), "data before the SHUTDOWN arrives first");
        assertTrue(eofWithin(host), "then end of stream");
        writeAll(host, ascii("resp"));
        assertArrayEquals(ascii("resp"), guest.expect(OP_RW).payload());
    }

    @Test
    void hostEndOfStreamBecomesShutdownSendAfterTheData() throws Exception {
        start();
        SocketChannel host = guestConnects();
        writeAll(host, ascii("bye"));
        host.shutdownOutput();

        assertArrayEquals(ascii("bye"), guest.expect(OP_RW).payload());
        Packet shutdown = guest.expect(OP_SHUTDOWN);
        assertEquals(VsockHeader.SHUTDOWN_F_SEND, shutdown.header().flags());
    }

    @Test
    void txPacketSplitAcrossDescriptorsDirectAndIndirectIsReassembled() throws Exception {
        start();
        SocketChannel host = guestConnects();
        byte[] hdr1 = header(GUEST_PORT, HOST_PORT, OP_RW, 6, 0, GUEST_BUF, 0).encode();
        byte[] hdr2 = header(GUEST_PORT, HOST_PORT, OP_RW, 5, 0, GUEST_BUF, 0).encode();
        synchronized (guest.device) {
            // Header split mid-field, payload in a third buffer.
            long a = guest.driver.allocWith(java.util.Arrays.copyOf(hdr1, 30));
            long b = guest.driver.allocWith(java.util.Arrays.copyOfRange(hdr1, 30, 44));
            long c = guest.driver.allocWith(ascii("direct"));
            guest.driver.post(VirtioVsock.TXQ, Buffer.in(a, 30), Buffer.in(b, 14), Buffer.in(c, 6));
            long d = guest.driver.allocWith(hdr2);
            long e = guest.driver.allocWith(ascii("indir"));
            guest.driver.postIndirect(VirtioVsock.TXQ, Buffer.in(d, 44), Buffer.in(e, 5));
        }
        guest.driver.notify(VirtioVsock.TXQ);
        assertArrayEquals(ascii("directindir"), readWithin(host, 11));
    }

    @Test
    void singleBufferRxChainGetsHeaderAndPayloadTogether() throws Exception {
        start();
        listen(HOST_PORT);
        long buf = postSingleRx(VsockHeader.SIZE + 64);
        guest.send(header(GUEST_PORT, HOST_PORT, OP_REQUEST, 0, 0, GUEST_BUF, 0));
        assertThat(guest.driver.awaitUsed(VirtioVsock.RXQ, VsockGuest.WAIT_MS)).hasSize(1);
        assertEquals(OP_RESPONSE, VsockHeader.decode(guest.driver.memory().read(buf, VsockHeader.SIZE)).op());
        SocketChannel host = acceptWithin(server);

        buf = postSingleRx(VsockHeader.SIZE + 64);
        writeAll(host, ascii("abc"));
        List<Used> used = guest.driver.awaitUsed(VirtioVsock.RXQ, VsockGuest.WAIT_MS);
        assertEquals(VsockHeader.SIZE + 3, used.get(0).length());
        VsockHeader h = VsockHeader.decode(guest.driver.memory().read(buf, VsockHeader.SIZE));
        assertEquals(OP_RW, h.op());
        assertEquals(3, h.len());
        assertArrayEquals(ascii("abc"), guest.driver.memory().read(buf + VsockHeader.SIZE, 3));
    }

    private long postSingleRx(int length) {
        long buf;
        synchronized (guest.device) {
            buf = guest.driver.alloc(length);
            guest.driver.post(VirtioVsock.RXQ, Buffer.out(buf, length));
        }
        guest.driver.notify(VirtioVsock.RXQ);
        return buf;
    }

    @Test
    void guestRequestWithNoHostListenerIsAnsweredWithRst() throws Exception {
        start();
        guest.postRx(4);
        guest.send(header(GUEST_PORT, 7777, OP_REQUEST, 0, 0, GUEST_BUF, 0));

        Packet rst = guest.expect(OP_RST);
        assertEquals(7777, rst.header().srcPort());
        assertEquals(GUEST_PORT, rst.header().dstPort());
        assertEquals(CID, rst.header().dstCid());
        assertEquals(1, guest.device.metrics().refusedGuestConnections.sum());
        assertEquals(0, guest.device.connectionCount());
    }

    @Test
    void guestRstClosesHostSocket() throws Exception {
        start();
        SocketChannel host = guestConnects();
        guest.send(header(GUEST_PORT, HOST_PORT, OP_RST, 0, 0, GUEST_BUF, 0));
        assertTrue(eofWithin(host));
        assertEquals(0, guest.device.connectionCount());
        assertThat(guest.drainFor(50)).noneMatch(p -> p.op() == OP_RST);
    }

    @Test
    void creditRequestIsAnsweredWithCreditUpdate() throws Exception {
        start();
        guestConnects();
        guest.send(header(GUEST_PORT, HOST_PORT, OP_CREDIT_REQUEST, 0, 0, GUEST_BUF, 0));
        Packet update = guest.expect(OP_CREDIT_UPDATE);
        assertEquals(VsockConnection.BUF_ALLOC, update.header().bufAlloc());
        assertEquals(0, update.header().fwdCnt());
    }

    @Test
    void consumingGuestDataSendsCreditUpdateWithForwardCount() throws Exception {
        start();
        SocketChannel host = guestConnects();
        int chunk = 16 * 1024;
        int total = VsockConnection.CREDIT_UPDATE_THRESHOLD;
        for (int sent = 0; sent < total; sent += chunk) {
            guest.send(header(GUEST_PORT, HOST_PORT, OP_RW, chunk, 0, GUEST_BUF, 0), new byte[chunk]);
        }
        assertEquals(total, readWithin(host, total).length);
        Packet update = guest.expect(OP_CREDIT_UPDATE);
        assertEquals(total, update.header().fwdCnt());
    }

    // ------------------------------------------------------------------ host-initiated

    @Test
    void hostInitiatedConnectGetsOkWithPortThenRelaysBothWays() throws Exception {
        start();
        int[] port = new int[1];
        SocketChannel client = hostConnects(port);
        assertThat(port[0]).isGreaterThanOrEqualTo(VirtioVsock.FIRST_HOST_PORT);

        String ok = "OK " + port[0] + "\n";
        assertEquals(ok, new String(readWithin(client, ok.length()), StandardCharsets.US_ASCII));

        writeAll(client, ascii("ping"));
        Packet data = guest.expect(OP_RW);
        assertArrayEquals(ascii("ping"), data.payload());
        assertEquals(5000, data.header().dstPort());
        assertEquals(port[0], data.header().srcPort());

        guest.send(header(5000, port[0], OP_RW, 4, 0, GUEST_BUF, 4), ascii("pong"));
        assertArrayEquals(ascii("pong"), readWithin(client, 4));
        assertEquals(1, guest.device.metrics().connectionsOpened.sum());
    }

    @Test
    void hostInitiatedRequestCarriesGuestPortAndOwnCredit() throws Exception {
        start();
        guest.postRx(2);
        SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(uds()));
        writeAll(client, ascii("CONNECT 52\n"));
        VsockHeader request = guest.expect(OP_REQUEST).header();
        assertEquals(52, request.dstPort());
        assertEquals(CID, request.dstCid());
        assertEquals(VirtioVsock.HOST_CID, request.srcCid());
        assertEquals(VsockHeader.TYPE_STREAM, request.type());
        assertEquals(VsockConnection.BUF_ALLOC, request.bufAlloc());
    }

    @Test
    void bytesAfterConnectLineReachGuestAfterOk() throws Exception {
        start();
        guest.postRx(8);
        SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(uds()));
        writeAll(client, ascii("CONNECT 5000\nearly"));
        int hostPort = guest.expect(OP_REQUEST).header().srcPort();
        guest.send(header(5000, hostPort, OP_RESPONSE, 0, 0, GUEST_BUF, 0));
        assertArrayEquals(ascii("early"), guest.expect(OP_RW).payload());
    }

    @Test
    void guestRstToHostRequestClosesClientWithoutOk() throws Exception {
        start();
        guest.postRx(2);
        SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(uds()));
        writeAll(client, ascii("CONNECT 9\n"));
        int hostPort = guest.expect(OP_REQUEST).header().srcPort();
        guest.send(header(9, hostPort, OP_RST, 0, 0, 0, 0));

        assertEquals(0, readWithin(client, 1).length, "no OK line");
        assertTrue(eofWithin(client));
        assertEquals(0, guest.device.metrics().connectionsOpened.sum());
    }

    @Test
    void badConnectLineClosesClientAndIsCounted() throws Exception {
        start();
        SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(uds()));
        writeAll(client, ascii("HELLO 5000\n"));
        assertTrue(eofWithin(client));
        assertEquals(1, guest.device.metrics().refusedHostConnections.sum());
    }

    @Test
    void overlongConnectLineClosesClient() throws Exception {
        start();
        SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(uds()));
        writeAll(client, ascii("CONNECT " + "0".repeat(40)));
        assertTrue(eofWithin(client));
    }

    @Test
    void unansweredHostRequestTimesOutWithRstAndClosesClient() throws Exception {
        start(new VirtioVsock(CID, uds(), VirtioVsock.MAX_CONNECTIONS, 100));
        guest.postRx(4);
        SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(uds()));
        writeAll(client, ascii("CONNECT 77\n"));
        int hostPort = guest.expect(OP_REQUEST).header().srcPort();

        assertTrue(eofWithin(client));
        Packet rst = guest.expect(OP_RST);
        assertEquals(hostPort, rst.header().srcPort());
        assertEquals(77, rst.header().dstPort());
    }

    // ------------------------------------------------------------------ credit

    @Test
    void deviceNeverSendsMoreThanGuestBufAllocUntilCreditUpdate() throws Exception {
        start();
        int[] port = new int[1];
        guest.postRx(8);
        SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(uds()));
        writeAll(client, ascii("CONNECT 5000\n"));
        port[0] = guest.expect(OP_REQUEST).header().srcPort();
        guest.send(header(5000, port[0], OP_RESPONSE, 0, 0, 100, 0));   // guest buf_alloc: 100 bytes
        readWithin(client, ("OK " + port[0] + "\n").length());

        byte[] blob = new byte[300];
        for (int i = 0; i < blob.length; i++) {
            blob[i] = (byte) i;
        }
        writeAll(client, blob);
        byte[] first = guest.receiveData(100);
        assertThat(guest.drainFor(200)).as("nothing beyond the credit").isEmpty();

        guest.send(header(5000, port[0], OP_CREDIT_UPDATE, 0, 0, 100, 100));
        byte[] second = guest.receiveData(100);
        assertThat(guest.drainFor(100)).isEmpty();

        guest.send(header(5000, port[0], OP_CREDIT_UPDATE, 0, 0, 300, 200));   // bigger buffer: all the rest
        byte[] third = guest.receiveData(100);

        byte[] all = new byte[300];
        System.arraycopy(first, 0, all, 0, 100);
        System.arraycopy(second, 0, all, 100, 100);
        System.arraycopy(third, 0, all, 200, 100);
        assertArrayEquals(blob, all);
    }

    @Test
    void payloadSplitsToFitRxBuffers() throws Exception {
        start();
        SocketChannel host = guestConnects();
        guest.postRx(8, 1000);
        byte[] blob = new byte[2500];
        writeAll(host, blob);
        List<Packet> got = new java.util.ArrayList<>();
        int total = 0;
        while (total < 2500) {
            Packet p = guest.expect(OP_RW);
            assertThat(p.payload().length).isLessThanOrEqualTo(VsockGuest.RX_DATA);
            total += p.payload().length;
            got.add(p);
        }
        assertEquals(2500, total);
    }

    @Test
    void guestDataBeyondAdvertisedBufferResetsConnection() throws Exception {
        start();
        SocketChannel host = guestConnects();
        int chunk = 64 * 1024;
        long dropped = guest.device.metrics().droppedPackets.sum();
        synchronized (guest.device) {
            // Back to back under the monitor, so the device thread cannot write any of it to the
            // host in between: the third packet exceeds the BUF_ALLOC the device advertised.
            for (int i = 0; i < 3; i++) {
                guest.send(header(GUEST_PORT, HOST_PORT, OP_RW, chunk, 0, GUEST_BUF, 0), new byte[chunk]);
            }
        }
        assertEquals(0, guest.device.connectionCount());
        assertEquals(dropped + 1, guest.device.metrics().droppedPackets.sum());
        assertThat(guest.drainFor(100)).anyMatch(p -> p.op() == OP_RST && p.header().dstPort() == GUEST_PORT);
        assertThat(3 * chunk).isGreaterThan(VsockConnection.BUF_ALLOC);
        assertTrue(eofWithin(host));
    }

    // ------------------------------------------------------------------ hostile guests

    @Test
    void hostilePacketsAreCountedAndDoNotBreakAnEstablishedConnection() throws Exception {
        start();
        SocketChannel host = guestConnects();
        guest.postRx(16);
        long before = guest.device.metrics().droppedPackets.sum();
        guest.takeTxUsed();

        guest.sendRaw(new byte[20]);   // shorter than a header
        byte[] liar = header(GUEST_PORT + 1, HOST_PORT, OP_RW, 1000, 0, GUEST_BUF, 0).encode();
        guest.sendRaw(java.util.Arrays.copyOf(liar, VsockHeader.SIZE + 10));   // len beyond the buffer
        guest.send(header(GUEST_PORT + 2, HOST_PORT, 99, 0, 0, GUEST_BUF, 0));   // unknown op
        guest.send(new VsockHeader(CID, VirtioVsock.HOST_CID, GUEST_PORT + 3, HOST_PORT, 0, 2, OP_REQUEST, 0, 0, 0));   // SEQPACKET
        guest.send(new VsockHeader(CID + 1, VirtioVsock.HOST_CID, GUEST_PORT + 4, HOST_PORT, 0, 1, OP_REQUEST, 0, 0, 0));   // spoofed CID
        guest.send(new VsockHeader(CID, 7, GUEST_PORT + 5, HOST_PORT, 0, 1, OP_REQUEST, 0, 0, 0));   // not to the host

        assertEquals(before + 6, guest.device.metrics().droppedPackets.sum());
        assertEquals(6, guest.takeTxUsed(), "every hostile chain is returned");

        List<Packet> replies = guest.drainFor(100);
        assertThat(replies).allMatch(p -> p.op() == OP_RST);
        assertThat(replies).extracting(p -> p.header().dstPort())
                .containsExactlyInAnyOrder(GUEST_PORT + 1, GUEST_PORT + 2, GUEST_PORT + 3, GUEST_PORT + 5);

        guest.send(header(GUEST_PORT, HOST_PORT, OP_RW, 2, 0, GUEST_BUF, 0), ascii("ok"));
        assertArrayEquals(ascii("ok"), readWithin(host, 2));
        assertEquals(1, guest.device.connectionCount());
        assertFalse(guest.driver.needsReset());
    }

    @Test
    void lenBeyondBufferOnLiveConnectionResetsOnlyThatConnection() throws Exception {
        start();
        SocketChannel host = guestConnects();
        byte[] liar = header(GUEST_PORT, HOST_PORT, OP_RW, 5000, 0, GUEST_BUF, 0).encode();
        guest.sendRaw(java.util.Arrays.copyOf(liar, VsockHeader.SIZE + 4));
        assertEquals(GUEST_PORT, guest.expect(OP_RST).header().dstPort());
        assertTrue(eofWithin(host));
        assertEquals(0, guest.device.metrics().bytesFromGuest.sum());
    }

    @Test
    void dataOnUnknownConnectionIsAnsweredWithRstButRstIsNot() throws Exception {
        start();
        guest.postRx(4);
        guest.send(header(GUEST_PORT, 4242, OP_RW, 3, 0, GUEST_BUF, 0), ascii("abc"));
        guest.send(header(GUEST_PORT, 4243, OP_RST, 0, 0, GUEST_BUF, 0));
        List<Packet> replies = guest.drainFor(100);
        assertEquals(1, replies.size());
        assertEquals(OP_RST, replies.get(0).op());
        assertEquals(4242, replies.get(0).header().srcPort());
    }

    @Test
    void rxChainTooSmallForHeaderIsReturnedEmptyAndCounted() throws Exception {
        VsockGuest g = start();
        int head;
        synchronized (g.device) {
            head = g.driver.post(VirtioVsock.RXQ, Buffer.out(g.driver.alloc(16), 16));
        }
        g.driver.notify(VirtioVsock.RXQ);
        g.send(header(GUEST_PORT, 7777, OP_RW, 0, 0, GUEST_BUF, 0));   // provokes a RST reply
        List<Used> used = g.driver.awaitUsed(VirtioVsock.RXQ, VsockGuest.WAIT_MS);
        assertEquals(List.of(new Used(head, 0)), used);
        assertEquals(1, g.device.metrics().badRxBuffers.sum());
        g.postRx(1);
        assertEquals(OP_RST, g.expect(OP_RST).op(), "the reply waited for a usable buffer");
    }

    @Test
    void txPausesWhenRepliesCannotBeDeliveredAndResumesWithRxBuffers() throws Exception {
        VsockGuest g = start();
        int n = VirtioVsock.MAX_PENDING_REPLIES + 20;
        synchronized (g.device) {
            for (int i = 0; i < n; i++) {
                long gpa = g.driver.allocWith(header(10_000 + i, 4242, OP_RW, 0, 0, 0, 0).encode());
                g.driver.post(VirtioVsock.TXQ, Buffer.in(gpa, VsockHeader.SIZE));
                if (i == 200) {
                    g.driver.notify(VirtioVsock.TXQ);
                }
            }
        }
        g.driver.notify(VirtioVsock.TXQ);
        assertEquals(VirtioVsock.MAX_PENDING_REPLIES, g.takeTxUsed(), "tx stops once the replies fill up");

        int replies = 0;
        int txUsed = VirtioVsock.MAX_PENDING_REPLIES;
        while (replies < n) {
            g.postRx(100);
            List<Packet> got = g.drainFor(100);
            assertThat(got).isNotEmpty().allMatch(p -> p.op() == OP_RST);
            replies += got.size();
            txUsed += g.takeTxUsed();
        }
        assertEquals(n, replies, "every packet was answered once rx buffers came");
        assertEquals(n, txUsed, "the rest of tx was taken once replies drained");
    }

    @Test
    void requestsBeyondConnectionLimitGetRst() throws Exception {
        start(new VirtioVsock(CID, uds(), 2, VirtioVsock.CONNECT_TIMEOUT_MILLIS));
        listen(HOST_PORT);
        guest.postRx(8);
        for (int p = 1; p <= 3; p++) {
            guest.send(header(p, HOST_PORT, OP_REQUEST, 0, 0, GUEST_BUF, 0));
        }
        List<Packet> got = List.of(guest.next(), guest.next(), guest.next());
        assertThat(got).filteredOn(p -> p.op() == OP_RESPONSE).hasSize(2);
        assertThat(got).filteredOn(p -> p.op() == OP_RST).extracting(p -> p.header().dstPort()).containsExactly(3);
        assertEquals(1, guest.device.metrics().refusedGuestConnections.sum());
    }

    // ------------------------------------------------------------------ lifecycle

    @Test
    void driverResetClosesHostSockets() throws Exception {
        start();
        SocketChannel host = guestConnects();
        guest.driver.reg(0x070, 0);
        assertTrue(eofWithin(host));
        assertEquals(0, guest.device.connectionCount());
    }

    @Test
    void deviceWorksAgainAfterDriverReset() throws Exception {
        start();
        guestConnects().close();
        guest.driver.reg(0x070, 0);
        guest.initialize();
        SocketChannel host = guestConnects();
        guest.send(header(GUEST_PORT, HOST_PORT, OP_RW, 2, 0, GUEST_BUF, 0), ascii("hi"));
        assertArrayEquals(ascii("hi"), readWithin(host, 2));
    }

    @Test
    void transportResetEventGoesInEventBufferAndDropsConnections() throws Exception {
        start();
        SocketChannel host = guestConnects();
        long event;
        int head;
        synchronized (guest.device) {
            event = guest.driver.alloc(4);
            guest.driver.memory().write32(event, 0xFFFF_FFFF);
            head = guest.driver.post(VirtioVsock.EVENTQ, Buffer.out(event, 4));
        }
        guest.driver.notify(VirtioVsock.EVENTQ);
        assertTrue(guest.device.sendTransportReset());
        assertEquals(List.of(new Used(head, 4)), guest.driver.takeUsed(VirtioVsock.EVENTQ));
        assertEquals(VirtioVsock.VIRTIO_VSOCK_EVENT_TRANSPORT_RESET, guest.driver.memory().readU32(event));
        assertTrue(eofWithin(host));
    }
}
