package dev.ember.vmm;

import dev.ember.boot.BootException;
import dev.ember.config.BalloonConfig;
import dev.ember.config.DeviceConfig;
import dev.ember.config.EntropyConfig;
import dev.ember.config.KeyboardConfig;
import dev.ember.config.VirtioConsoleConfig;
import dev.ember.config.VsockConfig;
import dev.ember.config.DevicesConfig;
import dev.ember.config.DriveConfig;
import dev.ember.config.NetworkInterfaceConfig;
import dev.ember.config.PortForward;
import dev.ember.config.RateLimiterConfig;
import dev.ember.config.ShareConfig;
import dev.ember.devices.irq.Plic;
import dev.ember.devices.virtio.VirtioDevice;
import dev.ember.devices.virtio.VirtioMmio;
import dev.ember.devices.virtio.balloon.VirtioBalloon;
import dev.ember.devices.virtio.block.DiskImage;
import dev.ember.devices.virtio.block.DiskImageException;
import dev.ember.devices.virtio.block.VirtioBlock;
import dev.ember.devices.virtio.console.VirtioConsole;
import dev.ember.devices.virtio.fs.VirtioFs;
import dev.ember.devices.virtio.input.VirtioInput;
import dev.ember.devices.virtio.net.VirtioNet;
import dev.ember.devices.virtio.rng.VirtioRng;
import dev.ember.devices.virtio.vsock.VirtioVsock;
import dev.ember.firmware.DeviceTree;
import dev.ember.firmware.DeviceTree.VirtioSlot;
import dev.ember.log.LogSink;
import dev.ember.memory.GuestMemory;
import dev.ember.memory.PhysicalBus;
import dev.ember.mmds.Mmds;
import dev.ember.mmds.MmdsNetBackend;
import dev.ember.mmds.MmdsNetworkStack;
import dev.ember.net.NetBackend;
import dev.ember.net.tap.TapBackend;
import dev.ember.net.user.HostForward;
import dev.ember.net.user.UserNetwork;
import dev.ember.net.user.UserNetworkConfig;
import dev.ember.ratelimit.RateLimiter;
import dev.ember.ratelimit.RefillTimer;
import java.io.IOException;
import java.net.InetAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a {@link DevicesConfig} into virtio devices on virtio-mmio transports: the one place
 * where device records become devices, as Firecracker's MMIO device manager.
 *
 * <p>Slot assignment: device {@code k} (drives first, then network interfaces, then vsock,
 * entropy, balloon and console) takes slot {@code 7 - k}. The device tree lists slots from the
 * highest address down, as QEMU's {@code virt} does, and Linux probes them in that order, so the
 * first drive is {@code vda} and the first interface {@code eth0}.
 *
 * <p>Every host resource (image file, TAP device, forwarded port, Unix socket) is opened here,
 * before the guest runs, so a bad one is reported as a {@link BootException} with the device
 * named; whatever was opened before the failure is closed again.
 *
 * <p>Rate limiters: each drive, network interface (rx and tx) and the entropy device gets a
 * {@link RateLimiter} from its config record (null: unlimited, still updatable); one
 * {@link RefillTimer} per VM wakes throttled devices and is closed with the devices.
 * {@link #updateDriveRateLimiter} and {@link #updateNetworkRateLimiters} are the run-time PATCHes.
 *
 * <p>Threads: built and closed on the VMM thread; the devices serve vCPU threads and their own;
 * the rate-limiter updates may come from the API thread.
 */
final class DeviceManager implements AutoCloseable {

    private final List<VirtioMmio> transports = new ArrayList<>();
    private final List<VirtioSlot> slots = new ArrayList<>();
    private final List<String> labels = new ArrayList<>();
    private final String rootDevice;
    private final RefillTimer refillTimer;
    private final Map<String, TapBackend> taps = new LinkedHashMap<>();
    private final List<MmdsNetworkStack> mmdsStacks = new ArrayList<>();
    private final Mmds mmds;

    /** @param vmName names the VM's rate-limit timer thread ({@code ember-ratelimit-vmName}) */
    DeviceManager(DevicesConfig config, String vmName, GuestMemory ram, PhysicalBus bus, Plic plic,
                  VirtioConsole.Output consoleOutput, LogSink log, Mmds mmds) throws BootException {
        this.refillTimer = new RefillTimer(vmName);
        this.mmds = mmds;
        if (mmds != null && config.mmds() != null) {
            mmds.configure(config.mmds());
        }
        try {
            List<DriveConfig> drives = config.drives();
            int root = config.rootDriveIndex();
            rootDevice = root < 0 ? null : "/dev/vd" + (char) ('a' + root) + (drives.get(root).isReadOnly() ? " ro" : " rw");
            int netIndex = 0;
            for (DeviceConfig d : config.devices()) {
                // Each device package builds its device from its own record.
                switch (d) {
                    case DriveConfig drive -> attach(VirtioBlock.create(drive, log, refillTimer),
                            "virtio-blk " + drive.driveId(), ram, bus, plic, log);
                    case NetworkInterfaceConfig n -> attachNetwork(n, netIndex++, config, ram, bus, plic, log);
                    case VsockConfig v -> attach(VirtioVsock.create(v), "virtio-vsock", ram, bus, plic, log);
                    case EntropyConfig e -> attach(VirtioRng.create(e, refillTimer), "virtio-rng", ram, bus, plic, log);
                    case BalloonConfig b -> attach(VirtioBalloon.create(b), "virtio-balloon", ram, bus, plic, log);
                    case KeyboardConfig k -> attach(VirtioInput.create(k), "virtio-input keyboard", ram, bus, plic, log);
                    case ShareConfig s -> attach(VirtioFs.create(s), "virtio-fs " + s.tag(), ram, bus, plic, log);
                    case VirtioConsoleConfig c -> attach(VirtioConsole.create(c, consoleOutput), "virtio-console", ram, bus,
                            plic, log);
                }
            }
        } catch (DiskImageException e) {
            close();
            throw new BootException(e.getMessage());
        } catch (IOException | RuntimeException e) {
            close();
            throw new BootException(e.getMessage());
        } catch (LinkageError e) {
            close();
            throw new BootException("a device needs a native call this host cannot make: " + e);
        }
    }

    /** Builds interface {@code n}'s backend (user-mode or TAP, behind MMDS when configured) and its device. */
    private void attachNetwork(NetworkInterfaceConfig n, int index, DevicesConfig config, GuestMemory ram,
                               PhysicalBus bus, Plic plic, LogSink log) throws IOException {
        NetBackend backend;
        if (n.userMode()) {
            backend = userNetwork(n, log);
        } else {
            TapBackend tap = TapBackend.open(n.hostDevName(), log);
            taps.put(n.ifaceId(), tap);
            backend = tap;
        }
        if (mmds != null && config.mmds() != null && config.mmds().networkInterfaces().contains(n.ifaceId())) {
            // Frames for the metadata address are answered before they reach the backend.
            MmdsNetworkStack stack = new MmdsNetworkStack(mmds, config.mmds().ipv4Address());
            mmdsStacks.add(stack);
            backend = new MmdsNetBackend(stack, backend);
        }
        try {
            attach(VirtioNet.create(n, index, backend, refillTimer), "virtio-net " + n.ifaceId(), ram, bus, plic, log);
        } catch (RuntimeException e) {
            backend.close();
            throw e;
        }
    }

    private static NetBackend userNetwork(NetworkInterfaceConfig n, LogSink log) throws IOException {
        List<HostForward> forwards = new ArrayList<>();
        for (PortForward f : n.portForwards()) {
            forwards.add(new HostForward(f.protocol().equals("tcp") ? HostForward.Protocol.TCP : HostForward.Protocol.UDP,
                    InetAddress.getByName(f.hostAddress()), f.hostPort(), f.guestPort()));
        }
        return new UserNetwork(UserNetworkConfig.defaults().withHostForwards(forwards), log);
    }

    private void attach(VirtioDevice device, String name, GuestMemory ram, PhysicalBus bus, Plic plic, LogSink log) {
        int k = transports.size();
        VirtioSlot slot = VirtioSlot.standard(DeviceTree.VIRTIO_COUNT - 1 - k);
        VirtioMmio transport = new VirtioMmio(device, ram, plic.source(slot.irq()), name, log);
        bus.map(slot.base(), transport);
        transports.add(transport);
        slots.add(slot);
        labels.add(name);
    }

    // ---- snapshots ------------------------------------------------------------------------

    /** Work done while every device is quiesced. */
    interface QuiescedWork<T, E extends Exception> {
        T run() throws E;
    }

    /**
     * Runs {@code work} while holding every device's monitor, so no device thread (a network
     * backend, vsock, the balloon's timer, a rate limiter's wake-up, console input) touches a
     * queue or guest RAM meanwhile: the quiesce point of a snapshot. With the vCPUs paused too,
     * guest RAM and every device's state hold still. Device threads that need a device wait.
     */
    <T, E extends Exception> T whileQuiesced(QuiescedWork<T, E> work) throws E {
        return lockFrom(0, work);
    }

    private <T, E extends Exception> T lockFrom(int i, QuiescedWork<T, E> work) throws E {
        if (i == transports.size()) {
            return work.run();
        }
        synchronized (transports.get(i).device()) {
            return lockFrom(i + 1, work);
        }
    }

    /** {@return each device's state, in slot order}; call it {@link #whileQuiesced} */
    List<VmState.DeviceState> saveStates() {
        List<VmState.DeviceState> out = new ArrayList<>();
        for (int i = 0; i < transports.size(); i++) {
            VirtioMmio t = transports.get(i);
            Record own = t.device().saveState();
            out.add(new VmState.DeviceState(labels.get(i), t.saveState(),
                    own == null ? null : VmState.JSON.valueToTree(own)));
        }
        return out;
    }

    /**
     * Restores {@code states} onto the devices just built from the snapshot's configuration,
     * reactivates them, and lets each tell its driver what it could not restore.
     *
     * @throws IllegalArgumentException if the states do not match the devices
     */
    void restoreStates(List<VmState.DeviceState> states) {
        if (states.size() != transports.size()) {
            throw new IllegalArgumentException("the snapshot has " + states.size() + " virtio devices, the configuration "
                    + transports.size());
        }
        for (int i = 0; i < transports.size(); i++) {
            VmState.DeviceState s = states.get(i);
            VirtioMmio t = transports.get(i);
            if (!labels.get(i).equals(s.device())) {
                throw new IllegalArgumentException("virtio slot " + i + " holds " + labels.get(i) + ", the snapshot "
                        + s.device());
            }
            if (s.transport() == null) {
                throw new IllegalArgumentException(s.device() + ": no transport state");
            }
            // The fresh device's own state names the record class to read the saved one as.
            Record fresh = t.device().saveState();
            if (fresh != null && s.state() != null && !s.state().isNull()) {
                try {
                    t.device().restoreState(VmState.JSON.treeToValue(s.state(), fresh.getClass()));
                } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                    throw new IllegalArgumentException(s.device() + ": state does not decode: " + e.getOriginalMessage());
                }
            }
            t.restoreState(s.transport());
        }
        for (VirtioMmio t : transports) {
            t.device().restored();
        }
    }

    /** {@return the slots in use, for the device tree} */
    List<VirtioSlot> slots() {
        return List.copyOf(slots);
    }

    /**
     * {@return {@code cmdline} with {@code root=/dev/vdX rw} (or {@code ro}) appended when a drive
     * is the root device and the command line names no root of its own}
     */
    String withRoot(String cmdline) {
        String base = cmdline == null ? "" : cmdline;
        if (rootDevice == null || base.matches("(.*\\s)?root=.*")) {
            return base;
        }
        return (base.isBlank() ? "" : base + " ") + "root=" + rootDevice;
    }

    /**
     * Applies {@code PATCH /drives/{id}}'s rate limiter: each bucket given replaces the drive's
     * with a full one, absent buckets are kept (a null {@code config} changes nothing).
     *
     * @throws IllegalArgumentException if no drive has that id
     */
    void updateDriveRateLimiter(String driveId, RateLimiterConfig config) {
        VirtioBlock block = drive(driveId);
        if (block == null) {
            throw new IllegalArgumentException("no such drive: " + driveId);
        }
        block.updateRateLimiter(config);
    }

    /**
     * Applies {@code PATCH /network-interfaces/{id}}'s rate limiters, as
     * {@link #updateDriveRateLimiter} for each direction (null: that direction unchanged).
     *
     * @throws IllegalArgumentException if no network interface has that id
     */
    void updateNetworkRateLimiters(String ifaceId, RateLimiterConfig rx, RateLimiterConfig tx) {
        VirtioNet net = network(ifaceId);
        if (net == null) {
            throw new IllegalArgumentException("no such network interface: " + ifaceId);
        }
        net.updateRateLimiters(rx, tx);
    }

    /**
     * Adds every device's counters to {@code m} under Firecracker's group and field names (see
     * {@link VmMetrics} for the list). Callable from any thread while the VM runs.
     */
    void addMetrics(VmMetrics m) {
        for (VirtioMmio t : transports) {
            t.device().reportMetrics(m, t);
        }
        taps.forEach((id, tap) -> {
            var tm = tap.metrics();
            m.addPerDevice("net", id, "tap_write_fails", tm.dropsHostFull() + tm.dropsLinkDown() + tm.writeErrors());
        });
        for (MmdsNetworkStack stack : mmdsStacks) {
            var s = stack.metrics();
            m.add("mmds", "rx_accepted", s.rxFrames());
            m.add("mmds", "tx_frames", s.txFrames());
            m.add("mmds", "tx_errors", s.txDropped());
            m.add("mmds", "connections_created", s.connectionsCreated());
            m.add("mmds", "connections_destroyed", s.connectionsDestroyed());
        }
    }

    /** {@return the attached device of type {@code type} for which {@code match} holds, or null} */
    private <T extends VirtioDevice> T find(Class<T> type, java.util.function.Predicate<T> match) {
        for (VirtioMmio t : transports) {
            if (type.isInstance(t.device()) && match.test(type.cast(t.device()))) {
                return type.cast(t.device());
            }
        }
        return null;
    }

    /** {@return the drive named {@code driveId}, or null} */
    VirtioBlock drive(String driveId) {
        return find(VirtioBlock.class, d -> d.id().equals(driveId));
    }

    /** {@return the network interface named {@code ifaceId}, or null} */
    VirtioNet network(String ifaceId) {
        return find(VirtioNet.class, n -> n.id().equals(ifaceId));
    }

    /** {@return the entropy device, or null} */
    VirtioRng entropy() {
        return find(VirtioRng.class, r -> true);
    }

    /** {@return the keyboard through which Ctrl+Alt+Del is sent, or null} */
    VirtioInput keyboard() {
        return find(VirtioInput.class, k -> true);
    }

    /** {@return the balloon, or null} */
    VirtioBalloon balloon() {
        return find(VirtioBalloon.class, b -> true);
    }

    /** {@return the virtio console, or null} */
    VirtioConsole console() {
        return find(VirtioConsole.class, c -> true);
    }

    /** {@return the transports, in slot order of attachment} */
    List<VirtioMmio> transports() {
        return List.copyOf(transports);
    }

    /** Quiesces every device for a pause (see {@link VirtioMmio#quiesce}). */
    void quiesce() {
        for (VirtioMmio t : transports) {
            t.quiesce();
        }
    }

    /** Ends the pause's quiesce: each device is kicked on its ready queues. */
    void unquiesce() {
        for (VirtioMmio t : transports) {
            t.unquiesce();
        }
    }

    /** Resets every device to power-on state, for a guest reboot. */
    void reset() {
        for (VirtioMmio t : transports) {
            t.reset();
        }
    }

    /**
     * Releases every device's host resources. Each transport is reset first, so no device thread
     * or late caller (console input, a balloon request) touches guest RAM once it may be unmapped.
     */
    @Override
    public void close() {
        // First, so no wake-up starts serving a queue while the devices close.
        refillTimer.close();
        for (VirtioMmio t : transports) {
            try {
                t.reset();
                t.device().close();
            } catch (RuntimeException e) {
                // Closing is best effort; one device's failure must not keep the others open.
            }
        }
    }
}
