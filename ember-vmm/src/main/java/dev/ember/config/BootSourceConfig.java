package dev.ember.config;

import java.nio.file.Path;

/**
 * What to boot, as Firecracker's {@code BootSource}.
 *
 * @param kernelImagePath a RISC-V Linux {@code Image} or ELF
 * @param initrdPath      an initial ramdisk, or null
 * @param bootArgs        the kernel command line, or null for Ember's default
 */
public record BootSourceConfig(Path kernelImagePath, Path initrdPath, String bootArgs) {

    /** @throws IllegalArgumentException naming the problem */
    public BootSourceConfig {
        if (kernelImagePath == null) {
            throw new IllegalArgumentException("boot source needs a kernel image path");
        }
    }
}
