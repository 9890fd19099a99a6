package dev.ember.mmds;

/**
 * The MMDS protocol version, as Firecracker's {@code MmdsVersion} (src/vmm/src/mmds/data_store.rs).
 * V1 answers every GET; V2 answers a GET only with a valid session token
 * ({@code X-metadata-token} or {@code X-aws-ec2-metadata-token}). Both issue tokens on
 * {@code PUT /latest/api/token}.
 */
public enum MmdsVersion {
    V1,
    V2;

    /** {@return the version named as the API names it, {@code "V1"} or {@code "V2"}} */
    public static MmdsVersion parse(String name) {
        return switch (name) {
            case "V1" -> V1;
            case "V2" -> V2;
            default -> throw new IllegalArgumentException("MMDS version must be V1 or V2, not '" + name + "'");
        };
    }
}
