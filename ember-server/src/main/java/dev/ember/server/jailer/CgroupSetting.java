package dev.ember.server.jailer;

/**
 * One {@code --cgroup FILE=VALUE}: a value written to a file of the VM's cgroup before it starts,
 * e.g. {@code memory.max=512M} (cgroup v2) or {@code memory.limit_in_bytes=536870912} (v1).
 *
 * <p>User-controlled: the file name is checked to be a plain {@code controller.setting} name
 * (no slash, no {@code ..}), so it cannot name a file outside the cgroup directory; the value is
 * one line of at most 256 printable characters, and the kernel checks what it means.
 *
 * @param file the cgroup file's name, e.g. {@code pids.max}
 * @param value what is written to it
 */
public record CgroupSetting(String file, String value) {

    private static final int MAX_VALUE = 256;

    /** {@return the controller the file belongs to: its name up to the first dot ({@code cgroup} for core files)} */
    public String controller() {
        return file.substring(0, file.indexOf('.'));
    }

    /**
     * {@return the setting {@code spec} ({@code FILE=VALUE}) names}
     *
     * @throws JailerException naming what is wrong with it
     */
    public static CgroupSetting parse(String spec) throws JailerException {
        int eq = spec.indexOf('=');
        if (eq < 0) {
            throw new JailerException("--cgroup must be FILE=VALUE (e.g. memory.max=512M), not \"" + spec + "\"");
        }
        String file = spec.substring(0, eq);
        String value = spec.substring(eq + 1);
        if (!file.matches("[a-z0-9_]+\\.[a-z0-9_.]+") || file.contains("..")) {
            throw new JailerException("--cgroup: \"" + file + "\" is not a cgroup file name (controller.setting, e.g. pids.max)");
        }
        if (value.isEmpty() || value.length() > MAX_VALUE || !value.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
            throw new JailerException("--cgroup " + file + ": the value must be 1 to " + MAX_VALUE + " printable characters");
        }
        return new CgroupSetting(file, value);
    }
}
