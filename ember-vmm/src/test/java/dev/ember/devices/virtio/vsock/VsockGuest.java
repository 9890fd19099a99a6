package dev.ember.devices.virtio.vsock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.ember.devices.virtio.FakeDriver;
import dev.ember.devices.virtio.FakeDriver.Buffer;
import dev.ember.devices.virtio.FakeDriver.Used;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The guest kernel's side of virtio-vsock for tests, on top of {@link FakeDriver}: posts rx
 * buffers as older Linux does (a 44-byte header buffer, then a data buffer), sends tx packets,
 * and decodes what the device put in rx buffers. Also polling helpers for host sockets, so
 * tests wait on deadlines rather than sleep.
 */
final class VsockGuest implements AutoCloseable {

    static final long CID = 3;
    static final int RX_DATA = 4096;
    static final long WAIT_MS = 5000;

    /** One packet the device delivered. */
    record Packet(VsockHeader header, byte[] payload) {
        int op() { return header.op(); }
    }

    final VirtioVsock device;
    final FakeDriver driver;
    private final Map<Integer, long[]> rxBuffers = new HashMap<>();
    private final ArrayDeque<Packet> received = new ArrayDeque<>();

    VsockGuest(VirtioVsock device) {
        this.device = device;
        this.driver = new FakeDriver(device, 32 << 20);
    }

    void initialize() {
        rxBuffers.clear();
        received.clear();
        if (!driver.initialize(256)) {
            fail("device refused FEATURES_OK");
        }
    }

    /** Posts {@code count} rx chains of header + {@code dataLen} bytes, then notifies. */
    void postRx(int count, int dataLen) {
        synchronized (device) {
            for (int i = 0; i < count; i++) {
                long hdr = driver.alloc(VsockHeader.SIZE);
                long data = driver.alloc(dataLen);
                int head = driver.post(VirtioVsock.RXQ, Buffer.out(hdr, VsockHeader.SIZE), Buffer.out(data, dataLen));
                rxBuffers.put(head, new long[] {hdr, data});
            }
        }
        driver.notify(VirtioVsock.RXQ);
    }

    void postRx(int count) {
        postRx(count, RX_DATA);
    }

    static VsockHeader header(int srcPort, int dstPort, int op, int len, int flags, int bufAlloc, int fwdCnt) {
        return new VsockHeader(CID, VirtioVsock.HOST_CID, srcPort, dstPort, len, VsockHeader.TYPE_STREAM, op, flags,
                bufAlloc, fwdCnt);
    }

    /** Sends one packet as a single readable buffer: header then payload. */
    void send(VsockHeader h, byte[] payload) {
        byte[] bytes = Arrays.copyOf(h.encode(), VsockHeader.SIZE + payload.length);
        System.arraycopy(payload, 0, bytes, VsockHeader.SIZE, payload.length);
        sendRaw(bytes);
    }

    void send(VsockHeader h) {
        send(h, new byte[0]);
    }

    /** Sends arbitrary bytes as one tx chain. */
    void sendRaw(byte[] bytes) {
        synchronized (device) {
            long gpa = driver.allocWith(bytes);
            driver.post(VirtioVsock.TXQ, Buffer.in(gpa, bytes.length));
        }
        driver.notify(VirtioVsock.TXQ);
    }

    /** {@return tx chains the device has returned so far} */
    int takeTxUsed() {
        synchronized (device) {
            return driver.takeUsed(VirtioVsock.TXQ).size();
        }
    }

    private void collect(List<Used> used) {
        for (Used u : used) {
            long[] bufs = rxBuffers.remove(u.head());
            if (bufs == null) {
                fail("device used unknown rx head " + u.head());
            }
            if (u.length() == 0) {
                continue;
            }
            byte[] hdr = driver.memory().read(bufs[0], VsockHeader.SIZE);
            VsockHeader h = VsockHeader.decode(hdr);
            assertEquals(VsockHeader.SIZE + h.len(), u.length(), "used length = header + len");
            received.add(new Packet(h, driver.memory().read(bufs[1], h.len())));
        }
    }

