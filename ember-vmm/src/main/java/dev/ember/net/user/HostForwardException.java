package dev.ember.net.user;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * A {@link HostForward} rule could not listen on its host address, typically because the
 * port is already in use. Thrown by the {@link UserNetwork} constructor, before the guest
 * boots; the message is one line naming the host port and the guest port, for example
 * {@code host port 8080 for forwarding to guest port 80 is already in use}.
 */
public final class HostForwardException extends UncheckedIOException {

    private final HostForward rule;

    HostForwardException(HostForward rule, String message, IOException cause) {
        super(message, cause);
        this.rule = rule;
    }

    /** {@return the rule that could not be bound} */
    public HostForward rule() {
        return rule;
    }
}
