package dev.ember.snapshot;

/**
 * Crash injection for tests: when the environment variable {@code EMBER_FAULT} names a point,
 * the process halts there at once with status 137, as under SIGKILL (no shutdown hooks, no
 * {@code finally} blocks, nothing flushed), so a test can crash it at the worst moment.
 */
final class Fault {

    private static final String POINT = System.getenv("EMBER_FAULT");

    private Fault() { }

    /** Halts the process if {@code EMBER_FAULT} is {@code name}. */
    static void point(String name) {
        if (name.equals(POINT)) {
            Runtime.getRuntime().halt(137);
        }
    }
}
