package dev.ember.config;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The virtio devices of one VM: a list of device records, each taking the next virtio-mmio slot
 * in list order, and the metadata service that reaches the guest through some of the network
 * interfaces.
 *
 * <p>The positional constructors keep the order every front end has used: drives (so the first
 * is {@code vda}), network interfaces ({@code eth0}...), vsock, entropy, balloon, keyboard,
 * virtio-console. The accessors {@link #drives}, {@link #networks} and the others are views of
 * the list.
 *
 * @param devices the devices, in slot order
 * @param mmds    the metadata service and the interfaces that reach it, or null
 */
public record DevicesConfig(List<DeviceConfig> devices, MmdsConfig mmds) {

    /**
     * Devices in the usual order.
     *
     * @param drives        virtio-blk drives, in the order the guest numbers them ({@code vda}, {@code vdb}...)
     * @param networks      virtio-net interfaces ({@code eth0}, {@code eth1}...)
     * @param vsock         the vsock device, or null
     * @param entropy       the virtio-rng device, or null
     * @param balloon       the balloon, or null
     * @param virtioConsole whether a virtio-console ({@code hvc}) is attached beside the UART
     * @param mmds          the metadata service and the interfaces that reach it, or null
     * @param keyboard      whether a virtio-input keyboard is attached
     */
    public DevicesConfig(List<DriveConfig> drives, List<NetworkInterfaceConfig> networks, VsockConfig vsock,
                         EntropyConfig entropy, BalloonConfig balloon, boolean virtioConsole, MmdsConfig mmds,
                         boolean keyboard) {
        this(ordered(drives, networks, vsock, entropy, balloon, virtioConsole, keyboard), mmds);
    }

    /** Devices without the metadata service or the keyboard. */
    public DevicesConfig(List<DriveConfig> drives, List<NetworkInterfaceConfig> networks, VsockConfig vsock,
                         EntropyConfig entropy, BalloonConfig balloon, boolean virtioConsole) {
        this(drives, networks, vsock, entropy, balloon, virtioConsole, null, false);
    }

    private static List<DeviceConfig> ordered(List<DriveConfig> drives, List<NetworkInterfaceConfig> networks,
                                              VsockConfig vsock, EntropyConfig entropy, BalloonConfig balloon,
                                              boolean virtioConsole, boolean keyboard) {
        List<DeviceConfig> all = new ArrayList<>(drives);
        all.addAll(networks);
        if (vsock != null) {
            all.add(vsock);
        }
        if (entropy != null) {
            all.add(entropy);
        }
        if (balloon != null) {
            all.add(balloon);
        }
        if (keyboard) {
            all.add(new KeyboardConfig());
        }
        if (virtioConsole) {
            all.add(new VirtioConsoleConfig());
        }
        return all;
    }

    /** Eight virtio-mmio slots in the memory map. */
    public static final int MAX_DEVICES = 8;

    public static final DevicesConfig NONE = new DevicesConfig(List.of(), null);

    /** @throws IllegalArgumentException naming the problem */
    public DevicesConfig {
        devices = List.copyOf(devices);
        if (devices.size() > MAX_DEVICES) {
            throw new IllegalArgumentException("too many virtio devices: " + devices.size() + " (at most " + MAX_DEVICES + ")");
        }
        Set<String> ids = new HashSet<>();
        int roots = 0;
        for (DeviceConfig d : devices) {
            String key = switch (d) {
                case DriveConfig drive -> {
                    roots += drive.isRootDevice() ? 1 : 0;
                    if (!ids.add("drive:" + drive.driveId())) {
                        throw new IllegalArgumentException("drive id '" + drive.driveId() + "' is used twice");
                    }
                    yield null;
                }
                case NetworkInterfaceConfig n -> {
                    if (!ids.add("net:" + n.ifaceId())) {
                        throw new IllegalArgumentException("network interface id '" + n.ifaceId() + "' is used twice");
                    }
                    yield null;
                }
                case VsockConfig v -> "a vsock device";
                case EntropyConfig e -> "an entropy device";
                case BalloonConfig b -> "a balloon";
                case VirtioConsoleConfig c -> "a virtio-console";
                case KeyboardConfig k -> "a keyboard";
                case ShareConfig s -> {
                    if (!ids.add("share:" + s.tag())) {
                        throw new IllegalArgumentException("share tag '" + s.tag() + "' is used twice");
                    }
                    yield null;
                }
            };
            if (key != null && !ids.add(key)) {
                throw new IllegalArgumentException("a VM has at most one of each: " + key + " is given twice");
            }
        }
        if (roots > 1) {
            throw new IllegalArgumentException("only one drive can be the root device");
        }
        if (mmds != null) {
            for (String iface : mmds.networkInterfaces()) {
                if (!ids.contains("net:" + iface)) {
                    throw new IllegalArgumentException("MMDS network interface '" + iface + "' does not exist");
                }
            }
        }
    }

    private <T extends DeviceConfig> List<T> all(Class<T> type) {
        return devices.stream().filter(type::isInstance).map(type::cast).toList();
    }

    private <T extends DeviceConfig> T one(Class<T> type) {
        List<T> found = all(type);
        return found.isEmpty() ? null : found.getFirst();
    }

    /** {@return the drives, in the order the guest numbers them} */
    public List<DriveConfig> drives() {
        return all(DriveConfig.class);
    }

    /** {@return the network interfaces, in the order the guest numbers them} */
    public List<NetworkInterfaceConfig> networks() {
        return all(NetworkInterfaceConfig.class);
    }

    /** {@return the shared directories (virtio-fs), in slot order} */
    public List<ShareConfig> shares() {
        return all(ShareConfig.class);
    }

    /** {@return these devices with {@code share} added after the others} */
    public DevicesConfig withShare(ShareConfig share) {
        List<DeviceConfig> out = new ArrayList<>(devices);
        out.add(share);
        return new DevicesConfig(out, mmds);
    }

    /** {@return the vsock device, or null} */
    public VsockConfig vsock() {
        return one(VsockConfig.class);
    }

    /** {@return the entropy device, or null} */
    public EntropyConfig entropy() {
        return one(EntropyConfig.class);
    }

    /** {@return the balloon, or null} */
    public BalloonConfig balloon() {
        return one(BalloonConfig.class);
    }

    /** {@return whether a virtio-console is attached} */
    public boolean virtioConsole() {
        return one(VirtioConsoleConfig.class) != null;
    }

    /** {@return whether a virtio-input keyboard is attached} */
    public boolean keyboard() {
        return one(KeyboardConfig.class) != null;
    }

    /** {@return the root drive's index among the drives, or -1} */
    public int rootDriveIndex() {
        List<DriveConfig> drives = drives();
        for (int i = 0; i < drives.size(); i++) {
            if (drives.get(i).isRootDevice()) {
                return i;
            }
        }
        return -1;
    }

    /** {@return these devices with {@code replacement} in place of each device for which it returns non-null} */
    public DevicesConfig map(java.util.function.Function<DeviceConfig, DeviceConfig> replacement) {
        List<DeviceConfig> out = new ArrayList<>();
        for (DeviceConfig d : devices) {
            DeviceConfig r = replacement.apply(d);
            out.add(r != null ? r : d);
        }
        return new DevicesConfig(out, mmds);
    }

    /**
     * {@return these devices with interface {@code ifaceId} attached to TAP device
     * {@code hostDevName}}: Firecracker's {@code network_overrides} on snapshot load. Port
     * forwards, which only the user-mode network has, are dropped.
     *
     * @throws IllegalArgumentException if there is no such interface
     */
    public DevicesConfig withNetworkHostDevice(String ifaceId, String hostDevName) {
        if (networks().stream().noneMatch(n -> n.ifaceId().equals(ifaceId))) {
            throw new IllegalArgumentException("no network interface with id '" + ifaceId + "'");
        }
        return map(d -> d instanceof NetworkInterfaceConfig n && n.ifaceId().equals(ifaceId)
                ? new NetworkInterfaceConfig(ifaceId, n.guestMac(), hostDevName, List.of(), n.rxRateLimiter(), n.txRateLimiter())
                : null);
    }

    /**
     * {@return these devices with the vsock device listening on {@code udsPath}}: Firecracker's
     * {@code vsock_override}.
     *
     * @throws IllegalArgumentException if there is no vsock device
     */
    public DevicesConfig withVsockPath(java.nio.file.Path udsPath) {
        if (vsock() == null) {
            throw new IllegalArgumentException("there is no vsock device to override");
        }
        return map(d -> d instanceof VsockConfig v ? new VsockConfig(v.guestCid(), udsPath) : null);
    }
}
