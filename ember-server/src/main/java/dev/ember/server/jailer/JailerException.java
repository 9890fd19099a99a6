package dev.ember.server.jailer;

/**
 * Why the jailer could not set up a jail: a message fit to print as the one line the user sees
 * ({@code ember: <message>}), naming the flag, file or value at fault.
 */
public final class JailerException extends Exception {

    public JailerException(String message) {
        super(message);
    }

    public JailerException(String message, Throwable cause) {
        super(message, cause);
    }
}
