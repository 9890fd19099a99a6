package dev.ember.config;

import java.nio.file.Path;

/**
 * The virtio-vsock device, as Firecracker's {@code Vsock}.
 *
 * @param guestCid the guest's context id, 3 or more (0-2 are reserved, §5.10.4)
 * @param udsPath  the host Unix socket; guest-initiated connections to port P go to
 *                 {@code udsPath + "_" + P}
 */
public record VsockConfig(long guestCid, Path udsPath) implements DeviceConfig {

    /** @throws IllegalArgumentException naming the problem */
    public VsockConfig {
        if (guestCid < 3 || guestCid > 0xFFFF_FFFEL) {
            throw new IllegalArgumentException("vsock guest CID must be 3 to 4294967294, not " + guestCid);
        }
        if (udsPath == null) {
            throw new IllegalArgumentException("vsock needs a Unix socket path");
        }
    }
}
