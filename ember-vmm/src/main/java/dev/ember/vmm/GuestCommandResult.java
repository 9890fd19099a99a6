package dev.ember.vmm;

/**
 * What a shell command run by {@link MicroVm#exec} produced in the guest.
 *
 * @param output   what the command wrote to its standard output and standard error, interleaved
 *                 as the guest's terminal shows them, with line ends as {@code \n} and the final
 *                 line end removed; never the typed command line itself
 * @param exitCode the command's exit status as the guest shell's {@code $?} gives it, 0 to 255
 */
public record GuestCommandResult(String output, int exitCode) {

    public GuestCommandResult {
        java.util.Objects.requireNonNull(output, "output");
    }

    /** {@return whether the command exited with status 0} */
    public boolean succeeded() {
        return exitCode == 0;
    }
}
