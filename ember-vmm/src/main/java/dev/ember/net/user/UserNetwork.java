package dev.ember.net.user;

import static dev.ember.net.user.Packets.ETHERTYPE_ARP;
import static dev.ember.net.user.Packets.ETHERTYPE_IPV4;
import static dev.ember.net.user.Packets.ETH_HLEN;
import static dev.ember.net.user.Packets.ETH_SRC;
import static dev.ember.net.user.Packets.ETH_TYPE;
import static dev.ember.net.user.Packets.IP_DST;
import static dev.ember.net.user.Packets.IP_FLAG_MF;
import static dev.ember.net.user.Packets.IP_FRAG;
import static dev.ember.net.user.Packets.IP_HLEN;
import static dev.ember.net.user.Packets.IP_OFFSET_MASK;
import static dev.ember.net.user.Packets.IP_PROTO;
import static dev.ember.net.user.Packets.IP_SRC;
import static dev.ember.net.user.Packets.IP_TOTAL_LENGTH;
import static dev.ember.net.user.Packets.PROTO_ICMP;
import static dev.ember.net.user.Packets.PROTO_TCP;
import static dev.ember.net.user.Packets.PROTO_UDP;
import static dev.ember.net.user.Packets.TCP_ACK;
import static dev.ember.net.user.Packets.TCP_ACK_FLAG;
import static dev.ember.net.user.Packets.TCP_FIN;
import static dev.ember.net.user.Packets.TCP_FLAGS;
import static dev.ember.net.user.Packets.TCP_HLEN;
import static dev.ember.net.user.Packets.TCP_OFFSET;
import static dev.ember.net.user.Packets.TCP_RST;
import static dev.ember.net.user.Packets.TCP_SEQ;
import static dev.ember.net.user.Packets.TCP_SYN;
import static dev.ember.net.user.Packets.UDP_HLEN;
import static dev.ember.net.user.Packets.fold;
import static dev.ember.net.user.Packets.put16;
import static dev.ember.net.user.Packets.sum;
import static dev.ember.net.user.Packets.u16;
import static dev.ember.net.user.Packets.u32;
import static dev.ember.net.user.Packets.u8;

import dev.ember.log.Log;
import dev.ember.log.LogSink;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import dev.ember.net.NetBackend;

/**
 * The unprivileged user-mode network: a NAT stack in the VMM process, in the manner of QEMU's
 * slirp and passt, that terminates the guest's IPv4 traffic and replays it through ordinary
 * host sockets. No privileges, TAP device or host configuration are needed.
 *
 * <pre>
 *   guest 10.0.2.15 ── Ethernet ──  stack (gateway 10.0.2.2, DNS 10.0.2.3, MAC 52:55:0a:00:02:02)
 *     ARP        answered for the gateway and DNS addresses          (RFC 826)
 *     DHCP       the one guest address, with router, mask, DNS       (RFC 2131, 2132)   {@link DhcpServer}
 *     ICMP echo  answered for the gateway and DNS addresses          (RFC 792)
 *     DNS        UDP to DNS:53, answered from the host resolver      (RFC 1035)          {@link DnsQuery}
 *     UDP        one host DatagramChannel per guest source port       (RFC 768)           {@link UdpFlow}
 *     TCP        one host SocketChannel per connection               (RFC 9293)          {@link TcpFlow}
 *     hostfwd    host listeners bound at construction, relayed as TCP from the gateway
 * </pre>
 *
 * <p>Connections and datagrams to the gateway address reach the host's 127.0.0.1; those to
 * other addresses of the virtual network are refused, and those to any other address go to
 * that address from the host. IPv6, IP options beyond the header length, and IP fragments
 * from the guest are not handled; fragments are counted in {@link UserNetworkMetrics#fragmentsDropped()}.
 *
 * <p>Threads: {@link #transmit} runs on a vCPU thread; it only copies the frame into a bounded
 * queue and wakes the stack thread. One stack thread per network, named
 * {@value #THREAD_NAME}, owns every other piece of state: it runs a {@link Selector} loop over
 * the host sockets, handles guest frames, runs the timers and calls
 * {@link NetBackend.FrameSink#deliver}. Host name lookups run on up to
 * {@value #RESOLVER_THREADS} resolver threads and post their answers back to the stack thread.
 *
 * <p><b>Guest-controlled.</b> Every frame. Frames shorter than their headers claim, with an IPv4
 * header length or total length outside the frame, a bad IPv4 header checksum, or an unknown
 * type are dropped and counted; TCP and UDP checksums of guest frames are not verified. The
 * guest cannot make the stack hold more than {@value #INBOUND_LIMIT} queued frames,
 * {@link UserNetworkConfig#maxTcpFlows()} connections and {@link UserNetworkConfig#maxUdpFlows()}
 * UDP flows (each with buffers of bounded size), or {@value #RESOLVER_QUEUE} pending lookups.
 * Nothing a guest sends makes {@link #transmit} throw.
 */
public final class UserNetwork implements NetBackend {

    /** The stack thread's name. */
    public static final String THREAD_NAME = "ember-net-user";

