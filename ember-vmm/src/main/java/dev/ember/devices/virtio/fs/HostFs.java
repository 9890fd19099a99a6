package dev.ember.devices.virtio.fs;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The Linux file system calls the virtio-fs server makes, through {@code java.lang.foreign}:
 * {@code openat2(2)} (a raw system call: glibc 2.36 has no wrapper), {@code statx}, the
 * {@code *at} family, positional I/O, {@code getdents64} and the {@code f*xattr} calls.
 *
 * <p>Every method returns the call's non-negative result or {@code -errno}, the form a FUSE
 * reply carries, so the server passes host errors to the guest unchanged. Names are given as
 * raw bytes (a guest's file name need not be UTF-8) and copied, NUL-terminated, into one of two
 * scratch buffers.
 *
 * <p>Constants are Linux's generic values (x86-64, RISC-V); {@code O_DIRECTORY} and
 * {@code O_NOFOLLOW} differ on AArch64 and are chosen by {@code os.arch}. The guest's own
 * open flags are never passed through: {@link FuseServer} rebuilds them from these constants.
 *
 * <p>Threads: one instance per thread; the scratch buffers and the errno capture are shared by
 * the calls.
 */
final class HostFs implements AutoCloseable {

    static final int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_ACCMODE = 3;
    static final int O_CREAT = 0100, O_EXCL = 0200, O_TRUNC = 01000, O_APPEND = 02000, O_NONBLOCK = 04000;
    static final int O_CLOEXEC = 02000000, O_PATH = 010000000;
    static final int O_DIRECTORY, O_NOFOLLOW;
    static final int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_EMPTY_PATH = 0x1000;
    /** openat2's resolve flags (linux/openat2.h). */
    static final long RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_NO_SYMLINKS = 0x04, RESOLVE_BENEATH = 0x08;
    static final int SEEK_SET = 0;

    static final int EPERM = 1, ENOENT = 2, EIO = 5, ENXIO = 6, EBADF = 9, EAGAIN = 11, ENOMEM = 12, EACCES = 13,
            EEXIST = 17, EXDEV = 18, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENFILE = 23, EMFILE = 24,
            ENOSPC = 28, EROFS = 30, ERANGE = 34, ENAMETOOLONG = 36, ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40,
            ENODATA = 61, EOPNOTSUPP = 95;

    /** File types of {@code st_mode}. */
    static final int S_IFMT = 0170000, S_IFDIR = 0040000, S_IFREG = 0100000, S_IFLNK = 0120000,
            S_IFCHR = 0020000, S_IFBLK = 0060000, S_IFIFO = 0010000, S_IFSOCK = 0140000;

    private static final long SYS_OPENAT2 = 437, SYS_FCHMODAT2 = 452;
    private static final int STATX_BASIC_STATS = 0x7ff;
    /** The largest name or path the scratch buffers hold, NUL included. */
    static final int PATH_MAX = 4096;

    static {
        boolean arm = System.getProperty("os.arch", "").equals("aarch64");
        O_DIRECTORY = arm ? 040000 : 0200000;
        O_NOFOLLOW = arm ? 0100000 : 0400000;
    }

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option ERRNO_OPT = Linker.Option.captureCallState("errno");

    private static final MethodHandle SYSCALL4 = bind("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG), Linker.Option.firstVariadicArg(1));
    private static final MethodHandle SYSCALL_CHMOD = bind("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG), Linker.Option.firstVariadicArg(1));
    private static final MethodHandle OPENAT = bind("openat",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(3));
    private static final MethodHandle STATX = bind("statx",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle CLOSE = bind("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle PREAD = bind("pread64",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle PWRITE = bind("pwrite64",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle WRITE = bind("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle FSYNC = bind("fsync", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle FDATASYNC = bind("fdatasync", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle FTRUNCATE = bind("ftruncate64", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle FALLOCATE = bind("fallocate64",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle LSEEK = bind("lseek64", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));
    private static final MethodHandle GETDENTS = bind("getdents64", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle MKDIRAT = bind("mkdirat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle MKNODAT = bind("mknodat",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG));
    private static final MethodHandle UNLINKAT = bind("unlinkat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle RENAMEAT2 = bind("renameat2",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle SYMLINKAT = bind("symlinkat", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
    private static final MethodHandle READLINKAT = bind("readlinkat",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
    private static final MethodHandle LINKAT = bind("linkat",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle FCHOWNAT = bind("fchownat",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle FCHMOD = bind("fchmod", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle UTIMENSAT = bind("utimensat",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    private static final MethodHandle FSTATVFS = bind("fstatvfs", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle FGETXATTR = bind("fgetxattr",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
    private static final MethodHandle FSETXATTR = bind("fsetxattr",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle FLISTXATTR = bind("flistxattr", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle FREMOVEXATTR = bind("fremovexattr", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));

    private static MethodHandle bind(String name, FunctionDescriptor descriptor, Linker.Option... extra) {
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        Linker.Option[] options = new Linker.Option[extra.length + 1];
        options[0] = ERRNO_OPT;
        System.arraycopy(extra, 0, options, 1, extra.length);
        return LINKER.downcallHandle(symbol, descriptor, options);
    }

    /** statx's buffer (linux/stat.h, 256 bytes) and the offsets {@link Stat} reads. */
    private static final int STATX_BYTES = 256;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment state = arena.allocate(CALL_STATE);
    private final MemorySegment name1 = arena.allocate(PATH_MAX);
    private final MemorySegment name2 = arena.allocate(PATH_MAX);
    private final MemorySegment how = arena.allocate(24, 8);
    private final MemorySegment statx = arena.allocate(STATX_BYTES, 8);
    private final MemorySegment small = arena.allocate(64, 8);
    /** I/O scratch of {@code ioBytes}: file data, directory entries, xattr values. */
    final MemorySegment io;

    HostFs(int ioBytes) {
        io = arena.allocate(ioBytes, 4096);
    }

    @Override
    public void close() {
        arena.close();
    }

    private int errno() {
        return (int) ERRNO.get(state, 0L);
    }

    private int check(int result) {
        return result < 0 ? -errno() : result;
    }

    private long check(long result) {
        return result < 0 ? -errno() : result;
    }

    /** Copies {@code name} NUL-terminated into {@code into}; the caller bounded its length. */
    private static MemorySegment cstring(MemorySegment into, byte[] name) {
        MemorySegment.copy(name, 0, into, JAVA_BYTE, 0, name.length);
        into.set(JAVA_BYTE, name.length, (byte) 0);
        return into;
    }

    private static AssertionError rethrow(Throwable t) {
        return new AssertionError("native call failed", t);
    }

    // ---- opening and closing --------------------------------------------------------------

    /**
     * {@code openat2(dirfd, name, {flags | O_CLOEXEC, mode, resolve})}: the one way the server
     * opens a name, so the kernel refuses any resolution that leaves {@code dirfd}.
     */
    int openat2(int dirfd, byte[] name, int flags, int mode, long resolve) {
        how.set(JAVA_LONG, 0, (flags | O_CLOEXEC) & 0xFFFF_FFFFL);
        how.set(JAVA_LONG, 8, mode);
        how.set(JAVA_LONG, 16, resolve);
        try {
            return (int) check((long) SYSCALL4.invokeExact(state, SYS_OPENAT2, (long) dirfd, cstring(name1, name), how, 24L));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Opens a host path (the share's root, at device creation): {@code openat(AT_FDCWD, path)}. */
    int openPath(byte[] path, int flags) {
        try {
            return check((int) OPENAT.invokeExact(state, AT_FDCWD, cstring(name1, path), flags | O_CLOEXEC, 0));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Reopens the file an {@code O_PATH} descriptor holds, with {@code flags}, through its
     * {@code /proc/self/fd/N} entry. That entry is a magic link to the very file object
     * {@code fd} refers to: no name is looked up, so nothing outside the share can be reached
     * that {@code fd} did not already hold (virtiofsd reopens the same way).
     */
    int reopen(int fd, int flags) {
        byte[] path = ("/proc/self/fd/" + fd).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        try {
            return check((int) OPENAT.invokeExact(state, AT_FDCWD, cstring(name2, path), (flags & ~O_NOFOLLOW) | O_CLOEXEC, 0));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void close(int fd) {
        try {
            int ignored = (int) CLOSE.invokeExact(state, fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- attributes -----------------------------------------------------------------------

    /** The fields of {@code struct statx} the server uses. */
    record Stat(long dev, long ino, int mode, int nlink, int uid, int gid, long rdev, long size, long blocks,
                int blksize, long atime, int atimeNsec, long mtime, int mtimeNsec, long ctime, int ctimeNsec) {

        int type() {
            return mode & S_IFMT;
        }

        boolean isDirectory() {
            return type() == S_IFDIR;
        }
    }

    /** {@code statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)}: the file {@code fd} holds; null with {@code -errno} in {@code error[0]}. */
    Stat stat(int fd, int[] error) {
        try {
            int r = check((int) STATX.invokeExact(state, fd, cstring(name2, new byte[0]),
                    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, statx));
            if (r < 0) {
                error[0] = r;
                return null;
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
        MemorySegment s = statx;
        long dev = (s.get(JAVA_INT, 136) & 0xFFFF_FFFFL) << 32 | (s.get(JAVA_INT, 140) & 0xFFFF_FFFFL);
        long rdevMajor = s.get(JAVA_INT, 128) & 0xFFFF_FFFFL, rdevMinor = s.get(JAVA_INT, 132) & 0xFFFF_FFFFL;
        // The guest's 32-bit rdev: the kernel's new_encode_dev.
        long rdev = (rdevMinor & 0xff) | (rdevMajor << 8) | ((rdevMinor & ~0xffL) << 12);
        return new Stat(dev, s.get(JAVA_LONG, 32), Short.toUnsignedInt(s.get(java.lang.foreign.ValueLayout.JAVA_SHORT, 28)),
                s.get(JAVA_INT, 16), s.get(JAVA_INT, 20), s.get(JAVA_INT, 24), rdev & 0xFFFF_FFFFL,
                s.get(JAVA_LONG, 40), s.get(JAVA_LONG, 48), s.get(JAVA_INT, 4),
                s.get(JAVA_LONG, 64), s.get(JAVA_INT, 72), s.get(JAVA_LONG, 112), s.get(JAVA_INT, 120),
                s.get(JAVA_LONG, 96), s.get(JAVA_INT, 104));
    }

    /** {@code fchmodat2(fd, "", mode, AT_EMPTY_PATH)} (Linux 6.6), else -ENOSYS. */
    int chmodEmptyPath(int fd, int mode) {
        try {
            return (int) check((long) SYSCALL_CHMOD.invokeExact(state, SYS_FCHMODAT2, (long) fd, cstring(name2, new byte[0]),
                    (long) mode, (long) AT_EMPTY_PATH));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int fchmod(int fd, int mode) {
        try {
            return check((int) FCHMOD.invokeExact(state, fd, mode));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)}; -1 leaves an id as it is. */
    int chown(int fd, int uid, int gid) {
        try {
            return check((int) FCHOWNAT.invokeExact(state, fd, cstring(name2, new byte[0]), uid, gid,
                    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** UTIME_NOW and UTIME_OMIT for {@link #utimes}' nanoseconds. */
    static final long UTIME_NOW = (1L << 30) - 1, UTIME_OMIT = (1L << 30) - 2;

    /** {@code utimensat(fd, "", times, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)}. */
    int utimes(int fd, long atime, long atimeNsec, long mtime, long mtimeNsec) {
        small.set(JAVA_LONG, 0, atime);
        small.set(JAVA_LONG, 8, atimeNsec);
        small.set(JAVA_LONG, 16, mtime);
        small.set(JAVA_LONG, 24, mtimeNsec);
        try {
            return check((int) UTIMENSAT.invokeExact(state, fd, cstring(name2, new byte[0]), small,
                    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code fstatvfs(fd)}: {bsize, frsize, blocks, bfree, bavail, files, ffree, namemax}, or null. */
    long[] statvfs(int fd) {
        MemorySegment buf = io.asSlice(0, 112);
        try {
            if (check((int) FSTATVFS.invokeExact(state, fd, buf)) < 0) {
                return null;
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
        // glibc's 64-bit struct statvfs: eight unsigned longs, fsid, flag, namemax.
        return new long[] {buf.get(JAVA_LONG, 0), buf.get(JAVA_LONG, 8), buf.get(JAVA_LONG, 16), buf.get(JAVA_LONG, 24),
                buf.get(JAVA_LONG, 32), buf.get(JAVA_LONG, 40), buf.get(JAVA_LONG, 48), buf.get(JAVA_LONG, 80)};
    }

    // ---- data -----------------------------------------------------------------------------

    /** {@code pread} of up to {@code length} bytes into {@link #io}. */
    long pread(int fd, long length, long offset) {
        try {
            return check((long) PREAD.invokeExact(state, fd, io, length, offset));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code pwrite} (or {@code write}, for O_APPEND files, where the offset is the end) of {@link #io}'s first bytes. */
    long pwrite(int fd, long length, long offset, boolean append) {
        try {
            return check(append ? (long) WRITE.invokeExact(state, fd, io, length)
                    : (long) PWRITE.invokeExact(state, fd, io, length, offset));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int fsync(int fd, boolean dataOnly) {
        try {
            return check(dataOnly ? (int) FDATASYNC.invokeExact(state, fd) : (int) FSYNC.invokeExact(state, fd));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int ftruncate(int fd, long size) {
        try {
            return check((int) FTRUNCATE.invokeExact(state, fd, size));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int fallocate(int fd, int mode, long offset, long length) {
        try {
            return check((int) FALLOCATE.invokeExact(state, fd, mode, offset, length));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long lseek(int fd, long offset, int whence) {
        try {
            return check((long) LSEEK.invokeExact(state, fd, offset, whence));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code getdents64} of up to {@code length} bytes into {@link #io}. */
    long getdents(int fd, long length) {
        try {
            return check((long) GETDENTS.invokeExact(state, fd, io, length));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- names in a directory -------------------------------------------------------------

    int mkdirat(int dirfd, byte[] name, int mode) {
        try {
            return check((int) MKDIRAT.invokeExact(state, dirfd, cstring(name1, name), mode));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int mknodat(int dirfd, byte[] name, int mode, long dev) {
        try {
            return check((int) MKNODAT.invokeExact(state, dirfd, cstring(name1, name), mode, dev));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int unlinkat(int dirfd, byte[] name, int flags) {
        try {
            return check((int) UNLINKAT.invokeExact(state, dirfd, cstring(name1, name), flags));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int renameat2(int olddir, byte[] oldname, int newdir, byte[] newname, int flags) {
        try {
            return check((int) RENAMEAT2.invokeExact(state, olddir, cstring(name1, oldname), newdir,
                    cstring(name2, newname), flags));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int symlinkat(byte[] target, int dirfd, byte[] name) {
        try {
            return check((int) SYMLINKAT.invokeExact(state, cstring(name2, target), dirfd, cstring(name1, name)));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code readlinkat(fd, "")}: the target of the symlink {@code fd} holds, into {@link #io}. */
    long readlink(int fd) {
        try {
            return check((long) READLINKAT.invokeExact(state, fd, cstring(name1, new byte[0]), io, (long) PATH_MAX));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code linkat(fd, "", dirfd, name, AT_EMPTY_PATH)}: a new name for the file {@code fd} holds. */
    int linkEmptyPath(int fd, int dirfd, byte[] name) {
        try {
            return check((int) LINKAT.invokeExact(state, fd, cstring(name2, new byte[0]), dirfd, cstring(name1, name),
                    AT_EMPTY_PATH));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- extended attributes (on a descriptor opened for reading) ---------------------------

    long getxattr(int fd, byte[] name, long size) {
        try {
            return check((long) FGETXATTR.invokeExact(state, fd, cstring(name1, name), (MemorySegment) (size == 0 ? MemorySegment.NULL : io), size));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int setxattr(int fd, byte[] name, long size, int flags) {
        try {
            return check((int) FSETXATTR.invokeExact(state, fd, cstring(name1, name), io, size, flags));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long listxattr(int fd, long size) {
        try {
            return check((long) FLISTXATTR.invokeExact(state, fd, (MemorySegment) (size == 0 ? MemorySegment.NULL : io), size));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int removexattr(int fd, byte[] name) {
        try {
            return check((int) FREMOVEXATTR.invokeExact(state, fd, cstring(name1, name)));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
