package dev.ember.agent;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A process for the guest agent to start: what a SPAWN request carries
 * ({@code guest/agent/PROTOCOL.md}); the fields follow the OCI runtime spec's {@code process}
 * object (args, env, cwd, user, terminal, rlimits) plus the root to {@code chroot} into.
 *
 * @param args     the program and its arguments; {@code args[0]} is looked up in the {@code PATH}
 *                 of {@code env} (or the agent's default) unless it contains a {@code /}
 * @param env      {@code KEY=VALUE} entries: the process gets exactly these
 * @param cwd      working directory, inside {@code root}
 * @param root     directory to {@code chroot} into before the {@code chdir}; null for the guest's {@code /}
 * @param uid      user id
 * @param gid      group id
 * @param groups   supplementary group ids (set with {@code setgroups}, exactly these)
 * @param terminal the size of a new pseudo-terminal to run the process on, or null for pipes
 * @param rlimits  resource limits, applied before the {@code exec}
 */
public record ProcessSpec(List<String> args, List<String> env, String cwd, String root, int uid, int gid,
                          List<Integer> groups, TerminalSize terminal, List<Rlimit> rlimits) {

    /** The environment a process gets when none is given. */
    public static final List<String> DEFAULT_ENV = List.of(
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "TERM=xterm");

    /** @throws IllegalArgumentException if there is no program, or an id is negative */
    public ProcessSpec {
        args = List.copyOf(args);
        env = List.copyOf(env);
        groups = List.copyOf(groups);
        rlimits = List.copyOf(rlimits);
        Objects.requireNonNull(cwd, "cwd");
        if (args.isEmpty()) {
            throw new IllegalArgumentException("a process needs at least its program in args");
        }
        if (uid < 0 || gid < 0 || groups.stream().anyMatch(g -> g < 0)) {
            throw new IllegalArgumentException("uid, gid and groups must not be negative");
        }
    }

    /** A terminal size in character cells. */
    public record TerminalSize(int rows, int cols) {
        /** @throws IllegalArgumentException if a dimension is outside 0..65535 */
        public TerminalSize {
            if (rows < 0 || rows > 0xFFFF || cols < 0 || cols > 0xFFFF) {
                throw new IllegalArgumentException("terminal size out of range: " + rows + "x" + cols);
            }
        }
    }

    /**
     * A resource limit, as OCI's {@code process.rlimits}: {@code type} is {@code RLIMIT_NOFILE}
     * and the like; {@link #UNLIMITED} for no limit.
     */
    public record Rlimit(String type, long soft, long hard) {
        /** {@code RLIM_INFINITY}. */
        public static final long UNLIMITED = -1;

        /** @throws IllegalArgumentException if the type is not {@code RLIMIT_...} */
        public Rlimit {
            if (type == null || !type.matches("RLIMIT_[A-Z]+")) {
                throw new IllegalArgumentException("rlimit type must look like RLIMIT_NOFILE, not " + type);
            }
        }

        String wire() {
            return type + " " + value(soft) + " " + value(hard);
        }

        private static String value(long v) {
            return v == UNLIMITED ? "unlimited" : Long.toUnsignedString(v);
        }
    }

    /** {@return a root process running {@code args} in {@code /} with {@link #DEFAULT_ENV}} */
    public static ProcessSpec of(String... args) {
        return builder(args).build();
    }

    /** {@return a root process running {@code sh -c command} in {@code /}} */
    public static ProcessSpec shell(String command) {
        return of("/bin/sh", "-c", command);
    }

    /** {@return a builder starting from {@link #of}} */
    public static Builder builder(String... args) {
        return new Builder(List.of(args));
    }

    /** {@return the SPAWN payload} */
    byte[] encode() {
        AgentProtocol.Fields f = new AgentProtocol.Fields();
        args.forEach(a -> f.add('a', a));
        env.forEach(e -> f.add('e', e));
        f.add('d', cwd);
        if (root != null) {
            f.add('r', root);
        }
        f.add('u', Integer.toString(uid));
        f.add('g', Integer.toString(gid));
        groups.forEach(g -> f.add('G', Integer.toString(g)));
        if (terminal != null) {
            f.add('t', terminal.rows() + " " + terminal.cols());
        }
        rlimits.forEach(r -> f.add('l', r.wire()));
        return f.toBytes();
    }

    /** Builds a {@link ProcessSpec}; not thread-safe. */
    public static final class Builder {
        private List<String> args;
        private List<String> env = DEFAULT_ENV;
        private String cwd = "/";
        private String root;
        private int uid;
        private int gid;
        private List<Integer> groups = List.of();
        private TerminalSize terminal;
        private final List<Rlimit> rlimits = new ArrayList<>();

        private Builder(List<String> args) {
            this.args = args;
        }

        public Builder args(List<String> args) { this.args = args; return this; }
        /** The exact environment; {@link #DEFAULT_ENV} if not set. */
        public Builder env(List<String> env) { this.env = env; return this; }
        public Builder cwd(String cwd) { this.cwd = cwd; return this; }
        public Builder root(String root) { this.root = root; return this; }
        public Builder user(int uid, int gid) { this.uid = uid; this.gid = gid; return this; }
        public Builder groups(List<Integer> groups) { this.groups = groups; return this; }
        public Builder terminal(int rows, int cols) { this.terminal = new TerminalSize(rows, cols); return this; }
        public Builder rlimit(Rlimit rlimit) { this.rlimits.add(rlimit); return this; }

        public ProcessSpec build() {
            return new ProcessSpec(args, env, cwd, root, uid, gid, groups, terminal, rlimits);
        }
    }
}
