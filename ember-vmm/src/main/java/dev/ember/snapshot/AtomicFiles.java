package dev.ember.snapshot;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Writes a file so that a crash at any moment leaves either the old file or the complete new
 * one: the content goes to a temporary file beside the target, is forced to disk, and is then
 * renamed over the target ({@code rename(2)} is atomic within a file system).
 */
final class AtomicFiles {

    /** Writes the content of one file into {@code temp}. */
    interface Writer {
        void write(Path temp) throws IOException;
    }

    private AtomicFiles() { }

    /** {@return a new empty temporary file beside {@code target}, for {@link #commit}} */
    static Path temp(Path target) throws IOException {
        Path absolute = target.toAbsolutePath();
        return Files.createTempFile(absolute.getParent(), "." + absolute.getFileName() + ".", ".tmp");
    }

    /** Renames {@code temp} over {@code target}, atomically where the file system can. */
    static void commit(Path temp, Path target) throws IOException {
        try {
            Files.move(temp, target.toAbsolutePath(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temp, target.toAbsolutePath(), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Writes {@code target} through {@code writer}; on failure the target is untouched and no temporary file is left. */
    static void write(Path target, Writer writer) throws IOException {
        Path absolute = target.toAbsolutePath();
        Path dir = absolute.getParent();
        Path temp = Files.createTempFile(dir, "." + absolute.getFileName() + ".", ".tmp");
        try {
            writer.write(temp);
            try {
                Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, absolute, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(temp);
        }
    }
}
