package dev.ember.server.oci;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * How a bundle's root file system and {@code mounts} (runtime spec, config.md "Mounts") become a
 * microVM's devices and the agent's mount requests.
 *
 * <ul>
 *   <li>The root file system is the virtio-fs share {@value #ROOT_TAG}, mounted in the guest at
 *       {@value #GUEST_ROOT}; the process is chrooted there.
 *   <li>A bind mount of a host <em>directory</em> is a further share ({@code v0}, {@code v1}...),
 *       mounted with virtio-fs at its destination; {@code ro} makes the share read-only on the
 *       host side too, so the guest cannot write through it whatever it mounts.
 *   <li>A bind mount of a host <em>file</em> (podman's {@code /etc/hosts}, {@code /etc/resolv.conf},
 *       {@code /etc/hostname}, {@code /run/.containerenv}) is copied into the guest at start and
 *       bound over its destination: sharing the file's directory would show the guest its
 *       neighbours. Changes the container makes to such a file stay in the VM.
 *   <li>{@code proc}, {@code sysfs}, {@code mqueue} and {@code tmpfs} are made in the guest with
 *       the given options; a {@code tmpfs} on {@code /dev} becomes the guest's {@code devtmpfs},
 *       which has the device nodes runc would create; {@code devpts} binds the guest's own
 *       {@code /dev/pts}, where the agent opens the container's terminal.
 *   <li>{@code cgroup} mounts are left out (the guest kernel has no cgroups) and reported.
 *       Any other type is refused.
 * </ul>
 */
public final class MountPlan {

    public static final String ROOT_TAG = "rootfs";
    public static final String GUEST_ROOT = "/run/ember/rootfs";
    /** The largest file a bind mount of a file may copy in. */
    public static final long MAX_FILE_BIND = 16 << 20;

    /** include/uapi/linux/mount.h. */
    static final long MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_SYNCHRONOUS = 16,
            MS_REMOUNT = 32, MS_DIRSYNC = 128, MS_NOATIME = 1024, MS_NODIRATIME = 2048, MS_BIND = 4096,
            MS_REC = 16384, MS_RELATIME = 1 << 21, MS_STRICTATIME = 1 << 24;
    private static final Map<String, Long> SET = Map.ofEntries(Map.entry("ro", MS_RDONLY),
            Map.entry("nosuid", MS_NOSUID), Map.entry("nodev", MS_NODEV), Map.entry("noexec", MS_NOEXEC),
            Map.entry("sync", MS_SYNCHRONOUS), Map.entry("dirsync", MS_DIRSYNC), Map.entry("noatime", MS_NOATIME),
            Map.entry("nodiratime", MS_NODIRATIME), Map.entry("bind", MS_BIND), Map.entry("rbind", MS_BIND | MS_REC),
            Map.entry("relatime", MS_RELATIME), Map.entry("strictatime", MS_STRICTATIME));
    /** Options that clear a flag or say nothing a guest mount needs (propagation: the VM is private). */
    private static final List<String> IGNORED = List.of("rw", "suid", "dev", "exec", "async", "atime", "diratime",
            "norelatime", "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable",
            "runbindable", "defaults", "nostrictatime", "remount");

    /** A virtio-fs share the VM needs: {@code tag} serves {@code hostPath}. */
    public record Share(String tag, Path hostPath, boolean readOnly) { }

    /**
     * One mount the agent makes, in order; {@code content} is non-null for a file copied in
     * first (to {@code source}, a path in the guest).
     */
    public record GuestMount(String source, String target, String fstype, String data, long flags, byte[] content) { }

    private final List<Share> shares = new ArrayList<>();
    private final List<GuestMount> mounts = new ArrayList<>();
    private final List<String> skipped = new ArrayList<>();

    /** Plans the bundle's mounts. @throws OciException for a mount that cannot be made */
    public static MountPlan of(Bundle bundle) throws OciException {
        MountPlan p = new MountPlan();
        boolean ro = bundle.spec().root().readonly();
        p.shares.add(new Share(ROOT_TAG, bundle.rootfs(), ro));
        p.mounts.add(new GuestMount(ROOT_TAG, GUEST_ROOT, "virtiofs", "", ro ? MS_RDONLY : 0, null));
        List<OciSpec.Mount> list = bundle.spec().mounts() == null ? List.of() : bundle.spec().mounts();
        for (OciSpec.Mount m : list) {
            p.add(m);
        }
        return p;
    }

    private void add(OciSpec.Mount m) throws OciException {
        long flags = 0;
        List<String> data = new ArrayList<>();
        for (String o : m.optionList()) {
            Long f = SET.get(o);
            if (f != null) {
                flags |= f;
            } else if (!IGNORED.contains(o)) {
                data.add(o);
            }
        }
        String type = m.type() == null ? "" : m.type();
        String target = GUEST_ROOT + m.destination();
        boolean bind = type.equals("bind") || (flags & MS_BIND) != 0;
        if (bind) {
            bind(m, target, flags & ~(MS_BIND | MS_REC));
            return;
        }
        String joined = String.join(",", data);
        switch (type) {
            case "proc", "sysfs", "mqueue" -> mounts.add(new GuestMount(type, target, type, joined, flags, null));
            case "tmpfs" -> {
                if (m.destination().equals("/dev")) {
                    mounts.add(new GuestMount("devtmpfs", target, "devtmpfs", "", flags & (MS_NOSUID | MS_NOEXEC), null));
                } else {
                    mounts.add(new GuestMount("tmpfs", target, "tmpfs", joined, flags, null));
                }
            }
            case "devpts" -> mounts.add(new GuestMount("/dev/pts", target, "", "", MS_BIND, null));
            case "cgroup", "cgroup2" -> skipped.add(m.destination() + " (" + type + "): the guest kernel has no cgroups");
            default -> throw new OciException("mount " + m.destination() + ": type \"" + type + "\" is not supported");
        }
    }

    private void bind(OciSpec.Mount m, String target, long flags) throws OciException {
        if (m.source() == null || !m.source().startsWith("/")) {
            throw new OciException("bind mount " + m.destination() + ": source \"" + m.source() + "\" is not an absolute host path");
        }
        Path source = Path.of(m.source());
        if (Files.isDirectory(source)) {
            String tag = "v" + shares.size();
            boolean ro = (flags & MS_RDONLY) != 0;
            shares.add(new Share(tag, source, ro));
            mounts.add(new GuestMount(tag, target, "virtiofs", "", flags, null));
            return;
        }
        if (Files.isRegularFile(source)) {
            try {
                if (Files.size(source) > MAX_FILE_BIND) {
                    throw new OciException("bind mount " + m.destination() + ": file " + source + " is larger than "
                            + (MAX_FILE_BIND >> 20) + " MiB (only directories are shared live)");
                }
                byte[] content = Files.readAllBytes(source);
                long copied = mounts.stream().filter(g -> g.content() != null).count();
                mounts.add(new GuestMount("/run/ember/files/" + copied, target, "", "", MS_BIND | flags, content));
                return;
            } catch (IOException e) {
                throw new OciException("bind mount " + m.destination() + ": cannot read " + source + ": " + e.getMessage());
            }
        }
        if (Files.exists(source, LinkOption.NOFOLLOW_LINKS) && m.source().startsWith("/dev/")) {
            skipped.add(m.destination() + ": host device " + source + " is not passed to the VM");
            return;
        }
        throw new OciException("bind mount " + m.destination() + ": source " + source + " does not exist");
    }

    /** {@return the shares, the root file system first} */
    public List<Share> shares() {
        return shares;
    }

    /** {@return the guest mounts in the order they are made} */
    public List<GuestMount> mounts() {
        return mounts;
    }

    /** {@return mounts left out, one line each, for the runtime log} */
    public List<String> skipped() {
        return skipped;
    }
}
