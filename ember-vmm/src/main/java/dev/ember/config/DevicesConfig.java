package dev.ember.config;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The virtio devices of one VM.
 *
 * @param drives        virtio-blk drives, in the order the guest numbers them ({@code vda}, {@code vdb}...)
 * @param networks      virtio-net interfaces ({@code eth0}, {@code eth1}...)
 * @param vsock         the vsock device, or null
 * @param entropy       the virtio-rng device, or null
 * @param balloon       the balloon, or null
 * @param virtioConsole whether a virtio-console ({@code hvc}) is attached beside the UART
 * @param mmds          the metadata service and the interfaces that reach it, or null
 * @param keyboard      whether a virtio-input keyboard is attached, through which
 *                      {@code SendCtrlAltDel} asks the guest to shut down
 */
public record DevicesConfig(List<DriveConfig> drives, List<NetworkInterfaceConfig> networks, VsockConfig vsock,
                            EntropyConfig entropy, BalloonConfig balloon, boolean virtioConsole, MmdsConfig mmds,
                            boolean keyboard) {

    /** Devices without the metadata service or the keyboard. */
    public DevicesConfig(List<DriveConfig> drives, List<NetworkInterfaceConfig> networks, VsockConfig vsock,
                         EntropyConfig entropy, BalloonConfig balloon, boolean virtioConsole) {
        this(drives, networks, vsock, entropy, balloon, virtioConsole, null, false);
    }

    /** Eight virtio-mmio slots in the memory map. */
    public static final int MAX_DEVICES = 8;

    public static final DevicesConfig NONE = new DevicesConfig(List.of(), List.of(), null, null, null, false);

    /** @throws IllegalArgumentException naming the problem */
    public DevicesConfig {
        drives = List.copyOf(drives);
        networks = List.copyOf(networks);
        int count = drives.size() + networks.size() + (vsock != null ? 1 : 0) + (entropy != null ? 1 : 0)
                + (balloon != null ? 1 : 0) + (virtioConsole ? 1 : 0) + (keyboard ? 1 : 0);
        if (count > MAX_DEVICES) {
            throw new IllegalArgumentException("too many virtio devices: " + count + " (at most " + MAX_DEVICES + ")");
        }
        Set<String> ids = new HashSet<>();
        int roots = 0;
        for (DriveConfig d : drives) {
            if (!ids.add("drive:" + d.driveId())) {
                throw new IllegalArgumentException("drive id '" + d.driveId() + "' is used twice");
            }
            roots += d.isRootDevice() ? 1 : 0;
        }
        if (roots > 1) {
            throw new IllegalArgumentException("only one drive can be the root device");
        }
        for (NetworkInterfaceConfig n : networks) {
            if (!ids.add("net:" + n.ifaceId())) {
                throw new IllegalArgumentException("network interface id '" + n.ifaceId() + "' is used twice");
            }
        }
        if (mmds != null) {
            for (String iface : mmds.networkInterfaces()) {
                if (!ids.contains("net:" + iface)) {
                    throw new IllegalArgumentException("MMDS network interface '" + iface + "' does not exist");
                }
            }
        }
    }

    /** {@return the root drive's index among the drives, or -1} */
    public int rootDriveIndex() {
        for (int i = 0; i < drives.size(); i++) {
            if (drives.get(i).isRootDevice()) {
                return i;
            }
        }
        return -1;
    }

    /**
     * {@return these devices with interface {@code ifaceId} attached to TAP device
     * {@code hostDevName}}: Firecracker's {@code network_overrides} on snapshot load. Port
     * forwards, which only the user-mode network has, are dropped.
     *
     * @throws IllegalArgumentException if there is no such interface
     */
    public DevicesConfig withNetworkHostDevice(String ifaceId, String hostDevName) {
        List<NetworkInterfaceConfig> nets = new java.util.ArrayList<>(networks);
        for (int i = 0; i < nets.size(); i++) {
            NetworkInterfaceConfig n = nets.get(i);
            if (n.ifaceId().equals(ifaceId)) {
                nets.set(i, new NetworkInterfaceConfig(ifaceId, n.guestMac(), hostDevName, List.of(), n.rxRateLimiter(),
                        n.txRateLimiter()));
                return new DevicesConfig(drives, nets, vsock, entropy, balloon, virtioConsole, mmds, keyboard);
            }
        }
        throw new IllegalArgumentException("no network interface with id '" + ifaceId + "'");
    }

    /**
     * {@return these devices with the vsock device listening on {@code udsPath}}: Firecracker's
     * {@code vsock_override}.
     *
     * @throws IllegalArgumentException if there is no vsock device
     */
    public DevicesConfig withVsockPath(java.nio.file.Path udsPath) {
        if (vsock == null) {
            throw new IllegalArgumentException("there is no vsock device to override");
        }
        return new DevicesConfig(drives, networks, new VsockConfig(vsock.guestCid(), udsPath), entropy, balloon,
                virtioConsole, mmds, keyboard);
    }
}
