package dev.ember.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ember.boot.BootException;
import dev.ember.config.DevicesConfig;
import dev.ember.config.DriveConfig;
import dev.ember.config.ShareConfig;
import dev.ember.config.NetworkInterfaceConfig;
import dev.ember.config.RateLimiterConfig;
import dev.ember.devices.virtio.balloon.VirtioBalloon;
import dev.ember.devices.virtio.balloon.VirtioBalloonStat;
import dev.ember.devices.virtio.balloon.VirtioBalloonStatistics;
import dev.ember.log.Log;
import dev.ember.log.LogSink;
import dev.ember.server.api.ApiModel.Balloon;
import dev.ember.server.api.ApiModel.BootSource;
import dev.ember.server.api.ApiModel.Drive;
import dev.ember.server.api.ApiModel.Machine;
import dev.ember.server.api.ApiModel.NetworkInterface;
import dev.ember.vmm.VirtualMachine;
import dev.ember.snapshot.SnapshotException;
import dev.ember.vmm.VmConfig;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * The microVM's resources before boot and its actions after: Firecracker's
 * {@code PrebootApiController} and {@code RuntimeApiController} ({@code src/vmm/src/rpc_interface.rs})
 * in one object, with their rules and fault messages.
 *
 * <p>Before {@code InstanceStart} it holds the boot source, machine config (default 1 vCPU,
 * 128 MiB), drives (keyed by id in insertion order, the root drive first, as Firecracker's
 * {@code BlockBuilder}), network interfaces, vsock, entropy, balloon, logger, metrics, serial and
 * MMDS config, each stored as the API body that set it so {@code GET /vm/config} returns what was
 * given. Every setter converts the body to Ember's config record first and stores only if that
 * succeeds: a refused request changes nothing. {@code InstanceStart} builds a {@link VmConfig}
 * and a {@link VirtualMachine} and runs it on the {@code ember-vmm} thread; after that only
 * the post-boot actions are allowed (pause, resume, balloon, rate limiters, MMDS data, metrics
 * flush, shutdown request).
 *
 * <p>Threads: every public method is {@code synchronized}; the API server calls them one request
 * at a time, as Firecracker's single API thread does. The VMM thread only calls {@code onExit}.
 */
final class VmmController {

    /** Ember's version, reported as Firecracker's {@code vmm_version}. */
    static final String VERSION = "0.1.0";
    /** {@code app_name} in {@code GET /}: Ember names itself rather than pretending to be Firecracker. */
    static final String APP_NAME = "ember";

    private enum State {
        NOT_STARTED("Not started"), RUNNING("Running"), PAUSED("Paused");

        final String text;

        State(String text) {
            this.text = text;
        }
    }

    private final String id;
    private final ApiLogger logger;
    private final ApiMetrics metrics;
    private final OutputStream consoleOut;
    private final InputStream consoleIn;
    private final LogSink vmLog;
    private final Log log;
    private final IntConsumer onExit;
    private final MmdsStore mmds = new MmdsStore(new dev.ember.mmds.Mmds());

    private State state = State.NOT_STARTED;
    private BootSource bootSource;
    private Machine machine = Machine.DEFAULT;
    private final Map<String, Drive> drives = new LinkedHashMap<>();
    private final Map<String, ApiModel.Share> shares = new LinkedHashMap<>();
    private final Map<String, NetworkInterface> nets = new LinkedHashMap<>();
    private ApiModel.Vsock vsock;
    private ApiModel.Entropy entropy;
    private Balloon balloon;
    private ApiModel.Logger loggerConfig;
    private ApiModel.Metrics metricsConfig;
    private ApiModel.Mmds mmdsConfig;
    private ApiModel.Serial serial;
    private RunningVm vm;
    /** Whether the running VM logs dirty pages: machine-config's or snapshot load's track_dirty_pages. */
    private boolean trackingDirtyPages;
    private boolean bootTimer;

    /**
     * @param id         the instance id ({@code --id}; Firecracker's default is {@code anonymous-instance})
     * @param consoleOut where the guest's serial output goes unless {@code PUT /serial} names a file
     * @param consoleIn  typed into the guest's console, or null
     * @param vmLog      where the VM reports (stderr and, once configured, the log file: {@link ApiLogger#vmSink})
     * @param onExit     called on the VMM thread with the guest's exit status once the VM has stopped
     */
    VmmController(String id, ApiLogger logger, ApiMetrics metrics, OutputStream consoleOut, InputStream consoleIn,
                  LogSink vmLog, IntConsumer onExit) {
        this.id = id;
        this.logger = logger;
        this.metrics = metrics;
        this.consoleOut = consoleOut;
        this.consoleIn = consoleIn;
        this.vmLog = vmLog;
        this.log = Log.of(logger, VmmController.class);
        this.onExit = onExit;
    }

