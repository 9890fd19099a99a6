package dev.ember.vmm;

import dev.ember.boot.BootException;
import dev.ember.boot.BootImages;
import dev.ember.boot.ElfFile;
import dev.ember.devices.boottimer.BootTimer;
import dev.ember.devices.htif.Htif;
import dev.ember.devices.virtio.input.VirtioInput;
import dev.ember.log.Log;
import dev.ember.log.LogSink;
import dev.ember.mmds.Mmds;
import dev.ember.devices.irq.Aclint;
import dev.ember.devices.irq.HartInterruptInputs;
import dev.ember.devices.irq.Plic;
import dev.ember.devices.power.PowerListener;
import dev.ember.devices.power.SifiveTest;
import dev.ember.devices.serial.Uart16550;
import dev.ember.firmware.DeviceTree;
import dev.ember.firmware.Sbi;
import dev.ember.firmware.SbiPlatform;
import dev.ember.memory.DirtyPages;
import dev.ember.memory.GuestMemory;
import dev.ember.memory.PhysicalBus;
import dev.ember.riscv.cpu.Hart;
import dev.ember.riscv.cpu.HartState;
import dev.ember.riscv.cpu.Privilege;
import dev.ember.snapshot.MemoryFile;
import dev.ember.snapshot.SnapshotException;
import dev.ember.snapshot.SnapshotFile;
import dev.ember.snapshot.SnapshotPair;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;

/**
 * One microVM: QEMU {@code virt}'s memory map populated with RAM, an ACLINT, a PLIC, a 16550
 * UART and the SiFive test finisher, and one vCPU thread per hart. This is the one place where
 * a configuration becomes devices.
 *
 * <pre>
 *   0x0010_0000  sifive,test1 finisher (poweroff, reboot)
 *   0x0011_0000  boot timer (Firecracker's; reached through /dev/mem, not in the device tree)
 *   0x0200_0000  ACLINT: MSWI + MTIMER (CLINT layout)
 *   0x0c00_0000  PLIC, 95 sources
 *   0x1000_0000  ns16550a UART, PLIC source 10
 *   0x1000_1000  virtio-mmio slots 0..7, 4 KiB apart (PLIC sources 1..8), see DeviceManager
 *   0x8000_0000  RAM
 * </pre>
 *
 * <p>Boot paths: with no firmware, the built-in {@link Sbi} serves the kernel, which starts in
 * S-mode on hart 0 with {@code a0} = hart id and {@code a1} = the device tree's address, the
 * other harts waiting for SBI HSM {@code hart_start}. With {@code --firmware}, every hart
 * starts in M-mode at the firmware (loaded at the start of RAM), the kernel sits at RAM + 2 MiB,
 * as OpenSBI's {@code fw_jump} expects. With {@code --elf}, a bare-metal program runs in
 * M-mode and talks to the host through HTIF.
 *
 * <p>Threads: {@link #run} is called on the VMM thread and returns the exit status after every
 * vCPU thread has ended. Failures of one VM are contained: they end this VM's run and are
 * reported through its error stream, never by exiting the process.
 */
public final class VirtualMachine implements AutoCloseable {

    /** The device tree's {@code riscv,isa} of a hart without optional features. */
    public static final String ISA = dev.ember.config.CpuFeatures.NONE.isaString();
    public static final String MMU_TYPE = "riscv,sv57";

    private final VmConfig config;
    private final GuestMemory ram;
    private final PhysicalBus bus;
    private final MachineClock clock;
    private final Hart[] harts;
    private final Engines engines;
    private final Plic plic;
    private final Aclint aclint;
    private final Uart16550 uart;
    private final ConsoleOutput console;
    private final Log log;
    private final Sbi sbi;
    private final SbiConsoleInput sbiInput;
    private byte[] kernelBytes;
    private byte[] initrdBytes;
    private byte[] firmwareBytes;
    private ElfFile program;
    /** Whether the boot images have been read: at build time for a boot, at the first reboot for a restore. */
    private boolean imagesRead;
    /** Whether this machine was restored from a snapshot rather than booted. */
    private final boolean restored;
    private final DeviceManager devices;
    private final Mmds mmds;
    private final BootTimer bootTimer;
    private Htif htif;
    private final AtomicLong vcpuFailures = new AtomicLong();