    /** Guest frames queued for the stack thread before {@link #transmit} drops more. */
    static final int INBOUND_LIMIT = 4096;

    /** Largest frame {@link #transmit} accepts, as the {@link NetBackend} contract states. */
    static final int MAX_FRAME = 65_550;

    static final int RESOLVER_THREADS = 4;
    static final int RESOLVER_QUEUE = 64;

    /** A UDP flow with no traffic for this long is closed, as slirp's {@code SO_EXPIRE}. */
    static final long UDP_IDLE_NANOS = TimeUnit.SECONDS.toNanos(60);

    /** How often the stack retries delivery after the guest's receive ring was full. */
    static final long GUEST_FULL_RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private static final long IDLE_TICK_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long MIN_TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
    private static final int ACCEPTS_PER_WAKEUP = 16;
    private static final int DATAGRAMS_PER_WAKEUP = 64;
    private static final int FORWARD_PORT_FIRST = 49152;

    final UserNetworkConfig config;
    private final Log log;
    final byte[] gatewayMac;
    final int gatewayIp;
    final int dnsIp;
    final int guestIp;
    private final int networkIp;
    private final int netmask;
    final int mtu;
    private final DhcpServer dhcp;

    private final Selector selector;
    private final List<ServerSocketChannel> listeners = new ArrayList<>();
    private final ConcurrentLinkedQueue<byte[]> inbound = new ConcurrentLinkedQueue<>();
    private final AtomicInteger inboundCount = new AtomicInteger();
    /** IPv4 identification of the next datagram to the guest: this stack's own, as each host's. */
    private final AtomicInteger ipIds = new AtomicInteger();
    private final AtomicBoolean wakeupPending = new AtomicBoolean();
    private final AtomicBoolean receiveSpace = new AtomicBoolean();
    private final ConcurrentLinkedQueue<Runnable> completions = new ConcurrentLinkedQueue<>();
    private final ThreadPoolExecutor resolver;
    private final Outbound outbound;
    /** The first internal error a guest frame or host event caused; for the fuzz tests. */
    private volatile RuntimeException internalError;
    private final AtomicBoolean closed = new AtomicBoolean();
    private Thread thread;                     // guarded by this
    private volatile FrameSink guest;

    final AtomicLong framesIn = new AtomicLong();
    final AtomicLong framesOut = new AtomicLong();
    final AtomicLong framesDropped = new AtomicLong();
    final AtomicLong fragmentsDropped = new AtomicLong();
    final AtomicLong deliveryRefused = new AtomicLong();
    final AtomicLong flowsRefused = new AtomicLong();
    final AtomicLong dnsQueries = new AtomicLong();
    private volatile int tcpFlowCount;
    private volatile int udpFlowCount;

    // Stack-thread state from here on.
    byte[] guestMac;
    private boolean guestHasAddress;
    private final Map<Long, TcpFlow> tcpFlows = new HashMap<>();
    private final Map<Long, UdpFlow> udpFlows = new HashMap<>();
    private final ArrayDeque<TcpFlow> sendQueue = new ArrayDeque<>();
    private final ArrayDeque<TcpFlow> ackQueue = new ArrayDeque<>();
    private boolean guestFull;
    private long guestFullSince;
    private long nextTick;
    private int nextForwardPort = FORWARD_PORT_FIRST;
    private final ByteBuffer datagram = ByteBuffer.allocate(65536);
    long now;

    /**
     * Creates the network and binds every forwarding rule's host listener, so that a port
     * already in use is reported now rather than after the guest boots. No thread runs and no
     * frame is delivered until {@link #start}.
     *
     * @throws HostForwardException if a rule's host address and port cannot be bound; the
     *         message is one line, such as {@code host port 8080 for forwarding to guest port
     *         80 is already in use}
     * @throws IllegalArgumentException if a rule forwards UDP, which is not supported yet
     * @throws UncheckedIOException if the host cannot open a selector
     */
    public UserNetwork(UserNetworkConfig config) {
        this(config, LogSink.systemLogger());
    }

    /**
     * As {@link #UserNetwork(UserNetworkConfig)}, reporting to {@code log} (the VM's sink): the
     * stack's internal errors, each with its exception.
     */
    public UserNetwork(UserNetworkConfig config, LogSink log) {
        this(config, log, Outbound.DIRECT);
    }

    /**
     * Where the stack's host sockets go and how it resolves names. {@link #DIRECT} is the only
     * production route; tests send every connection and datagram to a local sink instead, so
     * that arbitrary guest frames never reach arbitrary hosts.
     */
    interface Outbound {
        /** {@return the host address to connect or send to for the guest's destination} */
        InetSocketAddress route(InetAddress destination, int port);

        /** {@return the addresses of {@code name}} */
        InetAddress[] resolve(String name) throws UnknownHostException;

        Outbound DIRECT = new Outbound() {
            @Override
            public InetSocketAddress route(InetAddress destination, int port) {
                return new InetSocketAddress(destination, port);
            }

            @Override
            public InetAddress[] resolve(String name) throws UnknownHostException {
                return InetAddress.getAllByName(name);
            }
        };
    }

