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
 * @param backingFile  an Ember extension for clones: with it, {@code pathOnHost} is a
 *                     copy-on-write overlay (created if missing) over this image, which is
 *                     only read; null for a plain image
 */
public record DriveConfig(String driveId, Path pathOnHost, boolean isRootDevice, boolean isReadOnly,
                          RateLimiterConfig rateLimiter, Path backingFile) implements DeviceConfig {

    /** A drive without a rate limiter. */
    public DriveConfig(String driveId, Path pathOnHost, boolean isRootDevice, boolean isReadOnly) {
        this(driveId, pathOnHost, isRootDevice, isReadOnly, null, null);
    }

    /** A plain image, as Firecracker's {@code Drive}. */
    public DriveConfig(String driveId, Path pathOnHost, boolean isRootDevice, boolean isReadOnly,
                       RateLimiterConfig rateLimiter) {
        this(driveId, pathOnHost, isRootDevice, isReadOnly, rateLimiter, null);
    }

    /** {@return this drive as a copy-on-write overlay file {@code overlay} over {@code backing}} */
    public DriveConfig overlay(Path overlay, Path backing) {
        return new DriveConfig(driveId, overlay, isRootDevice, isReadOnly, rateLimiter, backing);
    }

    /** @throws IllegalArgumentException naming the problem */
    public DriveConfig {
        ConfigChecks.id("drive", driveId);
        if (pathOnHost == null) {
            throw new IllegalArgumentException("drive " + driveId + ": no path on host");
        }
    }
}
