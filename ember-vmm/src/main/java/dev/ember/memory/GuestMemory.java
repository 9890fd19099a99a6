package dev.ember.memory;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Guest RAM: one contiguous block of guest-physical memory, backed by a native
 * {@link MemorySegment}.
 *
 * <p>The block is mapped with {@code mmap(MAP_ANONYMOUS | MAP_NORESERVE)} through the
 * foreign-function API, so the host commits a page only when the guest first touches it: a
 * 512 MiB guest that uses 40 MiB costs about 40 MiB of host memory, and nothing is zero-filled
 * up front. Where {@code mmap} cannot be called, an {@link Arena} allocation is the fallback.
 *
 * <p>Addresses named {@code gpa} are guest-physical; {@code offset} is relative to
 * {@link #base()}. The plain accessors are little-endian and accept any alignment. The
 * {@code VarHandle}s support the atomic access modes that LR/SC and the AMOs need; they require
 * natural alignment.
 *
 * <p>Threads: shared by every vCPU thread and device thread; the segment is thread-safe in the
 * sense of the Java memory model for plain accesses, and the atomic handles give the
 * ordering RISC-V's A extension requires.
 */
public final class GuestMemory implements AutoCloseable {

    public static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;
    public static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Atomic 32-bit access, coordinates {@code (MemorySegment, long offset)}; offset must be 4-aligned. */
    public static final VarHandle ATOMIC_U32 =
            ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    /** Atomic 64-bit access, coordinates {@code (MemorySegment, long offset)}; offset must be 8-aligned. */
    public static final VarHandle ATOMIC_U64 =
            ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    private final long base;
    private final long size;
    private final MemorySegment ram;
    private final Arena arena;
    private final boolean mapped;
    private final boolean fileBacked;
    private final CodePages codePages;
    /** The dirty-page log, or null while dirty pages are not tracked. */
    private volatile DirtyPages dirtyPages;

    private GuestMemory(long base, long size, MemorySegment ram, Arena arena, boolean mapped, boolean fileBacked) {
        this.base = base;
        this.size = size;
        this.ram = ram;
        this.arena = arena;
        this.mapped = mapped;
        this.fileBacked = fileBacked;
        this.codePages = new CodePages(size);
    }

    /**
     * Maps {@code size} bytes of zeroed guest RAM at guest-physical {@code base}.
     *
     * @throws IllegalArgumentException if the size is not a positive multiple of 4 KiB
     */
    public static GuestMemory allocate(long base, long size) {
        if (size <= 0 || (size & 0xFFF) != 0) {
            throw new IllegalArgumentException("memory size must be a positive multiple of 4 KiB: " + size);
        }
        MemorySegment mappedSegment = Mmap.anonymous(size);
        if (mappedSegment != null) {
            return new GuestMemory(base, size, mappedSegment, null, true, false);
        }
        Arena arena = Arena.ofShared();
        return new GuestMemory(base, size, arena.allocate(size, 4096), arena, false, false);
    }

    /**
     * Maps {@code file} copy-on-write ({@code mmap(MAP_PRIVATE)}) as {@code size} bytes of guest
     * RAM at {@code base}: nothing is read up front, a page is read from the file when the guest
     * first touches it, and a page the guest writes becomes this VM's own, so the file is never
     * changed and any number of VMs can map it at once. This is how a snapshot is restored.
     *
     * @throws IOException if the file cannot be opened or mapped, or holds fewer than
     *                     {@code size} bytes (bytes after them, such as a snapshot's trailer, are not mapped)
     */
    public static GuestMemory mapPrivate(long base, long size, Path file) throws IOException {
        if (size <= 0 || (size & 0xFFF) != 0) {
            throw new IllegalArgumentException("memory size must be a positive multiple of 4 KiB: " + size);
        }
        long fileSize = Files.size(file);
        if (fileSize < size) {
            throw new IOException("memory file " + file + " holds " + fileSize + " bytes; the guest has " + size);
        }
        return new GuestMemory(base, size, Mmap.file(file, size), null, true, true);
    }

    /** {@return the guest-physical address of the first byte} */
    public long base() {
        return base;
    }

    /** {@return the size in bytes} */
    public long size() {
        return size;
    }

    /**
     * {@return the backing segment; offsets into it are {@code gpa - base()}} Whoever writes
     * through it reports the write with {@link #written}, unless it is a hart storing through
     * its store TLB (see {@link CodePages}).
     */
    public MemorySegment segment() {
        return ram;
    }

    /** {@return the pages that hold decoded or translated code, and the writes that invalidate it} */
    public CodePages codePages() {
        return codePages;
    }

    /**
     * Reports that {@code [gpa, gpa + length)} was written through {@link #segment()} (device
     * DMA, atomics), so code decoded from it is dropped. The write methods of this class report
     * their own writes.
     */
    public void written(long gpa, long length) {
        codePages.written(gpa - base, length);
        DirtyPages d = dirtyPages;
        if (d != null) {
            d.mark(gpa - base, length);
        }
    }

    /**
     * Reports a write at RAM offset {@code offset} to the dirty-page log only: a hart's store
     * that fills its store TLB, or an atomic. Code invalidation has its own path for those.
     */
    public void dirtied(long offset, long length) {
        DirtyPages d = dirtyPages;
        if (d != null) {
            d.mark(offset, length);
        }
    }

    /**
     * Starts logging which pages are written (Firecracker's {@code track_dirty_pages}); the
     * harts' store TLBs must be empty from here on, which a paused or not yet started VM's are
     * after {@link dev.ember.riscv.cpu.Mmu#dropWritable}. Idempotent.
     */
    public synchronized void trackDirtyPages() {
        if (dirtyPages == null) {
            dirtyPages = new DirtyPages(size);
        }
    }

    /** {@return the dirty-page log, or null when pages are not tracked} */
    public DirtyPages dirtyPages() {
        return dirtyPages;
    }

    /** {@return whether {@code [gpa, gpa + length)} lies wholly inside RAM} */
    public boolean contains(long gpa, long length) {
        long offset = gpa - base;
        return offset >= 0 && length >= 0 && offset <= size - length;
    }

    public int readU8(long gpa) { return ram.get(U8, gpa - base) & 0xFF; }
    public int readU16(long gpa) { return ram.get(U16, gpa - base) & 0xFFFF; }
    public long readU32(long gpa) { return ram.get(U32, gpa - base) & 0xFFFF_FFFFL; }
    public long readU64(long gpa) { return ram.get(U64, gpa - base); }

    public void write8(long gpa, int value) { ram.set(U8, gpa - base, (byte) value); written(gpa, 1); }
    public void write16(long gpa, int value) { ram.set(U16, gpa - base, (short) value); written(gpa, 2); }
    public void write32(long gpa, int value) { ram.set(U32, gpa - base, value); written(gpa, 4); }
    public void write64(long gpa, long value) { ram.set(U64, gpa - base, value); written(gpa, 8); }

    /** Copies {@code bytes} into guest memory at {@code gpa}. */
    public void write(long gpa, byte[] bytes) {
        MemorySegment.copy(bytes, 0, ram, U8, gpa - base, bytes.length);
        written(gpa, bytes.length);
    }

    /** Copies {@code length} bytes of guest memory at {@code gpa} into a new array. */
    public byte[] read(long gpa, int length) {
        byte[] out = new byte[length];
        MemorySegment.copy(ram, U8, gpa - base, out, 0, length);
        return out;
    }

    /**
     * Tells the host it may drop the pages of {@code [gpa, gpa + length)}; they read as zero
     * afterwards. Used by the balloon and by reboot. Does nothing on the fallback allocation
     * but zero the range.
     */
    public void discard(long gpa, long length) {
        MemorySegment range = ram.asSlice(gpa - base, length);
        // MADV_DONTNEED on a private file mapping would bring back the file's bytes, not zeros:
        // there the range is replaced by fresh anonymous memory instead.
        boolean dropped = fileBacked ? Mmap.replaceWithAnonymous(range) : mapped && Mmap.discard(range);
        if (!dropped) {
            range.fill((byte) 0);
        }
        written(gpa, length);
    }

    @Override
    public void close() {
        if (mapped) {
            Mmap.unmap(ram);
        } else {
            arena.close();
        }
    }

    /** The three libc calls guest RAM needs, bound once through the linker. */
    private static final class Mmap {
        private static final int PROT_READ = 1, PROT_WRITE = 2;
        private static final int MAP_PRIVATE = 0x02, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20, MAP_NORESERVE = 0x4000;
        private static final int MADV_DONTNEED = 4;
        private static final int O_RDONLY = 0, O_CLOEXEC = 0x80000;
        private static final MethodHandle MMAP, MUNMAP, MADVISE, OPEN, CLOSE;

        static {
            MethodHandle mmap = null, munmap = null, madvise = null, open = null, close = null;
            try {
                Linker linker = Linker.nativeLinker();
                var libc = linker.defaultLookup();
                mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
                munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
                madvise = linker.downcallHandle(libc.find("madvise").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                                ValueLayout.JAVA_INT));
                open = linker.downcallHandle(libc.find("open").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
                close = linker.downcallHandle(libc.find("close").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            } catch (Throwable unavailable) {
                // No native access (e.g. a restricted JVM): GuestMemory falls back to an Arena.
                mmap = munmap = madvise = open = close = null;
            }
            MMAP = mmap;
            MUNMAP = munmap;
            MADVISE = madvise;
            OPEN = open;
            CLOSE = close;
        }

        /** Maps {@code size} bytes of {@code file} privately (copy-on-write), read and write. */
        static MemorySegment file(Path file, long size) throws IOException {
            if (MMAP == null || OPEN == null) {
                throw new IOException("this JVM cannot call mmap (native access is disabled), so snapshots cannot be restored");
            }
            try (Arena a = Arena.ofConfined()) {
                int fd = (int) OPEN.invokeExact(a.allocateFrom(file.toAbsolutePath().toString()), O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                    throw new IOException("cannot open memory file " + file);
                }
                try {
                    MemorySegment p = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, size,
                            PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0L);
                    if (p.address() == -1L || p.address() == 0L) {
                        throw new IOException("cannot map memory file " + file);
                    }
                    return p.reinterpret(size);
                } finally {
                    int unused = (int) CLOSE.invokeExact(fd);   // the mapping keeps the file
                }
            } catch (IOException e) {
                throw e;
            } catch (Throwable t) {
                throw new IOException("cannot map memory file " + file + ": " + t, t);
            }
        }

        /** Replaces {@code range} of a mapping with zeroed anonymous pages ({@code MAP_FIXED}). */
        static boolean replaceWithAnonymous(MemorySegment range) {
            try {
                MemorySegment p = (MemorySegment) MMAP.invokeExact(range, range.byteSize(), PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0L);
                return p.address() == range.address();
            } catch (Throwable t) {
                return false;
            }
        }

        static MemorySegment anonymous(long size) {
            if (MMAP == null) {
                return null;
            }
            try {
                MemorySegment p = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, size,
                        PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0L);
                if (p.address() == -1L || p.address() == 0L) {
                    return null;
                }
                return p.reinterpret(size);
            } catch (Throwable t) {
                return null;
            }
        }

        static boolean discard(MemorySegment range) {
            try {
                return MADVISE != null && (int) MADVISE.invokeExact(range, range.byteSize(), MADV_DONTNEED) == 0;
            } catch (Throwable t) {
                return false;
            }
        }

        static void unmap(MemorySegment segment) {
            try {
                int unused = (int) MUNMAP.invokeExact(segment, segment.byteSize());
            } catch (Throwable ignored) {
                // The process is ending or the VM is being torn down; nothing to recover.
            }
        }
    }
}
