package dev.ember.snapshot;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The state file's envelope. All integers little-endian:
 *
 * <pre>
 *   offset 0   8 bytes  magic "EMBERVM\0"
 *          8   u32      format version ({@link #VERSION})
 *         12   u32      reserved, 0
 *         16   u64      payload length n
 *         24   n bytes  payload: the state as UTF-8 JSON (see dev.ember.vmm.VmState)
 *     24 + n   u64      CRC-64/XZ ({@link Crc64}) of bytes 0 .. 24 + n
 * </pre>
 *
 * <p>Compatibility: the version names the meaning of the payload. A reader accepts every
 * version from {@link #OLDEST_READABLE} to its own and refuses newer ones; within a version,
 * fields are only ever added, with a default that keeps the old meaning, and readers ignore
 * fields they do not know. {@link #read} checks size, magic, version and checksum, in that
 * order, before it returns a byte of payload.
 */
public final class SnapshotFile {

    /** {@code "EMBERVM\0"}. */
    public static final byte[] MAGIC = {'E', 'M', 'B', 'E', 'R', 'V', 'M', 0};
    /** The format this Ember writes. */
    public static final int VERSION = 1;
    /** The oldest format this Ember reads. */
    public static final int OLDEST_READABLE = 1;
    /** Larger state files are refused: the state of 8 harts and 8 devices is a few hundred KiB. */
    public static final long MAX_PAYLOAD = 64L << 20;
    private static final int HEADER = 24;
    private static final int TRAILER = 8;

    /** A file's header, for {@code --describe-snapshot}. */
    public record Header(int version, long payloadLength) { }

    private SnapshotFile() { }

    /**
     * Writes {@code payload} to {@code path} atomically (temporary file, then rename).
     *
     * @throws IOException if the file cannot be written; an earlier file at {@code path} is intact
     */
    public static void write(Path path, byte[] payload) throws IOException {
        AtomicFiles.write(path, temp -> writeTo(temp, payload));
    }

    /** Writes the file for {@code payload} into {@code temp}, forced to disk, without renaming it anywhere. */
    static void writeTo(Path temp, byte[] payload) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(HEADER + payload.length + TRAILER).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putInt(VERSION).putInt(0).putLong(payload.length).put(payload);
        byte[] bytes = b.array();
        b.putLong(Crc64.of(bytes, 0, HEADER + payload.length));
        try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer all = ByteBuffer.wrap(bytes);
            while (all.hasRemaining()) {
                ch.write(all);
            }
            ch.force(true);
        }
    }

    /**
     * Reads and checks a state file.
     *
     * @return the payload
     * @throws SnapshotException naming the first check that failed
     */
    public static byte[] read(Path path) throws SnapshotException {
        return check(path, readAll(path));
    }

    /** {@return the header of a state file that passes every check} */
    public static Header describe(Path path) throws SnapshotException {
        byte[] bytes = readAll(path);
        byte[] payload = check(path, bytes);
        return new Header(version(bytes), payload.length);
    }

    private static byte[] readAll(Path path) throws SnapshotException {
        try {
            long size = Files.size(path);
            if (size > HEADER + MAX_PAYLOAD + TRAILER) {
                throw new SnapshotException("snapshot state file " + path + " is too large (" + size + " bytes)");
            }
            return Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw new SnapshotException("snapshot state file " + path + " does not exist");
        } catch (IOException e) {
            throw new SnapshotException("cannot read snapshot state file " + path + ": " + e.getMessage(), e);
        }
    }

    private static int version(byte[] bytes) {
        return ByteBuffer.wrap(bytes, 8, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    static byte[] check(Path path, byte[] bytes) throws SnapshotException {
        if (bytes.length < HEADER + TRAILER) {
            throw new SnapshotException("snapshot state file " + path + " is truncated (" + bytes.length + " bytes)");
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (bytes[i] != MAGIC[i]) {
                throw new SnapshotException("snapshot state file " + path + " is not an Ember snapshot (bad magic)");
            }
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int version = b.getInt(8);
        if (version < OLDEST_READABLE || version > VERSION) {
            throw new SnapshotException("snapshot state file " + path + " has format version " + Integer.toUnsignedString(version)
                    + "; this Ember reads versions " + OLDEST_READABLE + " to " + VERSION);
        }
        long length = b.getLong(16);
        if (length < 0 || length != bytes.length - HEADER - TRAILER) {
            throw new SnapshotException("snapshot state file " + path + " is truncated or has trailing bytes (payload length "
                    + length + ", file " + bytes.length + " bytes)");
        }
        long stored = b.getLong(HEADER + (int) length);
        if (Crc64.of(bytes, 0, HEADER + (int) length) != stored) {
            throw new SnapshotException("snapshot state file " + path + " is corrupted (CRC64 mismatch)");
        }
        byte[] payload = new byte[(int) length];
        System.arraycopy(bytes, HEADER, payload, 0, payload.length);
        return payload;
    }
}
