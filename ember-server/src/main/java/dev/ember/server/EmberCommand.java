package dev.ember.server;

import dev.ember.server.api.ApiLauncher;
import dev.ember.server.jailer.JailerCommand;
import dev.ember.server.jailer.ParentWatch;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import dev.ember.snapshot.SnapshotException;
import dev.ember.snapshot.SnapshotFile;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code ember} command line: subcommands only, each in its own class.
 *
 * <p>Exit statuses: the guest's (0 after a clean poweroff), 1 when the VM cannot be started
 * or fails, 2 for a usage error.
 */
@Command(name = "ember", mixinStandardHelpOptions = true, version = "ember 0.1.0",
        description = "A RISC-V microVM monitor in pure Java.",
        subcommands = {RunCommand.class, RebaseSnapCommand.class, JailerCommand.class})
public final class EmberCommand implements Callable<Integer> {

    @Option(names = "--api-sock", paramLabel = "PATH", description = "serve Firecracker's REST API on this Unix socket")
    Path apiSock;

    @Option(names = "--config-file", paramLabel = "FILE",
            description = "configure the microVM from Firecracker's JSON config file and boot it")
    Path configFile;

    @Option(names = "--no-api", description = "no API socket: boot from --config-file only")
    boolean noApi;

    @Option(names = "--boot-timer",
            description = "log the time from InstanceStart to the guest's first userspace write to the boot-timer device")
    boolean bootTimer;

    @Option(names = "--id", paramLabel = "ID", description = "the microVM's id (default: ${DEFAULT-VALUE})",
            defaultValue = ApiLauncher.DEFAULT_ID)
    String id;

    @Option(names = "--snapshot-version",
            description = "print the snapshot format version this Ember writes, and exit (as Firecracker's)")
    boolean snapshotVersion;

    @Option(names = "--describe-snapshot", paramLabel = "STATE_FILE",
            description = "check a snapshot state file and print its format version, and exit (as Firecracker's)")
    Path describeSnapshot;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        if (snapshotVersion) {
            spec.commandLine().getOut().println("v" + SnapshotFile.VERSION + ".0.0");
            return 0;
        }
        if (describeSnapshot != null) {
            try {
                SnapshotFile.Header h = SnapshotFile.describe(describeSnapshot);
                spec.commandLine().getOut().println("v" + h.version() + ".0.0");
                return 0;
            } catch (SnapshotException e) {
                spec.commandLine().getErr().println("ember: " + e.getMessage());
                return 1;
            }
        }
        if (noApi && configFile == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--no-api needs --config-file");
        }
        if (noApi && apiSock != null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--no-api and --api-sock exclude each other");
        }
        if (apiSock == null && !noApi) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "a subcommand is required, e.g. 'ember run', or --api-sock PATH to serve the API");
        }
        if (id.isEmpty() || id.length() > 64 || !id.matches("[A-Za-z0-9-]+")) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--id must be 1 to 64 letters, digits or hyphens");
        }
        return ApiLauncher.run(apiSock, configFile, noApi, id, bootTimer);
    }

    /** Parses {@code args} as the launcher would, without running anything: for the start-up cache's training run. */
    public static void parseForTraining(String... args) {
        commandLine().parseArgs(args);
    }

    public static void main(String[] args) {
        ParentWatch.startIfAsked();
        System.exit(commandLine().execute(args));
    }

    /**
     * {@return the command line with Ember's error handling: a usage error is one line on
     * stderr naming the problem (status 2)}
     */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new EmberCommand());
        cl.setParameterExceptionHandler((e, args) -> {
            CommandLine cmd = e.getCommandLine();
            cmd.getErr().println("ember: " + e.getMessage() + " (see '" + cmd.getCommandSpec().qualifiedName()
                    + " --help')");
            return 2;
        });
        return cl;
    }
}
