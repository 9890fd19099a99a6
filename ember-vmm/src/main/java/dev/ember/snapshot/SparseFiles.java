package dev.ember.snapshot;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The data regions of a sparse file, found with {@code lseek(SEEK_DATA)} and
 * {@code lseek(SEEK_HOLE)} (Linux, since 3.1) through {@code java.lang.foreign}.
 */
public final class SparseFiles {

    private static final int SEEK_DATA = 3, SEEK_HOLE = 4;
    private static final int O_RDONLY = 0, O_CLOEXEC = 0x80000;
    private static final int ENXIO = 6;
    private static final MethodHandle OPEN, CLOSE, LSEEK;
    private static final java.lang.invoke.VarHandle ERRNO;
    private static final long ERRNO_BYTES;

    static {
        Linker linker = Linker.nativeLinker();
        var libc = linker.defaultLookup();
        var errno = Linker.Option.captureCallState("errno");
        OPEN = linker.downcallHandle(libc.find("open").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        CLOSE = linker.downcallHandle(libc.find("close").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        LSEEK = linker.downcallHandle(libc.find("lseek").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT),
                errno);
        var layout = Linker.Option.captureStateLayout();
        ERRNO = layout.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
        ERRNO_BYTES = layout.byteSize();
    }

    private SparseFiles() { }

    /** {@return the {@code [start, end)} ranges of {@code file}'s first {@code size} bytes that hold data} */
    public static List<long[]> dataExtents(Path file, long size) throws IOException {
        List<long[]> out = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            int fd = (int) OPEN.invokeExact(arena.allocateFrom(file.toAbsolutePath().toString()), O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                throw new IOException("cannot open " + file);
            }
            MemorySegment state = arena.allocate(ERRNO_BYTES);
            try {
                long pos = 0;
                while (pos < size) {
                    long data = (long) LSEEK.invokeExact(state, fd, pos, SEEK_DATA);
                    if (data < 0) {
                        if ((int) ERRNO.get(state, 0L) == ENXIO) {
                            break;   // no data after pos
                        }
                        throw new IOException("lseek(SEEK_DATA) failed on " + file + ", errno " + ERRNO.get(state, 0L));
                    }
                    long hole = (long) LSEEK.invokeExact(state, fd, data, SEEK_HOLE);
                    if (hole < 0) {
                        throw new IOException("lseek(SEEK_HOLE) failed on " + file + ", errno " + ERRNO.get(state, 0L));
                    }
                    out.add(new long[] {data, Math.min(hole, size)});
                    pos = hole;
                }
            } finally {
                int unused = (int) CLOSE.invokeExact(fd);
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("cannot read the layout of " + file + ": " + t, t);
        }
        return out;
    }
}
