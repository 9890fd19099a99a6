package dev.ember.snapshot;

/** A snapshot could not be written, read or applied; the message is one line for the user. */
public final class SnapshotException extends Exception {

    public SnapshotException(String message) {
        super(message);
    }

    public SnapshotException(String message, Throwable cause) {
        super(message, cause);
    }
}