    /** Sets Firecracker's {@code --boot-timer} for the VM that InstanceStart builds. */
    synchronized void setBootTimer(boolean enabled) {
        bootTimer = enabled;
    }

    // ---- information ----

    synchronized ApiModel.InstanceInfo instanceInfo() {
        return new ApiModel.InstanceInfo(id, state.text, VERSION, APP_NAME);
    }

    synchronized ObjectNode version() {
        return Json.MAPPER.createObjectNode().put("firecracker_version", VERSION);
    }

    synchronized Machine machineConfig() {
        return machine;
    }

    synchronized ApiModel.FullConfig fullConfig() {
        return new ApiModel.FullConfig(currentBalloon(), orderedDrives(), bootSource, loggerConfig, machine, metricsConfig,
                mmdsConfig, new ArrayList<>(nets.values()), vsock, entropy,
                shares.isEmpty() ? null : new ArrayList<>(shares.values()));
    }

    synchronized boolean started() {
        return state != State.NOT_STARTED;
    }

    // ---- pre-boot resources ----

    synchronized void putBootSource(BootSource b) {
        preBoot();
        checkReadable(b.kernelImagePath(), "Boot source error: The kernel file cannot be opened: ");
        if (b.initrdPath() != null) {
            checkReadable(b.initrdPath(),
                    "Boot source error: The initrd file cannot be opened due to invalid path or invalid permissions. ");
        }
        convert("Boot source error: ", b::toConfig);
        bootSource = b;
    }

    synchronized void putMachine(Machine m) {
        preBoot();
        setMachine(m.over(Machine.DEFAULT));
    }

    synchronized void patchMachine(ApiModel.MachineUpdate update) {
        preBoot();
        Machine m = update.asMachine();
        if (m.isEmpty()) {
            throw ApiError.badRequest("Empty PATCH request.");
        }
        setMachine(m.over(machine));
    }

    private void setMachine(Machine m) {
        if (m.vcpuCount() < 1 || m.vcpuCount() > dev.ember.config.MachineConfig.MAX_VCPUS) {
            throw ApiError.badRequest("Machine config error: The number of vCPUs must be greater than 0, at most "
                    + dev.ember.config.MachineConfig.MAX_VCPUS + " and must be 1 or an even number if SMT is enabled.");
        }
        if (m.smt()) {
            throw ApiError.badRequest("Machine config error: Enabling simultaneous multithreading is not supported on riscv64.");
        }
        if (!"None".equals(m.hugePages())) {
            throw ApiError.badRequest("Machine config error: Huge pages are not supported by Ember.");
        }
        if (m.memSizeMib() == 0) {
            throw ApiError.badRequest("Machine config error: The memory size (MiB) is either 0, or not a multiple of the configured page size.");
        }
        if (balloon != null && m.memSizeMib() < balloon.amountMib()) {
            throw ApiError.badRequest("Machine config error: The memory size (MiB) is smaller than the previously set balloon device target size.");
        }
        convert("Machine config error: ", m::toConfig);
        machine = m;
    }

    synchronized void putDrive(Drive d) {
        preBoot();
        if (d.socket() != null) {
            throw ApiError.badRequest("Drive config error: vhost-user block devices are not supported by Ember.");
        }
        if (d.pathOnHost() == null) {
            throw ApiError.badRequest("Drive config error: Unable to create the virtio block device: path_on_host is required.");
        }
        Drive root = drives.values().stream().filter(Drive::isRootDevice).findFirst().orElse(null);
        if (d.isRootDevice() && root != null && !root.driveId().equals(d.driveId())) {
            throw ApiError.badRequest("Drive config error: A root block device already exists!");
        }
        Path path = hostPath(d.pathOnHost(), "Drive config error: Unable to create the virtio block device: ");
        if (!Files.isRegularFile(path) && !Files.exists(path)) {
            throw ApiError.badRequest("Drive config error: Unable to create the virtio block device: "
                    + "Virtio backend error: Error manipulating the backing file: No such file or directory (os error 2) "
                    + d.pathOnHost());
        }
        DriveConfig config = convert("Drive config error: ", d::toConfig);
        Map<String, Drive> candidate = new LinkedHashMap<>(drives);
        candidate.put(config.driveId(), d);
        checkDevices(candidate, nets, vsock, entropy, balloon);
        drives.clear();
        drives.putAll(candidate);
    }