    private final Object exitLock = new Object();
    private final Object pauseLock = new Object();
    private volatile boolean pauseRequested;
    private int vcpusPaused;
    private volatile List<Thread> vcpuThreads = List.of();
    /** The thread {@link #attachConsoleInput} started, interrupted by {@link #close}; null before. */
    private volatile Thread consoleInputThread;
    private Integer exitStatus;
    private boolean resetRequested;

    /**
     * Builds the machine and checks every input file; nothing runs yet.
     *
     * @param log where the machine and its devices report ({@code dev.ember.log}); the guest's
     *            console goes to {@code consoleOut}, never here
     * @throws BootException if an image is missing, malformed or does not fit
     */
    public VirtualMachine(VmConfig config, OutputStream consoleOut, LogSink log) throws BootException {
        this(config, consoleOut, log, null);
    }



    /**
     * Builds the machine with a metadata store the caller keeps (the API server fills it before
     * and after boot); with {@code mmds} null and an MMDS configured, the VM makes its own.
     *
     * @throws BootException if an image is missing, malformed or does not fit
     */
    public VirtualMachine(VmConfig config, OutputStream consoleOut, LogSink log, Mmds mmds) throws BootException {
        this(config, consoleOut, log, mmds, null, null);
    }

    /**
     * Restores a machine from a snapshot: its state file and its memory file, which is mapped
     * copy-on-write, so nothing of guest RAM is read until the guest touches it. Nothing runs
     * yet; {@link #run} continues the guest where it was paused. The host resources named in
     * the snapshot's configuration (disk images, TAP devices, the vsock socket path) must exist
     * again, after {@code overrides} has had its say (Firecracker's {@code network_overrides} and
     * {@code vsock_override}, or a clone's identity).
     *
     * @param overrides changes to the saved configuration; it must keep the machine's shape
     *                  (vCPUs, memory size, the devices in their slots)
     * @throws SnapshotException if a file is missing, malformed, corrupted, of another version,
     *                           or does not fit the machine it describes
     * @throws BootException     if a host resource of the configuration cannot be opened
     */
    public static VirtualMachine restore(Path stateFile, Path memoryFile, UnaryOperator<VmConfig> overrides,
                                         OutputStream consoleOut, LogSink log, Mmds mmds)
            throws SnapshotException, BootException {
        VmState state = VmState.decode(SnapshotFile.read(stateFile));
        Path memory = SnapshotPair.memoryFor(memoryFile, state.memoryId(), state.config().memoryBytes());
        VmConfig config = overrides == null ? state.config() : overrides.apply(state.config());
        if (config.vcpus() != state.config().vcpus() || config.memoryBytes() != state.config().memoryBytes()) {
            throw new SnapshotException("a restored VM keeps the snapshot's vCPUs and memory size");
        }
        try {
            return new VirtualMachine(config, consoleOut, log, mmds, state, memory);
        } catch (IllegalArgumentException e) {
            throw new SnapshotException("the snapshot does not fit its machine: " + e.getMessage(), e);
        }
    }


