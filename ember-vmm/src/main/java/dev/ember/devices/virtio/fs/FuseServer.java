package dev.ember.devices.virtio.fs;

import static dev.ember.devices.virtio.fs.HostFs.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import dev.ember.devices.virtio.fs.Inodes.Inode;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * A FUSE file server for one shared host directory, in the Linux FUSE protocol (7.31 as
 * {@code include/uapi/linux/fuse.h} defines it; Linux 6.1's client speaks 7.37 and adapts): it
 * takes one request (a {@code fuse_in_header} and its arguments) and writes one reply (a
 * {@code fuse_out_header} and its results). {@link VirtioFs} carries requests over virtqueues
 * (VIRTIO 1.2 §5.11); this class knows nothing of them, so it is tested directly.
 *
 * <p>Operations: INIT, DESTROY, LOOKUP, FORGET, BATCH_FORGET, GETATTR, SETATTR, READLINK,
 * SYMLINK, MKNOD (regular files, FIFOs and sockets: no device nodes), MKDIR, UNLINK, RMDIR,
 * RENAME, RENAME2 (NOREPLACE, EXCHANGE), LINK, OPEN, CREATE, READ, WRITE, FLUSH, RELEASE,
 * FSYNC, OPENDIR, READDIR, RELEASEDIR, FSYNCDIR, STATFS, ACCESS, FALLOCATE, LSEEK, and the
 * {@code user.} extended attributes (GETXATTR, SETXATTR, LISTXATTR, REMOVEXATTR). Any other
 * opcode is answered ENOSYS, which Linux remembers and stops sending (locks then stay local to
 * the guest).
 *
 * <p><b>Confinement.</b> Every node is an {@code O_PATH} descriptor (see {@link Inodes});
 * every name the guest sends is one path component (not empty, not {@code .} or {@code ..}, no
 * {@code /}, at most 255 bytes) and is resolved by the kernel with
 * {@code openat2(parent, name, O_PATH | O_NOFOLLOW, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)}, or
 * given to an {@code *at} call that never follows a last-component symlink (mkdirat, unlinkat,
 * renameat2, symlinkat, linkat). A symlink in the share is a node of its own and is never
 * followed by the host: the guest's kernel follows it, one LOOKUP at a time, and so never gets
 * out of the share's root, which it sees as {@code /} of the mount. Attributes are read and
 * changed through the node's descriptor ({@code statx}, {@code fchownat}, {@code utimensat},
 * {@code fchmodat2} with {@code AT_EMPTY_PATH}); a file's data is reached by reopening that
 * descriptor through {@code /proc/self/fd}, which reaches the same file object and looks up no
 * name. Only regular files are opened for data and only directories for listing: a FIFO or a
 * device node would block the server or reach host devices. A file hard-linked into the share
 * from outside by the host is shared too: that is the host's choice.
 *
 * <p><b>Credentials.</b> Operations run with the VMM's own credentials, as virtiofsd does
 * without its sandbox, confined by the above. ACCESS checks the mode bits against the
 * request's uid and gid. When the VMM is root, files the guest creates are given the
 * request's uid and gid, so a container image unpacked in the guest keeps its owners.
 *
 * <p><b>Guest-controlled.</b> Every byte of a request. A request shorter than its header, or
 * whose {@code len} exceeds the bytes given, gets no reply and counts as invalid; arguments
 * shorter than their struct, names without a NUL and lengths that disagree with the payload
 * get EINVAL. Reads and writes are bounded by {@link #MAX_WRITE}, names by 255 bytes, symlink
 * targets by 4095, extended attribute names by 255 and values by 64 KiB, replies by the room
 * the guest gave. Nodes and open handles are bounded ({@code maxInodes}, {@code maxHandles}):
 * beyond them the guest gets ENFILE and EMFILE. A read-only share answers EROFS to every
 * operation that would change it, and to an OPEN or CREATE for writing.
 *
 * <p>Threads: one thread serves a server (the device's request thread); not thread-safe.
 */
public final class FuseServer implements AutoCloseable {

    /** The protocol version this server speaks. */
    public static final int MAJOR = 7, MINOR = 31;
    /** The largest READ or WRITE payload, negotiated in INIT (max_write, max_pages = 64). */
    public static final int MAX_WRITE = 256 * 1024;
    /** The largest reply: an out header and a full READ. */
    public static final int MAX_REPLY = 16 + MAX_WRITE;
    /** The largest request: an in header, a write_in and a full WRITE. */
    public static final int MAX_REQUEST = 40 + 40 + MAX_WRITE;

    static final int NAME_MAX = 255, XATTR_NAME_MAX = 255, XATTR_SIZE_MAX = 65536;
    private static final int IN_HEADER = 40, OUT_HEADER = 16, ATTR_BYTES = 88, ENTRY_OUT = 128;
    private static final long TIMEOUT_SECONDS = 1;

    /** fuse_opcode values. */
    static final int LOOKUP = 1, FORGET = 2, GETATTR = 3, SETATTR = 4, READLINK = 5, SYMLINK = 6, MKNOD = 8,
            MKDIR = 9, UNLINK = 10, RMDIR = 11, RENAME = 12, LINK = 13, OPEN = 14, READ = 15, WRITE = 16, STATFS = 17,
            RELEASE = 18, FSYNC = 20, SETXATTR = 21, GETXATTR = 22, LISTXATTR = 23, REMOVEXATTR = 24, FLUSH = 25,
            INIT = 26, OPENDIR = 27, READDIR = 28, RELEASEDIR = 29, FSYNCDIR = 30, ACCESS = 34, CREATE = 35,
            INTERRUPT = 36, DESTROY = 38, BATCH_FORGET = 42, FALLOCATE = 43, RENAME2 = 45, LSEEK = 46;

    /** INIT flags offered (fuse.h). */
    static final int FUSE_ASYNC_READ = 1, FUSE_BIG_WRITES = 1 << 5, FUSE_PARALLEL_DIROPS = 1 << 18,
            FUSE_MAX_PAGES = 1 << 22, FUSE_CACHE_SYMLINKS = 1 << 23;
    /** setattr valid bits. */
    static final int FATTR_MODE = 1, FATTR_UID = 2, FATTR_GID = 4, FATTR_SIZE = 8, FATTR_ATIME = 16,
            FATTR_MTIME = 32, FATTR_FH = 64, FATTR_ATIME_NOW = 128, FATTR_MTIME_NOW = 256;
    private static final int EPROTO = 71, E2BIG = 7;
    private static final int XATTR_CREATE = 1, XATTR_REPLACE = 2;
    private static final byte[] USER_PREFIX = "user.".getBytes(StandardCharsets.US_ASCII);

    /** Counters, read by the device's metrics from any thread. */
    static final class Counters {
        final LongAdder requests = new LongAdder();
        final LongAdder errorReplies = new LongAdder();
        final LongAdder invalidRequests = new LongAdder();
        final LongAdder readBytes = new LongAdder();
        final LongAdder writeBytes = new LongAdder();
    }

    /** An open file or directory. */
    private record Handle(int fd, Inode inode, boolean append) { }

    private final Path root;
    private final boolean readOnly;
    private final int maxHandles;
    private final boolean applyOwners;
    private final HostFs host = new HostFs(Math.max(MAX_WRITE, XATTR_SIZE_MAX));
    private final Inodes inodes;
    private final Map<Long, Handle> handles = new HashMap<>();
    private final Counters counters = new Counters();
    private long nextHandle = 1;
    private boolean initialized;

    private ByteBuffer in;
    private int end;
    private ByteBuffer out;
    private int capacity;

    /**
     * A server for the directory {@code root}.
     *
     * @throws IOException if {@code root} is not a directory that can be opened
     */
    public FuseServer(Path root, boolean readOnly, int maxInodes, int maxHandles) throws IOException {
        this.root = root;
        this.readOnly = readOnly;
        this.maxHandles = maxHandles;
        this.inodes = new Inodes(host, maxInodes);
        this.applyOwners = isRoot();
        int fd = host.openPath(root.toAbsolutePath().toString().getBytes(StandardCharsets.UTF_8),
                O_PATH | O_DIRECTORY);
        if (fd < 0) {
            host.close();
            throw new IOException("cannot open shared directory " + root + ": errno " + -fd);
        }
        int[] err = new int[1];
        HostFs.Stat st = host.stat(fd, err);
        if (st == null) {
            host.close(fd);
            host.close();
            throw new IOException("cannot stat shared directory " + root + ": errno " + -err[0]);
        }
        inodes.root(fd, st);
    }

    /** A server with the device's default bounds: 16384 nodes and 1024 open handles. */
    public FuseServer(Path root, boolean readOnly) throws IOException {
        this(root, readOnly, 16384, 1024);
    }

    private static boolean isRoot() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** {@return the shared directory} */
    public Path root() {
        return root;
    }

    /** {@return whether the share refuses changes} */
    public boolean readOnly() {
        return readOnly;
    }

    /** {@return how many nodes the guest holds} */
    public int inodeCount() {
        return inodes.size();
    }

    /** {@return how many files and directories the guest holds open} */
    public int handleCount() {
        return handles.size();
    }

    Counters counters() {
        return counters;
    }

    /** Forgets every node and handle: the driver reset the device, and a new session begins with INIT. */
    public void reset() {
        for (Handle h : handles.values()) {
            host.close(h.fd());
        }
        handles.clear();
        inodes.clear(false);
        initialized = false;
    }

    @Override
    public void close() {
        reset();
        inodes.clear(true);
        host.close();
    }

    // ---- one request ----------------------------------------------------------------------

    /**
     * Serves one request.
     *
     * @param request       the request's bytes: header and arguments
     * @param length        how many of them the guest gave
     * @param reply         where the reply goes, at least {@code replyCapacity} bytes
     * @param replyCapacity the room the guest gave for the reply
     * @return the reply's length, 0 when the request gets no reply (FORGET, a malformed header)
     */
    public int serve(byte[] request, int length, byte[] reply, int replyCapacity) {
        counters.requests.increment();
        if (length < IN_HEADER) {
            counters.invalidRequests.increment();
            return 0;
        }
        in = ByteBuffer.wrap(request, 0, length).order(ByteOrder.LITTLE_ENDIAN);
        long len = Integer.toUnsignedLong(in.getInt(0));
        int opcode = in.getInt(4);
        long unique = in.getLong(8);
        long nodeid = in.getLong(16);
        if (len < IN_HEADER || len > length) {
            counters.invalidRequests.increment();
            return 0;
        }
        end = (int) len;
        capacity = Math.min(replyCapacity, reply.length);
        if (opcode == FORGET || opcode == BATCH_FORGET || opcode == INTERRUPT) {
            forget(opcode, nodeid);
            return 0;
        }
        if (capacity < OUT_HEADER) {
            counters.invalidRequests.increment();
            return 0;
        }
        out = ByteBuffer.wrap(reply).order(ByteOrder.LITTLE_ENDIAN);
        out.position(OUT_HEADER);
        int error;
        try {
            error = dispatch(opcode, nodeid);
        } catch (Malformed m) {
            counters.invalidRequests.increment();
            error = -EINVAL;
        }
        if (error == 0 && out.position() > capacity) {
            error = -ERANGE;
        }
        if (error != 0) {
            counters.errorReplies.increment();
            out.position(OUT_HEADER);
        }
        int n = out.position();
        out.putInt(0, n);
        out.putInt(4, error);
        out.putLong(8, unique);
        return n;
    }

    /** A request whose arguments do not parse; answered EINVAL. */
    private static final class Malformed extends RuntimeException {
        Malformed() {
            super(null, null, false, false);
        }
    }

    private static final Malformed MALFORMED = new Malformed();

    private int dispatch(int opcode, long nodeid) {
        if (opcode == INIT) {
            return init();
        }
        if (!initialized) {
            return -EIO;
        }
        Inode node = inodes.get(nodeid);
        if (node == null && opcode != DESTROY) {
            return -ENOENT;
        }
        if (readOnly && changes(opcode)) {
            return -EROFS;
        }
        return switch (opcode) {
            case DESTROY -> {
                reset();
                yield 0;
            }
            case LOOKUP -> lookup(node, name(IN_HEADER));
            case GETATTR -> getattr(node);
            case SETATTR -> setattr(node);
            case READLINK -> readlink(node);
            case SYMLINK -> symlink(node);
            case MKNOD -> mknod(node);
            case MKDIR -> mkdir(node);
            case UNLINK -> remove(node, 0);
            case RMDIR -> remove(node, AT_REMOVEDIR);
            case RENAME -> rename(node, IN_HEADER + 8, 0);
            case RENAME2 -> rename(node, IN_HEADER + 16, u32(IN_HEADER + 8));
            case LINK -> link(node);
            case OPEN -> open(node);
            case CREATE -> create(node);
            case READ -> read();
            case WRITE -> write();
            case FLUSH -> handle(u64(IN_HEADER)) == null ? -EBADF : 0;
            case RELEASE, RELEASEDIR -> release();
            case FSYNC, FSYNCDIR -> fsync();
            case OPENDIR -> opendir(node);
            case READDIR -> readdir();
            case STATFS -> statfs(node);
            case ACCESS -> access(node);
            case FALLOCATE -> fallocate();
            case LSEEK -> lseek();
            case GETXATTR -> getxattr(node);
            case LISTXATTR -> listxattr(node);
            case SETXATTR -> setxattr(node);
            case REMOVEXATTR -> removexattr(node);
            default -> -ENOSYS;
        };
    }

    /** {@return whether {@code opcode} changes the share} OPEN and CREATE are checked for their flags. */
    private static boolean changes(int opcode) {
        return switch (opcode) {
            case SETATTR, SYMLINK, MKNOD, MKDIR, UNLINK, RMDIR, RENAME, RENAME2, LINK, WRITE, SETXATTR, REMOVEXATTR,
                 FALLOCATE, CREATE -> true;
            default -> false;
        };
    }

    // ---- argument parsing -----------------------------------------------------------------

    private void need(int offset, int bytes) {
        if (offset < 0 || (long) offset + bytes > end) {
            throw MALFORMED;
        }
    }

    private int u32(int offset) {
        need(offset, 4);
        return in.getInt(offset);
    }

    private long u64(int offset) {
        need(offset, 8);
        return in.getLong(offset);
    }

    /** The NUL-terminated string at {@code offset}: its bytes, without the NUL. */
    private byte[] string(int offset, int max) {
        need(offset, 1);
        byte[] a = in.array();
        int i = offset;
        while (i < end && a[i] != 0) {
            i++;
        }
        if (i == end) {
            throw MALFORMED;
        }
        if (i - offset > max) {
            return null;
        }
        byte[] s = new byte[i - offset];
        System.arraycopy(a, offset, s, 0, s.length);
        return s;
    }

    /** The offset just past the string at {@code offset}. */
    private int after(int offset) {
        byte[] a = in.array();
        int i = offset;
        while (i < end && a[i] != 0) {
            i++;
        }
        return i + 1;
    }

    /** A name for a directory entry, or null when it is too long. */
    private byte[] name(int offset) {
        return string(offset, NAME_MAX);
    }

    /** {@return 0 if {@code name} is one path component, else the error} */
    static int checkName(byte[] name) {
        if (name == null) {
            return -ENAMETOOLONG;
        }
        if (name.length == 0 || (name.length == 1 && name[0] == '.') || (name.length == 2 && name[0] == '.' && name[1] == '.')) {
            return -EINVAL;
        }
        for (byte b : name) {
            if (b == '/' || b == 0) {
                return -EINVAL;
            }
        }
        return 0;
    }

    // ---- replies --------------------------------------------------------------------------

    private void putAttr(HostFs.Stat st, long nodeid) {
        out.putLong(nodeid == Inodes.ROOT ? Inodes.ROOT : st.ino());
        out.putLong(st.size());
        out.putLong(st.blocks());
        out.putLong(st.atime());
        out.putLong(st.mtime());
        out.putLong(st.ctime());
        out.putInt(st.atimeNsec());
        out.putInt(st.mtimeNsec());
        out.putInt(st.ctimeNsec());
        out.putInt(st.mode());
        out.putInt(st.nlink());
        out.putInt(st.uid());
        out.putInt(st.gid());
        out.putInt((int) st.rdev());
        out.putInt(st.blksize());
        out.putInt(0);
    }

    private boolean room(int bytes) {
        return out.position() + bytes <= capacity;
    }

    /** Writes a fuse_entry_out for {@code node}; {@return 0 or the error} */
    private int entry(Inode node) {
        int[] err = new int[1];
        HostFs.Stat st = host.stat(node.fd, err);
        if (st == null) {
            return err[0];
        }
        if (!room(ENTRY_OUT)) {
            return -ERANGE;
        }
        out.putLong(node.nodeid);
        out.putLong(0);
        out.putLong(TIMEOUT_SECONDS);
        out.putLong(TIMEOUT_SECONDS);
        out.putInt(0);
        out.putInt(0);
        putAttr(st, node.nodeid);
        return 0;
    }

    // ---- operations -----------------------------------------------------------------------

    private int init() {
        int major = u32(IN_HEADER);
        int minor = u32(IN_HEADER + 4);
        int maxReadahead = u32(IN_HEADER + 8);
        int flags = u32(IN_HEADER + 12);
        if (major < MAJOR) {
            return -EPROTO;
        }
        out.putInt(MAJOR);
        if (major > MAJOR) {
            // The kernel retries with our major: only the version is answered.
            out.putInt(MINOR);
            return 0;
        }
        reset();
        initialized = true;
        out.putInt(Math.min(minor, MINOR));
        out.putInt(maxReadahead);
        out.putInt(flags & (FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES | FUSE_CACHE_SYMLINKS));
        out.putShort((short) 16);   // max_background
        out.putShort((short) 12);   // congestion_threshold
        out.putInt(MAX_WRITE);
        out.putInt(1);              // time_gran: nanoseconds
        out.putShort((short) (MAX_WRITE / 4096));
        out.putShort((short) 0);
        out.putInt(0);              // flags2
        for (int i = 0; i < 7; i++) {
            out.putInt(0);
        }
        return 0;
    }

    private void forget(int opcode, long nodeid) {
        if (opcode == INTERRUPT || end < IN_HEADER + 8) {
            return;   // requests are served in order, to completion: nothing to interrupt
        }
        if (opcode == FORGET) {
            inodes.forget(nodeid, in.getLong(IN_HEADER));
            return;
        }
        long count = Integer.toUnsignedLong(in.getInt(IN_HEADER));
        // Bounds: only the entries the request holds, whatever count says.
        long fit = (end - IN_HEADER - 8) / 16;
        for (int i = 0; i < Math.min(count, fit); i++) {
            int at = IN_HEADER + 8 + 16 * i;
            inodes.forget(in.getLong(at), in.getLong(at + 8));
        }
    }

    /** Opens {@code name} in {@code parent} as a node and counts the lookup. */
    private int lookup(Inode parent, byte[] name) {
        int bad = checkName(name);
        if (bad != 0) {
            return bad;
        }
        if (!parent.isDirectory()) {
            return -ENOTDIR;
        }
        int fd = host.openat2(parent.fd, name, O_PATH | O_NOFOLLOW, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
        if (fd < 0) {
            return fd == -EMFILE ? -ENFILE : fd;
        }
        return install(fd);
    }

    /** Makes {@code fd} (an O_PATH descriptor) a node and replies its entry. */
    private int install(int fd) {
        int[] err = new int[1];
        HostFs.Stat st = host.stat(fd, err);
        if (st == null) {
            host.close(fd);
            return err[0];
        }
        Inode node = inodes.lookedUp(fd, st);
        if (node == null) {
            return -ENFILE;
        }
        int r = entry(node);
        if (r != 0) {
            inodes.forget(node.nodeid, 1);
        }
        return r;
    }

    private int getattr(Inode node) {
        int[] err = new int[1];
        HostFs.Stat st = host.stat(node.fd, err);
        if (st == null) {
            return err[0];
        }
        out.putLong(TIMEOUT_SECONDS);
        out.putInt(0);
        out.putInt(0);
        putAttr(st, node.nodeid);
        return 0;
    }

    private int setattr(Inode node) {
        int at = IN_HEADER;
        int valid = u32(at);
        long fh = u64(at + 8);
        long size = u64(at + 16);
        long atime = u64(at + 32), mtime = u64(at + 40);
        int atimeNsec = u32(at + 56), mtimeNsec = u32(at + 60);
        int mode = u32(at + 68), uid = u32(at + 76), gid = u32(at + 80);
        Handle handle = (valid & FATTR_FH) != 0 ? handle(fh) : null;
        if ((valid & FATTR_FH) != 0 && handle == null) {
            return -EBADF;
        }
        int r = 0;
        if ((valid & FATTR_MODE) != 0) {
            r = chmod(node, handle, mode & 07777);
        }
        if (r == 0 && (valid & (FATTR_UID | FATTR_GID)) != 0) {
            r = host.chown(node.fd, (valid & FATTR_UID) != 0 ? uid : -1, (valid & FATTR_GID) != 0 ? gid : -1);
        }
        if (r == 0 && (valid & FATTR_SIZE) != 0) {
            r = truncate(node, handle, size);
        }
        if (r == 0 && (valid & (FATTR_ATIME | FATTR_MTIME)) != 0) {
            long aNsec = (valid & FATTR_ATIME) == 0 ? UTIME_OMIT : (valid & FATTR_ATIME_NOW) != 0 ? UTIME_NOW : atimeNsec;
            long mNsec = (valid & FATTR_MTIME) == 0 ? UTIME_OMIT : (valid & FATTR_MTIME_NOW) != 0 ? UTIME_NOW : mtimeNsec;
            r = host.utimes(node.fd, atime, aNsec, mtime, mNsec);
        }
        return r != 0 ? r : getattr(node);
    }

    private int chmod(Inode node, Handle handle, int mode) {
        if (handle != null) {
            return host.fchmod(handle.fd(), mode);
        }
        int r = host.chmodEmptyPath(node.fd, mode);
        if (r != -ENOSYS) {
            return r;
        }
        // Before Linux 6.6: through a descriptor reopened for reading; a symlink has no mode to change.
        if (node.type != S_IFREG && node.type != S_IFDIR) {
            return -EOPNOTSUPP;
        }
        int fd = host.reopen(node.fd, O_RDONLY | (node.isDirectory() ? O_DIRECTORY : 0));
        if (fd < 0) {
            return fd;
        }
        r = host.fchmod(fd, mode);
        host.close(fd);
        return r;
    }

    private int truncate(Inode node, Handle handle, long size) {
        if (size < 0) {
            return -EINVAL;
        }
        if (handle != null) {
            return host.ftruncate(handle.fd(), size);
        }
        if (node.type != S_IFREG) {
            return node.isDirectory() ? -EISDIR : -EINVAL;
        }
        int fd = host.reopen(node.fd, O_WRONLY);
        if (fd < 0) {
            return fd;
        }
        int r = host.ftruncate(fd, size);
        host.close(fd);
        return r;
    }

    private int readlink(Inode node) {
        if (node.type != S_IFLNK) {
            return -EINVAL;
        }
        long n = host.readlink(node.fd);
        if (n < 0) {
            return (int) n;
        }
        if (!room((int) n)) {
            return -ERANGE;
        }
        MemorySegment.copy(host.io, JAVA_BYTE, 0, out.array(), out.position(), (int) n);
        out.position(out.position() + (int) n);
        return 0;
    }

    /** After a name was made in {@code parent}: gives it the requester's owner and replies its entry. */
    private int made(Inode parent, byte[] name) {
        int fd = host.openat2(parent.fd, name, O_PATH | O_NOFOLLOW, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
        if (fd < 0) {
            return fd;
        }
        own(fd);
        return install(fd);
    }

    /** Gives the file {@code fd} holds the request's uid and gid, when the VMM may (it is root). */
    private void own(int fd) {
        if (applyOwners) {
            host.chown(fd, in.getInt(24), in.getInt(28));
        }
    }

    private int dirAndName(Inode parent, byte[] name) {
        if (!parent.isDirectory()) {
            return -ENOTDIR;
        }
        return checkName(name);
    }

    private int symlink(Inode parent) {
        byte[] name = name(IN_HEADER);
        byte[] target = string(after(IN_HEADER), PATH_MAX - 1);
        int bad = dirAndName(parent, name);
        if (bad != 0) {
            return bad;
        }
        if (target == null) {
            return -ENAMETOOLONG;
        }
        int r = host.symlinkat(target, parent.fd, name);
        return r < 0 ? r : made(parent, name);
    }

    private int mknod(Inode parent) {
        int mode = u32(IN_HEADER);
        byte[] name = name(IN_HEADER + 16);
        int bad = dirAndName(parent, name);
        if (bad != 0) {
            return bad;
        }
        int type = mode & S_IFMT;
        if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK) {
            return -EPERM;   // no device nodes: the host would open its own devices through them
        }
        int r = host.mknodat(parent.fd, name, mode & (S_IFMT | 07777), 0);
        return r < 0 ? r : made(parent, name);
    }

    private int mkdir(Inode parent) {
        int mode = u32(IN_HEADER);
        byte[] name = name(IN_HEADER + 8);
        int bad = dirAndName(parent, name);
        if (bad != 0) {
            return bad;
        }
        int r = host.mkdirat(parent.fd, name, mode & 07777);
        return r < 0 ? r : made(parent, name);
    }

    private int remove(Inode parent, int flags) {
        byte[] name = name(IN_HEADER);
        int bad = dirAndName(parent, name);
        return bad != 0 ? bad : host.unlinkat(parent.fd, name, flags);
    }

    private int rename(Inode parent, int namesAt, int flags) {
        Inode target = inodes.get(u64(IN_HEADER));
        byte[] oldName = name(namesAt);
        byte[] newName = name(after(namesAt));
        if (target == null) {
            return -ENOENT;
        }
        int bad = dirAndName(parent, oldName);
        if (bad == 0) {
            bad = dirAndName(target, newName);
        }
        if (bad != 0) {
            return bad;
        }
        // RENAME_NOREPLACE and RENAME_EXCHANGE; RENAME_WHITEOUT makes a device node, refused.
        if ((flags & ~3) != 0) {
            return -EINVAL;
        }
        return host.renameat2(parent.fd, oldName, target.fd, newName, flags);
    }

    private int link(Inode parent) {
        Inode source = inodes.get(u64(IN_HEADER));
        byte[] name = name(IN_HEADER + 8);
        if (source == null) {
            return -ENOENT;
        }
        int bad = dirAndName(parent, name);
        if (bad != 0) {
            return bad;
        }
        if (source.isDirectory()) {
            return -EPERM;
        }
        int r = host.linkEmptyPath(source.fd, parent.fd, name);
        if (r < 0) {
            return r;
        }
        int fd = host.openat2(parent.fd, name, O_PATH | O_NOFOLLOW, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
        return fd < 0 ? fd : install(fd);
    }

    /** The host flags for the guest's open flags: access mode and O_APPEND; the rest is the guest kernel's. */
    private static int openFlags(int guestFlags) {
        return (guestFlags & O_ACCMODE) | (guestFlags & O_APPEND);
    }

    private static boolean writes(int guestFlags) {
        return (guestFlags & O_ACCMODE) != O_RDONLY || (guestFlags & (O_TRUNC | O_APPEND)) != 0;
    }

    private int newHandle(int fd, Inode node, boolean append) {
        if (handles.size() >= maxHandles) {
            host.close(fd);
            return -EMFILE;
        }
        long fh = nextHandle++;
        handles.put(fh, new Handle(fd, node, append));
        out.putLong(fh);
        out.putInt(0);
        out.putInt(0);
        return 0;
    }

    private Handle handle(long fh) {
        return handles.get(fh);
    }

    private int open(Inode node) {
        int flags = u32(IN_HEADER);
        if (readOnly && writes(flags)) {
            return -EROFS;
        }
        if (node.type != S_IFREG) {
            return node.isDirectory() ? -EISDIR : -ENXIO;
        }
        if (handles.size() >= maxHandles) {
            return -EMFILE;
        }
        int fd = host.reopen(node.fd, openFlags(flags));
        if (fd < 0) {
            return fd == -EMFILE ? -ENFILE : fd;
        }
        return newHandle(fd, node, (flags & O_APPEND) != 0);
    }

    private int create(Inode parent) {
        int flags = u32(IN_HEADER);
        int mode = u32(IN_HEADER + 4);
        byte[] name = name(IN_HEADER + 16);
        int bad = dirAndName(parent, name);
        if (bad != 0) {
            return bad;
        }
        if (handles.size() >= maxHandles) {
            return -EMFILE;
        }
        int fd = host.openat2(parent.fd, name, O_CREAT | O_NOFOLLOW | (flags & O_EXCL) | openFlags(flags),
                mode & 07777, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
        if (fd < 0) {
            return fd == -EMFILE ? -ENFILE : fd;
        }
        own(fd);
        int pathFd = host.reopen(fd, O_PATH);
        if (pathFd < 0) {
            host.close(fd);
            return pathFd;
        }
        int r = install(pathFd);
        if (r != 0) {
            host.close(fd);
            return r;
        }
        Inode node = inodes.get(out.getLong(OUT_HEADER));
        r = newHandle(fd, node, (flags & O_APPEND) != 0);
        if (r != 0) {
            inodes.forget(node.nodeid, 1);
        }
        return r;
    }

    private int read() {
        Handle h = handle(u64(IN_HEADER));
        long offset = u64(IN_HEADER + 8);
        long size = Integer.toUnsignedLong(u32(IN_HEADER + 16));
        if (h == null || h.inode().isDirectory()) {
            return -EBADF;
        }
        if (offset < 0) {
            return -EINVAL;
        }
        // Bounds: max_write, and the room the guest gave.
        size = Math.min(size, Math.min(MAX_WRITE, capacity - OUT_HEADER));
        long n = host.pread(h.fd(), size, offset);
        if (n < 0) {
            return (int) n;
        }
        MemorySegment.copy(host.io, JAVA_BYTE, 0, out.array(), out.position(), (int) n);
        out.position(out.position() + (int) n);
        counters.readBytes.add(n);
        return 0;
    }

    private int write() {
        Handle h = handle(u64(IN_HEADER));
        long offset = u64(IN_HEADER + 8);
        long size = Integer.toUnsignedLong(u32(IN_HEADER + 16));
        int data = IN_HEADER + 40;
        if (size > MAX_WRITE || data + size != end) {
            counters.invalidRequests.increment();
            return -EINVAL;
        }
        if (h == null || h.inode().isDirectory()) {
            return -EBADF;
        }
        if (offset < 0) {
            return -EINVAL;
        }
        MemorySegment.copy(in.array(), data, host.io, JAVA_BYTE, 0, (int) size);
        long n = host.pwrite(h.fd(), size, offset, h.append());
        if (n < 0) {
            return (int) n;
        }
        counters.writeBytes.add(n);
        out.putInt((int) n);
        out.putInt(0);
        return 0;
    }

    private int release() {
        Handle h = handles.remove(u64(IN_HEADER));
        if (h == null) {
            return -EBADF;
        }
        host.close(h.fd());
        return 0;
    }

    private int fsync() {
        Handle h = handle(u64(IN_HEADER));
        int flags = u32(IN_HEADER + 8);
        if (h == null) {
            return -EBADF;
        }
        return host.fsync(h.fd(), (flags & 1) != 0);
    }

    private int opendir(Inode node) {
        if (!node.isDirectory()) {
            return -ENOTDIR;
        }
        if (handles.size() >= maxHandles) {
            return -EMFILE;
        }
        int fd = host.openat2(node.fd, new byte[] {'.'}, O_RDONLY | O_DIRECTORY, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
        if (fd < 0) {
            return fd == -EMFILE ? -ENFILE : fd;
        }
        return newHandle(fd, node, false);
    }

    /** READDIR: fuse_dirent records from the directory's entries after the cookie {@code offset}. */
    private int readdir() {
        Handle h = handle(u64(IN_HEADER));
        long offset = u64(IN_HEADER + 8);
        long size = Integer.toUnsignedLong(u32(IN_HEADER + 16));
        if (h == null || !h.inode().isDirectory()) {
            return -EBADF;
        }
        int limit = (int) Math.min(size, Math.min(MAX_WRITE, capacity - OUT_HEADER));
        long r = host.lseek(h.fd(), offset, SEEK_SET);
        if (r < 0) {
            return (int) r;
        }
        long n = host.getdents(h.fd(), limit);
        if (n < 0) {
            return (int) n;
        }
        int start = out.position();
        MemorySegment d = host.io;
        for (int at = 0; at < n; ) {
            long ino = d.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, at);
            long next = d.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, at + 8);
            int reclen = Short.toUnsignedInt(d.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, at + 16));
            int type = d.get(JAVA_BYTE, at + 18);
            int nameLen = 0;
            while (at + 19 + nameLen < at + reclen && d.get(JAVA_BYTE, at + 19 + nameLen) != 0) {
                nameLen++;
            }
            int record = (24 + nameLen + 7) & ~7;
            if (out.position() - start + record > limit || reclen == 0) {
                break;
            }
            out.putLong(ino);
            out.putLong(next);
            out.putInt(nameLen);
            out.putInt(type);
            MemorySegment.copy(d, JAVA_BYTE, at + 19, out.array(), out.position(), nameLen);
            out.position(out.position() + nameLen);
            while ((out.position() & 7) != 0) {
                out.put((byte) 0);
            }
            at += reclen;
        }
        return 0;
    }

    private int statfs(Inode node) {
        long[] v = host.statvfs(node.fd);
        if (v == null) {
            return -EIO;
        }
        out.putLong(v[2]);
        out.putLong(v[3]);
        out.putLong(v[4]);
        out.putLong(v[5]);
        out.putLong(v[6]);
        out.putInt((int) v[0]);
        out.putInt((int) Math.min(v[7], NAME_MAX));
        out.putInt((int) v[1]);
        for (int i = 0; i < 7; i++) {
            out.putInt(0);
        }
        return 0;
    }

    /** ACCESS: the mode bits against the request's uid and gid; root may do all but execute a file no one may. */
    private int access(Inode node) {
        int mask = u32(IN_HEADER) & 7;
        int[] err = new int[1];
        HostFs.Stat st = host.stat(node.fd, err);
        if (st == null) {
            return err[0];
        }
        int uid = in.getInt(24), gid = in.getInt(28);
        int mode = st.mode();
        if (uid == 0) {
            boolean execOk = (mask & 1) == 0 || st.isDirectory() || (mode & 0111) != 0;
            return execOk ? 0 : -EACCES;
        }
        int bits = uid == st.uid() ? (mode >> 6) & 7 : gid == st.gid() ? (mode >> 3) & 7 : mode & 7;
        return (bits & mask) == mask ? 0 : -EACCES;
    }

    private int fallocate() {
        Handle h = handle(u64(IN_HEADER));
        long offset = u64(IN_HEADER + 8), length = u64(IN_HEADER + 16);
        int mode = u32(IN_HEADER + 24);
        if (h == null) {
            return -EBADF;
        }
        // FALLOC_FL_KEEP_SIZE and FALLOC_FL_PUNCH_HOLE only.
        if ((mode & ~3) != 0) {
            return -EOPNOTSUPP;
        }
        return host.fallocate(h.fd(), mode, offset, length);
    }

    private int lseek() {
        Handle h = handle(u64(IN_HEADER));
        long offset = u64(IN_HEADER + 8);
        int whence = u32(IN_HEADER + 16);
        if (h == null) {
            return -EBADF;
        }
        if (whence < 0 || whence > 4) {
            return -EINVAL;
        }
        long r = host.lseek(h.fd(), offset, whence);
        if (r < 0) {
            return (int) r;
        }
        out.putLong(r);
        return 0;
    }

    // ---- extended attributes: the user. namespace only -------------------------------------

    private static boolean userName(byte[] name) {
        if (name == null || name.length <= USER_PREFIX.length) {
            return false;
        }
        for (int i = 0; i < USER_PREFIX.length; i++) {
            if (name[i] != USER_PREFIX[i]) {
                return false;
            }
        }
        return true;
    }

    /** A descriptor of {@code node} that the f*xattr calls accept, or -errno. */
    private int xattrFd(Inode node) {
        if (node.type != S_IFREG && node.type != S_IFDIR) {
            return -EOPNOTSUPP;
        }
        int fd = host.reopen(node.fd, O_RDONLY | (node.isDirectory() ? O_DIRECTORY : 0));
        return fd == -EMFILE ? -ENFILE : fd;
    }

    /** Replies a size-probe ({@code size == 0}) or the value in {@link HostFs#io}. */
    private int xattrReply(long n, long size) {
        if (n < 0) {
            return (int) n;
        }
        if (size == 0) {
            out.putInt((int) n);
            out.putInt(0);
            return 0;
        }
        if (!room((int) n)) {
            return -ERANGE;
        }
        MemorySegment.copy(host.io, JAVA_BYTE, 0, out.array(), out.position(), (int) n);
        out.position(out.position() + (int) n);
        return 0;
    }

    private int getxattr(Inode node) {
        long size = Integer.toUnsignedLong(u32(IN_HEADER));
        byte[] name = string(IN_HEADER + 8, XATTR_NAME_MAX);
        if (name == null) {
            return -ERANGE;
        }
        if (!userName(name)) {
            return -ENODATA;
        }
        int fd = xattrFd(node);
        if (fd < 0) {
            return fd == -EOPNOTSUPP ? -ENODATA : fd;
        }
        size = Math.min(size, Math.min(XATTR_SIZE_MAX, capacity - OUT_HEADER));
        long n = host.getxattr(fd, name, size);
        host.close(fd);
        return xattrReply(n, size);
    }

    private int listxattr(Inode node) {
        long size = Integer.toUnsignedLong(u32(IN_HEADER));
        int fd = xattrFd(node);
        if (fd < 0) {
            return fd == -EOPNOTSUPP ? xattrReply(0, size) : fd;
        }
        long n = host.listxattr(fd, XATTR_SIZE_MAX);
        host.close(fd);
        if (n < 0) {
            return (int) n;
        }
        // Keep the user. names: the others are not served.
        byte[] all = new byte[(int) n];
        MemorySegment.copy(host.io, JAVA_BYTE, 0, all, 0, all.length);
        java.io.ByteArrayOutputStream kept = new java.io.ByteArrayOutputStream();
        for (int start = 0; start < all.length; ) {
            int stop = start;
            while (stop < all.length && all[stop] != 0) {
                stop++;
            }
            if (userName(java.util.Arrays.copyOfRange(all, start, stop))) {
                kept.write(all, start, stop - start);
                kept.write(0);
            }
            start = stop + 1;
        }
        MemorySegment.copy(kept.toByteArray(), 0, host.io, JAVA_BYTE, 0, kept.size());
        if (size != 0 && kept.size() > size) {
            return -ERANGE;
        }
        return xattrReply(kept.size(), size);
    }

    private int setxattr(Inode node) {
        long size = Integer.toUnsignedLong(u32(IN_HEADER));
        int flags = u32(IN_HEADER + 4);
        byte[] name = string(IN_HEADER + 8, XATTR_NAME_MAX);
        if (name == null) {
            return -ERANGE;
        }
        int value = after(IN_HEADER + 8);
        if (size > XATTR_SIZE_MAX) {
            return -E2BIG;
        }
        if (value + size != end) {
            counters.invalidRequests.increment();
            return -EINVAL;
        }
        if (!userName(name) || (flags & ~(XATTR_CREATE | XATTR_REPLACE)) != 0) {
            return -EOPNOTSUPP;
        }
        int fd = xattrFd(node);
        if (fd < 0) {
            return fd;
        }
        MemorySegment.copy(in.array(), value, host.io, JAVA_BYTE, 0, (int) size);
        int r = host.setxattr(fd, name, size, flags);
        host.close(fd);
        return r;
    }

    private int removexattr(Inode node) {
        byte[] name = string(IN_HEADER, XATTR_NAME_MAX);
        if (name == null) {
            return -ERANGE;
        }
        if (!userName(name)) {
            return -EOPNOTSUPP;
        }
        int fd = xattrFd(node);
        if (fd < 0) {
            return fd;
        }
        int r = host.removexattr(fd, name);
        host.close(fd);
        return r;
    }
}
