package dev.ember.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/** Host files of fuzz targets: a directory per target class, and cleaning up after an execution. */
final class FuzzFiles {

    private FuzzFiles() { }

    /**
     * {@return a new temporary directory, for the static files of a target class}, removed with
     * what is in it when the JVM exits (a campaign ends with System.exit; deleteOnExit alone
     * left the directory behind, as it was not empty)
     */
    static Path tempDir(String prefix) {
        try {
            Path dir = Files.createTempDirectory(prefix);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    deleteTree(dir);
                } catch (IOException ignored) {
                    // best effort: what cannot be removed stays in the temporary directory
                }
            }, "fuzz-files-cleanup"));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Removes {@code root} and what a guest made in it, without following links the guest made. */
    static void deleteTree(Path root) throws IOException {
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }
            @Override public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
