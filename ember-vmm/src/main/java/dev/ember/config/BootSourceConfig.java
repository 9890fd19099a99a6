package dev.ember.config;

import java.nio.file.Path;

/**
 * What to boot, as Firecracker's {@code BootSource}.
 *
 * @param kernelImagePath a RISC-V Linux {@code Image} or ELF
 * @param initrdPath      an initial ramdisk, or null
 * @param bootArgs        the kernel command line, or null for Ember's default; no NUL character,
 *                        since the device tree stores it as a C string (Devicetree Specification
 *                        v0.4 §2.2.4, {@code <string>})
 */
public record BootSourceConfig(Path kernelImagePath, Path initrdPath, String bootArgs) {

    /** @throws IllegalArgumentException naming the problem */
    public BootSourceConfig {
        if (kernelImagePath == null) {
            throw new IllegalArgumentException("boot source needs a kernel image path");
        }
        checkBootArgs(bootArgs);
    }

    /**
     * Checks a kernel command line.
     *
     * @throws IllegalArgumentException if it contains a NUL character, which would end it early
     */
    public static void checkBootArgs(String bootArgs) {
        if (bootArgs != null && bootArgs.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("boot args contain a NUL character at index " + bootArgs.indexOf('\0')
                    + "; the kernel command line is a C string");
        }
    }
}
