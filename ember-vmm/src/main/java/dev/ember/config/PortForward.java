package dev.ember.config;

/**
 * A host port forwarded to a guest port through the user-mode network (QEMU's {@code hostfwd}).
 *
 * @param protocol    {@code tcp} or {@code udp}
 * @param hostAddress host address to listen on, normally {@code 127.0.0.1}
 * @param hostPort    1 to 65535
 * @param guestPort   1 to 65535
 */
public record PortForward(String protocol, String hostAddress, int hostPort, int guestPort) {

    /** @throws IllegalArgumentException naming the problem */
    public PortForward {
        if (!"tcp".equals(protocol) && !"udp".equals(protocol)) {
            throw new IllegalArgumentException("port forward protocol must be tcp or udp, not '" + protocol + "'");
        }
        if (hostPort < 1 || hostPort > 65535 || guestPort < 1 || guestPort > 65535) {
            throw new IllegalArgumentException("port forward ports must be 1 to 65535: " + hostPort + " -> " + guestPort);
        }
    }

    /**
     * Parses QEMU's {@code hostfwd} syntax, {@code tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT}.
     *
     * @throws IllegalArgumentException naming the problem
     */
    public static PortForward parse(String text) {
        java.util.regex.Matcher m = java.util.regex.Pattern
                .compile("(tcp|udp):([0-9.]*):(\\d{1,5})-[0-9.]*:(\\d{1,5})").matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException("port forward '" + text + "' is not tcp:[HOSTADDR]:HOSTPORT-:GUESTPORT");
        }
        String host = m.group(2).isEmpty() ? "127.0.0.1" : m.group(2);
        return new PortForward(m.group(1), host, Integer.parseInt(m.group(3)), Integer.parseInt(m.group(4)));
    }
}