    private VirtualMachine(VmConfig config, OutputStream consoleOut, LogSink log, Mmds mmds,
                           VmState restoreFrom, Path memoryFile) throws BootException, IllegalArgumentException {
        this.config = config.validate();
        this.mmds = mmds != null ? mmds : config.devices().mmds() != null ? new Mmds() : null;
        this.log = Log.of(log, VirtualMachine.class);
        this.restored = restoreFrom != null;
        if (!restored) {
            readImages();
        }
        this.clock = restored ? new MachineClock(restoreFrom.clockTicks()) : new MachineClock();
        try {
            this.ram = restored ? GuestMemory.mapPrivate(VmConfig.RAM_BASE, config.memoryBytes(), memoryFile)
                    : GuestMemory.allocate(VmConfig.RAM_BASE, config.memoryBytes());
        } catch (IOException e) {
            throw new BootException(e.getMessage());
        } catch (OutOfMemoryError | IllegalStateException e) {
            throw new BootException("cannot allocate " + (config.memoryBytes() >> 20) + " MiB of guest memory: " + e.getMessage());
        }
        this.bus = new PhysicalBus(ram);
        this.harts = new Hart[config.vcpus()];
        for (int i = 0; i < harts.length; i++) {
            harts[i] = new Hart(i, bus, clock::ticks, config.cpuFeatures().hypervisor());
        }
        this.engines = Engines.create(config.engine(), harts, ram, config.threadName("ember-jit"), log);
        HartInterruptInputs inputs = new HartInputs();
        this.console = new ConsoleOutput(consoleOut, config.threadName("ember-console-flush"));
        this.plic = new Plic(harts.length, inputs);
        this.uart = new Uart16550(console::write, plic.source(DeviceTree.UART0_IRQ));
        bus.map(DeviceTree.TEST_BASE, new SifiveTest(new Power()));
        this.bootTimer = new BootTimer(config.bootTimer(), log, System::nanoTime, VirtualMachine::processCpuNanos);
        bus.map(BootTimer.BASE, bootTimer);
        this.aclint = new Aclint(harts.length, inputs, clock::ticks);
        bus.map(DeviceTree.CLINT_BASE, aclint);
        bus.map(DeviceTree.PLIC_BASE, plic);
        bus.map(DeviceTree.UART0_BASE, uart);
        this.sbiInput = new SbiConsoleInput();
        this.sbi = new Sbi(harts, ram, new SbiConsole());
        try {
            this.devices = new DeviceManager(config.devices(), config.threadName("vm"), ram, bus, plic,
                    dev.ember.devices.virtio.console.VirtioConsole.Output.bytewise(console::write), log, this.mmds);
        } catch (BootException | RuntimeException e) {
            console.close();
            ram.close();
            throw e;
        }
        try {
            if (restored) {
                restoreState(restoreFrom);
            } else {
                loadImages();
            }
        } catch (BootException | RuntimeException e) {
            devices.close();
            console.close();
            engines.close();
            ram.close();
            throw e;
        }
    }

    private void readImages() throws BootException {
        kernelBytes = config.kernel() == null ? null : BootImages.read(config.kernel(), "kernel");
        initrdBytes = config.initrd() == null ? null : BootImages.read(config.initrd(), "initrd");
        firmwareBytes = config.firmware() == null ? null : BootImages.read(config.firmware(), "firmware");
        program = config.elf() == null ? null
                : ElfFile.parse(BootImages.read(config.elf(), "program"), config.elf().toString());
        imagesRead = true;
    }

    // ---- snapshots ------------------------------------------------------------------------

    /** What {@link #snapshot} wrote. */
    public record SnapshotInfo(long stateBytes, long memoryBytes, long memoryPagesWritten, long nanos) { }

    /**
     * Writes a Full snapshot of the paused machine: the state file (see {@link VmState}) and the
     * memory file (see {@link MemoryFile}), each atomically, so a failure or a kill midway
     * leaves any earlier files at those paths intact. Devices are quiesced meanwhile.
     *
     * @throws IllegalStateException if the VM is not paused
     * @throws IOException           if a file cannot be written
     */
    public SnapshotInfo snapshot(Path stateFile, Path memoryFile) throws IOException {
        return snapshot(stateFile, memoryFile, false);
    }