    /** A network whose host sockets follow {@code outbound}; for tests. */
    UserNetwork(UserNetworkConfig config, Outbound outbound) {
        this(config, LogSink.systemLogger(), outbound);
    }

    private UserNetwork(UserNetworkConfig config, LogSink log, Outbound outbound) {
        this.config = Objects.requireNonNull(config, "config");
        this.log = Log.of(log, UserNetwork.class);
        this.outbound = Objects.requireNonNull(outbound, "outbound");
        this.gatewayMac = config.gatewayMacBytes();
        this.gatewayIp = config.gatewayIp();
        this.dnsIp = config.dnsIp();
        this.guestIp = config.guestIp();
        this.networkIp = config.networkIp();
        this.netmask = config.netmask();
        this.mtu = config.mtu();
        this.dhcp = new DhcpServer(config);
        for (HostForward rule : config.hostForwards()) {
            if (rule.protocol() != HostForward.Protocol.TCP) {
                throw new IllegalArgumentException("hostfwd " + rule + ": only TCP forwarding is supported");
            }
        }
        try {
            selector = Selector.open();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open a selector for the user network", e);
        }
        try {
            for (HostForward rule : config.hostForwards()) {
                listeners.add(listen(rule));
            }
        } catch (RuntimeException e) {
            closeResources();
            throw e;
        }
        AtomicInteger resolverThreads = new AtomicInteger();
        resolver = new ThreadPoolExecutor(RESOLVER_THREADS, RESOLVER_THREADS, 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(RESOLVER_QUEUE),
                r -> Thread.ofPlatform().daemon(true)
                        .name(THREAD_NAME + "-dns-" + resolverThreads.incrementAndGet()).unstarted(r));
        resolver.allowCoreThreadTimeOut(true);
    }

    private ServerSocketChannel listen(HostForward rule) {
        ServerSocketChannel server = null;
        try {
            server = ServerSocketChannel.open(StandardProtocolFamily.INET);
            server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            server.bind(new InetSocketAddress(rule.hostAddress(), rule.hostPort()), 64);
            server.configureBlocking(false);
            server.register(selector, SelectionKey.OP_ACCEPT, rule);
            return server;
        } catch (IOException | UnsupportedOperationException e) {
            closeQuietly(server);
            IOException cause = e instanceof IOException io ? io : new IOException(e);
            String message = e instanceof BindException && String.valueOf(e.getMessage()).contains("in use")
                    ? "host port " + rule.hostPort() + " for forwarding to guest port " + rule.guestPort()
                            + " is already in use"
                    : "cannot listen on " + rule.hostAddress().getHostAddress() + " port " + rule.hostPort()
                            + " for forwarding to guest port " + rule.guestPort() + ": " + e.getMessage();
            throw new HostForwardException(rule, message, cause);
        }
    }

    /** {@return the host port each forwarding rule listens on, in rule order; useful when a rule asked for port 0} */
    public List<Integer> boundHostPorts() {
        List<Integer> ports = new ArrayList<>();
        for (ServerSocketChannel server : listeners) {
            try {
                ports.add(((InetSocketAddress) server.getLocalAddress()).getPort());
            } catch (IOException e) {
                ports.add(-1);
            }
        }
        return ports;
    }

    /** {@return a snapshot of the counters; callable from any thread} */
    public UserNetworkMetrics metrics() {
        return new UserNetworkMetrics(framesIn.get(), framesOut.get(), framesDropped.get(),
                fragmentsDropped.get(), deliveryRefused.get(), tcpFlowCount, udpFlowCount,
                flowsRefused.get(), dnsQueries.get());
    }

    /**
     * Starts the stack thread.
     *
     * @throws IllegalStateException if already started or closed
     */
    @Override
    public synchronized void start(FrameSink guest) {
        Objects.requireNonNull(guest, "guest");
        if (thread != null || closed.get()) {
            throw new IllegalStateException(closed.get() ? "user network is closed" : "user network already started");
        }
        this.guest = guest;
        thread = Thread.ofPlatform().daemon(true).name(THREAD_NAME).start(this::run);
    }

    @Override
    public void transmit(byte[] frame, int offset, int length) {
        if (length < ETH_HLEN || length > MAX_FRAME || offset < 0 || offset > frame.length - length
                || closed.get()) {
            framesDropped.incrementAndGet();
            return;
        }
        if (inboundCount.incrementAndGet() > INBOUND_LIMIT) {
            inboundCount.decrementAndGet();
            framesDropped.incrementAndGet();
            return;
        }
        inbound.add(Arrays.copyOfRange(frame, offset, offset + length));
        wakeup();
    }

    /** Every frame this stack sends is built here with checksums computed over its whole contents. */
    @Override
    public boolean deliversValidChecksums() {
        return true;
    }

    @Override
    public void receiveSpaceAvailable() {
        receiveSpace.set(true);
        wakeup();
    }

