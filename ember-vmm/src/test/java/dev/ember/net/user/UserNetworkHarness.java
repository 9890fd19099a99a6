package dev.ember.net.user;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A user-mode network for fuzz tests in other packages: QEMU's layout with small flow limits,
 * a {@link FakeGuest} on the receive side, and every host connection, datagram and name
 * lookup kept on this machine. Connections and datagrams to any destination go to one local
 * echo sink (TCP and UDP on the same loopback port); names resolve to 192.0.2.1 (TEST-NET-1)
 * or not at all, decided by the name, so nothing leaves the host and runs repeat.
 *
 * <p>Threads: the caller's (one at a time); the network's own stack thread; one shared sink
 * thread per JVM.
 */
public final class UserNetworkHarness implements AutoCloseable {

    public static final byte[] GUEST_MAC = TestFrames.GUEST_MAC.clone();
    public static final byte[] GATEWAY_MAC = TestFrames.GATEWAY_MAC.clone();
    public static final int GUEST_IP = TestFrames.GUEST_IP;
    public static final int GATEWAY_IP = TestFrames.GATEWAY_IP;
    public static final int DNS_IP = TestFrames.DNS_IP;
    public static final int MAX_TCP_FLOWS = 16;
    public static final int MAX_UDP_FLOWS = 16;

    private static final long WAIT_MILLIS = 5_000;
    private static EchoSink sink;

    private final UserNetwork network;
    private final FakeGuest guest = new FakeGuest();
    private int lastStackSeq;
    private int lastStackAck;

    /** Creates and starts a network whose host side is the local sink. */
    public UserNetworkHarness() {
        InetSocketAddress sinkAddress = sink().address;
        UserNetworkConfig defaults = UserNetworkConfig.defaults();
        UserNetworkConfig config = new UserNetworkConfig(defaults.network(), defaults.prefixLength(),
                defaults.gateway(), defaults.dns(), defaults.guest(), defaults.gatewayMac(), defaults.mtu(),
                List.of(), MAX_TCP_FLOWS, MAX_UDP_FLOWS);
        network = new UserNetwork(config, new UserNetwork.Outbound() {
            @Override
            public InetSocketAddress route(InetAddress destination, int port) {
                return sinkAddress;
            }

            @Override
            public InetAddress[] resolve(String name) throws UnknownHostException {
                if (name.hashCode() % 2 != 0) {
                    throw new UnknownHostException(name);
                }
                return new InetAddress[] {InetAddress.ofLiteral("192.0.2.1")};
            }
        });
        network.start(guest);
    }

    /** {@return the loopback port of the echo sink every host connection and datagram goes to} */
    public static int sinkPort() {
        return sink().address.getPort();
    }

    /** Hands {@code frame} to the stack as the guest's transmit queue would. */
    public void transmit(byte[] frame) {
        network.transmit(frame, 0, frame.length);
    }

