package dev.ember.server.api;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A file of records (the metrics file), appended one whole record (a JSON line) at a time, so
 * that a reader only ever finds complete records, as Firecracker's format (one JSON object per
 * line) needs.
 *
 * <p>Two faults would otherwise leave half a record, to which the next flush would glue a
 * whole one: a write that fails part way (the file system is full: {@code write(2)} takes what
 * fits, then ENOSPC), and the process killed during a write. The first is undone at once: a
 * failed {@link #write} cuts a regular file back to the length it had before. The second cannot
 * be undone by the process that died, so {@link #open} cuts a torn last line of a regular file
 * off before appending. A named pipe (Firecracker's usual metrics destination) is written as it
 * is: a pipe cannot be cut, and a write of up to PIPE_BUF bytes to it is atomic anyway.
 *
 * <p>Threads: one writer at a time ({@link ApiMetrics} serialises its flushes).
 */
final class WholeRecordFile extends OutputStream {

    /** How far back {@link #open} looks for the end of the last whole record: far more than a record. */
    private static final int TAIL_SCAN_BYTES = 1 << 20;

    private final FileChannel channel;
    private final boolean regular;

    private WholeRecordFile(FileChannel channel, boolean regular) {
        this.channel = channel;
        this.regular = regular;
    }

    /**
     * Opens {@code path} for appending, creating it if missing; a torn last record of a regular
     * file (one without its newline) is cut off first.
     */
    static WholeRecordFile open(Path path) throws IOException {
        // A missing path becomes a regular file. A pipe is opened write-only, so that the open
        // waits for a reader as before; a regular file also for reading, to find a torn record.
        boolean regular = Files.notExists(path) || Files.isRegularFile(path);
        FileChannel channel = regular
                ? FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ)
                : FileChannel.open(path, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
        try {
            if (regular) {
                cutTornRecord(channel);
            }
            return new WholeRecordFile(channel, regular);
        } catch (IOException e) {
            channel.close();
            throw e;
        }
    }

    /** Cuts the file back to just after its last newline, when it does not end with one. */
    private static void cutTornRecord(FileChannel channel) throws IOException {
        long size = channel.size();
        if (size == 0 || lastByte(channel, size) == '\n') {
            return;
        }
        // Bounds: at most TAIL_SCAN_BYTES are read; a longer "record" is not one of ours, and
        // the file is then cut to nothing rather than scanned without end.
        int scan = (int) Math.min(size, TAIL_SCAN_BYTES);
        ByteBuffer tail = ByteBuffer.allocate(scan);
        long from = size - scan;
        for (int n = 0; n >= 0 && tail.hasRemaining(); ) {
            n = channel.read(tail, from + tail.position());   // -1: the file shrank under us
        }
        long keep = 0;
        for (int i = tail.position() - 1; i >= 0; i--) {
            if (tail.get(i) == '\n') {
                keep = from + i + 1;
                break;
            }
        }
        channel.truncate(keep);
    }

    private static int lastByte(FileChannel channel, long size) throws IOException {
        ByteBuffer one = ByteBuffer.allocate(1);
        return channel.read(one, size - 1) == 1 ? one.get(0) : -1;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    /**
     * Appends {@code len} bytes, all or (for a regular file) none.
     *
     * @throws IOException if the write failed; a regular file then has its earlier length
     */
    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        // A regular file is written at its end (positional: READ rules out APPEND); a pipe in order.
        long before = regular ? channel.size() : 0;
        ByteBuffer data = ByteBuffer.wrap(b, off, len);
        try {
            while (data.hasRemaining()) {
                if (regular) {
                    channel.write(data, before + data.position() - off);
                } else {
                    channel.write(data);
                }
            }
        } catch (IOException e) {
            if (regular) {
                try {
                    channel.truncate(before);
                } catch (IOException cut) {
                    e.addSuppressed(cut);
                }
            }
            throw e;
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
