package dev.ember.config;

import java.util.List;

/**
 * The microVM metadata service, as Firecracker's {@code MmdsConfig}.
 *
 * @param version           {@code V1} or {@code V2} (session tokens)
 * @param networkInterfaces ids of the interfaces through which the guest reaches it
 * @param ipv4Address       its address, by default {@value #DEFAULT_ADDRESS}
 */
public record MmdsConfig(String version, List<String> networkInterfaces, String ipv4Address) {

    public static final String DEFAULT_ADDRESS = "169.254.169.254";

    /** @throws IllegalArgumentException naming the problem */
    public MmdsConfig {
        version = version == null ? "V1" : version;
        if (!version.equals("V1") && !version.equals("V2")) {
            throw new IllegalArgumentException("MMDS version must be V1 or V2, not '" + version + "'");
        }
        networkInterfaces = networkInterfaces == null ? List.of() : List.copyOf(networkInterfaces);
        if (networkInterfaces.isEmpty()) {
            throw new IllegalArgumentException("MMDS needs at least one network interface");
        }
        ipv4Address = ipv4Address == null ? DEFAULT_ADDRESS : ipv4Address;
    }
}
