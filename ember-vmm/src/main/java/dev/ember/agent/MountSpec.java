package dev.ember.agent;

import java.util.Objects;

/**
 * A mount for the guest agent to make: what a MOUNT request carries, the arguments of Linux's
 * {@code mount(2)}. The agent creates a missing target (a directory, or an empty file for a bind
 * of a file) and makes a read-only bind read-only with the remount {@code mount(2)} requires.
 *
 * @param source the device, directory or virtio-fs tag; "" for none
 * @param target absolute path in the guest
 * @param fstype file system type ("tmpfs", "virtiofs", "proc"...); "" for a bind
 * @param data   file-system-specific options ({@code size=64m}); "" for none
 * @param flags  {@code MS_*} flags, Linux's values ({@link #MS_RDONLY}, {@link #MS_BIND}...)
 */
public record MountSpec(String source, String target, String fstype, String data, long flags) {

    /** Linux {@code MS_*} mount flags ({@code include/uapi/linux/mount.h}). */
    public static final long MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_REMOUNT = 32,
            MS_BIND = 4096, MS_REC = 16384, MS_PRIVATE = 1 << 18, MS_SLAVE = 1 << 19;

    /** @throws IllegalArgumentException if the target is not an absolute path */
    public MountSpec {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(fstype, "fstype");
        Objects.requireNonNull(data, "data");
        if (target == null || !target.startsWith("/")) {
            throw new IllegalArgumentException("mount target must be an absolute path, not " + target);
        }
    }

    /** {@return a mount of a file system of type {@code fstype} (source = the type's name) at {@code target}} */
    public static MountSpec of(String fstype, String target, String data, long flags) {
        return new MountSpec(fstype, target, fstype, data, flags);
    }

    /** {@return a bind mount of {@code source} at {@code target}, read-only if asked} */
    public static MountSpec bind(String source, String target, boolean readOnly) {
        return new MountSpec(source, target, "", "", MS_BIND | MS_REC | (readOnly ? MS_RDONLY : 0));
    }

    /** {@return the MOUNT payload} */
    byte[] encode() {
        byte[] f = new byte[8];
        for (int i = 0; i < 8; i++) {
            f[i] = (byte) (flags >>> (8 * i));
        }
        return new AgentProtocol.Fields().add('s', source).add('t', target).add('f', fstype).add('o', data)
                .add('F', f).toBytes();
    }
}
