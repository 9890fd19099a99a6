package dev.ember.boot;

/**
 * A problem with what the user asked the VMM to boot: a missing, truncated or foreign image,
 * a memory size that cannot hold it. Its message is a complete sentence meant for the user,
 * printed without a stack trace.
 */
public final class BootException extends Exception {

    public BootException(String message) {
        super(message);
    }
}