    private void wakeup() {
        if (!wakeupPending.getAndSet(true)) {
            selector.wakeup();
        }
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        resolver.shutdownNow();
        Thread t;
        synchronized (this) {
            t = thread;
        }
        if (t == null) {
            closeResources();
            return;
        }
        selector.wakeup();
        if (t != Thread.currentThread()) {
            boolean interrupted = false;
            while (true) {
                try {
                    // Bounded: a stack thread stuck on a device whose vCPU did not stop must not hang close.
                    t.join(5000);
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ---------------------------------------------------------------- stack thread

    private void run() {
        try {
            now = System.nanoTime();
            nextTick = now + IDLE_TICK_NANOS;
            while (!closed.get()) {
                long wait = selectTimeoutNanos();
                if (wait <= 0 || wakeupPending.get()) {
                    selector.selectNow();
                } else {
                    selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(wait)));
                }
                wakeupPending.set(false);
                now = System.nanoTime();
                handleSelectedKeys();
                drainInbound();
                Runnable completion;
                while ((completion = completions.poll()) != null) {
                    completion.run();
                }
                if (receiveSpace.getAndSet(false) || guestFull && now - guestFullSince >= GUEST_FULL_RETRY_NANOS) {
                    guestFull = false;
                }
                if (now - nextTick >= 0) {
                    tick();
                }
                flushOutput();
            }
        } catch (IOException e) {
            log.error("user network stopped", e);
        } catch (RuntimeException e) {
            recordInternalError(e);
            log.error("user network stopped", e);
        } finally {
            closed.set(true);   // transmit stops queueing frames nobody will read
            closeResources();
        }
    }

    private long selectTimeoutNanos() {
        if (!inbound.isEmpty() || !completions.isEmpty()) {
            return 0;
        }
        long wait = nextTick - now;
        if (guestFull && !sendQueue.isEmpty()) {
            wait = Math.min(wait, GUEST_FULL_RETRY_NANOS);
        }
        return Math.max(wait, 1);
    }

    private void handleSelectedKeys() {
        Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
        while (keys.hasNext()) {
            SelectionKey key = keys.next();
            keys.remove();
            if (!key.isValid()) {
                continue;
            }
            try {
                switch (key.attachment()) {
                    case TcpFlow flow -> flow.hostReady(key.readyOps());
                    case UdpFlow flow -> receiveDatagrams(flow);
                    case HostForward rule -> accept((ServerSocketChannel) key.channel(), rule);
                    default -> key.cancel();
                }
            } catch (java.nio.channels.CancelledKeyException e) {
                // The flow closed itself while handling an earlier readiness bit.
            } catch (RuntimeException e) {
                // A failure in one flow's host-side handling costs that flow, not the whole network.
                recordInternalError(e);
                log.error("user network: dropping " + key.attachment() + " after an internal error", e);
                key.cancel();
                closeQuietly(key.channel());
                if (key.attachment() instanceof TcpFlow flow) {
                    removeTcp(flow);
                }
            }
        }
    }

    private void drainInbound() {
        byte[] frame;
        while ((frame = inbound.poll()) != null) {
            inboundCount.decrementAndGet();
            try {
                handleFrame(frame);
            } catch (RuntimeException e) {
                framesDropped.incrementAndGet();
                recordInternalError(e);
                log.warn("guest frame dropped after an internal error", e);
            }
        }
    }

    /** Keeps the first exception raised inside the stack, for {@link #internalError()}. */
    private void recordInternalError(RuntimeException e) {
        if (internalError == null) {
            internalError = e;
        }
    }

    /** {@return the first exception a guest frame or host event raised inside the stack, or null}; for tests */
    RuntimeException internalError() {
        return internalError;
    }

    /**
     * Runs {@code action} on the stack thread once every frame passed to {@link #transmit}
     * before this call has been handled; for tests that must wait for the stack to catch up.
     */
    void afterQueuedFrames(Runnable action) {
        completions.add(() -> {
            // The frames may have been queued after this turn's drain began.
            drainInbound();
            action.run();
        });
        wakeup();
    }

    /** Runs every timer that is due, then schedules the next run. */
    private void tick() {
        long next = now + IDLE_TICK_NANOS;
        for (TcpFlow flow : new ArrayList<>(tcpFlows.values())) {
            long deadline = flow.deadline;
            if (deadline != 0 && now - deadline >= 0) {
                try {
                    flow.timerExpired();
                } catch (RuntimeException e) {
                    recordInternalError(e);
                    log.error("user network: dropping " + flow + " after an internal error", e);
                    closeQuietly(flow.channel);
                    removeTcp(flow);
                    continue;
                }
                deadline = flow.deadline;
            }
            if (deadline != 0 && deadline - next < 0) {
                next = deadline;
            }
        }
        Iterator<UdpFlow> udp = udpFlows.values().iterator();
        while (udp.hasNext()) {
            UdpFlow flow = udp.next();
            if (now - flow.lastActiveNanos >= UDP_IDLE_NANOS) {
                udp.remove();
                closeQuietly(flow.channel);
            }
        }
        udpFlowCount = udpFlows.size();
        nextTick = Math.max(next, now + MIN_TICK_NANOS);
    }

    /** Makes sure the timers run no later than {@code deadline}. */
    void scheduleTimer(long deadline) {
        if (deadline - nextTick < 0) {
            nextTick = deadline;
        }
    }

    private void flushOutput() {
        while (!guestFull && !sendQueue.isEmpty()) {
            TcpFlow flow = sendQueue.peek();
            if (!flow.pushToGuest()) {
                break;
            }
            sendQueue.poll();
            flow.queuedForSend = false;
        }
        while (!guestFull && !ackQueue.isEmpty()) {
            TcpFlow flow = ackQueue.peek();
            if (flow.ackPending && !flow.removed && !flow.sendAck()) {
                break;
            }
            ackQueue.poll();
            flow.queuedForAck = false;
        }
    }

    /** Queues {@code flow} to send what its buffer and the guest's window allow. */
    void wantSend(TcpFlow flow) {
        if (!flow.queuedForSend) {
            flow.queuedForSend = true;
            sendQueue.add(flow);
        }
    }

    /** Queues a pure ACK for {@code flow}, unless a data segment carries it first. */
    void wantAck(TcpFlow flow) {
        flow.ackPending = true;
        if (!flow.queuedForAck) {
            flow.queuedForAck = true;
            ackQueue.add(flow);
        }
    }

    /** {@return false if the guest has no receive buffer; the caller keeps what it tried to send} */
    boolean deliver(byte[] frame) {
        FrameSink sink = guest;
        if (sink != null && sink.deliver(frame, 0, frame.length)) {
            framesOut.incrementAndGet();
            return true;
        }
        deliveryRefused.incrementAndGet();
        if (!guestFull) {
            guestFull = true;
            guestFullSince = now;
        }
        return false;
    }

    private int nextIpId() {
        return ipIds.getAndIncrement() & 0xFFFF;
    }

    /** Sends one TCP segment of {@code flow} to the guest. */
    boolean sendTcp(TcpFlow flow, int seq, int ack, int flags, int window, byte[] options,
                    byte[] data, int dataOffset, int dataLength) {
        if (guestMac == null) {
            return false;
        }
        return deliver(Packets.tcpFrame(nextIpId(), guestMac, gatewayMac, flow.remoteIp, flow.guestIp, flow.remotePort,
                flow.guestPort, seq, ack, flags, window, options, data, dataOffset, dataLength));
    }

    void removeTcp(TcpFlow flow) {
        flow.removed = true;
        flow.deadline = 0;
        if (tcpFlows.get(flow.key) == flow) {
            tcpFlows.remove(flow.key);
            tcpFlowCount = tcpFlows.size();
        }
        if (flow.selectionKey != null) {
            flow.selectionKey.cancel();
        }
        closeQuietly(flow.channel);
    }

    // ---------------------------------------------------------------- guest frames

    private void handleFrame(byte[] f) {
        framesIn.incrementAndGet();
        boolean broadcast = (f[0] & f[1] & f[2] & f[3] & f[4] & f[5]) == -1;
        if (!broadcast && !Arrays.equals(f, 0, 6, gatewayMac, 0, 6)) {
            framesDropped.incrementAndGet();
            return;
        }
        if ((f[ETH_SRC] & 1) == 0 && (guestMac == null || !Arrays.equals(f, ETH_SRC, ETH_SRC + 6, guestMac, 0, 6))) {
            guestMac = Arrays.copyOfRange(f, ETH_SRC, ETH_SRC + 6);
        }
        switch (u16(f, ETH_TYPE)) {
            case ETHERTYPE_ARP -> handleArp(f);
            case ETHERTYPE_IPV4 -> handleIpv4(f);
            default -> framesDropped.incrementAndGet();
        }
    }

    /** ARP for Ethernet and IPv4 (RFC 826): answers requests for the gateway and DNS addresses. */
    private void handleArp(byte[] f) {
        int a = ETH_HLEN;
        if (f.length < a + 28 || u16(f, a) != 1 || u16(f, a + 2) != ETHERTYPE_IPV4
                || u8(f, a + 4) != 6 || u8(f, a + 5) != 4) {
            framesDropped.incrementAndGet();
            return;
        }
        int op = u16(f, a + 6);
        int senderIp = u32(f, a + 14);
        int targetIp = u32(f, a + 24);
        if (senderIp == guestIp) {
            guestHasAddress = true;
        }
        if (op != 1 || (targetIp != gatewayIp && targetIp != dnsIp) || guestMac == null) {
            return;
        }
        byte[] r = new byte[ETH_HLEN + 28];
        System.arraycopy(f, a + 8, r, 0, 6);
        System.arraycopy(gatewayMac, 0, r, ETH_SRC, 6);
        put16(r, ETH_TYPE, ETHERTYPE_ARP);
        System.arraycopy(f, a, r, a, 6);
        put16(r, a + 6, 2);
        System.arraycopy(gatewayMac, 0, r, a + 8, 6);
        Packets.put32(r, a + 14, targetIp);
        System.arraycopy(f, a + 8, r, a + 18, 10);
        deliver(r);
    }

    private void handleIpv4(byte[] f) {
        int ip = ETH_HLEN;
        int available = f.length - ip;
        if (available < IP_HLEN) {
            framesDropped.incrementAndGet();
            return;
        }
        int vhl = u8(f, ip);
        int ihl = (vhl & 0xF) * 4;
        int total = u16(f, ip + IP_TOTAL_LENGTH);
        if (vhl >>> 4 != 4 || ihl < IP_HLEN || ihl > available || total < ihl || total > available
                || fold(sum(f, ip, ihl, 0)) != 0) {
            framesDropped.incrementAndGet();
            return;
        }
        if ((u16(f, ip + IP_FRAG) & (IP_FLAG_MF | IP_OFFSET_MASK)) != 0) {
            fragmentsDropped.incrementAndGet();
            return;
        }
        int src = u32(f, ip + IP_SRC);
        int dst = u32(f, ip + IP_DST);
        if (src == guestIp) {
            guestHasAddress = true;
        }
        int l4 = ip + ihl;
        int l4Length = total - ihl;
        switch (u8(f, ip + IP_PROTO)) {
            case PROTO_ICMP -> handleIcmp(f, l4, l4Length, src, dst);
            case PROTO_UDP -> handleUdp(f, l4, l4Length, src, dst);
            case PROTO_TCP -> handleTcp(f, l4, l4Length, src, dst);
            default -> framesDropped.incrementAndGet();
        }
    }

    /** ICMP echo (RFC 792) to the gateway or DNS address is answered by the stack itself. */
    private void handleIcmp(byte[] f, int off, int len, int src, int dst) {
        if (len < 8 || u8(f, off) != 8 || (dst != gatewayIp && dst != dnsIp) || guestMac == null) {
            framesDropped.incrementAndGet();
            return;
        }
        byte[] icmp = Arrays.copyOfRange(f, off, off + len);
        icmp[0] = 0;
        icmp[1] = 0;
        put16(icmp, 2, 0);
        put16(icmp, 2, fold(sum(icmp, 0, len, 0)));
        for (byte[] frame : Packets.ipv4Frames(nextIpId(), guestMac, gatewayMac, PROTO_ICMP, dst, src, icmp, mtu)) {
            deliver(frame);
        }
    }

    private void handleUdp(byte[] f, int off, int len, int src, int dst) {
        if (len < UDP_HLEN) {
            framesDropped.incrementAndGet();
            return;
        }
        int srcPort = u16(f, off);
        int dstPort = u16(f, off + 2);
        int udpLength = u16(f, off + 4);
        if (udpLength < UDP_HLEN || udpLength > len) {
            framesDropped.incrementAndGet();
            return;
        }
        int data = off + UDP_HLEN;
        int dataLength = udpLength - UDP_HLEN;
        int broadcast = networkIp | ~netmask;
        if (dstPort == DhcpServer.SERVER_PORT && (dst == -1 || dst == gatewayIp || dst == broadcast)) {
            handleDhcp(f, data, dataLength);
            return;
        }
        if (dst == dnsIp && dstPort == DnsQuery.PORT) {
            handleDns(f, data, dataLength, src, srcPort);
            return;
        }
        int hostIp = hostAddressFor(dst);
        if (hostIp == 0 || srcPort == 0 || dstPort == 0) {
            framesDropped.incrementAndGet();
            return;
        }
        long key = (long) src << 16 | srcPort;
        UdpFlow flow = udpFlows.get(key);
        if (flow == null) {
            flow = openUdpFlow(key, src, srcPort);
            if (flow == null) {
                return;
            }
        }
        flow.lastActiveNanos = now;
        try {
            flow.channel.send(ByteBuffer.wrap(f, data, dataLength), outbound.route(inet(hostIp), dstPort));
        } catch (IOException | RuntimeException e) {
            framesDropped.incrementAndGet();
        }
    }

    private UdpFlow openUdpFlow(long key, int src, int srcPort) {
        if (udpFlows.size() >= config.maxUdpFlows()) {
            flowsRefused.incrementAndGet();
            return null;
        }
        DatagramChannel channel = null;
        try {
            channel = DatagramChannel.open(StandardProtocolFamily.INET);
            channel.bind(new InetSocketAddress(0));
            channel.configureBlocking(false);
            UdpFlow flow = new UdpFlow(key, src, srcPort, channel, now);
            flow.selectionKey = channel.register(selector, SelectionKey.OP_READ, flow);
            udpFlows.put(key, flow);
            udpFlowCount = udpFlows.size();
            return flow;
        } catch (IOException e) {
            closeQuietly(channel);
            flowsRefused.incrementAndGet();
            return null;
        }
    }

    private void receiveDatagrams(UdpFlow flow) {
        for (int i = 0; i < DATAGRAMS_PER_WAKEUP; i++) {
            datagram.clear();
            SocketAddress from;
            try {
                from = flow.channel.receive(datagram);
            } catch (IOException e) {
                // An ICMP error from an earlier send; the flow stays usable.
                continue;
            }
            if (from == null) {
                return;
            }
            flow.lastActiveNanos = now;
            if (!(from instanceof InetSocketAddress isa) || !(isa.getAddress() instanceof Inet4Address a)) {
                continue;
            }
            int srcIp = UserNetworkConfig.ip(a);
            if (a.isLoopbackAddress()) {
                srcIp = gatewayIp;
            }
            sendUdp(srcIp, isa.getPort(), flow.guestIp, flow.guestPort, datagram.array(), 0, datagram.position());
        }
    }

    /** Sends one datagram to the guest, fragmented to the MTU if need be. */
    private void sendUdp(int srcIp, int srcPort, int dstIp, int dstPort, byte[] data, int off, int len) {
        if (guestMac == null) {
            return;
        }
        for (byte[] frame : Packets.udpFrames(nextIpId(), guestMac, gatewayMac, srcIp, dstIp, srcPort, dstPort, data, off, len, mtu)) {
            if (!deliver(frame)) {
                return;
            }
        }
    }

    private void handleDhcp(byte[] f, int off, int len) {
        byte[] reply = dhcp.handle(f, off, len);
        if (reply == null) {
            framesDropped.incrementAndGet();
            return;
        }
        if (reply[DhcpServer.YIADDR] != 0) {
            guestHasAddress = true;
        }
        boolean broadcastFlag = (f[off + DhcpServer.FLAGS] & 0x80) != 0;
        byte[] dstMac = broadcastFlag ? Packets.BROADCAST_MAC
                : Arrays.copyOfRange(f, off + DhcpServer.CHADDR, off + DhcpServer.CHADDR + 6);
        for (byte[] frame : Packets.udpFrames(nextIpId(), dstMac, gatewayMac, gatewayIp, -1, DhcpServer.SERVER_PORT,
                DhcpServer.CLIENT_PORT, reply, 0, reply.length, mtu)) {
            deliver(frame);
        }
    }

    private void handleDns(byte[] f, int off, int len, int src, int srcPort) {
        Object parsed = DnsQuery.parse(f, off, len);
        switch (parsed) {
            case null -> framesDropped.incrementAndGet();
            case byte[] error -> answerDns(src, srcPort, error);
            case DnsQuery query when !query.resolvable() -> answerDns(src, srcPort, query.answer(null));
            case DnsQuery query -> {
                try {
                    resolver.execute(() -> {
                        InetAddress[] addresses;
                        try {
                            addresses = outbound.resolve(query.name());
                        } catch (UnknownHostException | RuntimeException e) {
                            addresses = null;
                        }
                        InetAddress[] result = addresses;
                        completions.add(() -> answerDns(src, srcPort, query.answer(result)));
                        wakeup();
                    });
                } catch (RejectedExecutionException e) {
                    answerDns(src, srcPort, query.serverFailure());
                }
            }
            default -> throw new IllegalStateException("unexpected DNS parse result " + parsed);
        }
    }

    private void answerDns(int guestAddress, int guestPort, byte[] answer) {
        dnsQueries.incrementAndGet();
        sendUdp(dnsIp, DnsQuery.PORT, guestAddress, guestPort, answer, 0, answer.length);
    }

    /**
     * Maps a destination the guest named to the host address the stack connects to.
     *
     * @return the host address, or 0 if the destination is not reachable through the NAT: an
     *         address of the virtual network other than the gateway, a broadcast, multicast,
     *         loopback or "this network" address
     */
    private int hostAddressFor(int dst) {
        if (dst == gatewayIp) {
            return 0x7F00_0001;
        }
        int firstOctet = dst >>> 24;
        if ((dst & netmask) == networkIp || dst == -1 || firstOctet == 0 || firstOctet == 127 || firstOctet >= 224) {
            return 0;
        }
        return dst;
    }

    private void handleTcp(byte[] f, int off, int len, int src, int dst) {
        if (len < TCP_HLEN) {
            framesDropped.incrementAndGet();
            return;
        }
        int dataOffset = (u8(f, off + TCP_OFFSET) >>> 4) * 4;
        if (dataOffset < TCP_HLEN || dataOffset > len) {
            framesDropped.incrementAndGet();
            return;
        }
        int srcPort = u16(f, off);
        int dstPort = u16(f, off + 2);
        int flags = u8(f, off + TCP_FLAGS);
        long key = flowKey(dst, dstPort, srcPort);
        TcpFlow flow = tcpFlows.get(key);
        if (flow != null && flow.state == TcpFlow.State.CLOSED && (flags & (TCP_SYN | TCP_ACK_FLAG)) == TCP_SYN) {
            // The guest reuses the port of a connection that is only lingering.
            removeTcp(flow);
            flow = null;
        }
        if (flow != null && flow.guestIp == src) {
            flow.segment(f, off, len, dataOffset);
            return;
        }
        if ((flags & (TCP_SYN | TCP_ACK_FLAG | TCP_RST | TCP_FIN)) == TCP_SYN && flow == null) {
            int hostIp = hostAddressFor(dst);
            if (hostIp != 0 && srcPort != 0 && dstPort != 0) {
                if (tcpFlows.size() < config.maxTcpFlows()) {
                    connect(f, off, len, dataOffset, key, src, srcPort, dst, dstPort, hostIp);
                    return;
                }
                flowsRefused.incrementAndGet();
            }
        }
        if ((flags & TCP_RST) == 0) {
            resetUnknown(f, off, len - dataOffset, src, srcPort, dst, dstPort, flags);
        }
    }

    /** Answers a segment that belongs to no connection with RST (RFC 9293 §3.10.7.1). */
    private void resetUnknown(byte[] f, int off, int dataLength, int src, int srcPort, int dst, int dstPort, int flags) {
        if (guestMac == null) {
            return;
        }
        int seq;
        int ack;
        int rstFlags;
        if ((flags & TCP_ACK_FLAG) != 0) {
            seq = u32(f, off + TCP_ACK);
            ack = 0;
            rstFlags = TCP_RST;
        } else {
            seq = 0;
            ack = u32(f, off + TCP_SEQ) + dataLength + ((flags & TCP_SYN) != 0 ? 1 : 0) + ((flags & TCP_FIN) != 0 ? 1 : 0);
            rstFlags = TCP_RST | TCP_ACK_FLAG;
        }
        deliver(Packets.tcpFrame(nextIpId(), guestMac, gatewayMac, dst, src, dstPort, srcPort, seq, ack, rstFlags, 0,
                TcpFlow.NO_OPTIONS, null, 0, 0));
    }

    private void connect(byte[] f, int off, int len, int dataOffset, long key, int src, int srcPort,
                         int dst, int dstPort, int hostIp) {
        SocketChannel channel = null;
        try {
            channel = SocketChannel.open(StandardProtocolFamily.INET);
            channel.configureBlocking(false);
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            TcpFlow flow = new TcpFlow(this, key, src, srcPort, dst, dstPort, channel);
            flow.selectionKey = channel.register(selector, 0, flow);
            tcpFlows.put(key, flow);
            tcpFlowCount = tcpFlows.size();
            flow.guestSyn(f, off, dataOffset);
            boolean connected;
            try {
                connected = channel.connect(outbound.route(inet(hostIp), dstPort));
            } catch (IOException e) {
                flow.connectFailed();
                return;
            }
            if (connected) {
                flow.connected();
            } else {
                flow.selectionKey.interestOps(SelectionKey.OP_CONNECT);
            }
        } catch (IOException e) {
            closeQuietly(channel);
            tcpFlows.remove(key);
            tcpFlowCount = tcpFlows.size();
            resetUnknown(f, off, len - dataOffset, src, srcPort, dst, dstPort, TCP_SYN);
        }
    }

    private void accept(ServerSocketChannel server, HostForward rule) {
        for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
            SocketChannel client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return;
            }
            if (client == null) {
                return;
            }
            if (guestMac == null || !guestHasAddress || tcpFlows.size() >= config.maxTcpFlows()) {
                if (guestMac != null && guestHasAddress) {
                    flowsRefused.incrementAndGet();
                }
                closeQuietly(client);
                continue;
            }
            try {
                client.configureBlocking(false);
                client.setOption(StandardSocketOptions.TCP_NODELAY, true);
                long key = forwardKey(rule.guestPort());
                TcpFlow flow = new TcpFlow(this, key, guestIp, rule.guestPort(), gatewayIp,
                        (int) (key >>> 16 & 0xFFFF), client);
                flow.selectionKey = client.register(selector, 0, flow);
                tcpFlows.put(key, flow);
                tcpFlowCount = tcpFlows.size();
                flow.forwardOpen();
            } catch (IOException e) {
                closeQuietly(client);
            }
        }
    }

