package dev.ember.server.jailer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One VM's jail: the directory {@code <chroot-base>/ember/<id>} with the chroot {@code root} the
 * VMM sees as {@code /}, and the command line that confines the VMM in it.
 *
 * <p>The chroot holds only what the VMM needs, bound in read-only at the host's paths rather than
 * copied (a JDK is some 300 MB; Firecracker copies one static binary): the JDK, the jars on the
 * class path, the AOT cache, the shared libraries {@code ldd} lists for the java binary, the core
 * JDK libraries and {@code setpriv}; a fresh {@code /proc}, a minimal {@code /dev} (null, zero,
 * full, random, urandom, tty) and {@code /dev/net/tun} when the host has it. {@code /run} (the
 * API socket) and {@code /tmp} are directories of the chroot, owned by the VM's uid; the root
 * itself is owned by the VM's uid and gid, as Firecracker's. Kernels, disks and other files the
 * API names are the user's to place in {@code root}, as with Firecracker.
 *
 * <p>The command: bwrap (bubblewrap) as root builds the mount namespace and pivots into the
 * chroot, unshares IPC, UTS and cgroup namespaces, the network namespace unless {@code --netns}
 * names one to join (through {@code nsenter}), the PID namespace with {@code --new-pid-ns};
 * installs the seccomp filter ({@link SeccompFilter}); then execs {@code setpriv}, which sets
 * the uid and gid, clears the supplementary groups, drops every capability and sets no_new_privs
 * before it execs the JVM. bwrap cannot change uid without a user namespace, and a user namespace
 * made by root maps the VM's uid to root outside; setpriv after bwrap gives a process that is the
 * unprivileged uid on the host, as Firecracker's jailer does.
 */
final class Jail {

    /** The API socket inside the chroot when the arguments name none: Firecracker's is {@code /run/firecracker.socket}. */
    static final String DEFAULT_API_SOCK = "/run/ember.socket";
    /** The file descriptor the launcher opens the seccomp program on for bwrap. */
    static final int SECCOMP_FD = 9;

    /** The JDK libraries the VMM loads; {@code ldd} on them and on the java binary lists the system libraries to bind in. */
    private static final List<String> JDK_LIBRARIES = List.of("bin/java", "lib/libjli.so", "lib/server/libjvm.so",
            "lib/libjava.so", "lib/libzip.so", "lib/libnio.so", "lib/libnet.so");

    private final Path jailDir;
    private final int uid, gid;

    Jail(Path chrootBase, String id, int uid, int gid) {
        this.jailDir = chrootBase.resolve("ember").resolve(id);
        this.uid = uid;
        this.gid = gid;
    }

    /** {@return {@code <chroot-base>/ember/<id>}} */
    Path dir() {
        return jailDir;
    }

    /** {@return the chroot: what the VMM sees as {@code /}} */
    Path root() {
        return jailDir.resolve("root");
    }

    /** {@return the compiled seccomp filter's file, beside (not inside) the chroot} */
    Path seccompFile() {
        return jailDir.resolve("seccomp.bpf");
    }

