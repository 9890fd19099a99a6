package dev.ember.agent;

/**
 * The guest agent refused or failed a request: a program that cannot be run, a mount that
 * failed, a malformed answer. The message is the guest's own ("exec foo: No such file or
 * directory"); transport failures (no connection, connection lost) are {@link java.io.IOException}s.
 */
public final class AgentException extends Exception {

    private final int exitCode;

    /** A failure without an exit status (mount, hostname, a protocol violation). */
    public AgentException(String message) {
        this(message, -1);
    }

    /** A process that could not be started: {@code exitCode} is 127 (not found) or 126 (other). */
    public AgentException(String message, int exitCode) {
        super(message);
        this.exitCode = exitCode;
    }

    /** {@return the exit status the guest gave a process that could not start (127, 126), or -1} */
    public int exitCode() {
        return exitCode;
    }
}
