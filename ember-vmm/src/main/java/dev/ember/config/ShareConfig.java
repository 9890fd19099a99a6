package dev.ember.config;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A host directory shared with the guest over virtio-fs (VIRTIO 1.2 §5.11): Ember's own
 * resource ({@code PUT /shares/{share_id}}, {@code --share}); Firecracker has none. The guest
 * mounts it with {@code mount -t virtiofs TAG /mnt}.
 *
 * @param tag      the name the guest mounts, 1 to 36 bytes of UTF-8 (§5.11.4), no NUL
 * @param path     the shared directory on the host; it must exist
 * @param readOnly whether every change is refused (EROFS)
 */
public record ShareConfig(String tag, Path path, boolean readOnly) implements DeviceConfig {

    /** §5.11.4: the tag field's size. */
    public static final int TAG_MAX_BYTES = 36;

    /** @throws IllegalArgumentException naming the problem */
    public ShareConfig {
        if (tag == null || tag.isEmpty() || tag.getBytes(StandardCharsets.UTF_8).length > TAG_MAX_BYTES
                || tag.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("invalid share tag '" + tag + "': use 1 to " + TAG_MAX_BYTES
                    + " bytes (UTF-8), no NUL");
        }
        if (path == null) {
            throw new IllegalArgumentException("share '" + tag + "' needs a host directory");
        }
        if (!Files.exists(path)) {
            throw new IllegalArgumentException("share '" + tag + "': " + path + " does not exist");
        }
        if (!Files.isDirectory(path)) {
            throw new IllegalArgumentException("share '" + tag + "': " + path + " is not a directory");
        }
    }
}
