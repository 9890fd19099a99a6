package dev.ember.server.jailer;

import java.util.Locale;

/**
 * One {@code --resource-limit RESOURCE=VALUE}, as Firecracker's jailer takes it: {@code no-file}
 * (RLIMIT_NOFILE, one more than the highest file descriptor number the VMM may open) or
 * {@code fsize} (RLIMIT_FSIZE, the largest file in bytes it may write; past it a write fails with
 * EFBIG). Both the soft and the hard limit are set, so the jailed process cannot raise them again
 * (setrlimit(2)).
 *
 * @param resource the Linux resource number ({@code RLIMIT_NOFILE} or {@code RLIMIT_FSIZE})
 * @param name the name the flag used
 * @param value the limit
 */
public record ResourceLimit(int resource, String name, long value) {

    /** {@code RLIMIT_FSIZE} and {@code RLIMIT_NOFILE} from {@code <asm-generic/resource.h>}: the same on x86-64 and arm64. */
    static final int RLIMIT_FSIZE = 1, RLIMIT_NOFILE = 7;

    /** Firecracker's jailer bounds the open files to 2048 when no limit is given. */
    static final ResourceLimit DEFAULT_NO_FILE = new ResourceLimit(RLIMIT_NOFILE, "no-file", 2048);

    /** The kernel's ceiling for RLIMIT_NOFILE ({@code fs.nr_open}'s default): a larger value only fails later. */
    private static final long MAX_NO_FILE = 1 << 20;

    /**
     * {@return the limit {@code spec} ({@code no-file=N} or {@code fsize=N}) names}
     *
     * @throws JailerException naming the part of {@code spec} that is wrong
     */
    public static ResourceLimit parse(String spec) throws JailerException {
        int eq = spec.indexOf('=');
        if (eq < 0) {
            throw new JailerException("--resource-limit must be RESOURCE=VALUE (no-file=N or fsize=N), not \"" + spec + "\"");
        }
        String name = spec.substring(0, eq).trim().toLowerCase(Locale.ROOT);
        String text = spec.substring(eq + 1).trim();
        int resource = switch (name) {
            case "no-file" -> RLIMIT_NOFILE;
            case "fsize" -> RLIMIT_FSIZE;
            default -> throw new JailerException("--resource-limit: unknown resource \"" + name + "\" (known: no-file, fsize)");
        };
        long value;
        try {
            value = Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new JailerException("--resource-limit " + name + ": \"" + text + "\" is not a whole number");
        }
        if (value < 0 || resource == RLIMIT_NOFILE && (value < 64 || value > MAX_NO_FILE)) {
            throw new JailerException("--resource-limit " + name + "=" + value + " is out of range"
                    + (resource == RLIMIT_NOFILE ? " (64 to " + MAX_NO_FILE + "; the JVM needs a few dozen descriptors)" : ""));
        }
        return new ResourceLimit(resource, name, value);
    }
}
