package dev.ember.vmm;

import dev.ember.boot.BootException;
import dev.ember.config.BalloonConfig;
import dev.ember.config.BootSourceConfig;
import dev.ember.config.DevicesConfig;
import dev.ember.config.DriveConfig;
import dev.ember.config.EntropyConfig;
import dev.ember.config.MachineConfig;
import dev.ember.config.NetworkInterfaceConfig;
import dev.ember.config.ShareConfig;
import dev.ember.config.VsockConfig;
import dev.ember.log.LogSink;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Collects a {@link MicroVm}'s configuration from the same records as Firecracker's API
 * resources and the {@code --config-file} ({@code boot-source}, {@code machine-config},
 * {@code drives}, {@code network-interfaces}, {@code vsock}, {@code entropy}, {@code balloon}),
 * and checks it in {@link #build}. Each record checks its own fields when it is made; the builder
 * checks how they fit together and reads the boot images.
 *
 * <p>Not thread-safe: one thread configures and builds. A builder may build several VMs; each
 * gets its own copy of the configuration, its own memory and its own threads.
 */
public final class MicroVmBuilder {

    /** How much console output a VM keeps unless told otherwise: 1 MiB. */
    public static final int DEFAULT_CONSOLE_HISTORY_BYTES = 1 << 20;

    /** The least console output a VM may keep: 64 KiB. */
    public static final int MIN_CONSOLE_HISTORY_BYTES = 64 * 1024;

    static final AtomicInteger NEXT_ID = new AtomicInteger(1);

    /** The name of the vsock socket {@link #guestAgent} makes, in a directory of its own. */
    static final String AGENT_SOCKET = "vsock.sock";

    private String name;
    private BootSourceConfig bootSource;
    private MachineConfig machineConfig = MachineConfig.DEFAULT;
    private final List<DriveConfig> drives = new ArrayList<>();
    private final List<NetworkInterfaceConfig> networkInterfaces = new ArrayList<>();
    private VsockConfig vsock;
    private EntropyConfig entropy;
    private BalloonConfig balloon;
    private boolean virtioConsole;
    private boolean guestAgent;
    private final List<ShareConfig> shares = new ArrayList<>();
    private int consoleHistoryBytes = DEFAULT_CONSOLE_HISTORY_BYTES;
    private OutputStream consoleCopy;
    private LogSink log = LogSink.systemLogger();

    MicroVmBuilder() {
    }

    /** Names the VM, for its thread names and messages; {@code vm-1}, {@code vm-2}... if not set. */
    public MicroVmBuilder name(String name) {
        if (name == null || name.isBlank() || name.chars().anyMatch(Character::isISOControl)) {
            throw new IllegalArgumentException("VM name must be non-blank printable text, not '" + name + "'");
        }
        this.name = name;
        return this;
    }

    /** What to boot, as {@code PUT /boot-source}; required. Null boot args mean {@value VmConfig#DEFAULT_CMDLINE}. */
    public MicroVmBuilder bootSource(BootSourceConfig bootSource) {
        this.bootSource = Objects.requireNonNull(bootSource, "bootSource");
        return this;
    }

    /** The machine's size, as {@code PUT /machine-config}; {@link MachineConfig#DEFAULT} (1 vCPU, 128 MiB) if not set. */
    public MicroVmBuilder machineConfig(MachineConfig machineConfig) {
        this.machineConfig = Objects.requireNonNull(machineConfig, "machineConfig");
        return this;
    }

    /**
     * Sets the execution engine: {@link dev.ember.config.EngineConfig#TRANSLATOR} (the default)
     * translates hot guest code to JVM bytecode, {@link dev.ember.config.EngineConfig#INTERPRETER}
     * interprets everything. Overrides the engine of an earlier {@link #machineConfig}.
     */
    public MicroVmBuilder engine(dev.ember.config.EngineConfig engine) {
        this.machineConfig = machineConfig.withEngine(engine);
        return this;
    }

    /** Adds a virtio-blk drive, as {@code PUT /drives/{id}}; the guest sees drives in the order added. */
    public MicroVmBuilder drive(DriveConfig drive) {
        drives.add(Objects.requireNonNull(drive, "drive"));
        return this;
    }

    /** Adds a virtio-net interface, as {@code PUT /network-interfaces/{id}}. */
    public MicroVmBuilder networkInterface(NetworkInterfaceConfig networkInterface) {
        networkInterfaces.add(Objects.requireNonNull(networkInterface, "networkInterface"));
        return this;
    }

    /** Attaches the vsock device, as {@code PUT /vsock}; null removes it. */
    public MicroVmBuilder vsock(VsockConfig vsock) {
        this.vsock = vsock;
        return this;
    }

    /** Attaches the virtio-rng device, as {@code PUT /entropy}; null removes it. */
    public MicroVmBuilder entropy(EntropyConfig entropy) {
        this.entropy = entropy;
        return this;
    }

    /** Attaches the balloon, as {@code PUT /balloon}; null removes it. */
    public MicroVmBuilder balloon(BalloonConfig balloon) {
        this.balloon = balloon;
        return this;
    }

    /**
     * Shares a host directory over virtio-fs, as Ember's {@code PUT /shares/{id}}; the guest
     * mounts it with {@code mount -t virtiofs TAG /mnt}. Shares take the slots after the other
     * devices, in the order added.
     */
    public MicroVmBuilder share(ShareConfig share) {
        shares.add(Objects.requireNonNull(share, "share"));
        return this;
    }

    /** As {@link #share(ShareConfig)}. */
    public MicroVmBuilder share(String tag, java.nio.file.Path path, boolean readOnly) {
        return share(new ShareConfig(tag, path, readOnly));
    }

    /** Attaches a virtio console ({@code hvc1}) beside the UART. */
    public MicroVmBuilder virtioConsole(boolean virtioConsole) {
        this.virtioConsole = virtioConsole;
        return this;
    }

    /**
     * Gives the guest a way to reach its agent ({@code ember-agent}, which the default guest
     * runs): if no {@link #vsock} device is configured, attaches one (guest CID 3) on a Unix
     * socket in a new temporary directory, deleted when the VM is closed. Then
     * {@link MicroVm#exec} goes through the agent, and {@link MicroVm#spawn} works.
     */
    public MicroVmBuilder guestAgent(boolean guestAgent) {
        this.guestAgent = guestAgent;
        return this;
    }

    /**
     * How many bytes of console output the VM keeps for {@link GuestConsole}, at least 64 KiB (so
     * one flush of the console's output buffer always fits); older output is dropped.
     */
    public MicroVmBuilder consoleHistoryBytes(int bytes) {
        if (bytes < MIN_CONSOLE_HISTORY_BYTES) {
            throw new IllegalArgumentException("console history must be at least " + MIN_CONSOLE_HISTORY_BYTES
                    + " bytes, not " + bytes);
        }
        this.consoleHistoryBytes = bytes;
        return this;
    }

    /**
     * Copies every byte of console output to {@code out} as well (e.g. {@code System.out}), in
     * order and unabridged; null for no copy. A slow stream here slows the guest's console.
     */
    public MicroVmBuilder consoleCopy(OutputStream out) {
        this.consoleCopy = out;
        return this;
    }

    /**
     * Where the VMM reports about this VM (a vCPU's internal error, a failed reboot, a device's
     * host I/O error, each with its exception): if not set, the JDK's {@link System.Logger} of the
     * reporting class ({@link LogSink#systemLogger()}), so the application's logging framework
     * receives them. {@link MicroVm#errorOutput} keeps those at WARN and above either way.
     */
    public MicroVmBuilder log(LogSink log) {
        this.log = Objects.requireNonNull(log, "log");
        return this;
    }


    /**
     * Checks the configuration, reads the boot images and lays out guest memory; nothing runs
     * until {@link MicroVm#start}.
     *
     * @throws IllegalArgumentException if the configuration is incomplete or inconsistent (no
     *         boot source, too many devices, a drive id used twice, two root drives...)
     * @throws BootException if a boot image is missing, unreadable, malformed or does not fit in
     *         guest memory, or a device's host resource cannot be set up; the message names it
     */
    public MicroVm build() throws BootException {
        if (bootSource == null) {
            throw new IllegalArgumentException("no boot source: call bootSource(...) with the kernel image to boot");
        }
        Path socketDir = null;
        VsockConfig vsockConfig = vsock;
        if (guestAgent && vsockConfig == null) {
            try {
                socketDir = Files.createTempDirectory("ember-agent-");
            } catch (IOException e) {
                throw new BootException("cannot create a directory for the guest agent's vsock socket: " + e.getMessage());
            }
            vsockConfig = new VsockConfig(3, socketDir.resolve(AGENT_SOCKET));
        }
        DevicesConfig devices = new DevicesConfig(drives, networkInterfaces, vsockConfig, entropy, balloon, virtioConsole);
        for (ShareConfig share : shares) {
            devices = devices.withShare(share);
        }
        String cmdline = bootSource.bootArgs() != null ? bootSource.bootArgs() : VmConfig.DEFAULT_CMDLINE;
        String vmName = name != null ? name : "vm-" + NEXT_ID.getAndIncrement();
        MicroVm vm;
        try {
            VmConfig config = new VmConfig(machineConfig.vcpuCount(), (long) machineConfig.memSizeMib() << 20,
                    bootSource.kernelImagePath(), bootSource.initrdPath(), cmdline, null, null, devices, false, vmName,
                    machineConfig.engine(), machineConfig.cpuFeatures()).validate();
            vm = new MicroVm(vmName, config, consoleHistoryBytes, consoleCopy, log);
        } catch (BootException | RuntimeException e) {
            deleteQuietly(socketDir);
            throw e;
        }
        if (socketDir != null) {
            vm.deleteOnClose(socketDir);
        }
        if (machineConfig.trackDirtyPages()) {
            vm.machine().trackDirtyPages();
        }
        return vm;
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try {
            Files.deleteIfExists(dir.resolve(AGENT_SOCKET));
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            // A temporary directory left behind is harmless; the build's own error matters.
        }
    }
}