    /**
     * Writes a Full snapshot, or with {@code diff} a Diff snapshot: the same state file, but a
     * memory file holding only the pages written since the previous snapshot of this VM (or
     * since {@link #trackDirtyPages} when there was none). A Diff snapshot becomes loadable by
     * {@link MemoryFile#rebase rebasing} its memory file onto the previous snapshot's.
     *
     * @throws IllegalStateException if the VM is not paused, or {@code diff} without dirty-page tracking
     * @throws IOException           if a file cannot be written
     */
    public SnapshotInfo snapshot(Path stateFile, Path memoryFile, boolean diff) throws IOException {
        long start = System.nanoTime();
        synchronized (pauseLock) {
            if (!pauseRequested || vcpusPaused < liveVcpus()) {
                throw new IllegalStateException("the VM is not paused");
            }
            DirtyPages dirty = ram.dirtyPages();
            if (diff && dirty == null) {
                throw new IllegalStateException("Diff snapshots need dirty-page tracking");
            }
            return devices.whileQuiesced(() -> {
                byte[] id = SnapshotPair.newId();
                byte[] payload = saveState(SnapshotPair.hex(id)).encode();
                long[] pages = null;
                if (dirty != null) {
                    // A new baseline: from here every store TLB refill logs its page again.
                    pages = dirty.drain();
                    for (Hart h : harts) {
                        h.mmu.dropWritable();
                    }
                }
                MemoryFile.Written mem;
                try {
                    mem = SnapshotPair.write(stateFile, memoryFile, id, payload, ram.segment(), diff ? pages : null);
                } catch (IOException | RuntimeException e) {
                    if (pages != null) {
                        dirty.unDrain(pages);   // nothing was written: the next Diff still owes these pages
                    }
                    throw e;
                }
                return new SnapshotInfo(payload.length, mem.bytes(), mem.pagesWritten(), System.nanoTime() - start);
            });
        }
    }

    /**
     * Starts logging the pages the guest and its devices write, so Diff snapshots can be taken
     * (Firecracker's {@code track_dirty_pages}). Call it before {@link #run} or while paused.
     *
     * @throws IllegalStateException if the vCPUs are running
     */
    public void trackDirtyPages() {
        synchronized (pauseLock) {
            if (liveVcpus() > 0 && (!pauseRequested || vcpusPaused < liveVcpus())) {
                throw new IllegalStateException("dirty-page tracking starts before the VM runs or while it is paused");
            }
            ram.trackDirtyPages();
            for (Hart h : harts) {
                h.mmu.dropWritable();
            }
        }
    }

    /** {@return the machine's state}; the vCPUs are parked and the devices quiesced */
    private VmState saveState(String memoryId) {
        List<Hart.State> hs = new ArrayList<>();
        for (Hart h : harts) {
            hs.add(h.saveState());
        }
        return new VmState(memoryId, config, clock.ticks(), hs, aclint.saveState(), plic.saveState(), uart.saveState(),
                bootTimer.saveState(), devices.saveStates());
    }

    private void restoreState(VmState s) throws BootException {
        if (s.harts().size() != harts.length) {
            throw new IllegalArgumentException("the snapshot has " + s.harts().size() + " harts, the machine " + harts.length);
        }
        for (int i = 0; i < harts.length; i++) {
            harts[i].restoreState(s.harts().get(i));
            if (config.firmware() == null && config.elf() == null) {
                sbi.attach(harts[i]);   // the built-in SBI is the machine's M-mode
            }
        }
        aclint.restoreState(s.aclint());
        plic.restoreState(s.plic());
        uart.restoreState(s.uart());
        if (s.bootTimer() != null) {
            bootTimer.restoreState(s.bootTimer());
        }
        if (config.elf() != null) {
            readImages();   // a bare-metal program's HTIF mailbox is found through its symbols
            setUpHtif();
        }
        devices.restoreStates(s.devices());
    }

    /** {@return whether this machine was restored from a snapshot} */
    public boolean isRestored() {
        return restored;
    }

    /**
     * Maps an extra device window before the VM runs; for tests of the VMM's failure handling
     * now, and for the device model later.
     */
    void mapDevice(long gpa, dev.ember.memory.MmioDevice device) {
        bus.map(gpa, device);
    }

    /** {@return the configuration this machine was built or restored with} */
    public VmConfig config() {
        return config;
    }

    /** {@return the UART, for feeding console input} */
    public Uart16550 uart() {
        return uart;
    }

