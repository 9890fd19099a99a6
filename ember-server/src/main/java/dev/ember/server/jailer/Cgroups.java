package dev.ember.server.jailer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The VM's cgroup: {@code <hierarchy>/<parent>/<id>}, created, filled with the
 * {@code --cgroup} values and joined by the process that becomes the VMM, as Firecracker's jailer
 * does (docs/jailer.md, "Jailer Operation"). Runs once, on the jailer's main thread.
 *
 * <p>Two layouts (Linux Documentation/admin-guide/cgroup-v1 and cgroup-v2.rst):
 * <ul>
 *   <li><b>v1</b>: one hierarchy per controller, each mounted on its own (found in
 *       {@code /proc/self/mountinfo} by the controller name among the mount's super options); the
 *       VM's cgroup is created in the hierarchy of each controller a setting names. A new
 *       {@code cpuset} cgroup starts with no CPUs or memory nodes, so it inherits its parent's.</li>
 *   <li><b>v2</b>: one unified hierarchy; a controller's files appear in a cgroup only when every
 *       ancestor lists the controller in {@code cgroup.subtree_control}, so the jailer enables it
 *       from the hierarchy's root down to {@code <parent>}.</li>
 * </ul>
 * Without {@code --cgroup-version} the jailer uses v2 when the unified hierarchy offers every
 * controller the settings name, v1 otherwise (a host with both, as systemd's "hybrid" layout,
 * has its controllers bound to v1).
 */
final class Cgroups {

    /** A cgroup file system from mountinfo: where it is mounted, {@code cgroup} or {@code cgroup2}, its super options. */
    record Mount(Path path, String type, Set<String> options) {
    }

    /** What {@link #create} made: the cgroup directories to join, and every directory it created, deepest last. */
    record Created(List<Path> cgroups, List<Path> madeDirs) {
    }

    private final List<Mount> mounts;

    Cgroups(List<Mount> mounts) {
        this.mounts = List.copyOf(mounts);
    }

    /** {@return the cgroup file systems mounted in this process's mount namespace} */
    static Cgroups ofHost() throws JailerException {
        try {
            return new Cgroups(parseMountInfo(Files.readAllLines(Path.of("/proc/self/mountinfo"))));
        } catch (IOException e) {
            throw new JailerException("cannot read /proc/self/mountinfo: " + e.getMessage(), e);
        }
    }

    /**
     * {@return the cgroup and cgroup2 mounts among {@code lines} of a mountinfo file} (proc(5):
     * field 5 is the mount point, octal-escaped; after the lone {@code -}, the type, the source
     * and the super options)
     */
    static List<Mount> parseMountInfo(List<String> lines) {
        List<Mount> out = new ArrayList<>();
        for (String line : lines) {
            String[] f = line.split(" ");
            int dash = List.of(f).indexOf("-");
            if (dash < 5 || dash + 3 >= f.length || !f[dash + 1].startsWith("cgroup")) {
                continue;
            }
            out.add(new Mount(Path.of(unescape(f[4])), f[dash + 1], words(f[dash + 3], ",")));
        }
        return out;
    }

    private static String unescape(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    /**
     * {@return 1 or 2: {@code requested} if given, else the version that offers every controller
     * {@code settings} name}
     *
     * @throws JailerException when the host has no hierarchy of the version asked for
     */
    int chooseVersion(Integer requested, List<CgroupSetting> settings) throws JailerException {
        if (requested != null) {
            if (requested != 1 && requested != 2) {
                throw new JailerException("--cgroup-version must be 1 or 2, not " + requested);
            }
            if (requested == 2 && unified() == null || requested == 1 && mounts.stream().noneMatch(m -> m.type().equals("cgroup"))) {
                throw new JailerException("--cgroup-version " + requested + ": this host has no cgroup v" + requested + " hierarchy mounted");
            }
            return requested;
        }
        Mount unified = unified();
        if (unified != null && available(unified).containsAll(controllers(settings))) {
            return 2;
        }
        return 1;
    }

    /** {@return where the hierarchy of {@code version} that holds {@code controller} is mounted, or null} */
    Path hierarchy(int version, String controller) {
        if (version == 2) {
            return unified() == null ? null : unified().path();
        }
        return mounts.stream().filter(m -> m.type().equals("cgroup") && m.options().contains(controller))
                .map(Mount::path).findFirst().orElse(null);
    }

    private Mount unified() {
        return mounts.stream().filter(m -> m.type().equals("cgroup2")).findFirst().orElse(null);
    }

    private static Set<String> available(Mount unified) {
        return words(readOrEmpty(unified.path().resolve("cgroup.controllers")), "\\s+");
    }

    private static Set<String> controllers(List<CgroupSetting> settings) {
        Set<String> out = new LinkedHashSet<>();
        for (CgroupSetting s : settings) {
            if (!s.controller().equals("cgroup")) {
                out.add(s.controller());
            }
        }
        return out;
    }

    /**
     * Creates {@code <hierarchy>/<parent>/<id>} in each hierarchy {@code settings} need and writes
     * the settings; nothing when there are none. On failure, removes what it made.
     *
     * @throws JailerException naming the controller, file or value the kernel refused
     */
    Created create(int version, String parent, String id, List<CgroupSetting> settings) throws JailerException {
        List<Path> made = new ArrayList<>();
        try {
            Map<Path, List<CgroupSetting>> byCgroup = version == 2
                    ? createV2(parent, id, settings, made) : createV1(parent, id, settings, made);
            for (Map.Entry<Path, List<CgroupSetting>> e : byCgroup.entrySet()) {
                for (CgroupSetting s : e.getValue()) {
                    Path file = e.getKey().resolve(s.file());
                    if (!Files.exists(file)) {
                        throw new JailerException("cgroup file " + s.file() + " does not exist in " + e.getKey()
                                + " (cgroup v" + version + ")");
                    }
                    write(file, s.value());
                }
            }
            return new Created(List.copyOf(byCgroup.keySet()), made);
        } catch (JailerException e) {
            remove(made);
            throw e;
        }
    }

    private Map<Path, List<CgroupSetting>> createV2(String parent, String id, List<CgroupSetting> settings, List<Path> made)
            throws JailerException {
        Map<Path, List<CgroupSetting>> out = new LinkedHashMap<>();
        if (settings.isEmpty()) {
            return out;
        }
        Mount unified = unified();
        Set<String> missing = new LinkedHashSet<>(controllers(settings));
        missing.removeAll(available(unified));
        if (!missing.isEmpty()) {
            throw new JailerException("cgroup v2 at " + unified.path() + " does not offer the controller(s) " + missing
                    + " (they may be bound to cgroup v1 on this host; try --cgroup-version 1)");
        }
        // cgroup-v2.rst "Enabling and Disabling": a controller's files exist in a cgroup only if
        // its parent enabled it for its children, all the way from the root.
        Path dir = unified.path();
        for (String part : (parent + "/" + id).split("/")) {
            for (String c : controllers(settings)) {
                Path control = dir.resolve("cgroup.subtree_control");
                if (!words(readOrEmpty(control), "\\s+").contains(c)) {
                    write(control, "+" + c);
                }
            }
            dir = mkdir(dir.resolve(part), made, false);
        }
        out.put(dir, settings);
        return out;
    }

    private Map<Path, List<CgroupSetting>> createV1(String parent, String id, List<CgroupSetting> settings, List<Path> made)
            throws JailerException {
        Map<Path, List<CgroupSetting>> out = new LinkedHashMap<>();
        for (CgroupSetting s : settings) {
            if (s.controller().equals("cgroup")) {
                throw new JailerException("--cgroup " + s.file() + ": with cgroup v1, name a controller's file (e.g. pids.max)");
            }
            Mount m = mounts.stream().filter(x -> x.type().equals("cgroup") && x.options().contains(s.controller()))
                    .findFirst().orElseThrow(() -> new JailerException("no cgroup v1 hierarchy on this host has the controller \""
                            + s.controller() + "\" (needed by --cgroup " + s.file() + ")"));
            Path dir = m.path();
            for (String part : (parent + "/" + id).split("/")) {
                dir = mkdir(dir.resolve(part), made, m.options().contains("cpuset"));
            }
            out.computeIfAbsent(dir, d -> new ArrayList<>()).add(s);
        }
        return out;
    }

    /** Makes {@code dir} if missing; a new v1 cpuset cgroup takes its parent's CPUs and memory nodes, without which no task may join it. */
    private static Path mkdir(Path dir, List<Path> made, boolean cpuset) throws JailerException {
        if (Files.isDirectory(dir)) {
            return dir;
        }
        try {
            Files.createDirectory(dir);
        } catch (IOException e) {
            throw new JailerException("cannot create the cgroup " + dir + ": " + e.getMessage(), e);
        }
        made.add(dir);
        if (cpuset) {
            for (String f : List.of("cpuset.cpus", "cpuset.mems")) {
                if (readOrEmpty(dir.resolve(f)).isBlank()) {
                    write(dir.resolve(f), readOrEmpty(dir.getParent().resolve(f)).trim());
                }
            }
        }
        return dir;
    }

    /**
     * Moves process {@code pid} into each of {@code created}'s cgroups; its children from then on are born there.
     *
     * @throws JailerException naming the cgroup the kernel refused
     */
    static void join(Created created, long pid) throws JailerException {
        for (Path dir : created.cgroups()) {
            write(dir.resolve("cgroup.procs"), Long.toString(pid));
        }
    }

    /** Removes {@code made} (empty cgroup directories), deepest first; best effort, for a failed setup. */
    static void remove(List<Path> made) {
        for (int i = made.size() - 1; i >= 0; i--) {
            try {
                Files.deleteIfExists(made.get(i));
            } catch (IOException ignored) {
                // A cgroup still in use stays; the next run with this id reuses it.
            }
        }
    }

    private static void write(Path file, String value) throws JailerException {
        try {
            Files.writeString(file, value);
        } catch (IOException e) {
            throw new JailerException("cannot write \"" + value + "\" to " + file + ": " + e.getMessage(), e);
        }
    }

    private static Set<String> words(String text, String separator) {
        return java.util.Arrays.stream(text.trim().split(separator)).filter(w -> !w.isEmpty())
                .collect(java.util.stream.Collectors.toUnmodifiableSet());
    }

    private static String readOrEmpty(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "";
        }
    }
}
