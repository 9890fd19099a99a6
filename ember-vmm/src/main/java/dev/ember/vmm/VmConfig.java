package dev.ember.vmm;

import dev.ember.config.BootSourceConfig;
import dev.ember.config.CpuFeatures;
import dev.ember.config.DevicesConfig;
import dev.ember.config.EngineConfig;
import java.nio.file.Path;

/**
 * What to boot and on how big a machine: the inputs of {@link VirtualMachine}.
 *
 * @param vcpus       number of harts, 1 to {@link #MAX_VCPUS}
 * @param memoryBytes guest RAM, a multiple of 4 KiB, at least {@link #MIN_MEMORY}
 * @param kernel      a RISC-V Linux {@code Image} or ELF; null with {@code elf} set
 * @param initrd      optional initial ramdisk
 * @param cmdline     the kernel command line, without NUL characters
 * @param firmware    optional M-mode firmware (e.g. OpenSBI {@code fw_jump.bin}); null for the built-in SBI
 * @param elf         a bare-metal program run in M-mode with HTIF, instead of a kernel
 * @param devices     the virtio devices
 * @param bootTimer   log the time from start to the guest's boot-timer write, as Firecracker's
 *                    {@code --boot-timer}
 * @param name        what the VM's threads are named after ({@code ember-vcpu-0@NAME}), so a
 *                    thread dump of a JVM running several tells them apart; null for none
 * @param engine      the execution engine; null for {@link EngineConfig#DEFAULT}
 * @param cpuFeatures the harts' optional extensions (the hypervisor extension); null for
 *                    {@link CpuFeatures#NONE}
 */
