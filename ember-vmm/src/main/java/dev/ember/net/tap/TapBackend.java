package dev.ember.net.tap;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.ember.log.Log;
import dev.ember.log.LogSink;
import dev.ember.net.NetBackend;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;

/**
 * A Linux TAP interface as a {@link NetBackend}: frames the guest sends are written to the tap,
 * frames the host routes to the tap are read and delivered to the guest.
 *
 * <p>The tap must exist already, as Firecracker expects (e.g. {@code ip tuntap add dev tap0 mode
 * tap}, then {@code ip link set tap0 up}); {@link #open} attaches to it with TUNSETIFF
 * (IFF_TAP | IFF_NO_PI, no IFF_VNET_HDR: frames carry no header and no offloads, matching the
 * virtio-net device, which offers none). Because TUNSETIFF by a process with CAP_NET_ADMIN would
 * create a missing interface rather than fail, {@code open} first checks
 * {@code /sys/class/net/<name>} and its {@code tun_flags}. Every failure is an
 * {@link IOException} whose message is one line naming the interface and the cause.
 *
 * <p>System calls go through {@link Linker#nativeLinker()} to libc: open, ioctl, read, write,
 * poll, close. The file descriptor is non-blocking. Constants are those of the generic Linux ABI
 * (x86-64, AArch64, RISC-V 64).
 *
 * <p>Threads: {@link #start} starts one platform daemon thread, {@code ember-tap-<name>}, which
 * polls the descriptor with a {@value #POLL_MILLIS} ms timeout (so {@link #close} can stop it
 * without relying on close() to interrupt a blocked read), reads each frame and offers it to the
 * sink; a frame the guest cannot take is dropped, as a NIC with a full ring drops it.
 * {@link #transmit} runs on the caller's thread (a vCPU, under the device's lock), one call at a
 * time, and never blocks: when the tap's queue is full or the interface is down the frame is
 * dropped and counted. When the tap fails under the reader (the interface is deleted while in
 * use: tun_detach_all makes poll answer POLLERR and read EBADFD), the reader logs one line, tells
 * the guest its link is down ({@link FrameSink#linkChanged}) and ends; later transmits are
 * counted as write errors. {@link #close} stops the reader, waits for it and then closes the
 * descriptor, under the lock {@code transmit} holds, so a descriptor number is never reused
 * under a late write.
 *
 * <p><b>Host-controlled.</b> Frames read from the tap come from the host's network stack, one
 * per read(2). A read is bounded by the {@value #MAX_FRAME}-byte buffer, above the largest
 * frame a tap can carry (its MTU is at most 65,521, tun_net_initialize); the device drops
 * frames shorter than an Ethernet header.
 */
public final class TapBackend implements NetBackend {

    /** The longest frame read or written, as the virtio-net device's bound. */
    public static final int MAX_FRAME = 65_550;
    /** How long the reader waits in poll() before looking at the closed flag again. */
    public static final int POLL_MILLIS = 100;

    /** include/uapi/linux/if_tun.h. */
    static final long TUNSETIFF = 0x4004_54caL;
    static final int IFF_TAP = 0x0002, IFF_NO_PI = 0x1000;
    private static final int IFNAMSIZ = 16;
    private static final int IFREQ_BYTES = 40;
    private static final int O_RDWR = 2, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;
    private static final short POLLIN = 1, POLLERR = 8, POLLHUP = 16, POLLNVAL = 32;
    private static final int EPERM = 1, ENOENT = 2, EINTR = 4, EIO = 5, ENXIO = 6, EAGAIN = 11,
            EACCES = 13, EBUSY = 16, ENODEV = 19, EINVAL = 22, ENOBUFS = 105;
    private static final Path SYS_CLASS_NET = Path.of("/sys/class/net");
    private static final String TUN_DEVICE = "/dev/net/tun";

