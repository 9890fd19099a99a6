package dev.ember.config;

import java.util.List;

/**
 * A virtio-net interface, as Firecracker's {@code NetworkInterface}, with Ember's second
 * backend: with {@code hostDevName} set it is bridged to that TAP device, otherwise it is served
 * by the unprivileged user-mode network stack with the given port forwards.
 *
 * @param ifaceId      unique name
 * @param guestMac     the guest's MAC address, {@code xx:xx:xx:xx:xx:xx}; null picks one
 * @param hostDevName  an existing TAP interface, or null for the user-mode network
 * @param portForwards host ports forwarded into the guest (user-mode network only)
 * @param rxRateLimiter limit on what the guest receives, or null
 * @param txRateLimiter limit on what the guest sends, or null
 */
public record NetworkInterfaceConfig(String ifaceId, String guestMac, String hostDevName, List<PortForward> portForwards,
                                     RateLimiterConfig rxRateLimiter, RateLimiterConfig txRateLimiter) implements DeviceConfig {

    /** An interface without rate limiters. */
    public NetworkInterfaceConfig(String ifaceId, String guestMac, String hostDevName, List<PortForward> portForwards) {
        this(ifaceId, guestMac, hostDevName, portForwards, null, null);
    }

    /** @throws IllegalArgumentException naming the problem */
    public NetworkInterfaceConfig {
        ConfigChecks.id("network interface", ifaceId);
        if (guestMac != null && !guestMac.matches("([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}")) {
            throw new IllegalArgumentException("network interface " + ifaceId + ": guest MAC '" + guestMac
                    + "' is not six hex bytes separated by colons");
        }
        if (guestMac != null && (Integer.parseInt(guestMac.substring(0, 2), 16) & 1) != 0) {
            throw new IllegalArgumentException("network interface " + ifaceId + ": guest MAC " + guestMac + " is a multicast address");
        }
        if (hostDevName != null && (hostDevName.isEmpty() || hostDevName.length() > 15 || hostDevName.contains("/"))) {
            throw new IllegalArgumentException("network interface " + ifaceId + ": '" + hostDevName + "' is not a valid interface name");
        }
        portForwards = portForwards == null ? List.of() : List.copyOf(portForwards);
        if (hostDevName != null && !portForwards.isEmpty()) {
            throw new IllegalArgumentException("network interface " + ifaceId + ": port forwards need the user-mode network, not a TAP device");
        }
    }

    /** {@return whether this interface uses the user-mode network} */
    public boolean userMode() {
        return hostDevName == null;
    }

    /** {@return the MAC address as six bytes; a fixed locally administered one per index if none was given} */
    public byte[] macBytes(int index) {
        String mac = guestMac != null ? guestMac : String.format("52:54:00:12:34:%02x", 0x56 + index);
        byte[] out = new byte[6];
        for (int i = 0; i < 6; i++) {
            out[i] = (byte) Integer.parseInt(mac.substring(3 * i, 3 * i + 2), 16);
        }
        return out;
    }
}
