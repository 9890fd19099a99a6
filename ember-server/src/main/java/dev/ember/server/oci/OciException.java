package dev.ember.server.oci;

/** A runtime failure whose message is the one line the caller sees (and the log records). */
public final class OciException extends Exception {
    public OciException(String message) {
        super(message);
    }

    public OciException(String message, Throwable cause) {
        super(message, cause);
    }
}