    synchronized void putNet(NetworkInterface n) {
        preBoot();
        NetworkInterfaceConfig config = convert("Network config error: ", n::toConfig);
        for (NetworkInterface other : nets.values()) {
            if (other.ifaceId().equals(n.ifaceId())) {
                continue;
            }
            if (n.guestMac() != null && n.guestMac().equalsIgnoreCase(other.guestMac())) {
                throw ApiError.badRequest("Network config error: The MAC address is already in use: " + n.guestMac());
            }
            if (n.hostDevName().equals(other.hostDevName())) {
                throw ApiError.badRequest("Network config error: The host device name is already in use: " + n.hostDevName());
            }
        }
        Map<String, NetworkInterface> candidate = new LinkedHashMap<>(nets);
        candidate.put(config.ifaceId(), n);
        checkDevices(drives, candidate, vsock, entropy, balloon);
        nets.clear();
        nets.putAll(candidate);
    }

    synchronized void putVsock(ApiModel.Vsock v) {
        preBoot();
        convert("Vsock config error: ", v::toConfig);
        checkDevices(drives, nets, v, entropy, balloon);
        vsock = v;
    }

    /** {@code PUT /shares/{id}}: Ember's virtio-fs share, pre-boot only; a share of the same id is replaced. */
    synchronized void putShare(ApiModel.Share s) {
        preBoot();
        ShareConfig config = convert("Share config error: ", s::toConfig);
        for (ApiModel.Share other : shares.values()) {
            if (!other.shareId().equals(s.shareId()) && other.tag().equals(config.tag())) {
                throw ApiError.badRequest("Share config error: tag '" + config.tag() + "' is used by share '"
                        + other.shareId() + "'");
            }
        }
        Map<String, ApiModel.Share> candidate = new LinkedHashMap<>(shares);
        candidate.put(s.shareId(), s);
        Map<String, ApiModel.Share> saved = new LinkedHashMap<>(shares);
        shares.clear();
        shares.putAll(candidate);
        try {
            checkDevices(drives, nets, vsock, entropy, balloon);
        } catch (ApiError e) {
            shares.clear();
            shares.putAll(saved);
            throw e;
        }
    }

    synchronized void putEntropy(ApiModel.Entropy e) {
        preBoot();
        convert("Entropy device error: ", e::toConfig);
        checkDevices(drives, nets, vsock, e, balloon);
        entropy = e;
    }

    synchronized void putBalloon(Balloon b) {
        preBoot();
        if (b.amountMib() > machine.memSizeMib()) {
            throw ApiError.badRequest("Balloon config error: Amount of pages requested is too large.");
        }
        convert("Balloon config error: ", b::toConfig);
        checkDevices(drives, nets, vsock, entropy, b);
        balloon = b;
    }

    synchronized void putLogger(ApiModel.Logger l) {
        preBoot();
        logger.configure(convert("Logger error: ", l::toConfig));
        loggerConfig = l;
    }

    synchronized void putMetrics(ApiModel.Metrics m) {
        preBoot();
        metrics.configure(convert("Metrics error: ", m::toConfig));
        metricsConfig = m;
    }

    synchronized void putSerial(ApiModel.Serial s) {
        preBoot();
        serial = s;
    }

    synchronized void putMmdsConfig(ApiModel.Mmds m) {
        preBoot();
        if (m.networkInterfaces().isEmpty()) {
            throw ApiError.badRequest("MMDS config error: The list of network interface IDs that allow forwarding MMDS requests is empty.");
        }
        for (String iface : m.networkInterfaces()) {
            if (!nets.containsKey(iface)) {
                throw ApiError.badRequest("MMDS config error: The list of network interface IDs provided contains at least one ID "
                        + "that does not correspond to any existing network interface.");
            }
        }
        if (m.ipv4Address() != null) {
            InetAddress address;
            try {
                if (!m.ipv4Address().matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
                    throw new IllegalArgumentException();
                }
                address = InetAddress.getByName(m.ipv4Address());
            } catch (IOException | IllegalArgumentException e) {
                throw Json.fault("invalid IPv4 address syntax");
            }
            if (!(address instanceof Inet4Address) || !address.isLinkLocalAddress()) {
                throw ApiError.badRequest("MMDS config error: The MMDS IPv4 address is not link local.");
            }
        }
        mmds.mmds().configure(convert("MMDS config error: ", m::toConfig));
        mmdsConfig = m;
    }

