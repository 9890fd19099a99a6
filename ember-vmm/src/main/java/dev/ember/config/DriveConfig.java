package dev.ember.config;

import java.nio.file.Path;

/**
 * A virtio-blk drive, as Firecracker's {@code Drive}.
 *
 * @param driveId      unique name; also the serial the guest reads with GET_ID
 * @param pathOnHost   a raw disk image
 * @param isRootDevice the kernel mounts it as its root ({@code root=/dev/vdX})
 * @param isReadOnly   the guest may not write it
 * @param rateLimiter  limit on bytes and requests, or null for none
 */
public record DriveConfig(String driveId, Path pathOnHost, boolean isRootDevice, boolean isReadOnly,
                          RateLimiterConfig rateLimiter) {

    /** A drive without a rate limiter. */
    public DriveConfig(String driveId, Path pathOnHost, boolean isRootDevice, boolean isReadOnly) {
        this(driveId, pathOnHost, isRootDevice, isReadOnly, null);
    }

    /** @throws IllegalArgumentException naming the problem */
    public DriveConfig {
        ConfigChecks.id("drive", driveId);
        if (pathOnHost == null) {
            throw new IllegalArgumentException("drive " + driveId + ": no path on host");
        }
    }
}
