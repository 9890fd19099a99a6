package dev.ember.server;

import dev.ember.config.BalloonConfig;
import dev.ember.config.DevicesConfig;
import dev.ember.config.DriveConfig;
import dev.ember.config.EntropyConfig;
import dev.ember.config.NetworkInterfaceConfig;
import dev.ember.config.PortForward;
import dev.ember.config.ShareConfig;
import dev.ember.config.VsockConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The {@code ember run} options that attach virtio devices, turned into a {@link DevicesConfig}.
 * Each option value is a comma-separated list of {@code key=value} or bare flags, in the manner
 * of QEMU's {@code -drive} and {@code -netdev}.
 */
final class DeviceOptions {

    @Option(names = "--drive", paramLabel = "SPEC",
            description = "attach a virtio-blk drive (repeatable): path=FILE[,id=NAME][,ro][,root]; "
                    + "the first drive is vda. 'root' mounts it as the root file system")
    List<String> drives = new ArrayList<>();

    @Option(names = "--net", paramLabel = "SPEC",
            description = "attach a virtio-net interface (repeatable): user[,hostfwd=tcp:[ADDR]:HOSTPORT-:GUESTPORT]...[,mac=MAC] "
                    + "for the unprivileged user-mode network (guest 10.0.2.15, host 10.0.2.2, DNS 10.0.2.3), "
                    + "or tap=NAME[,mac=MAC] for an existing TAP device")
    List<String> nets = new ArrayList<>();

    @Option(names = "--vsock", paramLabel = "SPEC",
            description = "attach virtio-vsock: cid=N,uds=PATH (Firecracker's host side: connect to PATH and send "
                    + "'CONNECT <port>\\n'; guest connections to port P go to PATH_P)")
    String vsock;

    @Option(names = "--rng", description = "attach virtio-rng, fed from the host's SecureRandom (/dev/hwrng in the guest)")
    boolean rng;

    @Option(names = "--balloon", paramLabel = "SPEC",
            description = "attach virtio-balloon: MIB[,deflate-on-oom][,stats=SECONDS] (MIB is the initial target)")
    String balloon;

    @Option(names = "--virtio-console", description = "attach a virtio-console (hvc) beside the UART; "
            + "with console=hvc0 in --append the terminal is connected to it")
    boolean virtioConsole;

    @Option(names = "--share", paramLabel = "SPEC",
            description = "share a host directory over virtio-fs (repeatable): PATH,tag=NAME[,ro]; "
                    + "the guest mounts it with 'mount -t virtiofs NAME /mnt'")
    List<String> shares = new ArrayList<>();

    /**
     * {@return the devices these options describe}
     *
     * @throws IllegalArgumentException naming the option and the problem
     */
    DevicesConfig toConfig() {
        List<DriveConfig> driveConfigs = new ArrayList<>();
        for (int i = 0; i < drives.size(); i++) {
            driveConfigs.add(parseDrive(drives.get(i), i));
        }
        List<NetworkInterfaceConfig> netConfigs = new ArrayList<>();
        for (int i = 0; i < nets.size(); i++) {
            netConfigs.add(parseNet(nets.get(i), i));
        }
        DevicesConfig devices = new DevicesConfig(driveConfigs, netConfigs, vsock == null ? null : parseVsock(vsock),
                rng ? new EntropyConfig(null) : null, balloon == null ? null : parseBalloon(balloon), virtioConsole);
        for (String share : shares) {
            devices = devices.withShare(parseShare(share));
        }
        return devices;
    }

    /** {@return whether any device option was given} */
    boolean any() {
        return !drives.isEmpty() || !nets.isEmpty() || vsock != null || rng || balloon != null || virtioConsole
                || !shares.isEmpty();
    }