    // ---- MMDS data (pre- and post-boot) ----

    /** {@return the MMDS the guest-facing network stack should answer from} */
    dev.ember.mmds.Mmds mmds() {
        return mmds.mmds();
    }

    synchronized JsonNode getMmds() {
        return mmds.get();
    }

    synchronized void putMmds(JsonNode value) {
        mmds.put(value);
    }

    synchronized void patchMmds(JsonNode value) {
        mmds.patch(value);
    }

    // ---- post-boot updates ----

    synchronized void patchDrive(ApiModel.DriveUpdate u) {
        postBoot();
        Drive d = drives.get(u.driveId());
        if (d == null) {
            throw ApiError.badRequest("Drive config error: Invalid block device ID!");
        }
        if (u.pathOnHost() != null && !u.pathOnHost().equals(d.pathOnHost())) {
            throw ApiError.badRequest("Drive config error: Unable to patch the block device: "
                    + "changing path_on_host of a running VM is not supported by Ember.");
        }
        if (u.rateLimiter() != null) {
            try {
                vm.updateDriveRateLimiter(u.driveId(), u.rateLimiter().toConfig());
            } catch (IllegalArgumentException e) {
                throw ApiError.badRequest("Drive config error: Unable to patch the block device: " + e.getMessage());
            }
            drives.put(u.driveId(), d.withRateLimiter(u.rateLimiter().updating(d.toConfig().rateLimiter())));
        }
    }

    synchronized void patchNet(ApiModel.NetworkInterfaceUpdate u) {
        postBoot();
        NetworkInterface n = nets.get(u.ifaceId());
        if (n == null) {
            throw ApiError.badRequest("Network config error: Invalid interface ID - not found.");
        }
        NetworkInterfaceConfig current = n.toConfig();
        try {
            vm.updateNetworkRateLimiters(u.ifaceId(), ApiModel.RateLimiter.config(u.rxRateLimiter()),
                    ApiModel.RateLimiter.config(u.txRateLimiter()));
        } catch (IllegalArgumentException e) {
            throw ApiError.badRequest("Network config error: Unable to update the network interface: " + e.getMessage());
        }
        RateLimiterConfig rx = u.rxRateLimiter() == null ? current.rxRateLimiter() : u.rxRateLimiter().updating(current.rxRateLimiter());
        RateLimiterConfig tx = u.txRateLimiter() == null ? current.txRateLimiter() : u.txRateLimiter().updating(current.txRateLimiter());
        nets.put(u.ifaceId(), n.withRateLimiters(rx, tx));
    }

    synchronized Balloon getBalloon() {
        if (balloon == null) {
            throw ApiError.badRequest("Balloon config error: No balloon device found.");
        }
        return currentBalloon();
    }

    synchronized void patchBalloon(ApiModel.BalloonUpdate u) {
        postBoot();
        VirtioBalloon device = balloonDevice();
        if (u.amountMib() > machine.memSizeMib()) {
            throw ApiError.badRequest("Balloon update error: Amount of pages requested is too large.");
        }
        device.setTargetMib(u.amountMib());
        balloon = new Balloon(u.amountMib(), balloon.deflateOnOom(), balloon.statsPollingIntervalS());
    }

    synchronized ObjectNode balloonStatistics() {
        postBoot();
        VirtioBalloon device = balloonDevice();
        if (balloon.interval() == 0) {
            throw ApiError.badRequest("Balloon config error: Statistics for the balloon device are not enabled");
        }
        VirtioBalloonStatistics s = device.statistics();
        ObjectNode node = Json.MAPPER.createObjectNode();
        node.put("target_pages", s.targetPages());
        node.put("actual_pages", s.actualPages());
        node.put("target_mib", s.targetMib());
        node.put("actual_mib", s.actualMib());
        for (VirtioBalloonStat stat : VirtioBalloonStat.values()) {
            s.value(stat).ifPresent(v -> node.put(stat.apiName(), v));
        }
        return node;
    }

