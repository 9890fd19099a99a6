package dev.ember.snapshot;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes a file so that a crash at any moment leaves either the old file or the complete new
 * one: the content goes to a temporary file beside the target, is forced to disk, and is then
 * renamed over the target ({@code rename(2)} is atomic within a file system).
 *
 * <p>A process killed while it writes (SIGKILL, power loss) leaves its temporary file, which for
 * a memory file is as large as guest RAM. Each temporary file's name carries the writer's process
 * id ({@code .<target>.<pid>.<random>.tmp}), and the next write to the same target removes the
 * temporary files of writers that are no longer alive. A live writer's file, in this process or
 * another of the same pid namespace, is never touched; a reused pid only keeps a stale file longer.
 */
final class AtomicFiles {

    /** Writes the content of one file into {@code temp}. */
    interface Writer {
        void write(Path temp) throws IOException;
    }

    private AtomicFiles() { }

    private static final String SUFFIX = ".tmp";
    /** What follows the target's name in a temporary file's name: the writer's pid and createTempFile's random digits. */
    private static final Pattern WRITER = Pattern.compile("(\\d{1,18})\\.\\d+\\" + SUFFIX);

    /**
     * {@return a new empty temporary file beside {@code target}, for {@link #commit}}, after
     * removing what killed writers left for the same target
     */
    static Path temp(Path target) throws IOException {
        Path absolute = target.toAbsolutePath();
        String prefix = "." + absolute.getFileName() + ".";
        removeStale(absolute.getParent(), prefix);
        return Files.createTempFile(absolute.getParent(), prefix + ProcessHandle.current().pid() + ".", SUFFIX);
    }

    /**
     * Deletes {@code dir}'s temporary files named {@code prefix<pid>.<random>.tmp} whose pid is not
     * alive. Best effort: a file that cannot be listed or removed does not stop the write.
     */
    private static void removeStale(Path dir, String prefix) {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir,
                e -> e.getFileName().toString().startsWith(prefix) && e.getFileName().toString().endsWith(SUFFIX))) {
            for (Path entry : entries) {
                // exactly <pid>.<random>.tmp after the prefix: a longer target's temporary files
                // (".state.1.<pid>.<random>.tmp" beside "state.1") do not match
                Matcher m = WRITER.matcher(entry.getFileName().toString().substring(prefix.length()));
                if (!m.matches()) {
                    continue;
                }
                long pid = Long.parseLong(m.group(1));
                if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                    continue;
                }
                if (Files.isRegularFile(entry, LinkOption.NOFOLLOW_LINKS)) {
                    Files.deleteIfExists(entry);
                }
            }
        } catch (IOException | DirectoryIteratorException e) {
            // left for the next write; the new temporary file does not depend on it
        }
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
        Path temp = temp(absolute);
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
