package dev.ember.server.jailer;

import java.time.Duration;

/**
 * Ends the jailed VMM when the jail's bwrap, its parent process, dies, so that killing the pid
 * {@code ember jailer} had ends the VM as it does Firecracker's (whose jailer execs the VMM).
 *
 * <p>A parent-death signal cannot do this: bwrap's monitoring process keeps uid 0 but no
 * capabilities, so the kernel refuses it the right to signal the VMM's uid, and the
 * {@code PR_SET_PDEATHSIG} signal that {@code --die-with-parent} or setpriv's {@code --pdeathsig}
 * set is silently not delivered (prctl(2); checked by {@code JailerEndToEndTest}). Instead a
 * daemon thread watches for the reparenting that follows the parent's death. With
 * {@code --new-pid-ns} the PID namespace ends with bwrap anyway.
 *
 * <p>The jailer asks for it with the system property {@value #PROPERTY}.
 */
public final class ParentWatch {

    /** The system property the jailer sets on the VMM's JVM. */
    public static final String PROPERTY = "ember.exitWithParent";

    private static final Duration PERIOD = Duration.ofMillis(200);

    private ParentWatch() { }

    /** Starts the watch when {@value #PROPERTY} is {@code true}; otherwise does nothing. */
    public static void startIfAsked() {
        if (!Boolean.getBoolean(PROPERTY)) {
            return;
        }
        long parent = parentPid();
        Thread.ofPlatform().daemon().name("parent-watch").start(() -> {
            try {
                while (parentPid() == parent) {
                    Thread.sleep(PERIOD);
                }
            } catch (InterruptedException e) {
                return;
            }
            System.err.println("ember: the jail's parent process " + parent + " ended; the VMM exits");
            System.exit(1);
        });
    }

    private static long parentPid() {
        return ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(-1L);
    }
}