    private final String name;
    private final Log log;
    private final Object fdLock = new Object();
    private final MemorySegment txBuffer = Arena.ofAuto().allocate(MAX_FRAME);
    private final MemorySegment txState = Arena.ofAuto().allocate(LibC.CALL_STATE);
    private final LongAdder framesRead = new LongAdder();
    private final LongAdder framesWritten = new LongAdder();
    private final LongAdder dropsGuestFull = new LongAdder();
    private final LongAdder dropsHostFull = new LongAdder();
    private final LongAdder dropsLinkDown = new LongAdder();
    private final LongAdder writeErrors = new LongAdder();

    private int fd;                       // guarded by fdLock; -1 once closed
    private volatile boolean closed;
    private Thread reader;                // set once by start
    private boolean writeErrorLogged;     // guarded by fdLock

    private TapBackend(String name, int fd, LogSink log) {
        this.name = name;
        this.fd = fd;
        this.log = Log.of(log, TapBackend.class);
    }

    /** Opens {@code name}, reporting to the JDK's logger. See {@link #open(String, LogSink)}. */
    public static TapBackend open(String name) throws IOException {
        return open(name, LogSink.systemLogger());
    }

    /**
     * Attaches to the existing TAP interface {@code name}.
     *
     * @param log the VM's sink: a WARN if the reader later stops on an error or a write first fails
     * @throws IllegalArgumentException if {@code name} is not a valid interface name
     * @throws IOException with a one-line message such as {@code "tap0: no such network
     *         interface"} if the interface is missing or not a TAP, {@code /dev/net/tun} is
     *         missing, permission is denied, or another process holds the tap
     */
    public static TapBackend open(String name, LogSink log) throws IOException {
        validateName(name);
        Objects.requireNonNull(log, "log");
        Path sys = SYS_CLASS_NET.resolve(name);
        if (!Files.isDirectory(sys)) {
            throw new IOException(name + ": no such network interface");
        }
        Path tunFlags = sys.resolve("tun_flags");
        if (!Files.isReadable(tunFlags)) {
            throw new IOException(name + ": not a TAP interface");
        }
        if ((readFlags(tunFlags) & IFF_TAP) == 0) {
            throw new IOException(name + ": is a TUN interface, not a TAP one");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(LibC.CALL_STATE);
            int fd = LibC.open(state, arena.allocateFrom(TUN_DEVICE), O_RDWR | O_NONBLOCK | O_CLOEXEC);
            if (fd < 0) {
                int errno = LibC.errno(state);
                throw new IOException(name + ": " + switch (errno) {
                    case ENOENT -> TUN_DEVICE + " does not exist (is the tun module loaded?)";
                    case EACCES, EPERM -> "permission denied opening " + TUN_DEVICE;
                    case ENXIO, ENODEV -> TUN_DEVICE + " has no driver (is the tun module loaded?)";
                    default -> "cannot open " + TUN_DEVICE + ": " + LibC.strerror(errno);
                });
            }
            MemorySegment ifr = arena.allocate(IFREQ_BYTES);
            byte[] ifName = name.getBytes(StandardCharsets.US_ASCII);
            MemorySegment.copy(ifName, 0, ifr, JAVA_BYTE, 0, ifName.length);
            ifr.set(JAVA_SHORT, IFNAMSIZ, (short) (IFF_TAP | IFF_NO_PI));
            if (LibC.ioctl(state, fd, TUNSETIFF, ifr) < 0) {
                int errno = LibC.errno(state);
                LibC.close(fd);
                throw new IOException(name + ": " + switch (errno) {
                    case EPERM, EACCES -> "permission denied (needs CAP_NET_ADMIN, or to be the tap's owner or group)";
                    case EBUSY -> "busy: another process has the tap open";
                    case EINVAL -> "cannot attach (its flags, e.g. multi_queue, differ from IFF_TAP|IFF_NO_PI)";
                    default -> "TUNSETIFF failed: " + LibC.strerror(errno);
                });
            }
            return new TapBackend(name, fd, log);
        }
    }