    private static DriveConfig parseDrive(String spec, int index) {
        Map<String, String> kv = split("--drive", spec, List.of("path", "id", "ro", "root"));
        String path = kv.get("path");
        if (path == null || path.isEmpty()) {
            throw new IllegalArgumentException("--drive " + spec + ": needs path=FILE");
        }
        String id = kv.getOrDefault("id", index == 0 && kv.containsKey("root") ? "rootfs" : "drive" + index);
        try {
            return new DriveConfig(id, Path.of(path), kv.containsKey("root"), kv.containsKey("ro"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--drive " + spec + ": " + e.getMessage());
        }
    }

    /** {@code PATH,tag=NAME[,ro]}: the path comes first, as a bare value. */
    static ShareConfig parseShare(String spec) {
        int comma = spec.indexOf(',');
        String path = comma < 0 ? spec : spec.substring(0, comma);
        if (path.isEmpty() || path.contains("=")) {
            throw new IllegalArgumentException("--share " + spec + ": starts with the host directory: PATH,tag=NAME[,ro]");
        }
        Map<String, String> kv = comma < 0 ? Map.of() : split("--share", spec.substring(comma + 1), List.of("tag", "ro"));
        if (!kv.containsKey("tag")) {
            throw new IllegalArgumentException("--share " + spec + ": needs tag=NAME");
        }
        try {
            return new ShareConfig(kv.get("tag"), Path.of(path), kv.containsKey("ro"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--share " + spec + ": " + e.getMessage());
        }
    }

    private static NetworkInterfaceConfig parseNet(String spec, int index) {
        String[] parts = spec.split(",");
        String kind = parts[0];
        String tap = null;
        if (kind.startsWith("tap=")) {
            tap = kind.substring(4);
        } else if (!kind.equals("user")) {
            throw new IllegalArgumentException("--net " + spec + ": starts with 'user' or 'tap=NAME'");
        }
        String mac = null;
        List<PortForward> forwards = new ArrayList<>();
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i];
            try {
                if (p.startsWith("hostfwd=")) {
                    forwards.add(PortForward.parse(p.substring(8)));
                } else if (p.startsWith("mac=")) {
                    mac = p.substring(4);
                } else {
                    throw new IllegalArgumentException("unknown setting '" + p + "' (expected hostfwd= or mac=)");
                }
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--net " + spec + ": " + e.getMessage());
            }
        }
        try {
            return new NetworkInterfaceConfig("eth" + index, mac, tap, forwards);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--net " + spec + ": " + e.getMessage());
        }
    }

    private static VsockConfig parseVsock(String spec) {
        Map<String, String> kv = split("--vsock", spec, List.of("cid", "uds"));
        if (!kv.containsKey("cid") || !kv.containsKey("uds") || kv.get("uds").isEmpty()) {
            throw new IllegalArgumentException("--vsock " + spec + ": needs cid=N,uds=PATH");
        }
        try {
            return new VsockConfig(Long.parseLong(kv.get("cid")), Path.of(kv.get("uds")));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--vsock " + spec + ": cid '" + kv.get("cid") + "' is not a number");
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--vsock " + spec + ": " + e.getMessage());
        }
    }

    private static BalloonConfig parseBalloon(String spec) {
        String[] parts = spec.split(",");
        boolean deflate = false;
        int stats = 0;
        try {
            int mib = Integer.parseInt(parts[0]);
            for (int i = 1; i < parts.length; i++) {
                if (parts[i].equals("deflate-on-oom")) {
                    deflate = true;
                } else if (parts[i].startsWith("stats=")) {
                    stats = Integer.parseInt(parts[i].substring(6));
                } else {
                    throw new IllegalArgumentException("unknown setting '" + parts[i] + "'");
                }
            }
            return new BalloonConfig(mib, deflate, stats);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--balloon " + spec + ": expected MIB[,deflate-on-oom][,stats=SECONDS]");
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--balloon " + spec + ": " + e.getMessage());
        }
    }

    /** Splits {@code a=1,b,c=3}; a bare first item without '=' is taken as {@code path}. */
    private static Map<String, String> split(String option, String spec, List<String> known) {
        Map<String, String> out = new LinkedHashMap<>();
        String[] parts = spec.split(",");
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            int eq = p.indexOf('=');
            String key = eq < 0 ? p : p.substring(0, eq);
            String value = eq < 0 ? "" : p.substring(eq + 1);
            if (i == 0 && eq < 0 && known.contains("path") && !known.contains(p)) {
                key = "path";
                value = p;
            }
            if (!known.contains(key)) {
                throw new IllegalArgumentException(option + " " + spec + ": unknown setting '" + key + "' (expected one of "
                        + String.join(", ", known) + ")");
            }
            out.put(key, value);
        }
        return out;
    }
}
