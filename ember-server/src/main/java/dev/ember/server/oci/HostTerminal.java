package dev.ember.server.oci;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The host side of a container's terminal ({@code process.terminal: true}): a pseudo-terminal
 * pair, whose master goes to the caller over {@code --console-socket} as runc sends it
 * ({@code SCM_RIGHTS}, unix(7); the message's data is the terminal's name), and whose slave this
 * process keeps in raw mode, copying bytes between it and the terminal the agent made in the guest.
 * The guest's terminal does the line discipline (echo, ^C); the host's only carries bytes and
 * window sizes, which {@link #windowSize()} reads from the slave when the caller resizes the master.
 *
 * <p>System calls go through {@link Linker#nativeLinker()} to glibc: posix_openpt, grantpt,
 * unlockpt, ptsname_r, open, read, write, close, ioctl, tcgetattr, cfmakeraw, tcsetattr, socket,
 * connect, sendmsg. Structure layouts are those of the LP64 Linux ABI (x86-64, AArch64, RISC-V).
 */
public final class HostTerminal implements AutoCloseable {

    private static final int O_RDWR = 2, O_NOCTTY = 0x100, O_CLOEXEC = 0x80000;
    private static final long TIOCGWINSZ = 0x5413, TIOCSWINSZ = 0x5414;
    private static final int AF_UNIX = 1, SOCK_STREAM = 1, SOL_SOCKET = 1, SCM_RIGHTS = 1, SOCK_CLOEXEC = 0x80000;
    private static final int TCSANOW = 0, EINTR = 4, EIO = 5;
    private static final int SUN_PATH = 108;

    private final int slave;
    private final String name;

    private HostTerminal(int slave, String name) {
        this.slave = slave;
        this.name = name;
    }

    /**
     * Opens a pseudo-terminal pair, sets its size, sends the master to the Unix socket at
     * {@code consoleSocket} and closes this process's copy of the master.
     *
     * @throws IOException with a one-line message when any step fails
     */
    public static HostTerminal open(Path consoleSocket, int rows, int cols) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(C.STATE);
            int master = (int) C.call(C.POSIX_OPENPT, st, O_RDWR | O_NOCTTY | O_CLOEXEC);
            if (master < 0) {
                throw new IOException("posix_openpt: " + C.strerror(st));
            }
            int slave = -1;
            try {
                if ((int) C.call(C.GRANTPT, st, master) < 0 || (int) C.call(C.UNLOCKPT, st, master) < 0) {
                    throw new IOException("grantpt/unlockpt: " + C.strerror(st));
                }
                MemorySegment buf = a.allocate(256);
                int rc = (int) C.call(C.PTSNAME_R, st, master, buf, 256L);
                if (rc != 0) {
                    throw new IOException("ptsname_r: error " + rc);
                }
                String name = buf.getString(0);
                slave = (int) C.call(C.OPEN, st, a.allocateFrom(name), O_RDWR | O_NOCTTY | O_CLOEXEC);
                if (slave < 0) {
                    throw new IOException("open " + name + ": " + C.strerror(st));
                }
                MemorySegment termios = a.allocate(128);
                if ((int) C.call(C.TCGETATTR, st, slave, termios) == 0) {
                    C.call(C.CFMAKERAW, null, termios);
                    C.call(C.TCSETATTR, st, slave, TCSANOW, termios);
                }
                if (rows > 0 && cols > 0) {
                    setSize(a, st, master, rows, cols);
                }
                sendFd(a, st, consoleSocket, master, name);
                HostTerminal t = new HostTerminal(slave, name);
                slave = -1;
                return t;
            } finally {
                C.call(C.CLOSE, null, master);
                if (slave >= 0) {
                    C.call(C.CLOSE, null, slave);
                }
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("terminal: " + t, t);
        }
    }

    private static void setSize(Arena a, MemorySegment st, int fd, int rows, int cols) throws Throwable {
        MemorySegment ws = a.allocate(8);
        ws.set(JAVA_SHORT, 0, (short) rows);
        ws.set(JAVA_SHORT, 2, (short) cols);
        C.call(C.IOCTL, st, fd, TIOCSWINSZ, ws);
    }

    /** runc's {@code utils.SendFile}: one message, the name as data, the descriptor as SCM_RIGHTS. */
    private static void sendFd(Arena a, MemorySegment st, Path socketPath, int fd, String name) throws Throwable {
        byte[] path = socketPath.toString().getBytes(StandardCharsets.UTF_8);
        if (path.length >= SUN_PATH) {
            throw new IOException("console socket path " + socketPath + " is longer than " + (SUN_PATH - 1) + " bytes");
        }
        int sock = (int) C.call(C.SOCKET, st, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (sock < 0) {
            throw new IOException("socket: " + C.strerror(st));
        }
        try {
            MemorySegment addr = a.allocate(2 + SUN_PATH);
            addr.set(JAVA_SHORT, 0, (short) AF_UNIX);
            MemorySegment.copy(path, 0, addr, JAVA_BYTE, 2, path.length);
            if ((int) C.call(C.CONNECT, st, sock, addr, 2 + path.length + 1) < 0) {
                throw new IOException("cannot connect to the console socket " + socketPath + ": " + C.strerror(st));
            }
            byte[] data = name.getBytes(StandardCharsets.UTF_8);
            MemorySegment payload = a.allocateFrom(JAVA_BYTE, data);
            MemorySegment iov = a.allocate(16, 8);
            iov.set(ADDRESS, 0, payload);
            iov.set(JAVA_LONG, 8, data.length);
            MemorySegment cmsg = a.allocate(24, 8);            // CMSG_SPACE(sizeof(int))
            cmsg.set(JAVA_LONG, 0, 20);                        // CMSG_LEN(sizeof(int))
            cmsg.set(JAVA_INT, 8, SOL_SOCKET);
            cmsg.set(JAVA_INT, 12, SCM_RIGHTS);
            cmsg.set(JAVA_INT, 16, fd);
            MemorySegment msg = a.allocate(56, 8);             // struct msghdr
            msg.set(ADDRESS, 16, iov);
            msg.set(JAVA_LONG, 24, 1);
            msg.set(ADDRESS, 32, cmsg);
            msg.set(JAVA_LONG, 40, 24);
            long n;
            do {
                n = (long) C.call(C.SENDMSG, st, sock, msg, 0);
            } while (n < 0 && C.errno(st) == EINTR);
            if (n < 0) {
                throw new IOException("cannot send the terminal to " + socketPath + ": " + C.strerror(st));
            }
        } finally {
            C.call(C.CLOSE, null, sock);
        }
    }

    /** {@return the slave's name, e.g. /dev/pts/3} */
    public String name() {
        return name;
    }

    /** {@return the window size the caller set on the master, as {rows, cols}; {0, 0} if unknown} */
    public int[] windowSize() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ws = a.allocate(8);
            if ((int) C.call(C.IOCTL, a.allocate(C.STATE), slave, TIOCGWINSZ, ws) < 0) {
                return new int[] {0, 0};
            }
            return new int[] {Short.toUnsignedInt(ws.get(JAVA_SHORT, 0)), Short.toUnsignedInt(ws.get(JAVA_SHORT, 2))};
        } catch (Throwable t) {
            return new int[] {0, 0};
        }
    }

    /** {@return what the caller types into the terminal}; end of stream when the master is closed */
    public InputStream input() {
        return new InputStream() {
            private final Arena arena = Arena.ofShared();
            private final MemorySegment buf = arena.allocate(16 * 1024);
            private final MemorySegment st = arena.allocate(C.STATE);

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                try {
                    long n;
                    do {
                        n = (long) C.call(C.READ, st, slave, buf, (long) Math.min(len, (int) buf.byteSize()));
                    } while (n < 0 && C.errno(st) == EINTR);
                    if (n < 0 && C.errno(st) == EIO || n == 0) {
                        return -1;               // the master's last holder closed it
                    }
                    if (n < 0) {
                        throw new IOException("read " + name + ": " + C.strerror(st));
                    }
                    MemorySegment.copy(buf, JAVA_BYTE, 0, b, off, (int) n);
                    return (int) n;
                } catch (IOException e) {
                    throw e;
                } catch (Throwable t) {
                    throw new IOException(t);
                }
            }
        };
    }

    /** {@return where the container's terminal output goes} */
    public OutputStream output() {
        return new OutputStream() {
            private final Arena arena = Arena.ofShared();
            private final MemorySegment buf = arena.allocate(16 * 1024);
            private final MemorySegment st = arena.allocate(C.STATE);

            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public synchronized void write(byte[] b, int off, int len) throws IOException {
                try {
                    while (len > 0) {
                        int chunk = Math.min(len, (int) buf.byteSize());
                        MemorySegment.copy(b, off, buf, JAVA_BYTE, 0, chunk);
                        for (int done = 0; done < chunk; ) {
                            long n = (long) C.call(C.WRITE, st, slave, buf.asSlice(done), (long) (chunk - done));
                            if (n < 0 && C.errno(st) != EINTR) {
                                throw new IOException("write " + name + ": " + C.strerror(st));
                            }
                            done += (int) Math.max(n, 0);
                        }
                        off += chunk;
                        len -= chunk;
                    }
                } catch (IOException e) {
                    throw e;
                } catch (Throwable t) {
                    throw new IOException(t);
                }
            }
        };
    }

    @Override
    public void close() {
        try {
            C.call(C.CLOSE, null, slave);
        } catch (Throwable ignored) {
            // closing is best effort at exit
        }
    }

    /** The libc functions, each taking the errno capture segment first when it has one. */
    private static final class C {
        static final Linker LINKER = Linker.nativeLinker();
        static final SymbolLookup LIBC = LINKER.defaultLookup();
        static final MemoryLayout STATE = Linker.Option.captureStateLayout();
        private static final VarHandle ERRNO = STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

        static final MethodHandle POSIX_OPENPT = errno("posix_openpt", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        static final MethodHandle GRANTPT = errno("grantpt", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        static final MethodHandle UNLOCKPT = errno("unlockpt", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        static final MethodHandle PTSNAME_R = errno("ptsname_r", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG));
        static final MethodHandle OPEN = errno("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle READ = errno("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
        static final MethodHandle WRITE = errno("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
        static final MethodHandle CLOSE = plain("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        static final MethodHandle IOCTL = LINKER.downcallHandle(LIBC.find("ioctl").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
                Linker.Option.captureCallState("errno"), Linker.Option.firstVariadicArg(2));
        static final MethodHandle TCGETATTR = errno("tcgetattr", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        static final MethodHandle TCSETATTR = errno("tcsetattr", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
        static final MethodHandle CFMAKERAW = plain("cfmakeraw", FunctionDescriptor.ofVoid(ADDRESS));
        static final MethodHandle SOCKET = errno("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        static final MethodHandle CONNECT = errno("connect", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle SENDMSG = errno("sendmsg", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle STRERROR = plain("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));

        private static MethodHandle errno(String name, FunctionDescriptor d) {
            return LINKER.downcallHandle(LIBC.find(name).orElseThrow(), d, Linker.Option.captureCallState("errno"));
        }

        private static MethodHandle plain(String name, FunctionDescriptor d) {
            return LINKER.downcallHandle(LIBC.find(name).orElseThrow(), d);
        }

        /** Calls {@code h}; {@code state} is passed first when the handle captures errno. */
        static Object call(MethodHandle h, MemorySegment state, Object... args) throws Throwable {
            if (h.type().parameterCount() == args.length + 1) {
                Object[] all = new Object[args.length + 1];
                all[0] = state;
                System.arraycopy(args, 0, all, 1, args.length);
                return h.invokeWithArguments(all);
            }
            return h.invokeWithArguments(args);
        }

        static int errno(MemorySegment state) {
            return (int) ERRNO.get(state, 0L);
        }

        static String strerror(MemorySegment state) {
            int e = errno(state);
            try {
                MemorySegment s = (MemorySegment) STRERROR.invokeExact(e);
                return s.reinterpret(256).getString(0);
            } catch (Throwable t) {
                return "errno " + e;
            }
        }
    }
}
