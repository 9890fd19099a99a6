package dev.ember.server;

import dev.ember.snapshot.MemoryFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ember rebase-snap}: applies a Diff snapshot's memory file to the memory file of the
 * snapshot before it, as Firecracker's {@code rebase-snap} tool does, so that the base file
 * becomes the Diff snapshot's full memory file and can be loaded with the Diff's state file.
 */
@Command(name = "rebase-snap", mixinStandardHelpOptions = true,
        description = "Merge a Diff snapshot's memory file into its base memory file (as Firecracker's rebase-snap).")
final class RebaseSnapCommand implements Callable<Integer> {

    @Option(names = "--base-file", paramLabel = "FILE", required = true,
            description = "the previous snapshot's memory file; it is updated in place")
    Path baseFile;

    @Option(names = "--diff-file", paramLabel = "FILE", required = true,
            description = "the Diff snapshot's memory file")
    Path diffFile;

    @Override
    public Integer call() {
        try {
            long copied = MemoryFile.rebase(baseFile, diffFile);
            System.err.println("ember: rebased " + diffFile + " onto " + baseFile + " (" + (copied >> 10) + " KiB)");
            return 0;
        } catch (java.nio.file.NoSuchFileException e) {
            System.err.println("ember: rebase-snap: no such file: " + e.getMessage());
            return 1;
        } catch (IOException e) {
            System.err.println("ember: rebase-snap: " + e.getMessage());
            return 1;
        }
    }
}
