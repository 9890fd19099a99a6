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
 *
 * <p>A Diff snapshot's memory file has the same layout but holds only the pages written since
 * the previous snapshot, each written out even when it is all zeros; every other page is a
 * hole. {@link #rebase} applies it to the memory file it follows, as Firecracker's
 * {@code rebase-snap}: the data regions of the diff are copied over the base. This needs a file
 * system that keeps holes (ext4, xfs, btrfs, tmpfs do).
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

    /**
     * Writes the pages of {@code ram} set in {@code dirty} (bit {@code p % 64} of word
     * {@code p / 64} for page {@code p}) to {@code path} atomically; the rest is holes.
     */
    public static Written writeDiff(Path path, MemorySegment ram, long[] dirty) throws IOException {
        long size = ram.byteSize();
        long pageCount = size / PAGE;
        long[] pages = {0};
        AtomicFiles.write(path, temp -> {
            try (RandomAccessFile file = new RandomAccessFile(temp.toFile(), "rw")) {
                FileChannel ch = file.getChannel();
                long run = -1;
                for (long p = 0; p <= pageCount; p++) {
                    boolean set = p < pageCount && (dirty[(int) (p >>> 6)] & (1L << (p & 63))) != 0;
                    if (set) {
                        pages[0]++;
                        if (run < 0) {
                            run = p;
                        }
                    } else if (run >= 0) {
                        writeRange(ch, ram, run * PAGE, p * PAGE);
                        run = -1;
                    }
                }
                file.setLength(size);
            }
        });
        return new Written(size, pages[0]);
    }

    /**
     * Copies every data region of {@code diff} into {@code base} at the same offset, so that
     * {@code base} becomes the full memory file of the Diff snapshot that {@code diff} belongs to.
     *
     * @return the bytes copied
     * @throws IOException if the files differ in size or cannot be read or written
     */
    public static long rebase(Path base, Path diff) throws IOException {
        long size = java.nio.file.Files.size(diff);
        if (java.nio.file.Files.size(base) != size) {
            throw new IOException("the base memory file " + base + " holds " + java.nio.file.Files.size(base)
                    + " bytes, the diff " + size + ": they are not of one VM");
        }
        long copied = 0;
        try (FileChannel from = FileChannel.open(diff, java.nio.file.StandardOpenOption.READ);
             FileChannel to = FileChannel.open(base, java.nio.file.StandardOpenOption.WRITE)) {
            for (long[] extent : SparseFiles.dataExtents(diff, size)) {
                long pos = extent[0];
                while (pos < extent[1]) {
                    long n = from.transferTo(pos, extent[1] - pos, to.position(pos));
                    if (n <= 0) {
                        throw new IOException("short read from " + diff + " at " + pos);
                    }
                    pos += n;
                    copied += n;
                }
            }
            to.force(true);
        }
        return copied;
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