    /**
     * Checks a Linux interface name (net/core/dev.c dev_valid_name): 1 to 15 bytes, not "." or
     * "..", no '/', ':' or whitespace; this backend further keeps to printable ASCII.
     *
     * @throws IllegalArgumentException if it is not one
     */
    public static void validateName(String name) {
        boolean ok = name != null && !name.isEmpty() && name.length() < IFNAMSIZ
                && !name.equals(".") && !name.equals("..");
        for (int i = 0; ok && i < name.length(); i++) {
            char c = name.charAt(i);
            ok = c > ' ' && c < 0x7f && c != '/' && c != ':';
        }
        if (!ok) {
            throw new IllegalArgumentException("invalid tap name \"" + name
                    + "\": 1 to 15 printable ASCII characters without '/', ':' or spaces");
        }
    }

    private static int readFlags(Path tunFlags) throws IOException {
        String s = Files.readString(tunFlags).trim();
        try {
            return Integer.decode(s);
        } catch (NumberFormatException e) {
            throw new IOException(tunFlags + ": unexpected contents \"" + s + "\"");
        }
    }

    /** {@return the interface name} */
    public String name() {
        return name;
    }

    /** {@return the counters so far} */
    public TapMetrics metrics() {
        return new TapMetrics(framesRead.sum(), framesWritten.sum(), dropsGuestFull.sum(),
                dropsHostFull.sum(), dropsLinkDown.sum(), writeErrors.sum());
    }

    @Override
    public synchronized void start(FrameSink guest) {
        Objects.requireNonNull(guest, "guest");
        if (reader != null) {
            throw new IllegalStateException(name + ": backend already started");
        }
        if (closed) {
            return;
        }
        reader = Thread.ofPlatform().daemon().name("ember-tap-" + name).start(() -> readLoop(guest));
    }