    /**
     * Waits until the stack has handled every frame transmitted so far.
     *
     * @throws AssertionError if it does not within 5 s: the stack thread is stuck or dead
     */
    public void awaitHandled() {
        CountDownLatch done = new CountDownLatch(1);
        network.afterQueuedFrames(done::countDown);
        try {
            if (!done.await(WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
                throw new AssertionError("the stack did not handle its queued frames within " + WAIT_MILLIS + " ms");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** {@return the first exception raised inside the stack, or null} */
    public RuntimeException internalError() {
        return network.internalError();
    }

    /** {@return the counters} */
    public UserNetworkMetrics metrics() {
        return network.metrics();
    }

    /**
     * Checks that the stack still answers: an ICMP echo request to the gateway gets its reply.
     * Frames already queued for the guest are skipped.
     *
     * @throws AssertionError if no reply comes within {@link FakeGuest#TIMEOUT_MILLIS}
     */
    public void assertAnswersPing() {
        int id = 0x4242;
        byte[] icmp = {8, 0, 0, 0, (byte) (id >> 8), (byte) id, 0, 1, 'e', 'm', 'b', 'e', 'r'};
        int c = TestFrames.checksum(icmp, 0, icmp.length, 0);
        icmp[2] = (byte) (c >> 8);
        icmp[3] = (byte) c;
        transmit(TestFrames.ipv4(TestFrames.ICMP, GUEST_IP, GATEWAY_IP, icmp));
        guest.await(f -> f.proto() == TestFrames.ICMP && f.ipSrc() == GATEWAY_IP
                && f.raw().length >= 14 + 20 + 6 && f.raw()[34] == 0
                && (f.raw()[38] & 0xFF) == 0x42 && (f.raw()[39] & 0xFF) == 0x42, "ICMP echo reply");
    }

    /**
     * Takes every frame the guest has received so far, checking its checksums, and remembers
     * the last TCP segment's sequence and acknowledgment numbers.
     *
     * @return how many frames there were
     * @throws AssertionError if a frame the stack built has a wrong length or checksum
     */
    public int takeReceived() {
        int n = 0;
        TestFrames.Frame f;
        while ((f = guest.poll(0)) != null) {
            n++;
            if (f.proto() == TestFrames.TCP && f.fragField() == 0) {
                lastStackSeq = f.seq();
                lastStackAck = f.ack();
            }
        }
        return n;
    }

    /** {@return the sequence number of the last TCP segment the stack sent, as seen by {@link #takeReceived}} */
    public int lastStackSeq() {
        return lastStackSeq;
    }

    /** {@return the acknowledgment number of the last TCP segment the stack sent} */
    public int lastStackAck() {
        return lastStackAck;
    }

    /**
     * {@return an Ethernet frame from the guest's MAC to {@code dstMac} holding one IPv4 packet}
     * with {@code options} (padded to 4 bytes, at most 40) in its header, {@code fragField} as
     * flags and fragment offset, and a correct header checksum.
     */
    public static byte[] ipv4Frame(byte[] dstMac, int proto, int src, int dst, byte[] options, int fragField,
                                   byte[] payload) {
        int optionBytes = Math.min(40, (options.length + 3) & ~3);
        int hlen = 20 + optionBytes;
        ByteBuffer b = ByteBuffer.allocate(hlen + payload.length);
        b.put((byte) (0x40 | hlen / 4)).put((byte) 0).putShort((short) (hlen + payload.length)).putShort((short) 1)
                .putShort((short) fragField).put((byte) 64).put((byte) proto).putShort((short) 0)
                .putInt(src).putInt(dst).put(options, 0, Math.min(options.length, optionBytes));
        b.position(hlen);
        b.put(payload);
        byte[] p = b.array();
        int c = TestFrames.checksum(p, 0, hlen, 0);
        p[10] = (byte) (c >> 8);
        p[11] = (byte) c;
        return TestFrames.ethernet(dstMac, GUEST_MAC, 0x0800, p);
    }

    /** {@return a UDP datagram (header and data) with a correct checksum for the given addresses} */
    public static byte[] udpSegment(int src, int dst, int srcPort, int dstPort, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(8 + data.length);
        b.putShort((short) srcPort).putShort((short) dstPort).putShort((short) (8 + data.length)).putShort((short) 0)
                .put(data);
        byte[] u = b.array();
        int c = TestFrames.checksum(u, 0, u.length, TestFrames.pseudo(src, dst, TestFrames.UDP, u.length));
        u[6] = (byte) (c >> 8);
        u[7] = (byte) c;
        return u;
    }

    /** {@return a TCP segment (header, options padded to 4 bytes, data) with a correct checksum} */
    public static byte[] tcpSegment(int src, int dst, int srcPort, int dstPort, int seq, int ack, int flags,
                                    int window, byte[] options, byte[] data) {
        int optionBytes = Math.min(40, (options.length + 3) & ~3);
        int hlen = 20 + optionBytes;
        ByteBuffer b = ByteBuffer.allocate(hlen + data.length);
        b.putShort((short) srcPort).putShort((short) dstPort).putInt(seq).putInt(ack)
                .put((byte) ((hlen / 4) << 4)).put((byte) flags).putShort((short) window).putInt(0)
                .put(options, 0, Math.min(options.length, optionBytes));
        b.position(hlen);
        b.put(data);
        byte[] t = b.array();
        int c = TestFrames.checksum(t, 0, t.length, TestFrames.pseudo(src, dst, TestFrames.TCP, t.length));
        t[16] = (byte) (c >> 8);
        t[17] = (byte) c;
        return t;
    }

    @Override
    public void close() {
        network.close();
    }

    private static synchronized EchoSink sink() {
        if (sink == null) {
            sink = new EchoSink();
        }
        return sink;
    }

    /**
     * A TCP and UDP echo server on one loopback port, run by one daemon thread for the whole
     * JVM; echoes what it can and drops the rest, so a slow reader never blocks it.
     */
    private static final class EchoSink {
        final InetSocketAddress address;
        private final Selector selector;
        private final ByteBuffer buffer = ByteBuffer.allocate(65536);

        EchoSink() {
            try {
                selector = Selector.open();
                ServerSocketChannel tcp = null;
                DatagramChannel udp = null;
                for (int attempt = 0; udp == null; attempt++) {
                    tcp = ServerSocketChannel.open(StandardProtocolFamily.INET);
                    tcp.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 256);
                    try {
                        udp = DatagramChannel.open(StandardProtocolFamily.INET);
                        udp.bind(tcp.getLocalAddress());
                    } catch (IOException e) {
                        tcp.close();
                        if (udp != null) {
                            udp.close();
                            udp = null;
                        }
                        if (attempt == 10) {
                            throw e;
                        }
                    }
                }
                address = (InetSocketAddress) tcp.getLocalAddress();
                tcp.configureBlocking(false);
                udp.configureBlocking(false);
                tcp.register(selector, SelectionKey.OP_ACCEPT);
                udp.register(selector, SelectionKey.OP_READ);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Thread.ofPlatform().daemon(true).name("user-network-harness-sink").start(this::run);
        }

        private void run() {
            try {
                while (true) {
                    selector.select();
                    for (SelectionKey key : selector.selectedKeys()) {
                        try {
                            handle(key);
                        } catch (IOException e) {
                            key.cancel();
                            key.channel().close();
                        }
                    }
                    selector.selectedKeys().clear();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private void handle(SelectionKey key) throws IOException {
            switch (key.channel()) {
                case ServerSocketChannel server -> {
                    SocketChannel client;
                    while ((client = server.accept()) != null) {
                        client.configureBlocking(false);
                        client.register(selector, SelectionKey.OP_READ);
                    }
                }
                case DatagramChannel udp -> {
                    buffer.clear();
                    var from = udp.receive(buffer);
                    if (from != null) {
                        udp.send(buffer.flip(), from);
                    }
                }
                case SocketChannel client -> {
                    buffer.clear();
                    if (client.read(buffer) < 0) {
                        key.cancel();
                        client.close();
                    } else {
                        client.write(buffer.flip());
                    }
                }
                default -> key.cancel();
            }
        }
    }
}
