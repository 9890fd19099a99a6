package dev.ember.server.oci;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ember.config.MachineConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An OCI bundle (runtime spec, {@code bundle.md}): a directory with {@code config.json} and the
 * root file system it names, read and checked before any VM exists, so that every mistake is a
 * one-line error from {@code create}.
 *
 * <p>How the configuration sizes the microVM (Ember's choice; the README lists it):
 * <ul>
 *   <li>memory: {@code linux.resources.memory.limit} rounded up to a MiB, at least
 *       {@value #MIN_MEM_MIB} MiB (the guest kernel needs its share), {@value #DEFAULT_MEM_MIB}
 *       MiB when there is no limit;
 *   <li>vCPUs: {@code cpu.quota / cpu.period} rounded up, else the number of CPUs in
 *       {@code cpu.cpus}, else 1; at most {@link MachineConfig#MAX_VCPUS}.
 * </ul>
 */
public record Bundle(Path dir, OciSpec spec, Path rootfs, int vcpus, int memMib) {

    /** The configuration file's name inside a bundle. */
    public static final String CONFIG = "config.json";
    /** The largest config.json read: a real one is a few KiB. */
    public static final long MAX_CONFIG_BYTES = 4 << 20;
    public static final int DEFAULT_MEM_MIB = 256;
    public static final int MIN_MEM_MIB = 64;

    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, false);

    /**
     * Reads and checks {@code dir/config.json}.
     *
     * @throws OciException with a one-line message for a missing bundle, a config that does not
     *         parse or lacks what a container needs, or a missing root file system
     */
    public static Bundle load(Path dir) throws OciException {
        if (!Files.isDirectory(dir)) {
            throw new OciException("bundle " + dir + " is not a directory");
        }
        Path config = dir.resolve(CONFIG);
        OciSpec spec;
        try {
            if (Files.size(config) > MAX_CONFIG_BYTES) {
                throw new OciException(config + " is larger than " + MAX_CONFIG_BYTES + " bytes");
            }
            spec = JSON.readValue(Files.readString(config), OciSpec.class);
        } catch (NoSuchFileException e) {
            throw new OciException("bundle " + dir + " has no " + CONFIG);
        } catch (JsonProcessingException e) {
            throw new OciException(config + " does not parse: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new OciException("cannot read " + config + ": " + e.getMessage());
        }
        if (spec == null) {
            throw new OciException(config + " is empty");
        }
        if (spec.ociVersion() == null || !spec.ociVersion().startsWith("1.")) {
            throw new OciException(config + ": ociVersion " + spec.ociVersion() + " is not 1.x");
        }
        if (spec.root() == null || spec.root().path() == null || spec.root().path().isEmpty()) {
            throw new OciException(config + " names no root.path");
        }
        Path rootfs = dir.resolve(spec.root().path()).normalize();
        if (!Files.isDirectory(rootfs)) {
            throw new OciException("root file system " + rootfs + " does not exist or is not a directory");
        }
        OciSpec.Process p = spec.process();
        if (p == null || p.args() == null || p.args().isEmpty() || p.args().getFirst().isEmpty()) {
            throw new OciException(config + " names no process.args");
        }
        if (p.cwd() != null && !p.cwd().startsWith("/")) {
            throw new OciException(config + ": process.cwd " + p.cwd() + " is not absolute");
        }
        for (OciSpec.Mount m : spec.mounts() == null ? List.<OciSpec.Mount>of() : spec.mounts()) {
            if (m.destination() == null || !m.destination().startsWith("/")) {
                throw new OciException(config + ": mount destination " + m.destination() + " is not absolute");
            }
        }
        return new Bundle(dir.toAbsolutePath(), spec, rootfs.toAbsolutePath(), vcpus(spec), memMib(spec));
    }

    private static int memMib(OciSpec spec) {
        OciSpec.Resources r = spec.linux() == null ? null : spec.linux().resources();
        Long limit = r == null || r.memory() == null ? null : r.memory().limit();
        if (limit == null || limit <= 0) {
            return DEFAULT_MEM_MIB;
        }
        long mib = (limit + (1 << 20) - 1) >> 20;
        return (int) Math.clamp(mib, MIN_MEM_MIB, MachineConfig.MAX_MEM_MIB);
    }

    private static int vcpus(OciSpec spec) {
        OciSpec.Resources r = spec.linux() == null ? null : spec.linux().resources();
        OciSpec.Cpu cpu = r == null ? null : r.cpu();
        int n = 1;
        if (cpu != null && cpu.quota() != null && cpu.quota() > 0 && cpu.period() != null && cpu.period() > 0) {
            n = (int) Math.min(MachineConfig.MAX_VCPUS, (cpu.quota() + cpu.period() - 1) / cpu.period());
        } else if (cpu != null && cpu.cpus() != null && !cpu.cpus().isBlank()) {
            n = countCpus(cpu.cpus());
        }
        return Math.clamp(n, 1, MachineConfig.MAX_VCPUS);
    }

    /** Counts a cpuset list such as {@code "0-3,5"}; a malformed list counts as 1. */
    static int countCpus(String list) {
        int n = 0;
        try {
            for (String part : list.split(",")) {
                String[] range = part.trim().split("-", 2);
                int lo = Integer.parseInt(range[0].trim());
                int hi = range.length == 2 ? Integer.parseInt(range[1].trim()) : lo;
                if (hi < lo || lo < 0) {
                    return 1;
                }
                n += Math.min(hi - lo + 1, MachineConfig.MAX_VCPUS);
            }
        } catch (NumberFormatException e) {
            return 1;
        }
        return Math.max(n, 1);
    }

    /**
     * {@return the settings of this configuration that a microVM does not apply}, one line each,
     * for the runtime's log: the VM boundary replaces them (README, "What ember-oci does not apply")
     */
    public List<String> unsupported() {
        List<String> out = new ArrayList<>();
        if (spec.hooks() != null && !spec.hooks().isEmpty()) {
            out.add("hooks " + spec.hooks().keySet() + " are not run");
        }
        OciSpec.Linux l = spec.linux();
        if (l != null) {
            if (l.namespaces() != null && !l.namespaces().isEmpty()) {
                out.add("linux.namespaces: the container has a kernel of its own; no namespaces are made inside it");
            }
            if (l.seccomp() != null) {
                out.add("linux.seccomp: the guest kernel has no seccomp; the filter is not applied");
            }
            if (l.sysctl() != null && !l.sysctl().isEmpty()) {
                out.add("linux.sysctl " + l.sysctl().keySet() + " are not set");
            }
            if (l.uidMappings() != null && !l.uidMappings().isEmpty()) {
                out.add("linux.uidMappings: no user namespace; ids are used as given");
            }
            if (l.maskedPaths() != null && !l.maskedPaths().isEmpty()) {
                out.add("linux.maskedPaths and readonlyPaths are not masked: /proc and /sys are the VM's own");
            }
        }
        OciSpec.Process p = spec.process();
        if (p.capabilities() != null) {
            out.add("process.capabilities: the process keeps the guest's default capabilities for its uid");
        }
        if (p.apparmorProfile() != null || p.selinuxLabel() != null) {
            out.add("process.apparmorProfile/selinuxLabel: no LSM in the guest kernel");
        }
        return out;
    }
}