    synchronized void patchBalloonStatistics(ApiModel.BalloonStatsUpdate u) {
        postBoot();
        VirtioBalloon device = balloonDevice();
        if ((balloon.interval() == 0) != (u.statsPollingIntervalS() == 0)) {
            throw ApiError.badRequest("Balloon update error: Cannot enable/disable the statistics after boot.");
        }
        device.setStatsPollingIntervalSeconds(u.statsPollingIntervalS());
        balloon = new Balloon(balloon.amountMib(), balloon.deflateOnOom(), u.statsPollingIntervalS());
    }

    // ---- actions ----

    synchronized void action(String type) {
        switch (type) {
            case "InstanceStart" -> start();
            case "FlushMetrics" -> {
                postBoot();
                metrics.flush();
            }
            case "SendCtrlAltDel" -> {
                postBoot();
                if (!vm.requestShutdown()) {
                    throw ApiError.badRequest("Internal VMM error: the guest's keyboard driver is not running, so "
                            + "Ctrl+Alt+Del cannot be delivered.");
                }
            }
            default -> throw new IllegalArgumentException(type);
        }
    }

    synchronized void patchVm(String requested) {
        postBoot();
        try {
            long start = System.nanoTime();
            if (requested.equals("Paused")) {
                vm.pause();
                state = State.PAUSED;
                metrics.store("latencies_us", "pause_vm", (System.nanoTime() - start) / 1000);
            } else {
                vm.resume();
                state = State.RUNNING;
                metrics.store("latencies_us", "resume_vm", (System.nanoTime() - start) / 1000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiError.badRequest("Internal VMM error: interrupted while pausing the vCPUs");
        } catch (IllegalStateException e) {
            throw ApiError.badRequest("Internal VMM error: " + e.getMessage());
        }
    }

    /** Builds the VM from the stored resources and runs it on the {@code ember-vmm} thread. */
    private void start() {
        if (state != State.NOT_STARTED) {
            throw ApiError.badRequest(ApiError.POST_BOOT);
        }
        if (bootSource == null) {
            throw ApiError.badRequest("Start microvm error: Cannot start microvm without kernel configuration.");
        }
        VmConfig config;
        try {
            var boot = bootSource.toConfig();
            var devices = withKeyboard(devices(drives, nets, vsock, entropy, balloon));
            config = new VmConfig(machine.vcpuCount(), (long) machine.memSizeMib() << 20, boot.kernelImagePath(),
                    boot.initrdPath(), boot.bootArgs() != null ? boot.bootArgs() : VmConfig.DEFAULT_CMDLINE, null, null,
                    devices, bootTimer).named(id).withEngine(machine.toConfig().engine())
                    .withCpuFeatures(machine.toConfig().cpuFeatures()).validate();
        } catch (IllegalArgumentException e) {
            throw ApiError.badRequest("Start microvm error: " + e.getMessage());
        }
        OutputStream out = consoleOut;
        if (serial != null && serial.serialOutPath() != null) {
            try {
                out = new FileOutputStream(serial.serialOutPath(), true);
            } catch (IOException e) {
                throw ApiError.badRequest("Start microvm error: cannot open the serial output file: " + e.getMessage());
            }
        }
        VirtualMachine machineVm;
        try {
            machineVm = new VirtualMachine(config, out, vmLog, mmds.mmds());
        } catch (BootException | RuntimeException e) {
            throw ApiError.badRequest("Start microvm error: " + e.getMessage());
        }
        if (consoleIn != null) {
            machineVm.attachConsoleInput(consoleIn, null);
        }
        if (machine.trackDirtyPages() != null && machine.trackDirtyPages()) {
            machineVm.trackDirtyPages();
            trackingDirtyPages = true;
        }
        launch(machineVm, State.RUNNING);
        log.info("Successfully started microvm that was configured from one single json");
    }

    /** Runs a built or restored machine on the {@code ember-vmm} thread. */
    private void launch(VirtualMachine machineVm, State initial) {
        vm = new VirtualMachineAdapter(machineVm);
        RunningVm running = vm;
        metrics.devices(() -> running.metrics().groups());
        state = initial;
        Thread.ofPlatform().name("ember-vmm").start(() -> {
            int status = 1;
            try {
                status = running.run();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException | Error e) {
                Log.of(vmLog, VmmController.class).error("ember: the VM failed: " + e, e);
            } finally {
                running.close();
            }
            onExit.accept(status);
        });
    }

    // ---- snapshots ----

    /**
     * {@code PUT /snapshot/create}: writes the paused VM's state and memory files. Firecracker's
     * rules: post-boot only, the VM must be paused, and a Diff snapshot needs dirty-page tracking.
     */
    synchronized void createSnapshot(ApiModel.SnapshotCreate p) {
        postBoot();
        if (state != State.PAUSED) {
            throw ApiError.badRequest("Create snapshot error: Cannot save the microVM state: Operation not allowed: "
                    + "save/restore unavailable while running");
        }
        if (p.diff() && !trackingDirtyPages) {
            throw ApiError.badRequest("Diff snapshots are not allowed on uVMs with dirty page tracking disabled.");
        }
        long start = System.nanoTime();
        try {
            vm.snapshot(Path.of(p.snapshotPath()), Path.of(p.memFilePath()), p.diff());
        } catch (IOException e) {
            throw ApiError.badRequest("Create snapshot error: Cannot write the snapshot: " + e);
        } catch (IllegalStateException e) {
            throw ApiError.badRequest("Create snapshot error: " + e.getMessage());
        }
        long us = (System.nanoTime() - start) / 1000;
        String kind = p.diff() ? "diff" : "full";
        metrics.store("latencies_us", kind + "_create_snapshot", us);
        log.info("'create " + kind + " snapshot' VMM action took " + us + " us.");
    }

    /**
     * {@code PUT /snapshot/load}: restores a VM from a state and a memory file, in a VMM where
     * nothing but the logger and the metrics has been configured. The VM comes back paused
     * unless {@code resume_vm} is set.
     */
    synchronized void loadSnapshot(ApiModel.SnapshotLoad p) {
        if (state != State.NOT_STARTED) {
            throw ApiError.badRequest(ApiError.POST_BOOT);
        }
        if (p.memBackend() != null && p.memFilePath() != null) {
            throw ApiError.badRequest("too many fields: either `mem_backend` or `mem_file_path` exclusively.");
        }
        if (p.memBackend() == null && p.memFilePath() == null) {
            throw ApiError.badRequest("missing field: either `mem_backend` or `mem_file_path` is required.");
        }
        if (p.memBackend() != null && p.memBackend().backendType().equals("Uffd")) {
            throw ApiError.badRequest("The requested operation is not supported: Ember restores memory with the File backend only");
        }
        if (bootSource != null || !drives.isEmpty() || !nets.isEmpty() || vsock != null || entropy != null
                || balloon != null || mmdsConfig != null || serial != null || !machine.equals(Machine.DEFAULT)) {
            throw ApiError.badRequest("Loading a microVM snapshot not allowed after configuring boot-specific resources.");
        }
        Path memory = Path.of(p.memBackend() != null ? p.memBackend().backendPath() : p.memFilePath());
        long start = System.nanoTime();
        VirtualMachine machineVm;
        try {
            machineVm = VirtualMachine.restore(Path.of(p.snapshotPath()), memory, config -> overrides(config, p),
                    consoleOut, vmLog, mmds.mmds());
        } catch (SnapshotException | BootException | IllegalArgumentException e) {
            throw ApiError.badRequest("Load snapshot error: Failed to restore from snapshot: " + e.getMessage());
        }
        if (Boolean.TRUE.equals(p.trackDirtyPages()) || Boolean.TRUE.equals(p.enableDiffSnapshots())) {
            machineVm.trackDirtyPages();
            trackingDirtyPages = true;
        }
        boolean resume = p.resumeVm() != null && p.resumeVm();
        if (!resume) {
            machineVm.pauseBeforeRun();
        }
        if (consoleIn != null) {
            machineVm.attachConsoleInput(consoleIn, null);
        }
        launch(machineVm, resume ? State.RUNNING : State.PAUSED);
        long us = (System.nanoTime() - start) / 1000;
        metrics.store("latencies_us", "load_snapshot", us);
        log.info("'load snapshot' VMM action took " + us + " us.");
    }

    /** The snapshot's configuration with this VMM's id and the request's overrides. */
    private VmConfig overrides(VmConfig config, ApiModel.SnapshotLoad p) {
        var devices = config.devices();
        if (p.networkOverrides() != null) {
            for (ApiModel.NetworkOverride o : p.networkOverrides()) {
                devices = devices.withNetworkHostDevice(o.ifaceId(), o.hostDevName());
            }
        }
        if (p.vsockOverride() != null) {
            devices = devices.withVsockPath(Path.of(p.vsockOverride().udsPath()));
        }
        return config.withDevices(devices).named(id);
    }

    // ---- helpers ----

    private void preBoot() {
        if (state != State.NOT_STARTED) {
            throw ApiError.badRequest(ApiError.POST_BOOT);
        }
    }

    private void postBoot() {
        if (state == State.NOT_STARTED) {
            throw ApiError.badRequest(ApiError.PRE_BOOT);
        }
    }

    private VirtioBalloon balloonDevice() {
        VirtioBalloon device = vm.balloon();
        if (device == null || balloon == null) {
            throw ApiError.badRequest("Balloon config error: No balloon device found.");
        }
        return device;
    }

    private Balloon currentBalloon() {
        if (balloon == null || vm == null || vm.balloon() == null) {
            return balloon;
        }
        int targetMib = vm.balloon().targetPages() / VirtioBalloon.PAGES_PER_MIB;
        return new Balloon(targetMib, balloon.deflateOnOom(), vm.balloon().statsPollingIntervalSeconds());
    }

    private List<Drive> orderedDrives() {
        List<Drive> list = new ArrayList<>();
        drives.values().stream().filter(Drive::isRootDevice).forEach(list::add);
        drives.values().stream().filter(d -> !d.isRootDevice()).forEach(list::add);
        return list;
    }

    private void checkDevices(Map<String, Drive> drives, Map<String, NetworkInterface> nets, ApiModel.Vsock vsock,
                              ApiModel.Entropy entropy, Balloon balloon) {
        try {
            devices(drives, nets, vsock, entropy, balloon);
        } catch (IllegalArgumentException e) {
            throw ApiError.badRequest("Start microvm error: " + e.getMessage());
        }
    }

    private DevicesConfig devices(Map<String, Drive> drives, Map<String, NetworkInterface> nets, ApiModel.Vsock vsock,
                                  ApiModel.Entropy entropy, Balloon balloon) {
        List<DriveConfig> driveConfigs = new ArrayList<>();
        for (Drive d : drives.values()) {
            if (d.isRootDevice()) {
                driveConfigs.addFirst(d.toConfig());
            } else {
                driveConfigs.add(d.toConfig());
            }
        }
        List<NetworkInterfaceConfig> netConfigs = nets.values().stream().map(NetworkInterface::toConfig).toList();
        DevicesConfig devices = new DevicesConfig(driveConfigs, netConfigs, vsock == null ? null : vsock.toConfig(),
                entropy == null ? null : entropy.toConfig(), balloon == null ? null : balloon.toConfig(), false,
                mmdsConfig == null ? null : mmdsConfig.toConfig(), false);
        return withShares(devices, shares.values().stream().map(ApiModel.Share::toConfig).toList());
    }

    private static DevicesConfig withShares(DevicesConfig devices, List<ShareConfig> shares) {
        for (ShareConfig share : shares) {
            devices = devices.withShare(share);
        }
        return devices;
    }

    /**
     * {@return {@code d} with the virtio keyboard that carries SendCtrlAltDel (Firecracker's
     * i8042), when a device slot is free}
     */
    private static DevicesConfig withKeyboard(DevicesConfig d) {
        try {
            return withShares(new DevicesConfig(d.drives(), d.networks(), d.vsock(), d.entropy(), d.balloon(),
                    d.virtioConsole(), d.mmds(), true), d.shares());
        } catch (IllegalArgumentException full) {
            return d;
        }
    }

    private static void checkReadable(String path, String prefix) {
        Path p = hostPath(path, prefix);
        if (!Files.exists(p)) {
            throw ApiError.badRequest(prefix + "No such file or directory (os error 2)");
        }
        if (!Files.isReadable(p)) {
            throw ApiError.badRequest(prefix + "Permission denied (os error 13)");
        }
    }

    /**
     * {@return {@code path} as a host path}, or a 400 naming why it cannot be one (a NUL
     * character: JSON carries one as {@code \u0000}, a Unix path cannot)
     */
    private static Path hostPath(String path, String prefix) {
        try {
            return Path.of(path);
        } catch (InvalidPathException e) {
            throw ApiError.badRequest(prefix + "invalid path: " + e.getReason());
        }
    }

    private static <T> T convert(String prefix, java.util.function.Supplier<T> conversion) {
        try {
            return conversion.get();
        } catch (IllegalArgumentException e) {
            throw ApiError.badRequest(prefix + e.getMessage());
        }
    }
}
