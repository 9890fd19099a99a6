package dev.ember.config;

/**
 * The machine's size, as Firecracker's {@code MachineConfiguration}, and, an Ember extension,
 * the engine that runs it.
 *
 * @param vcpuCount       1 to {@link #MAX_VCPUS}
 * @param memSizeMib      guest memory in MiB, 16 or more
 * @param smt             simultaneous multithreading; Ember's harts have none, so it must be false
 * @param trackDirtyPages log the pages the guest writes, so Diff snapshots can be taken
 * @param engine          the execution engine (the API's {@code engine} and {@code jit_threshold});
 *                        null for {@link EngineConfig#DEFAULT}
 * @param cpuFeatures     the harts' optional extensions (the API's {@code cpu_features}, e.g.
 *                        {@code "+h"}); null for {@link CpuFeatures#NONE}
 */
public record MachineConfig(int vcpuCount, int memSizeMib, boolean smt, boolean trackDirtyPages, EngineConfig engine,
                            CpuFeatures cpuFeatures) {

    public static final int MAX_VCPUS = 8;
    public static final int MIN_MEM_MIB = 16;
    public static final int MAX_MEM_MIB = 64 * 1024;
    /** Firecracker's defaults: one vCPU, 128 MiB. */
    public static final MachineConfig DEFAULT = new MachineConfig(1, 128, false, false);

    /** A machine on the default engine. */
    public MachineConfig(int vcpuCount, int memSizeMib, boolean smt, boolean trackDirtyPages) {
        this(vcpuCount, memSizeMib, smt, trackDirtyPages, null);
    }

    /** A machine without optional CPU features. */
    public MachineConfig(int vcpuCount, int memSizeMib, boolean smt, boolean trackDirtyPages, EngineConfig engine) {
        this(vcpuCount, memSizeMib, smt, trackDirtyPages, engine, null);
    }

    /** {@return this machine, run by {@code engine}} */
    public MachineConfig withEngine(EngineConfig engine) {
        return new MachineConfig(vcpuCount, memSizeMib, smt, trackDirtyPages, engine, cpuFeatures);
    }

    /** {@return this machine with harts that have {@code cpuFeatures}} */
    public MachineConfig withCpuFeatures(CpuFeatures cpuFeatures) {
        return new MachineConfig(vcpuCount, memSizeMib, smt, trackDirtyPages, engine, cpuFeatures);
    }

    /** @throws IllegalArgumentException naming the problem */
    public MachineConfig {
        if (vcpuCount < 1 || vcpuCount > MAX_VCPUS) {
            throw new IllegalArgumentException("vcpu_count must be between 1 and " + MAX_VCPUS + ", not " + vcpuCount);
        }
        if (memSizeMib < MIN_MEM_MIB || memSizeMib > MAX_MEM_MIB) {
            throw new IllegalArgumentException("mem_size_mib must be between " + MIN_MEM_MIB + " and " + MAX_MEM_MIB
                    + ", not " + memSizeMib);
        }
        if (smt) {
            throw new IllegalArgumentException("smt is not supported: RISC-V harts have no SMT siblings");
        }
        engine = engine == null ? EngineConfig.DEFAULT : engine;
        cpuFeatures = cpuFeatures == null ? CpuFeatures.NONE : cpuFeatures;
    }
}
