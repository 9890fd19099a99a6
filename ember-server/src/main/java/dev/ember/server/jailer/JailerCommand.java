package dev.ember.server.jailer;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ember jailer}: starts {@code ember --api-sock} confined as Firecracker's jailer confines
 * Firecracker (docs/jailer.md here, and Firecracker's docs/jailer.md): in a chroot of its own, in
 * a cgroup with the given limits, under resource limits, in new mount, IPC, UTS, network (or the
 * given) and optionally PID namespaces, as an unprivileged uid and gid with no capabilities, under
 * a seccomp filter.
 *
 * <p>A JVM cannot exec, and cannot unshare namespaces once its threads run; so this command
 * prepares and the {@code ember} launcher finishes. It checks the flags, creates the chroot and
 * the cgroup, moves its parent (the launcher, named by {@code EMBER_JAILER_LAUNCHER}) into the
 * cgroup and sets its resource limits, then prints the plan on stdout: {@code exec} or
 * {@code daemonize}, the seccomp program's file, and the command, each ended by a NUL byte. The
 * launcher opens the seccomp file on descriptor {@value Jail#SECCOMP_FD}, closes its other
 * descriptors and execs the command (through {@code setsid}, with stdio on /dev/null, to
 * daemonize): so the jailed VMM inherits the cgroup and the limits, and {@code ember jailer}'s
 * process becomes the jail's.
 *
 * <p>User-controlled: every flag is checked before anything is created (id, ids, paths, limit
 * and cgroup syntax); a cgroup file the kernel does not offer, or a value it refuses, undoes
 * what was created. Errors are one line, exit status 1 (2 for a usage error).
 */
@Command(name = "jailer", mixinStandardHelpOptions = true,
        description = "Start 'ember --api-sock' confined: chroot, cgroup, resource limits, namespaces, uid/gid, seccomp.")
public final class JailerCommand implements Callable<Integer> {

    /** The environment variable through which the launcher names itself, the process that will exec the jail. */
    public static final String LAUNCHER_ENV = "EMBER_JAILER_LAUNCHER";

    @Option(names = "--id", required = true, paramLabel = "ID", description = "the microVM's unique id: 1 to 64 letters, digits or hyphens")
    String id;

    @Option(names = "--uid", required = true, paramLabel = "UID", description = "the unprivileged user the VMM runs as")
    int uid;

    @Option(names = "--gid", required = true, paramLabel = "GID", description = "the group the VMM runs as")
    int gid;

    @Option(names = "--chroot-base-dir", paramLabel = "DIR", defaultValue = "/srv/jailer",
            description = "where jails are made: DIR/ember/ID/root (default: ${DEFAULT-VALUE})")
    Path chrootBase;

    @Option(names = "--netns", paramLabel = "PATH", description = "join this network namespace (e.g. /var/run/netns/NAME) instead of a new one")
    Path netns;

    @Option(names = "--cgroup", paramLabel = "FILE=VALUE", description = "write VALUE to FILE of the VM's cgroup (repeatable), e.g. memory.max=512M")
    List<String> cgroups = new ArrayList<>();

    @Option(names = "--cgroup-version", paramLabel = "1|2", description = "the cgroup hierarchy to use (default: 2 when it offers the controllers named, else 1)")
    Integer cgroupVersion;

    @Option(names = "--parent-cgroup", paramLabel = "PATH", defaultValue = "ember",
            description = "the VM's cgroup is PATH/ID in each hierarchy (default: ${DEFAULT-VALUE})")
    String parentCgroup;

    @Option(names = "--resource-limit", paramLabel = "RES=N", description = "no-file=N or fsize=N (repeatable; default no-file=2048)")
    List<String> resourceLimits = new ArrayList<>();

    @Option(names = "--daemonize", description = "detach: new session, stdin, stdout and stderr on /dev/null")
    boolean daemonize;

    @Option(names = "--new-pid-ns", description = "run the VMM in a new PID namespace")
    boolean newPidNs;

    @Parameters(paramLabel = "ARGS", description = "after --: arguments for 'ember' (default: --api-sock " + Jail.DEFAULT_API_SOCK + ")")
    List<String> emberArgs = new ArrayList<>();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** What {@link #check} found: the flags turned into values. */
    record Checked(List<ResourceLimit> limits, List<CgroupSetting> cgroups, List<String> emberArgs) {
    }

    @Override
    public Integer call() {
        try {
            List<String> plan = prepare(check());
            StringBuilder out = new StringBuilder();
            for (String word : plan) {
                out.append(word).append('\0');
            }
            // Raw UTF-8, whatever the locale: the launcher splits it at the NUL bytes.
            FileOutputStream stdout = new FileOutputStream(FileDescriptor.out);
            stdout.write(out.toString().getBytes(StandardCharsets.UTF_8));
            stdout.flush();
            return 0;
        } catch (JailerException e) {
            spec.commandLine().getErr().println("ember: " + e.getMessage());
            return 1;
        } catch (IOException e) {
            spec.commandLine().getErr().println("ember: cannot write the jail's plan to stdout: " + e.getMessage());
            return 1;
        }
    }

    /**
     * {@return the flags checked and parsed; nothing is created}
     *
     * @throws JailerException naming the first flag that is wrong
     */
    Checked check() throws JailerException {
        if (id.isEmpty() || id.length() > 64 || !id.matches("[A-Za-z0-9-]+")) {
            throw new JailerException("--id must be 1 to 64 letters, digits or hyphens, not \"" + id + "\"");
        }
        if (uid <= 0 || gid <= 0) {
            throw new JailerException("--uid and --gid must name an unprivileged user and group (not 0 or negative)");
        }
        if (!chrootBase.isAbsolute() || !chrootBase.normalize().equals(chrootBase)) {
            throw new JailerException("--chroot-base-dir must be an absolute path without . or .., not " + chrootBase);
        }
        if (!parentCgroup.matches("[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*")
                || List.of(parentCgroup.split("/")).stream().anyMatch(p -> p.equals(".") || p.equals(".."))) {
            throw new JailerException("--parent-cgroup must be a relative path of names (letters, digits, _ . -), not \"" + parentCgroup + "\"");
        }
        if (cgroupVersion != null && cgroupVersion != 1 && cgroupVersion != 2) {
            throw new JailerException("--cgroup-version must be 1 or 2, not " + cgroupVersion);
        }
        if (netns != null) {
            checkNetns(netns);
        }
        List<ResourceLimit> limits = new ArrayList<>();
        for (String r : resourceLimits) {
            limits.add(ResourceLimit.parse(r));
        }
        if (limits.stream().noneMatch(l -> l.resource() == ResourceLimit.RLIMIT_NOFILE)) {
            limits.add(ResourceLimit.DEFAULT_NO_FILE);
        }
        List<CgroupSetting> settings = new ArrayList<>();
        for (String c : cgroups) {
            settings.add(CgroupSetting.parse(c));
        }
        List<String> args = new ArrayList<>();
        args.addAll(List.of("--id", id));
        for (String a : emberArgs) {
            if (a.equals("--id") || a.startsWith("--id=")) {
                throw new JailerException("give the id to the jailer (--id before --), not to ember after it");
            }
        }
        if (emberArgs.stream().noneMatch(a -> a.equals("--api-sock") || a.startsWith("--api-sock=") || a.equals("--no-api"))) {
            args.addAll(List.of("--api-sock", Jail.DEFAULT_API_SOCK));
        }
        args.addAll(emberArgs);
        return new Checked(limits, settings, args);
    }

    /**
     * What {@code ember jailer} does before it touches the host, for the start-up cache's training
     * run ({@code dev.ember.server.StartupTraining}): parse and check a command line, compile
     * the seccomp program, link the native calls, read the cgroup mounts. Creates nothing.
     */
    public static void train() throws JailerException {
        JailerCommand c = new JailerCommand();
        new CommandLine(c).parseArgs("--id", "training", "--uid", "4242", "--gid", "4242", "--cgroup", "pids.max=10",
                "--resource-limit", "fsize=1048576", "--", "--boot-timer");
        Checked checked = c.check();
        jvmOptions(checked.cgroups());
        SeccompFilter.program();
        Posix.geteuid();
        Cgroups.ofHost().chooseVersion(null, checked.cgroups());
    }

    /** A namespace file is on nsfs ({@code ip netns add} bind-mounts one under /var/run/netns) or is a /proc/PID/ns/net link. */
    private static void checkNetns(Path netns) throws JailerException {
        if (!netns.isAbsolute() || !Files.exists(netns)) {
            throw new JailerException("--netns " + netns + " does not exist (give an absolute path such as /var/run/netns/NAME)");
        }
        boolean nsfs;
        try {
            nsfs = Files.getFileStore(netns).type().equals("nsfs");
        } catch (java.io.IOException e) {
            nsfs = false;
        }
        if (!nsfs && !netns.normalize().toString().matches("/proc/(self|[0-9]+)/ns/net")) {
            throw new JailerException("--netns " + netns + " is not a network namespace file (e.g. /var/run/netns/NAME from 'ip netns add')");
        }
    }

    /** Creates the jail, the cgroup and the limits; {@return the plan for the launcher} */
    private List<String> prepare(Checked checked) throws JailerException {
        if (Posix.geteuid() != 0) {
            throw new JailerException("ember jailer must run as root (it creates cgroups and mounts and changes uid)");
        }
        long launcher = launcherPid();
        JvmLaunch jvm = JvmLaunch.current(dev.ember.server.EmberCommand.class.getName());
        Cgroups host = Cgroups.ofHost();
        int version = checked.cgroups().isEmpty() ? 0 : host.chooseVersion(cgroupVersion, checked.cgroups());
        Jail jail = new Jail(chrootBase, id, uid, gid);
        jail.create();
        Cgroups.Created cgroup = null;
        try {
            List<String> command = jail.command(jvm, jvmOptions(checked.cgroups()), checked.emberArgs(), netns, newPidNs, daemonize);
            if (version != 0) {
                cgroup = host.create(version, parentCgroup, id, checked.cgroups());
                Cgroups.join(cgroup, launcher);
            }
            for (ResourceLimit l : checked.limits()) {
                Posix.prlimit(launcher, l);
            }
            List<String> plan = new ArrayList<>(List.of(daemonize ? "daemonize" : "exec", jail.seccompFile().toString()));
            plan.addAll(command);
            return plan;
        } catch (JailerException e) {
            if (cgroup != null) {
                Cgroups.remove(cgroup.madeDirs());
            }
            jail.delete();
            throw e;
        }
    }

    /** {@return the launcher's pid: this process's parent, which must say so through {@value #LAUNCHER_ENV}} */
    private static long launcherPid() throws JailerException {
        long parent = ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(-1L);
        String named = System.getenv(LAUNCHER_ENV);
        if (named == null || !named.equals(Long.toString(parent))) {
            throw new JailerException("ember jailer must be started through the ember launcher (./ember jailer ...),"
                    + " which execs the jail this command prepares");
        }
        return parent;
    }

    /**
     * {@return JVM options for the jail: no hsperfdata file, /tmp for temporary files, an exit
     * when bwrap dies ({@link ParentWatch}), and with a memory limit, a heap sized to it} (the
     * JVM cannot see its cgroup from inside the chroot)
     */
    static List<String> jvmOptions(List<CgroupSetting> settings) {
        List<String> out = new ArrayList<>(List.of("-XX:-UsePerfData", "-Djava.io.tmpdir=/tmp",
                "-D" + ParentWatch.PROPERTY + "=true"));
        for (CgroupSetting s : settings) {
            if (s.file().equals("memory.max") || s.file().equals("memory.limit_in_bytes")) {
                long bytes = bytes(s.value());
                if (bytes > 0) {
                    out.add("-XX:MaxRAM=" + bytes);
                }
            }
        }
        return out;
    }

    /** {@return a cgroup memory value ({@code 536870912}, {@code 512M}, {@code 1G}) in bytes, or -1 for {@code max} or other text} */
    static long bytes(String value) {
        String v = value.trim().toUpperCase(Locale.ROOT);
        long unit = 1;
        if (!v.isEmpty() && "KMGT".indexOf(v.charAt(v.length() - 1)) >= 0) {
            unit = 1L << (10 * ("KMGT".indexOf(v.charAt(v.length() - 1)) + 1));
            v = v.substring(0, v.length() - 1);
        }
        try {
            long n = Long.parseLong(v);
            return n > 0 && n <= Long.MAX_VALUE / unit ? n * unit : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