    /**
     * Changes a drive's rate limiter while the VM runs ({@code PATCH /drives/{id}}): each bucket
     * given replaces the drive's, absent buckets are kept, a bucket of size 0 is removed.
     *
     * @throws IllegalArgumentException if no drive has that id
     */
    public void updateDriveRateLimiter(String driveId, dev.ember.config.RateLimiterConfig config) {
        devices.updateDriveRateLimiter(driveId, config);
    }

    /**
     * Changes a network interface's rate limiters while the VM runs
     * ({@code PATCH /network-interfaces/{id}}); null leaves that direction unchanged.
     *
     * @throws IllegalArgumentException if no interface has that id
     */
    public void updateNetworkRateLimiters(String ifaceId, dev.ember.config.RateLimiterConfig rx,
                                          dev.ember.config.RateLimiterConfig tx) {
        devices.updateNetworkRateLimiters(ifaceId, rx, tx);
    }

    /**
     * Presses Ctrl+Alt+Del on the guest's virtio-input keyboard: Firecracker's
     * {@code SendCtrlAltDel}, a request to shut down (the default guest's init powers off).
     *
     * @return false if the VM has no keyboard or its driver is not running yet
     */
    public boolean sendCtrlAltDel() {
        VirtioInput keyboard = devices.keyboard();
        return keyboard != null && keyboard.sendCtrlAltDel();
    }

    /**
     * {@return the machine's counters, totals since it was built, under Firecracker's metric
     * names}: every device's, the UART's, and the vCPUs' device-register accesses. Callable from
     * any thread at any time, also while the guest runs.
     */
    public VmMetrics metrics() {
        VmMetrics m = new VmMetrics();
        devices.addMetrics(m);
        m.add("uart", "read_count", uart.bytesReceived());
        m.add("uart", "write_count", uart.bytesTransmitted());
        m.add("vcpu", "exit_mmio_read", bus.mmioReads());
        m.add("vcpu", "exit_mmio_write", bus.mmioWrites());
        m.add("vcpu", "failures", vcpuFailures.get());
        EngineStats e = engines.stats();
        m.add("engine", "interpreted_instructions", e.interpretedInstructions());
        m.add("engine", "translated_instructions", e.translatedInstructions());
        if (e.translation() != null) {
            m.add("engine", "regions_translated", e.translation().regionsTranslated());
            m.add("engine", "regions_invalidated", e.translation().regionsInvalidated());
            m.add("engine", "regions_evicted", e.translation().regionsEvicted());
            m.add("engine", "translation_time_us", e.translation().translationNanos() / 1000);
            m.add("engine", "translation_failures", e.translation().failedTranslations());
        }
        return m;
    }

    /**
     * {@return the execution engines' counters, totals since the VM was built}: which engine
     * runs, and, for the translator, what it has translated, invalidated and evicted and how
     * much of the guest's work ran in translated code. Callable from any thread.
     */
    public EngineStats engineStats() {
        return engines.stats();
    }

    /** {@return the metadata store, or null when the VM has no MMDS} */
    public Mmds mmds() {
        return mmds;
    }

    /** {@return the balloon device, or null when the VM has none} */
    public dev.ember.devices.virtio.balloon.VirtioBalloon balloon() {
        return devices.balloon();
    }

    /** {@return the guest's RAM} */
    public GuestMemory memory() {
        return ram;
    }

    /** {@return the harts; for tests and the debugger} */
    public Hart[] harts() {
        return harts;
    }

