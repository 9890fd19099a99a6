package dev.ember.snapshot;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * Writes a snapshot's two files as one unit, and finds the memory file that belongs to a state
 * file when reading.
 *
 * <p>Both files carry the snapshot's random id (the state file in its payload, the memory file
 * in its trailer). Writing: both go to temporary files first; then the earlier memory file is
 * kept reachable under a hard link {@code .NAME.prev}, the new memory file is renamed into
 * place, then the new state file, and the link is removed. A crash (SIGKILL, power loss after
 * the state file's fsync) at any point leaves either the earlier snapshot, or the new one, or
 * the earlier state file with the new memory file and the earlier memory file at
 * {@code .NAME.prev}, which {@link #memoryFor} then finds by its id. So an earlier snapshot is
 * never lost, and a state file is never loaded with another snapshot's memory.
 */
public final class SnapshotPair {

    private static final SecureRandom RANDOM = new SecureRandom();

    private SnapshotPair() { }

    /** {@return a new random snapshot id} */
    public static byte[] newId() {
        byte[] id = new byte[16];
        RANDOM.nextBytes(id);
        return id;
    }

    /** {@return {@code id} as 32 hex digits, as the state file names it} */
    public static String hex(byte[] id) {
        return HexFormat.of().formatHex(id);
    }

    /**
     * Writes the state file ({@code statePayload}) and the memory file of {@code ram} (all
     * non-zero pages, or with {@code dirty} the pages set in it) as one snapshot with {@code id}.
     *
     * @throws IOException if a file cannot be written; the earlier snapshot is then intact
     */
    public static MemoryFile.Written write(Path stateFile, Path memoryFile, byte[] id, byte[] statePayload,
                                           MemorySegment ram, long[] dirty) throws IOException {
        Path memoryTemp = AtomicFiles.temp(memoryFile);
        Path stateTemp = null;
        Path prev = prevOf(memoryFile);
        try {
            MemoryFile.Written written = MemoryFile.writeTo(memoryTemp, ram, dirty, id);
            stateTemp = AtomicFiles.temp(stateFile);
            SnapshotFile.writeTo(stateTemp, statePayload);
            Files.deleteIfExists(prev);
            if (Files.isRegularFile(memoryFile)) {
                try {
                    Files.createLink(prev, memoryFile);
                } catch (IOException | UnsupportedOperationException e) {
                    // No hard links here: the earlier snapshot is unprotected between the renames.
                }
            }
            AtomicFiles.commit(memoryTemp, memoryFile);
            Fault.point("snapshot-between-renames");
            AtomicFiles.commit(stateTemp, stateFile);
            Files.deleteIfExists(prev);
            return written;
        } finally {
            Files.deleteIfExists(memoryTemp);
            if (stateTemp != null) {
                Files.deleteIfExists(stateTemp);
            }
        }
    }

    /**
     * {@return the memory file of the snapshot with {@code idHex}: {@code memoryFile} itself, or
     * the earlier memory file kept beside it when a crash came between the two renames}
     *
     * @throws SnapshotException if neither holds that snapshot's memory
     */
    public static Path memoryFor(Path memoryFile, String idHex, long ramSize) throws SnapshotException {
        byte[] want = HexFormat.of().parseHex(idHex);
        byte[] found = MemoryFile.readId(memoryFile, ramSize);
        if (Arrays.equals(found, want)) {
            return memoryFile;
        }
        Path prev = prevOf(memoryFile);
        if (Files.isRegularFile(prev) && Arrays.equals(MemoryFile.readId(prev, ramSize), want)) {
            return prev;
        }
        throw new SnapshotException("memory file " + memoryFile + " belongs to another snapshot than this state file");
    }

    /** {@return where the earlier memory file is kept while a new one replaces it} */
    static Path prevOf(Path memoryFile) {
        Path absolute = memoryFile.toAbsolutePath();
        return absolute.resolveSibling("." + absolute.getFileName() + ".prev");
    }
}