    /** Picks a gateway source port for a forwarded connection that no flow uses. */
    private long forwardKey(int guestPort) {
        while (true) {
            int port = nextForwardPort;
            nextForwardPort = port == 0xFFFF ? FORWARD_PORT_FIRST : port + 1;
            long key = flowKey(gatewayIp, port, guestPort);
            if (!tcpFlows.containsKey(key)) {
                return key;
            }
        }
    }

    /** {@return the key of the connection between a guest port and a remote address and port} */
    static long flowKey(int remoteIp, int remotePort, int guestPort) {
        return (long) remoteIp << 32 | (long) remotePort << 16 | guestPort;
    }

    private static InetAddress inet(int ip) {
        try {
            return InetAddress.getByAddress(new byte[] {(byte) (ip >>> 24), (byte) (ip >>> 16), (byte) (ip >>> 8), (byte) ip});
        } catch (UnknownHostException e) {
            throw new AssertionError("four bytes are always an IPv4 address", e);
        }
    }

    static void closeQuietly(java.nio.channels.Channel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                // Nothing more can be released.
            }
        }
    }

    private void closeResources() {
        for (TcpFlow flow : tcpFlows.values()) {
            closeQuietly(flow.channel);
        }
        tcpFlows.clear();
        for (UdpFlow flow : udpFlows.values()) {
            closeQuietly(flow.channel);
        }
        udpFlows.clear();
        tcpFlowCount = 0;
        udpFlowCount = 0;
        for (ServerSocketChannel server : listeners) {
            closeQuietly(server);
        }
        try {
            selector.close();
        } catch (IOException e) {
            // Nothing more can be released.
        }
    }
}
