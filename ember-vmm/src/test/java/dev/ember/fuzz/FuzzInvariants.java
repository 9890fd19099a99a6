package dev.ember.fuzz;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.Set;
import java.util.stream.Collectors;

/**
 * Invariants every fuzz target checks the same way: what one execution started, it ended. Over
 * millions of executions a leaked thread or file is what takes a host down.
 */
final class FuzzInvariants {

    private FuzzInvariants() { }

    /** {@return the threads alive now}, to compare with {@link #assertNoNewThreads} */
    static Set<Thread> threads() {
        return Thread.getAllStackTraces().keySet();
    }

    /**
     * Asserts that every thread alive now, other than those in {@code before}, ends: a device's
     * {@code close()} may leave its thread to finish on its own, but not forever. Each new thread
     * is joined for up to 10 seconds, a bound far above any orderly shutdown.
     */
    static void assertNoNewThreads(Set<Thread> before) throws InterruptedException {
        for (Thread t : threads()) {
            if (!before.contains(t) && !isJvmOwned(t)) {
                t.join(10_000);
                if (t.isAlive()) {
                    fail("thread " + t.getName() + " still runs after close: "
                            + threads().stream().filter(x -> !before.contains(x)).map(Thread::getName)
                                    .collect(Collectors.joining(", ")));
                }
            }
        }
    }

    /** Threads the JDK starts on demand and keeps (the common pool, the cleaner, attach). */
    private static boolean isJvmOwned(Thread t) {
        String name = t.getName();
        return t.getThreadGroup() == null || name.startsWith("ForkJoinPool") || name.startsWith("Common-Cleaner")
                || name.equals("Attach Listener") || name.startsWith("process reaper") || name.startsWith("InnocuousThread");
    }
}
