package dev.ember.net.user;

import java.net.InetAddress;
import java.util.Locale;
import java.util.Objects;

/**
 * One port-forwarding rule: connections to {@code hostAddress:hostPort} on the host are relayed
 * to {@code guestPort} on the guest, appearing there to come from the gateway address. The
 * counterpart of QEMU's {@code -netdev user,hostfwd=tcp:[hostaddr]:hostport-[guestaddr]:guestport}.
 *
 * @param protocol    the transport; only {@link Protocol#TCP} is relayed so far
 * @param hostAddress the host address to listen on; QEMU's default is 127.0.0.1
 * @param hostPort    0..65535; 0 lets the host pick a free port, which
 *                    {@link UserNetwork#boundHostPorts()} reports
 * @param guestPort   1..65535
 */
public record HostForward(Protocol protocol, InetAddress hostAddress, int hostPort, int guestPort) {

    /** The transport a rule forwards. */
    public enum Protocol { TCP, UDP }

    public HostForward {
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(hostAddress, "hostAddress");
        if (hostPort < 0 || hostPort > 0xFFFF) {
            throw new IllegalArgumentException("host port " + hostPort + " is not in 0..65535");
        }
        if (guestPort < 1 || guestPort > 0xFFFF) {
            throw new IllegalArgumentException("guest port " + guestPort + " is not in 1..65535");
        }
    }

    /** {@return a TCP rule listening on the host's 127.0.0.1} */
    public static HostForward tcp(int hostPort, int guestPort) {
        return new HostForward(Protocol.TCP, InetAddress.getLoopbackAddress(), hostPort, guestPort);
    }

    /**
     * Parses QEMU's syntax {@code [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport}, for example
     * {@code tcp::8080-:80}. The protocol defaults to TCP and the host address to 127.0.0.1; a
     * guest address must be empty, since the guest has exactly one address.
     *
     * @throws IllegalArgumentException with a one-line message if the rule is malformed
     */
    public static HostForward parse(String rule) {
        String s = rule.strip();
        Protocol protocol = Protocol.TCP;
        int colon = s.indexOf(':');
        String head = colon < 0 ? "" : s.substring(0, colon).toLowerCase(Locale.ROOT);
        if (head.equals("tcp") || head.equals("udp")) {
            protocol = head.equals("tcp") ? Protocol.TCP : Protocol.UDP;
            s = s.substring(colon + 1);
        }
        int dash = s.indexOf('-');
        if (dash < 0) {
            throw new IllegalArgumentException("hostfwd rule '" + rule + "' is not [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport");
        }
        String host = s.substring(0, dash);
        String guest = s.substring(dash + 1);
        int hostColon = host.lastIndexOf(':');
        int guestColon = guest.lastIndexOf(':');
        if (hostColon < 0 || guestColon < 0) {
            throw new IllegalArgumentException("hostfwd rule '" + rule + "' is not [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport");
        }
        if (guestColon > 0) {
            throw new IllegalArgumentException("hostfwd rule '" + rule + "' names a guest address; leave it empty");
        }
        String hostAddress = host.substring(0, hostColon);
        InetAddress address;
        try {
            address = hostAddress.isEmpty() ? InetAddress.getLoopbackAddress() : InetAddress.ofLiteral(hostAddress);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("hostfwd rule '" + rule + "': '" + hostAddress + "' is not an IP address");
        }
        return new HostForward(protocol, address, port(rule, host.substring(hostColon + 1)),
                port(rule, guest.substring(guestColon + 1)));
    }

    private static int port(String rule, String text) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("hostfwd rule '" + rule + "': '" + text + "' is not a port number");
        }
    }

    @Override
    public String toString() {
        return protocol.name().toLowerCase(Locale.ROOT) + ":" + hostAddress.getHostAddress() + ":" + hostPort + "-:" + guestPort;
    }
}