    /**
     * Creates the jail directory, the chroot with {@code /run} and {@code /tmp}, and the seccomp file.
     *
     * @throws JailerException when {@code <chroot-base>/ember/<id>} already exists (ids are unique,
     *         and a directory left by someone else could hold symbolic links the bind mounts would follow)
     */
    void create() throws JailerException {
        if (Files.exists(jailDir, LinkOption.NOFOLLOW_LINKS)) {
            throw new JailerException("the jail " + jailDir + " already exists: remove it or choose another --id");
        }
        try {
            Files.createDirectories(jailDir.getParent());
            Files.createDirectory(jailDir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Files.createDirectory(root());
            owned(root(), "rwxr-x---");
            owned(Files.createDirectory(root().resolve("run")), "rwx------");
            owned(Files.createDirectory(root().resolve("tmp")), "rwx------");
            Files.write(seccompFile(), SeccompFilter.program());
        } catch (IOException e) {
            throw new JailerException("cannot create the jail " + jailDir + ": " + e.getMessage(), e);
        }
    }

    private void owned(Path dir, String mode) throws IOException {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString(mode));
        Files.setAttribute(dir, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(dir, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
    }

    /** Removes the jail directory and what is in it: for a setup that failed before the VMM started. */
    void delete() {
        try (Stream<Path> s = Files.walk(jailDir)) {   // walk does not follow symbolic links
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException ignored) {
            // Best effort: what is left names the id, and the next run with it says so.
        }
    }

    /**
     * {@return the command that confines and starts the VMM: [nsenter,] bwrap, setpriv, java}
     *
     * @param jvm how to start the JVM (its JDK, options, class path)
     * @param jvmExtra JVM options for the jail (e.g. a heap sized to the cgroup's memory)
     * @param emberArgs the arguments for {@code dev.ember.server.EmberCommand}
     * @param netns a network namespace file to join, or null for a new namespace
     * @param newPidNs whether the VMM gets its own PID namespace
     * @param daemon whether the VMM outlives its caller (else it dies with it, as a foreground process)
     */
    List<String> command(JvmLaunch jvm, List<String> jvmExtra, List<String> emberArgs, Path netns, boolean newPidNs,
            boolean daemon) throws JailerException {
        List<String> c = new ArrayList<>();
        if (netns != null) {
            c.addAll(List.of(tool("nsenter", "util-linux"), "--net=" + netns, "--"));
        }
        String setpriv = tool("setpriv", "util-linux");
        c.addAll(List.of(tool("bwrap", "bubblewrap"), "--bind", root().toString(), "/"));
        Map<String, Path> binds = new LinkedHashMap<>();
        binds.put(jvm.javaHome().toString(), jvm.javaHome());
        for (Path e : jvm.classPath()) {
            binds.put(e.toString(), e);
        }
        if (jvm.aotCache() != null && Files.isRegularFile(jvm.aotCache())) {
            binds.put(jvm.aotCache().toString(), jvm.aotCache());
        }
        List<Path> elfs = new ArrayList<>();
        for (String lib : JDK_LIBRARIES) {
            Path p = jvm.javaHome().resolve(lib);
            if (Files.isRegularFile(p)) {
                elfs.add(p);
            }
        }
        elfs.add(Path.of(setpriv));
        binds.put(setpriv, Path.of(setpriv));
        for (Path lib : sharedLibraries(elfs)) {
            if (!lib.startsWith(jvm.javaHome())) {
                binds.put(lib.toString(), lib);
            }
        }
        for (Map.Entry<String, Path> b : binds.entrySet()) {
            if (!Files.exists(b.getValue())) {
                throw new JailerException("cannot bind " + b.getValue() + " into the jail: it does not exist");
            }
            mountPoint(b.getKey(), Files.isDirectory(b.getValue()));
            c.addAll(List.of("--ro-bind", realPath(b.getValue()), b.getKey()));
        }
        c.addAll(List.of("--proc", "/proc", "--dev", "/dev"));
        if (Files.exists(Path.of("/dev/net/tun"))) {
            c.addAll(List.of("--dev-bind", "/dev/net/tun", "/dev/net/tun"));
        }
        c.addAll(List.of("--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"));
        if (netns == null) {
            c.add("--unshare-net");
        }
        if (newPidNs) {
            c.add("--unshare-pid");
        }
        if (!daemon) {
            c.add("--die-with-parent");
        }
        c.addAll(List.of("--clearenv", "--chdir", "/", "--seccomp", Integer.toString(SECCOMP_FD), "--"));
        c.addAll(List.of(setpriv, "--reuid=" + uid, "--regid=" + gid, "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"));
        c.add(jvm.java().toString());
        c.addAll(jvm.options());
        c.addAll(jvmExtra);
        c.addAll(List.of("-cp", jvm.classPathValue(), "dev.ember.server.EmberCommand"));
        c.addAll(emberArgs);
        return c;
    }

    /**
     * Makes the mount point for a bind at {@code path} inside the chroot, and its parents, readable
     * by all (bwrap would make them owner-only, which the VM's uid could not cross).
     */
    private void mountPoint(String path, boolean directory) throws JailerException {
        Path target = root().resolve(path.substring(1));
        try {
            Path dir = root();
            for (Path part : root().relativize(directory ? target : target.getParent())) {
                dir = dir.resolve(part);
                if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectory(dir);
                    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
                }
            }
            if (!directory && !Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                Files.createFile(target);
            }
        } catch (IOException e) {
            throw new JailerException("cannot make the mount point " + target + ": " + e.getMessage(), e);
        }
    }

    private static String realPath(Path p) throws JailerException {
        try {
            return p.toRealPath().toString();
        } catch (IOException e) {
            throw new JailerException("cannot resolve " + p + ": " + e.getMessage(), e);
        }
    }

    /** {@return the absolute path of {@code name} on PATH (or /usr/bin, /bin)} */
    static String tool(String name, String debianPackage) throws JailerException {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
        dirs.addAll(List.of("/usr/sbin", "/usr/bin", "/sbin", "/bin"));
        for (String d : dirs) {
            Path p = Path.of(d.isEmpty() ? "." : d, name);
            if (p.isAbsolute() && Files.isExecutable(p)) {
                return p.toString();
            }
        }
        throw new JailerException(name + " is not installed (Debian package " + debianPackage + ")");
    }

    /** {@return the shared libraries (and the ELF interpreter) {@code ldd} resolves for {@code elfs}} */
    private static List<Path> sharedLibraries(List<Path> elfs) throws JailerException {
        List<String> cmd = new ArrayList<>(List.of(tool("ldd", "libc-bin")));
        elfs.forEach(e -> cmd.add(e.toString()));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new JailerException("ldd failed on the JVM's libraries: " + out.strip());
            }
            List<Path> libs = new ArrayList<>();
            for (String line : out.split("\n")) {
                // "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "\t/lib64/ld-linux-x86-64.so.2 (0x...)"
                String t = line.strip();
                int arrow = t.indexOf("=> ");
                String path = (arrow >= 0 ? t.substring(arrow + 3) : t).split(" ")[0];
                if (line.startsWith("\t") && path.startsWith("/") && !libs.contains(Path.of(path))) {
                    libs.add(Path.of(path));
                }
            }
            return libs;
        } catch (IOException e) {
            throw new JailerException("cannot run ldd: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JailerException("interrupted while running ldd", e);
        }
    }
}
