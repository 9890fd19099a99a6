package dev.ember.snapshot;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * The memory file: guest RAM byte for byte, offset 0 being the first byte of RAM, as
 * Firecracker's. Pages that hold only zeros are not written, so the file is sparse (a hole)
 * wherever the guest never wrote or wrote zeros; its length is the RAM size. It is restored by
 * mapping it copy-on-write ({@code dev.ember.memory.GuestMemory#mapPrivate}).
 */
public final class MemoryFile {

    /** The unit of sparseness. */
    public static final int PAGE = 4096;
    private static final MemorySegment ZERO_PAGE = MemorySegment.ofArray(new byte[PAGE]);

    /** What a write produced. */
    public record Written(long bytes, long pagesWritten) { }

    private MemoryFile() { }

    /**
     * Writes {@code ram} to {@code path} atomically (temporary file, then rename).
     *
     * @throws IOException if it cannot; an earlier file at {@code path} is then intact
     */
    public static Written write(Path path, MemorySegment ram) throws IOException {
        long size = ram.byteSize();
        long[] pages = {0};
        AtomicFiles.write(path, temp -> {
            try (RandomAccessFile file = new RandomAccessFile(temp.toFile(), "rw")) {
                FileChannel ch = file.getChannel();
                long run = -1;   // start of the current run of non-zero pages
                for (long off = 0; off <= size; off += PAGE) {
                    boolean zero = off == size
                            || MemorySegment.mismatch(ram, off, off + PAGE, ZERO_PAGE, 0, PAGE) == -1;
                    if (!zero) {
                        pages[0]++;
                        if (run < 0) {
                            run = off;
                        }
                    } else if (run >= 0) {
                        writeRange(ch, ram, run, off);
                        run = -1;
                    }
                }
                file.setLength(size);
            }
        });
        return new Written(size, pages[0]);
    }

    private static void writeRange(FileChannel ch, MemorySegment ram, long from, long to) throws IOException {
        long pos = from;
        while (pos < to) {
            long chunk = Math.min(to - pos, 1L << 30);
            var buf = ram.asSlice(pos, chunk).asByteBuffer();
            while (buf.hasRemaining()) {
                pos += ch.write(buf, pos);
            }
        }
    }
}