public record VmConfig(int vcpus, long memoryBytes, Path kernel, Path initrd, String cmdline, Path firmware, Path elf,
                       DevicesConfig devices, boolean bootTimer, String name, EngineConfig engine,
                       CpuFeatures cpuFeatures) {

    /** @throws IllegalArgumentException if {@code cmdline} contains a NUL character */
    public VmConfig {
        BootSourceConfig.checkBootArgs(cmdline);
        devices = devices == null ? DevicesConfig.NONE : devices;
        engine = engine == null ? EngineConfig.DEFAULT : engine;
        cpuFeatures = cpuFeatures == null ? CpuFeatures.NONE : cpuFeatures;
    }

    /** A machine without optional CPU features. */
    public VmConfig(int vcpus, long memoryBytes, Path kernel, Path initrd, String cmdline, Path firmware, Path elf,
                    DevicesConfig devices, boolean bootTimer, String name, EngineConfig engine) {
        this(vcpus, memoryBytes, kernel, initrd, cmdline, firmware, elf, devices, bootTimer, name, engine, null);
    }

    /** A machine on the default engine. */
    public VmConfig(int vcpus, long memoryBytes, Path kernel, Path initrd, String cmdline, Path firmware, Path elf,
                    DevicesConfig devices, boolean bootTimer, String name) {
        this(vcpus, memoryBytes, kernel, initrd, cmdline, firmware, elf, devices, bootTimer, name, null);
    }

    /** An unnamed machine. */
    public VmConfig(int vcpus, long memoryBytes, Path kernel, Path initrd, String cmdline, Path firmware, Path elf,
                    DevicesConfig devices, boolean bootTimer) {
        this(vcpus, memoryBytes, kernel, initrd, cmdline, firmware, elf, devices, bootTimer, null);
    }

    /** A machine without the boot timer. */
    public VmConfig(int vcpus, long memoryBytes, Path kernel, Path initrd, String cmdline, Path firmware, Path elf,
                    DevicesConfig devices) {
        this(vcpus, memoryBytes, kernel, initrd, cmdline, firmware, elf, devices, false);
    }

    /** A machine without virtio devices. */
    public VmConfig(int vcpus, long memoryBytes, Path kernel, Path initrd, String cmdline, Path firmware, Path elf) {
        this(vcpus, memoryBytes, kernel, initrd, cmdline, firmware, elf, DevicesConfig.NONE, false);
    }

    public static final int MAX_VCPUS = 8;
    public static final long MIN_MEMORY = 16L << 20;
    public static final long MAX_MEMORY = 64L << 30;
    public static final long RAM_BASE = 0x8000_0000L;
    public static final String DEFAULT_CMDLINE = "console=ttyS0";

    /**
     * Parses a memory size such as {@code 512M}, {@code 2G} or {@code 268435456}.
     *
     * @throws IllegalArgumentException with a message naming the problem
     */
    public static long parseMemory(String text) {
        String t = text.trim();
        if (t.isEmpty()) {
            throw new IllegalArgumentException("memory size is empty");
        }
        if (t.toUpperCase().endsWith("IB")) {
            t = t.substring(0, t.length() - 2);
        }
        if (t.isEmpty()) {
            throw new IllegalArgumentException("memory size '" + text + "' is not a number with an optional K, M or G suffix");
        }
        long unit = 1;
        char last = Character.toUpperCase(t.charAt(t.length() - 1));
        switch (last) {
            case 'K' -> unit = 1L << 10;
            case 'M' -> unit = 1L << 20;
            case 'G' -> unit = 1L << 30;
            default -> { }
        }
        String digits = unit == 1 ? t : t.substring(0, t.length() - 1);
        long n;
        try {
            n = Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("memory size '" + text + "' is not a number with an optional K, M or G suffix");
        }
        if (n <= 0 || n > MAX_MEMORY / unit) {
            throw new IllegalArgumentException("memory size '" + text + "' is out of range (16M to 64G)");
        }
        return n * unit;
    }

    /** {@return this configuration with the VM named {@code name}} */
    public VmConfig named(String name) {
        return new VmConfig(vcpus, memoryBytes, kernel, initrd, cmdline, firmware, elf, devices, bootTimer, name, engine, cpuFeatures);
    }

    /** {@return this configuration running on {@code engine}} */
    public VmConfig withEngine(EngineConfig engine) {
        return new VmConfig(vcpus, memoryBytes, kernel, initrd, cmdline, firmware, elf, devices, bootTimer, name, engine, cpuFeatures);
    }

    /** {@return this configuration with {@code devices} instead of its own} */
    public VmConfig withDevices(DevicesConfig devices) {
        return new VmConfig(vcpus, memoryBytes, kernel, initrd, cmdline, firmware, elf, devices, bootTimer, name, engine, cpuFeatures);
    }

    /** {@return this configuration with harts that have {@code cpuFeatures}} */
    public VmConfig withCpuFeatures(CpuFeatures cpuFeatures) {
        return new VmConfig(vcpus, memoryBytes, kernel, initrd, cmdline, firmware, elf, devices, bootTimer, name, engine,
                cpuFeatures);
    }

    /** {@return {@code thread} followed by {@code @NAME} when the VM has a name} */
    String threadName(String thread) {
        return name == null ? thread : thread + "@" + name;
    }

    /**
     * Checks the numbers.
     *
     * @throws IllegalArgumentException naming the first problem
     */
    public VmConfig validate() {
        if (vcpus < 1 || vcpus > MAX_VCPUS) {
            throw new IllegalArgumentException("--vcpus must be between 1 and " + MAX_VCPUS + ", not " + vcpus);
        }
        if (memoryBytes < MIN_MEMORY || memoryBytes > MAX_MEMORY) {
            throw new IllegalArgumentException("memory size " + memoryBytes + " bytes is out of range (16M to 64G)");
        }
        if ((memoryBytes & 0xFFFFF) != 0) {
            throw new IllegalArgumentException("memory size must be a whole number of MiB");
        }
        if (kernel == null && elf == null) {
            throw new IllegalArgumentException("nothing to boot: give a kernel or an ELF program");
        }
        return this;
    }
}
