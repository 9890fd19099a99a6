package dev.ember.net.user;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * The layout of one user-mode network, with QEMU's {@code -netdev user} defaults
 * ({@link #defaults()}): network 10.0.2.0/24, gateway and host alias 10.0.2.2, DNS server
 * 10.0.2.3, guest 10.0.2.15, gateway MAC 52:55:0a:00:02:02.
 *
 * @param network       the network address; host bits must be zero
 * @param prefixLength  8..30
 * @param gateway       the router the guest is told about; the guest's connections to it reach
 *                      the host's 127.0.0.1
 * @param dns           the DNS server the guest is told about, answered from the host's resolver
 * @param guest         the one address DHCP hands out
 * @param gatewayMac    the MAC address of the gateway and DNS server, as {@code xx:xx:xx:xx:xx:xx}
 * @param mtu           the guest link's MTU, 576..9000; bounds the TCP MSS and UDP fragment size
 * @param hostForwards  port-forwarding rules, bound when the network is constructed
 * @param maxTcpFlows   TCP connections open at once, at least 1
 * @param maxUdpFlows   UDP flows (guest source ports) open at once, at least 1
 */
public record UserNetworkConfig(Inet4Address network, int prefixLength, Inet4Address gateway, Inet4Address dns,
                                Inet4Address guest, String gatewayMac, int mtu, List<HostForward> hostForwards,
                                int maxTcpFlows, int maxUdpFlows) {

    public UserNetworkConfig {
        Objects.requireNonNull(network, "network");
        Objects.requireNonNull(gateway, "gateway");
        Objects.requireNonNull(dns, "dns");
        Objects.requireNonNull(guest, "guest");
        Objects.requireNonNull(gatewayMac, "gatewayMac");
        hostForwards = List.copyOf(hostForwards);
        if (prefixLength < 8 || prefixLength > 30) {
            throw new IllegalArgumentException("prefix length " + prefixLength + " is not in 8..30");
        }
        int mask = mask(prefixLength);
        int net = ip(network);
        if ((net & ~mask) != 0) {
            throw new IllegalArgumentException(network.getHostAddress() + "/" + prefixLength + " has host bits set");
        }
        for (Inet4Address a : List.of(gateway, dns, guest)) {
            int host = ip(a) & ~mask;
            if ((ip(a) & mask) != net || host == 0 || host == ~mask) {
                throw new IllegalArgumentException(a.getHostAddress() + " is not a host address in "
                        + network.getHostAddress() + "/" + prefixLength);
            }
        }
        if (gateway.equals(guest) || dns.equals(guest)) {
            throw new IllegalArgumentException("the guest address must differ from the gateway and DNS addresses");
        }
        if (parseMac(gatewayMac)[0] % 2 != 0) {
            throw new IllegalArgumentException("gateway MAC " + gatewayMac + " is a multicast address");
        }
        if (mtu < 576 || mtu > 9000) {
            throw new IllegalArgumentException("MTU " + mtu + " is not in 576..9000");
        }
        if (maxTcpFlows < 1 || maxUdpFlows < 1) {
            throw new IllegalArgumentException("flow limits must be at least 1");
        }
    }

    /** {@return QEMU's user-network layout with no forwarding rules} */
    public static UserNetworkConfig defaults() {
        return new UserNetworkConfig(v4("10.0.2.0"), 24, v4("10.0.2.2"), v4("10.0.2.3"), v4("10.0.2.15"),
                "52:55:0a:00:02:02", 1500, List.of(), 1024, 1024);
    }

    /** {@return this layout with {@code rules} as its forwarding rules} */
    public UserNetworkConfig withHostForwards(List<HostForward> rules) {
        return new UserNetworkConfig(network, prefixLength, gateway, dns, guest, gatewayMac, mtu, rules,
                maxTcpFlows, maxUdpFlows);
    }

    int networkIp() {
        return ip(network);
    }

    int netmask() {
        return mask(prefixLength);
    }

    int gatewayIp() {
        return ip(gateway);
    }

    int dnsIp() {
        return ip(dns);
    }

    int guestIp() {
        return ip(guest);
    }

    byte[] gatewayMacBytes() {
        return parseMac(gatewayMac);
    }

    static int ip(InetAddress a) {
        byte[] b = a.getAddress();
        return (b[0] & 0xFF) << 24 | (b[1] & 0xFF) << 16 | (b[2] & 0xFF) << 8 | (b[3] & 0xFF);
    }

    private static int mask(int prefixLength) {
        return -1 << (32 - prefixLength);
    }

    private static Inet4Address v4(String literal) {
        return (Inet4Address) InetAddress.ofLiteral(literal);
    }

    private static byte[] parseMac(String mac) {
        String[] parts = mac.split(":", -1);
        if (parts.length != 6) {
            throw new IllegalArgumentException("'" + mac + "' is not a MAC address xx:xx:xx:xx:xx:xx");
        }
        byte[] bytes = new byte[6];
        try {
            for (int i = 0; i < 6; i++) {
                if (parts[i].length() != 2) {
                    throw new IllegalArgumentException("'" + mac + "' is not a MAC address xx:xx:xx:xx:xx:xx");
                }
                bytes[i] = (byte) HexFormat.fromHexDigits(parts[i]);
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + mac + "' is not a MAC address xx:xx:xx:xx:xx:xx");
        }
        return bytes;
    }
}