    private void loadImages() throws BootException {
        long ramEnd = ram.base() + ram.size();
        long dtbGpa = ramEnd - 0x20_0000;   // top 2 MiB: device tree
        long initrdStart = 0;
        long initrdEnd = 0;
        long entry;
        if (!imagesRead) {
            readImages();
        }
        if (program != null) {
            BootImages.Loaded p = BootImages.loadBareMetal(ram, program);
            entry = p.entry();
            setUpHtif();
        } else {
            BootImages.Loaded kernel = BootImages.loadKernel(ram, kernelBytes, config.kernel().toString());
            entry = kernel.entry();
            if (kernel.end() > dtbGpa) {
                throw new BootException("kernel " + config.kernel() + " does not leave room for the device tree in "
                        + (ram.size() >> 20) + " MiB of guest memory");
            }
            if (initrdBytes != null) {
                long preferred = kernel.start() + Math.min(ram.size() / 2, 128L << 20);
                long gpa = Math.max(alignUp(kernel.end(), 0x1000), alignDown(preferred, 0x1000));
                if (gpa + initrdBytes.length > dtbGpa) {
                    gpa = alignUp(kernel.end(), 0x1000);
                }
                BootImages.Loaded initrd = BootImages.loadInitrd(ram, initrdBytes, config.initrd().toString(), gpa, dtbGpa);
                initrdStart = initrd.start();
                initrdEnd = initrd.end();
            }
            if (firmwareBytes != null) {
                BootImages.Loaded fw = BootImages.loadFirmware(ram, firmwareBytes, config.firmware().toString());
                if (fw.end() > kernel.start()) {
                    throw new BootException("firmware " + config.firmware() + " overlaps the kernel at 0x"
                            + Long.toHexString(kernel.start()));
                }
                entry = fw.entry();
            }
        }
        byte[] dtb = DeviceTree.build(new DeviceTree.Board(harts.length, ram.base(), ram.size(),
                devices.withRoot(config.cmdline()), initrdStart, initrdEnd, config.cpuFeatures().isaString(), MMU_TYPE,
                MachineClock.FREQUENCY_HZ, devices.slots()));
        if (dtb.length > 0x20_0000) {
            throw new BootException("device tree is larger than 2 MiB");
        }
        ram.write(dtbGpa, dtb);
        for (Hart h : harts) {
            if (program != null || firmwareBytes != null) {
                h.reset(entry, Privilege.MACHINE);
                h.x[10] = h.id;
                h.x[11] = dtbGpa;
                h.state = HartState.STARTED;
            } else if (h.id == 0) {
                sbi.enterSupervisor(h, entry, dtbGpa);
                h.state = HartState.STARTED;
            } else {
                h.reset(entry, Privilege.SUPERVISOR);
                h.state = HartState.STOPPED;
            }
        }
    }

    private void setUpHtif() {
        Long tohost = program.symbols().get("tohost");
        Long fromhost = program.symbols().get("fromhost");
        if (tohost != null && ram.contains(tohost, 8)) {
            // A fromhost outside RAM (a hostile or odd ELF) is treated as absent.
            long fromhostGpa = fromhost != null && ram.contains(fromhost, 8) ? fromhost : 0;
            htif = new Htif(ram, tohost, fromhostGpa, console::write);
        }
    }

    private static long alignUp(long v, long a) {
        return (v + a - 1) & -a;
    }

    private static long alignDown(long v, long a) {
        return v & -a;
    }

    /**
     * Runs the machine until the guest powers off, fails, or {@link #stop} is called.
     * A guest reboot restarts the machine with the same images.
     *
     * @return the exit status: 0 for a clean poweroff, the test finisher's or HTIF's code
     *         otherwise, 1 after a host failure
     */
    public int run() throws InterruptedException {
        boolean first = true;
        while (true) {
            synchronized (exitLock) {
                if (exitStatus != null) {
                    break;   // finish() came before the vCPUs started: do not start them
                }
            }
            if (!(first && restored)) {
                bootTimer.start();   // a restored guest keeps its boot timer's state
            }
            first = false;
            List<Thread> threads = new ArrayList<>();
            CountDownLatch done = new CountDownLatch(harts.length);
            for (Hart h : harts) {
                h.exitRequested = false;
                Runnable afterSlice = (htif != null && h.id == 0) ? this::pollHtif : null;
                Vcpu vcpu = new Vcpu(this, h, engines.engine(h.id), clock, afterSlice);
                threads.add(Thread.ofPlatform().name(config.threadName("ember-vcpu-" + h.id)).start(() -> {
                    try {
                        vcpu.run();
                    } finally {
                        done.countDown();
                    }
                }));
            }
            vcpuThreads = threads;
            done.await();
            boolean reset;
            synchronized (exitLock) {
                reset = resetRequested && exitStatus == null;
                resetRequested = false;
            }
            if (!reset) {
                break;
            }
            // Devices first: their threads must stop using the old rings before RAM is wiped.
            devices.reset();
            ram.discard(ram.base(), ram.size());
            plic.reset();
            aclint.reset();
            uart.reset();
            try {
                loadImages();
            } catch (BootException e) {
                log.error("ember: reboot failed: " + e.getMessage(), e);
                finish(1);
                break;
            }
        }
        console.flush();
        synchronized (exitLock) {
            return exitStatus == null ? 0 : exitStatus;
        }
    }

