package dev.ember.server.oci;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * The part of a bundle's {@code config.json} that Ember reads: the OCI Runtime Specification's
 * configuration ({@code config.md}, {@code config-linux.md}), version 1.0 to 1.2. Names follow the
 * specification's JSON; fields Ember does not use are skipped when reading, and those it cannot
 * honour in a microVM are reported by {@link Bundle#unsupported()}.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record OciSpec(
        String ociVersion,
        Process process,
        Root root,
        String hostname,
        List<Mount> mounts,
        Map<String, Object> hooks,
        Map<String, String> annotations,
        Linux linux) {

    /** config.md "Root": the container's root file system, relative to the bundle or absolute. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Root(String path, boolean readonly) { }

    /** config.md "Mounts". */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Mount(String destination, String type, String source, List<String> options) {
        /** {@return the options, never null} */
        public List<String> optionList() {
            return options == null ? List.of() : options;
        }
    }

    /** config.md "Process". */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Process(
            boolean terminal,
            ConsoleSize consoleSize,
            User user,
            List<String> args,
            String commandLine,
            List<String> env,
            String cwd,
            List<Rlimit> rlimits,
            Map<String, Object> capabilities,
            boolean noNewPrivileges,
            String apparmorProfile,
            String selinuxLabel,
            Integer oomScoreAdj) { }

    /** config.md "Console size": rows and columns of the terminal. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record ConsoleSize(int height, int width) { }

    /** config.md "User" (POSIX platforms). */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record User(long uid, long gid, Integer umask, List<Long> additionalGids) { }

    /** config.md "POSIX process rlimits": type is a name such as RLIMIT_NOFILE. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Rlimit(String type, java.math.BigInteger soft, java.math.BigInteger hard) { }

    /** config-linux.md: the parts Ember reads. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Linux(
            Resources resources,
            List<Namespace> namespaces,
            Map<String, Object> seccomp,
            String cgroupsPath,
            Map<String, String> sysctl,
            List<Map<String, Object>> devices,
            List<String> maskedPaths,
            List<String> readonlyPaths,
            @JsonProperty("uidMappings") List<Map<String, Object>> uidMappings) { }

    /** config-linux.md "Namespaces". */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Namespace(String type, String path) { }

    /** config-linux.md "Control groups": the memory and CPU limits that size the microVM. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Resources(Memory memory, Cpu cpu) { }

    /** Memory limit in bytes; null or -1 for none. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Memory(Long limit) { }

    /** CPU: quota over period (microseconds) and the cpuset list ("0-3,5"). */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Cpu(Long quota, Long period, String cpus, Long shares) { }
}
