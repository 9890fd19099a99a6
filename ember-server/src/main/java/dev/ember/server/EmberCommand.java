package dev.ember.server;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code ember} command line: subcommands only, each in its own class.
 *
 * <p>Exit statuses: the guest's (0 after a clean poweroff), 1 when the VM cannot be started
 * or fails, 2 for a usage error.
 */
@Command(name = "ember", mixinStandardHelpOptions = true, version = "ember 0.1.0",
        description = "A RISC-V microVM monitor in pure Java.",
        subcommands = {RunCommand.class})
public final class EmberCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required, e.g. 'ember run'");
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /**
     * {@return the command line with Ember's error handling: a usage error is one line on
     * stderr naming the problem (status 2)}
     */
    static CommandLine commandLine() {
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