    @Override
    public void transmit(byte[] frame, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, frame.length);
        if (length > MAX_FRAME) {
            writeErrors.increment();
            return;
        }
        synchronized (fdLock) {
            if (fd < 0) {
                return;
            }
            MemorySegment.copy(frame, offset, txBuffer, JAVA_BYTE, 0, length);
            long n = LibC.write(txState, fd, txBuffer, length);
            if (n >= 0) {
                framesWritten.increment();
                return;
            }
            int errno = LibC.errno(txState);
            switch (errno) {
                case EAGAIN, ENOBUFS -> dropsHostFull.increment();
                case EIO -> dropsLinkDown.increment();   // tun_get_user: the interface is not up
                default -> {
                    writeErrors.increment();
                    if (!writeErrorLogged) {
                        writeErrorLogged = true;
                        log.warn("ember: tap " + name + ": write failed: " + LibC.strerror(errno));
                    }
                }
            }
        }
    }

    private void readLoop(FrameSink guest) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(MAX_FRAME);
            MemorySegment state = arena.allocate(LibC.CALL_STATE);
            MemorySegment pollfd = arena.allocate(8);   // struct pollfd { int fd; short events, revents; }
            byte[] frame = new byte[MAX_FRAME];
            int readFd;
            synchronized (fdLock) {
                readFd = fd;
            }
            pollfd.set(JAVA_INT, 0, readFd);
            pollfd.set(JAVA_SHORT, 4, POLLIN);
            while (!closed) {
                pollfd.set(JAVA_SHORT, 6, (short) 0);
                int ready = LibC.poll(state, pollfd, 1, POLL_MILLIS);
                if (ready < 0) {
                    if (LibC.errno(state) == EINTR) {
                        continue;
                    }
                    stop(guest, "poll failed: " + LibC.strerror(LibC.errno(state)));
                    return;
                }
                if (ready == 0) {
                    continue;
                }
                short revents = pollfd.get(JAVA_SHORT, 6);
                if ((revents & POLLIN) == 0 && (revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
                    stop(guest, "interface gone or descriptor failed (poll revents 0x" + Integer.toHexString(revents) + ")");
                    return;
                }
                // One frame per read (tun_do_read); drain until the queue is empty.
                while (!closed) {
                    long n = LibC.read(state, readFd, buffer, MAX_FRAME);
                    if (n < 0) {
                        int errno = LibC.errno(state);
                        if (errno == EAGAIN) {
                            break;
                        }
                        if (errno == EINTR) {
                            continue;
                        }
                        stop(guest, "read failed: " + LibC.strerror(errno));
                        return;
                    }
                    if (n == 0) {
                        break;
                    }
                    // Bounds: n <= MAX_FRAME = frame.length, the size passed to read().
                    MemorySegment.copy(buffer, JAVA_BYTE, 0, frame, 0, (int) n);
                    framesRead.increment();
                    if (!guest.deliver(frame, 0, (int) n)) {
                        dropsGuestFull.increment();
                    }
                }
            }
        }
    }

    /** The reader ends on a failure of the tap itself: the guest is told its link is down. */
    private void stop(FrameSink guest, String why) {
        if (!closed) {
            log.warn("ember: tap " + name + ": receive stopped: " + why);
            guest.linkChanged(false);
        }
    }

    /** Stops the reader (within about {@value #POLL_MILLIS} ms) and closes the descriptor. */
    @Override
    public void close() {
        Thread r;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            r = reader;
        }
        if (r != null && r != Thread.currentThread()) {
            boolean interrupted = false;
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (r.isAlive() && System.nanoTime() < deadline) {
                try {
                    r.join(1000);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            if (r.isAlive()) {
                return;   // leave the descriptor open rather than let a stuck reader hit a reused number
            }
        }
        synchronized (fdLock) {
            if (fd >= 0) {
                LibC.close(fd);
                fd = -1;
            }
        }
    }

    /** The libc calls this backend makes, bound once. */
    private static final class LibC {
        static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
        private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
        private static final Linker LINKER = Linker.nativeLinker();
        private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

        // open(2) and ioctl(2) are variadic: the mode and the argument are the variadic part.
        private static final MethodHandle OPEN = bind("open",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
        private static final MethodHandle IOCTL = bind("ioctl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
        private static final MethodHandle READ = bind("read",
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), CAPTURE_ERRNO);
        private static final MethodHandle WRITE = bind("write",
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), CAPTURE_ERRNO);
        private static final MethodHandle POLL = bind("poll",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), CAPTURE_ERRNO);
        private static final MethodHandle CLOSE = bind("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        private static final MethodHandle STRERROR = bind("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));

        private static MethodHandle bind(String function, FunctionDescriptor descriptor, Linker.Option... options) {
            MemorySegment symbol = LINKER.defaultLookup().find(function)
                    .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + function));
            return LINKER.downcallHandle(symbol, descriptor, options);
        }

        static int errno(MemorySegment state) {
            return (int) ERRNO.get(state, 0L);
        }

        static int open(MemorySegment state, MemorySegment path, int flags) {
            try {
                return (int) OPEN.invokeExact(state, path, flags, 0);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
        }

        static int ioctl(MemorySegment state, int fd, long request, MemorySegment arg) {
            try {
                return (int) IOCTL.invokeExact(state, fd, request, arg);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
        }

        static long read(MemorySegment state, int fd, MemorySegment buffer, long count) {
            try {
                return (long) READ.invokeExact(state, fd, buffer, count);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
        }

        static long write(MemorySegment state, int fd, MemorySegment buffer, long count) {
            try {
                return (long) WRITE.invokeExact(state, fd, buffer, count);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
        }

        static int poll(MemorySegment state, MemorySegment fds, long count, int timeoutMillis) {
            try {
                return (int) POLL.invokeExact(state, fds, count, timeoutMillis);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
        }

        static void close(int fd) {
            try {
                int ignored = (int) CLOSE.invokeExact(fd);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
        }

        static String strerror(int errno) {
            try {
                MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
                return s.reinterpret(256).getString(0);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
        }

        private LibC() {
        }
    }
}
