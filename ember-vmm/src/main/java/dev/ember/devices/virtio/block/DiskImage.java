package dev.ember.devices.virtio.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * A raw disk image: a regular host file whose bytes are the disk's bytes, sector {@code n} at
 * file offset {@code 512 * n}, read and written with positional {@link FileChannel} I/O.
 *
 * <p>{@link #open} validates everything the user can get wrong before the guest starts: the file
 * exists, is a regular file (not a directory or a device node), is readable, is writable unless
 * the drive is read-only, and holds at least one 512-byte sector. The capacity is
 * {@code size / 512}; a trailing partial sector is not addressable by the guest and is never
 * read or written. The file never grows: the device refuses every request beyond the capacity.
 *
 * <p>Host faults: the capacity is fixed when the image opens. If the file is truncated under a
 * running VM, a read that reaches past its new end fails ({@link #read} throws, the device
 * answers VIRTIO_BLK_S_IOERR), as Firecracker's sync engine ({@code read_exact} meets end of
 * file); it never returns zeros the guest did not write. A write past the new end grows the file
 * back, at most to the capacity, again as Firecracker. Full file systems (ENOSPC) and failing
 * ones (EIO) surface the same way, as the {@link IOException} of the call; see {@link #flush}
 * for why a failed flush stays failed.
 *
 * <p>Locking: unlike Firecracker, which does not lock, an image is locked with
 * {@link FileChannel#tryLock} (an advisory, whole-file lock, as QEMU does since 2.10), so that
 * two VMs cannot both write one image and silently corrupt it. A read-write drive takes an
 * exclusive lock, a read-only drive a shared one: any number of VMs may share a read-only base
 * image, but none may write it meanwhile. A conflict with another process is a
 * {@link DiskImageException}. Within one JVM the JDK refuses overlapping locks outright; a
 * read-write open of a file this JVM already has open is refused, while a read-only open of it
 * goes ahead without a lock of its own (the holder's lock still keeps other processes out).
 * Tools that ignore advisory locks (dd, cp) are not stopped.
 *
 * <p>Threads: opened by the thread that builds the VM; then used by the thread that serves the
 * device (under the device's lock) and closed when the VM ends. {@link FileChannel}'s positional
 * I/O is itself safe for concurrent use.
 */
public final class DiskImage implements AutoCloseable {

    /** The unit of addressing of virtio-blk (§5.2.4: capacity is in 512-byte sectors). */
    public static final int SECTOR_SIZE = 512;

    private final String driveId;
    private final Path path;
    private final boolean readOnly;
    private final FileChannel channel;
    private final long capacitySectors;
    private final FileLock lock;   // null when this JVM already held one on the file (read-only only)
    /** The image an overlay reads its unwritten blocks from; null for a plain image. */
    private final DiskImage backing;
    /** With {@link #backing}: the overlay's blocks that hold data, one bit per {@link #BLOCK} bytes. */
    private final long[] present;
    private final long fileBytes;
    /** Why the first failed flush failed; null while none has. Guarded by the device's lock. */
    private String flushFailure;

    /** The overlay's unit of copy-on-write. */
    static final int BLOCK = 4096;

    private DiskImage(String driveId, Path path, boolean readOnly, FileChannel channel,
                      long capacitySectors, FileLock lock) {
        this(driveId, path, readOnly, channel, capacitySectors, lock, null, null, capacitySectors * SECTOR_SIZE);
    }

    private DiskImage(String driveId, Path path, boolean readOnly, FileChannel channel, long capacitySectors,
                      FileLock lock, DiskImage backing, long[] present, long fileBytes) {
        this.driveId = driveId;
        this.path = path;
        this.readOnly = readOnly;
        this.channel = channel;
        this.capacitySectors = capacitySectors;
        this.lock = lock;
        this.backing = backing;
        this.present = present;
        this.fileBytes = fileBytes;
    }

    /**
     * Opens a writable copy-on-write overlay: blocks the guest has written live in
     * {@code overlay}, every other block is read from {@code backingFile}, which is opened
     * read-only and never changed. The overlay is a sparse file of the backing file's size,
     * created when missing; which blocks it holds is read from its data regions
     * ({@code SEEK_DATA}), so an overlay survives the VM and needs a file system that keeps
     * holes. This is what each clone of a VM with a writable drive gets.
     *
     * @throws DiskImageException with a one-line message if either file cannot serve
     */
    public static DiskImage openOverlay(String driveId, Path overlay, Path backingFile) throws DiskImageException {
        String what = "drive " + driveId + ": ";
        DiskImage base = open(driveId, backingFile, true);
        long size = base.capacitySectors * SECTOR_SIZE;
        try {
            if (!Files.exists(overlay)) {
                try (var f = new java.io.RandomAccessFile(overlay.toFile(), "rw")) {
                    f.setLength(size);
                }
            }
            if (Files.size(overlay) != size) {
                throw new DiskImageException(what + "overlay " + overlay + " holds " + Files.size(overlay)
                        + " bytes, its backing file " + size);
            }
            FileChannel channel = FileChannel.open(overlay, StandardOpenOption.READ, StandardOpenOption.WRITE);
            try {
                FileLock lock = lock(what, overlay, channel, false);
                long blocks = (size + BLOCK - 1) / BLOCK;
                long[] present = new long[(int) ((blocks + 63) >>> 6)];
                for (long[] extent : dev.ember.snapshot.SparseFiles.dataExtents(overlay, size)) {
                    for (long b = extent[0] / BLOCK; b * BLOCK < extent[1]; b++) {
                        present[(int) (b >>> 6)] |= 1L << (b & 63);
                    }
                }
                return new DiskImage(driveId, overlay, false, channel, base.capacitySectors, lock, base, present, size);
            } catch (IOException | DiskImageException e) {
                closeQuietly(channel);
                throw e;
            }
        } catch (IOException e) {
            closeQuietly(base.channel);
            throw new DiskImageException(what + "cannot use overlay " + overlay + ": " + reason(e), e);
        } catch (DiskImageException e) {
            closeQuietly(base.channel);
            throw e;
        }
    }

    private boolean isPresent(long block) {
        return (present[(int) (block >>> 6)] & (1L << (block & 63))) != 0;
    }

    /**
     * Opens and locks the image of drive {@code driveId}.
     *
     * @param driveId  the drive's name, used in error messages and as nothing else here
     * @param path     the host file
     * @param readOnly whether the guest may only read; the file is then opened without WRITE
     * @throws DiskImageException with a one-line message for the user if the file cannot serve
     *                            as this drive
     */
    public static DiskImage open(String driveId, Path path, boolean readOnly) throws DiskImageException {
        String what = "drive " + driveId + ": ";
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw new DiskImageException(what + "cannot open " + path + ": no such file");
        } catch (IOException e) {
            throw new DiskImageException(what + "cannot open " + path + ": " + reason(e), e);
        }
        if (attributes.isDirectory()) {
            throw new DiskImageException(what + "cannot use " + path + ": is a directory");
        }
        if (!attributes.isRegularFile()) {
            throw new DiskImageException(what + "cannot use " + path + ": not a regular file");
        }
        if (!Files.isReadable(path)) {
            throw new DiskImageException(what + "cannot open " + path + ": permission denied (not readable)");
        }
        if (!readOnly && !Files.isWritable(path)) {
            throw new DiskImageException(what + "cannot open " + path
                    + " for writing: permission denied (make the drive read-only to use it as it is)");
        }
        FileChannel channel;
        try {
            channel = readOnly
                    ? FileChannel.open(path, StandardOpenOption.READ)
                    : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (NoSuchFileException e) {
            throw new DiskImageException(what + "cannot open " + path + ": no such file");
        } catch (AccessDeniedException e) {
            throw new DiskImageException(what + "cannot open " + path + ": permission denied");
        } catch (IOException e) {
            throw new DiskImageException(what + "cannot open " + path + ": " + reason(e), e);
        }
        try {
            long size = channel.size();
            if (size == 0) {
                throw new DiskImageException(what + "cannot use " + path + ": the file is empty");
            }
            if (size < SECTOR_SIZE) {
                throw new DiskImageException(what + "cannot use " + path + ": " + size
                        + " bytes is less than one " + SECTOR_SIZE + "-byte sector");
            }
            FileLock lock = lock(what, path, channel, readOnly);
            return new DiskImage(driveId, path, readOnly, channel, size / SECTOR_SIZE, lock);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new DiskImageException(what + "cannot use " + path + ": " + reason(e), e);
        } catch (DiskImageException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    private static FileLock lock(String what, Path path, FileChannel channel, boolean readOnly)
            throws IOException, DiskImageException {
        FileLock lock;
        try {
            lock = channel.tryLock(0, Long.MAX_VALUE, readOnly);
        } catch (OverlappingFileLockException e) {
            if (readOnly) {
                return null;
            }
            throw new DiskImageException(what + "cannot lock " + path + ": already in use by this process");
        }
        if (lock == null) {
            throw new DiskImageException(what + "cannot lock " + path + ": in use by another process"
                    + (readOnly ? " that writes it" : ""));
        }
        return lock;
    }

    private static String reason(IOException e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m.replace('\n', ' ');
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Closing after a failed open: the open's own error is the one to report.
        }
    }

    /** {@return the drive's name} */
    public String driveId() {
        return driveId;
    }

    /** {@return the host file} */
    public Path path() {
        return path;
    }

    /** {@return whether the image was opened without write access} */
    public boolean readOnly() {
        return readOnly;
    }

    /** {@return the number of addressable 512-byte sectors: the file size rounded down} */
    public long capacitySectors() {
        return capacitySectors;
    }

    /**
     * Reads from the file at {@code position} until {@code dst} is full.
     *
     * @throws IOException on a host I/O error, or if the file ends first (it shrank under us)
     */
    public void read(ByteBuffer dst, long position) throws IOException {
        if (backing == null) {
            readFully(channel, dst, position);
            return;
        }
        long at = position;
        while (dst.hasRemaining()) {
            long block = at / BLOCK;
            int n = (int) Math.min(dst.remaining(), (block + 1) * BLOCK - at);
            ByteBuffer piece = dst.slice(dst.position(), n);
            readFully(isPresent(block) ? channel : backing.channel, piece, at);
            dst.position(dst.position() + n);
            at += n;
        }
    }

    private void readFully(FileChannel from, ByteBuffer dst, long position) throws IOException {
        long at = position;
        while (dst.hasRemaining()) {
            int n = from.read(dst, at);
            if (n < 0) {
                throw new IOException("unexpected end of " + path + " at byte " + at);
            }
            at += n;
        }
    }

    /**
     * Writes all of {@code src} to the file at {@code position}.
     *
     * @throws IOException on a host I/O error, or if the image is read-only
     */
    public void write(ByteBuffer src, long position) throws IOException {
        if (readOnly) {
            throw new IOException(path + " is read-only");
        }
        if (backing != null) {
            copyUp(position, src.remaining());
        }
        long at = position;
        while (src.hasRemaining()) {
            at += channel.write(src, at);
        }
        if (backing != null) {
            for (long b = position / BLOCK; b * BLOCK < position + (at - position); b++) {
                present[(int) (b >>> 6)] |= 1L << (b & 63);
            }
        }
    }

    /**
     * Copies into the overlay the blocks a write of {@code length} bytes at {@code position}
     * covers only in part and the overlay does not hold yet, so the bytes around the write keep
     * the backing file's contents.
     */
    private void copyUp(long position, long length) throws IOException {
        long first = position / BLOCK;
        long last = (position + length - 1) / BLOCK;
        for (long b : new long[] {first, last}) {
            long start = b * BLOCK;
            boolean whole = position <= start && position + length >= Math.min(start + BLOCK, fileBytes);
            if (length > 0 && !isPresent(b) && !whole) {
                ByteBuffer block = ByteBuffer.allocate((int) Math.min(BLOCK, fileBytes - start));
                readFully(backing.channel, block, start);
                block.flip();
                long at = start;
                while (block.hasRemaining()) {
                    at += channel.write(block, at);
                }
                present[(int) (b >>> 6)] |= 1L << (b & 63);
            }
        }
    }

    /**
     * Forces written data and metadata to the host's storage device (fsync); nothing for a
     * read-only image.
     *
     * <p>Once a flush has failed, every later one fails too, as QEMU's file driver does after a
     * failed fdatasync: Linux reports a write-back error to fsync only once and may drop the
     * pages it could not write, so a later fsync that succeeds would tell the guest that data
     * lost earlier is safe.
     *
     * @throws IOException if this or an earlier flush failed: data written may be lost
     */
    public void flush() throws IOException {
        if (readOnly) {
            return;
        }
        if (flushFailure != null) {
            throw new IOException("an earlier flush of " + path + " failed (" + flushFailure
                    + "), data written before it may be lost");
        }
        try {
            channel.force(true);
        } catch (IOException e) {
            flushFailure = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            throw e;
        }
    }

    /**
     * Flushes a writable image, then releases the lock and closes the file. Idempotent.
     *
     * @throws IOException if the flush or the close failed: data the guest wrote may be lost
     */
    @Override
    public void close() throws IOException {
        if (!channel.isOpen()) {
            return;
        }
        try {
            flush();
        } finally {
            // Closing the channel releases its lock too.
            channel.close();
            if (backing != null) {
                backing.close();
            }
        }
    }

    /** {@return whether {@link #close} has run} */
    public boolean isClosed() {
        return !channel.isOpen();
    }

    @Override
    public String toString() {
        return "DiskImage[" + driveId + ", " + path + (backing != null ? " over " + backing.path : "")
                + (readOnly ? ", read-only" : "") + ", "
                + capacitySectors + " sectors" + (lock == null ? ", unlocked" : "") + "]";
    }
}
