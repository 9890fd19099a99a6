package dev.ember.snapshot;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * The memory file: guest RAM byte for byte, offset 0 being the first byte of RAM, as
 * Firecracker's, followed by a {@value #TRAILER}-byte trailer: the magic {@code EMBERMEM}, the
 * snapshot's 16-byte id (which its state file names too, so a state file is never loaded with
 * another snapshot's memory) and the RAM size, little-endian. Pages that hold only zeros are not
 * written, so the file is sparse (a hole) wherever the guest never wrote or wrote zeros. It is
 * restored by mapping its RAM part copy-on-write ({@code dev.ember.memory.GuestMemory#mapPrivate}).
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
    /** Bytes after guest RAM: magic, snapshot id, RAM size. */
    public static final int TRAILER = 4096;
    private static final byte[] TRAILER_MAGIC = {'E', 'M', 'B', 'E', 'R', 'M', 'E', 'M'};
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
        byte[] id = SnapshotPair.newId();
        Written[] w = {null};
        AtomicFiles.write(path, temp -> w[0] = writeTo(temp, ram, null, id));
        return w[0];
    }

    /**
     * Writes a memory file into {@code temp}: every non-zero page of {@code ram}, or with
     * {@code dirty} every page set in it (zero or not), then the trailer with {@code id}.
     */
    static Written writeTo(Path temp, MemorySegment ram, long[] dirty, byte[] id) throws IOException {
        long size = ram.byteSize();
        long pageCount = size / PAGE;
        long pages = 0;
        try (RandomAccessFile file = new RandomAccessFile(temp.toFile(), "rw")) {
            FileChannel ch = file.getChannel();
            long run = -1;   // first page of the current run of pages to write
            for (long p = 0; p <= pageCount; p++) {
                boolean take = p < pageCount && (dirty != null
                        ? (dirty[(int) (p >>> 6)] & (1L << (p & 63))) != 0
                        : MemorySegment.mismatch(ram, p * PAGE, p * PAGE + PAGE, ZERO_PAGE, 0, PAGE) != -1);
                if (take) {
                    pages++;
                    if (run < 0) {
                        run = p;
                    }
                } else if (run >= 0) {
                    writeRange(ch, ram, run * PAGE, p * PAGE);
                    run = -1;
                }
            }
            java.nio.ByteBuffer trailer = java.nio.ByteBuffer.allocate(TRAILER).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            trailer.put(TRAILER_MAGIC).put(id).putLong(size).clear();
            long at = size;
            while (trailer.hasRemaining()) {
                at += ch.write(trailer, at);
            }
            file.setLength(size + TRAILER);
        }
        return new Written(size, pages);
    }

    /**
     * {@return the snapshot id in the trailer of {@code file}}
     *
     * @throws SnapshotException if the file is missing, is not of a guest of {@code ramSize}
     *                           bytes, or has no Ember trailer
     */
    public static byte[] readId(Path file, long ramSize) throws SnapshotException {
        try (FileChannel ch = FileChannel.open(file, java.nio.file.StandardOpenOption.READ)) {
            long size = ch.size();
            if (size != ramSize + TRAILER) {
                throw new SnapshotException("memory file " + file + " holds " + size + " bytes; the snapshot's guest has "
                        + ramSize + " bytes of memory (" + (ramSize + TRAILER) + " with the trailer)");
            }
            java.nio.ByteBuffer t = java.nio.ByteBuffer.allocate(8 + 16 + 8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            while (t.hasRemaining() && ch.read(t, ramSize + t.position()) > 0) {
                // reading the trailer
            }
            t.flip();
            byte[] magic = new byte[8];
            byte[] id = new byte[16];
            t.get(magic).get(id);
            if (t.remaining() < 8 || !java.util.Arrays.equals(magic, TRAILER_MAGIC) || t.getLong() != ramSize) {
                throw new SnapshotException("memory file " + file + " is not an Ember memory file (no trailer)");
            }
            return id;
        } catch (java.nio.file.NoSuchFileException e) {
            throw new SnapshotException("memory file " + file + " does not exist");
        } catch (IOException e) {
            throw new SnapshotException("cannot read memory file " + file + ": " + e.getMessage(), e);
        }
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