    /** {@return the next packet from the device, waiting up to {@link #WAIT_MS}} */
    Packet next() throws InterruptedException {
        long deadline = System.nanoTime() + WAIT_MS * 1_000_000;
        while (received.isEmpty()) {
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                fail("no packet from the device within " + WAIT_MS + " ms");
            }
            collect(driver.awaitUsed(VirtioVsock.RXQ, left));
        }
        return received.poll();
    }

    /** {@return the next packet, which must have operation {@code op}} */
    Packet expect(int op) throws InterruptedException {
        Packet p = next();
        assertEquals(VsockHeader.opName(op), VsockHeader.opName(p.op()), "op of " + p.header());
        return p;
    }

    /** {@return the packets delivered within {@code millis}; used only to show something does not come} */
    List<Packet> drainFor(long millis) throws InterruptedException {
        collect(driver.awaitUsed(VirtioVsock.RXQ, millis));
        synchronized (device) {
            collect(driver.takeUsed(VirtioVsock.RXQ));
        }
        List<Packet> out = List.copyOf(received);
        received.clear();
        return out;
    }

    /** {@return {@code n} bytes of RW payload from flow (hostPort → guestPort), acknowledging none} */
    byte[] receiveData(int n) throws InterruptedException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (out.size() < n) {
            Packet p = expect(VsockHeader.OP_RW);
            out.writeBytes(p.payload());
        }
        assertEquals(n, out.size(), "no more than asked for");
        return out.toByteArray();
    }

    static SocketChannel acceptWithin(ServerSocketChannel server) throws IOException, InterruptedException {
        server.configureBlocking(false);
        long deadline = System.nanoTime() + WAIT_MS * 1_000_000;
        while (System.nanoTime() < deadline) {
            SocketChannel ch = server.accept();
            if (ch != null) {
                ch.configureBlocking(false);
                return ch;
            }
            Thread.sleep(2);
        }
        throw new AssertionError("no connection within " + WAIT_MS + " ms");
    }

    /** {@return exactly {@code n} bytes from {@code ch}, or fewer if the stream ends first} */
    static byte[] readWithin(SocketChannel ch, int n) throws IOException, InterruptedException {
        ch.configureBlocking(false);
        ByteBuffer buf = ByteBuffer.allocate(n);
        long deadline = System.nanoTime() + WAIT_MS * 1_000_000;
        while (buf.hasRemaining() && System.nanoTime() < deadline) {
            int r = ch.read(buf);
            if (r < 0) {
                break;
            }
            if (r == 0) {
                Thread.sleep(2);
            }
        }
        return Arrays.copyOf(buf.array(), buf.position());
    }

    /** {@return whether {@code ch} reaches end of stream within the deadline} */
    static boolean eofWithin(SocketChannel ch) throws IOException, InterruptedException {
        ch.configureBlocking(false);
        ByteBuffer buf = ByteBuffer.allocate(4096);
        long deadline = System.nanoTime() + WAIT_MS * 1_000_000;
        while (System.nanoTime() < deadline) {
            int r;
            try {
                r = ch.read(buf);
            } catch (IOException e) {
                return true;   // reset by peer counts as the end
            }
            if (r < 0) {
                return true;
            }
            buf.clear();
            if (r == 0) {
                Thread.sleep(2);
            }
        }
        return false;
    }

    static void writeAll(SocketChannel ch, byte[] bytes) throws IOException, InterruptedException {
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        long deadline = System.nanoTime() + WAIT_MS * 1_000_000;
        while (buf.hasRemaining() && System.nanoTime() < deadline) {
            if (ch.write(buf) == 0) {
                Thread.sleep(2);
            }
        }
        assertEquals(0, buf.remaining(), "host write completed");
    }

    @Override
    public void close() {
        driver.close();
    }
}