    private static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return 0;
    }

    private void pollHtif() {
        htif.poll();
        Integer code = htif.exitCode();
        if (code != null) {
            finish(code);
        }
    }

    /**
     * Ends the run with {@code status} (the first status wins): the guest's poweroff, or a stop
     * from outside such as Ctrl-A X. Callable from any thread.
     */
    public void finish(int status) {
        synchronized (exitLock) {
            if (exitStatus == null) {
                exitStatus = status;
            }
        }
        stopHarts();
    }

    private void stopHarts() {
        for (Hart h : harts) {
            h.exitRequested = true;
            h.sliceEnd = true;
            h.wake();
        }
    }

    /**
     * Pauses the guest: every vCPU finishes its slice and waits, as Firecracker's {@code PATCH /vm
     * {"state": "Paused"}}, and then every device is quiesced, so no device thread touches a
     * queue or guest memory until {@link #resume} (frames from the network are held meanwhile).
     * Guest time keeps running on the host clock, so the guest sees a jump when resumed. Returns
     * once every vCPU has stopped.
     *
     * @throws IllegalStateException if the vCPUs do not all stop within 5 seconds
     */
    public void pause() throws InterruptedException {
        synchronized (pauseLock) {
            pauseRequested = true;
        }
        for (Hart h : harts) {
            h.sliceEnd = true;
            h.wake();
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        synchronized (pauseLock) {
            while (vcpusPaused < liveVcpus()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new IllegalStateException("the vCPUs did not pause within 5 s");
                }
                pauseLock.wait(Math.max(1, left / 1_000_000));
            }
        }
        devices.quiesce();
    }

    /**
     * Makes {@link #run} start with the vCPUs paused, as a snapshot loaded without
     * {@code resume_vm}: they park before their first instruction until {@link #resume}.
     */
    public void pauseBeforeRun() {
        synchronized (pauseLock) {
            pauseRequested = true;
        }
        devices.quiesce();
    }

    /** Lets paused devices and vCPUs run again. */
    public void resume() {
        devices.unquiesce();
        synchronized (pauseLock) {
            pauseRequested = false;
            pauseLock.notifyAll();
        }
    }

    /** {@return whether the guest is paused or being paused} */
    public boolean isPaused() {
        return pauseRequested;
    }

    private int liveVcpus() {
        int n = 0;
        for (Thread t : vcpuThreads) {
            n += t.isAlive() ? 1 : 0;
        }
        return n;
    }

    boolean pauseRequested() {
        return pauseRequested;
    }

    /**
     * Called by a vCPU thread between slices while a pause is requested: waits until resumed or
     * stopped. It still serves remote fences, so a hart paused inside an SBI call that waits for
     * another hart's acknowledgement cannot deadlock the pause.
     */
    void parkWhilePaused(Hart h) {
        synchronized (pauseLock) {
            vcpusPaused++;
            pauseLock.notifyAll();
            try {
                while (pauseRequested && !h.exitRequested) {
                    try {
                        pauseLock.wait(10);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                    h.serveFences();
                }
            } finally {
                vcpusPaused--;
            }
        }
    }

    void vcpuFailed(Hart hart, Throwable t) {
        vcpuFailures.incrementAndGet();
        log.error("ember: vCPU " + hart.id + " stopped by an internal error at pc 0x" + Long.toHexString(hart.pc)
                + " (" + Privilege.name(hart.priv) + "-mode, " + hart.disassembleAt(hart.pc) + "): " + t, t);
        finish(1);
    }

    /**
     * {@return where typed input goes: the SBI console when the command line puts the kernel's
     * console on {@code hvc0} (the SBI console driver registers first), the virtio console when
     * it says {@code hvc1} and one is attached, otherwise the UART}
     */
    private InputSink consoleInputSink() {
        String cmdline = config.cmdline() == null ? "" : config.cmdline();
        if (cmdline.matches(".*(^|\\s)console=hvc0.*")) {
            return sbiInput;
        }
        var virtioConsole = devices.console();
        if (virtioConsole != null && cmdline.matches(".*(^|\\s)console=hvc1.*")) {
            return new InputSink() {
                @Override public int offer(byte[] b, int off, int len) { return virtioConsole.offer(b, off, len); }
                @Override public void awaitSpace(long millis) throws InterruptedException { virtioConsole.awaitInputSpace(millis); }
            };
        }
        return new InputSink() {
            @Override public int offer(byte[] b, int off, int len) { return uart.offer(b, off, len); }
            @Override public void awaitSpace(long millis) throws InterruptedException { uart.awaitInputSpace(millis); }
        };
    }

    /** Starts a daemon thread that copies {@code in} to the guest console until end of input. */
    public void attachConsoleInput(InputStream in, ConsoleInput.EscapeHandler escape) {
        consoleInputThread = Thread.ofPlatform().daemon().name(config.threadName("ember-console-in"))
                .start(new ConsoleInput(in, consoleInputSink(), escape));
    }

    /**
     * Stops the vCPUs and releases guest memory. If a vCPU thread does not stop within a few
     * seconds, its memory is left mapped rather than pulled from under it.
     */
    @Override
    public void close() {
        stopHarts();
        boolean stopped = true;
        for (Thread t : vcpuThreads) {
            try {
                t.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            stopped &= !t.isAlive();
        }
        devices.close();
        console.close();
        // A console input thread may wait for room in a guest buffer that nothing drains any
        // more, and would wait forever: one leaked thread per VM.
        Thread input = consoleInputThread;
        if (input != null) {
            input.interrupt();
        }
        // The translator thread reads guest RAM too: unmapping it under that thread's feet
        // would crash the JVM (SIGSEGV), not just this VM.
        boolean translatorStopped = engines.close();
        if (stopped && translatorStopped) {
            ram.close();
        } else {
            log.error("ember: a " + (stopped ? "translator" : "vCPU") + " thread did not stop; its guest memory stays mapped");
        }
    }

    /** Routes the PLIC's and ACLINT's outputs to the harts. */
    private final class HartInputs implements HartInterruptInputs {
        @Override public int hartCount() { return harts.length; }
        @Override public void setPending(int hartId, int mipBit, boolean level) { harts[hartId].setPending(mipBit, level); }
        @Override public long timerCompare(int hartId) { return harts[hartId].mtimecmp; }
        @Override public void setTimerCompare(int hartId, long mtimecmp) {
            harts[hartId].mtimecmp = mtimecmp;
            harts[hartId].wake();
        }
    }

    private final class Power implements PowerListener {
        @Override public void powerOff(int exitStatus) { finish(exitStatus); }
        @Override public void reset() { requestReset(); }
    }

    private void requestReset() {
        synchronized (exitLock) {
            resetRequested = true;
        }
        stopHarts();
    }

    private final class SbiConsole implements SbiPlatform {
        @Override public void consoleWrite(int b) { console.write(b); }
        @Override public int consoleRead() { return sbiInput.poll(); }
        @Override public void systemReset(int type, int reason) {
            if (type == 0) {
                finish(reason == 0 ? 0 : 1);
            } else {
                requestReset();
            }
        }
    }
}
