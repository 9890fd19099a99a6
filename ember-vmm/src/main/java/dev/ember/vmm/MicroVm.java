package dev.ember.vmm;

import dev.ember.agent.AgentException;
import dev.ember.agent.GuestAgent;
import dev.ember.agent.GuestProcess;
import dev.ember.agent.ProcessSpec;
import dev.ember.config.DevicesConfig;
import dev.ember.config.DriveConfig;
import dev.ember.config.VsockConfig;
import dev.ember.log.Level;
import dev.ember.log.Log;
import dev.ember.log.LogEvent;
import dev.ember.log.LogSink;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A microVM embedded in a Java application: the public face of {@link VirtualMachine}, built
 * from the same configuration records as Firecracker's API ({@link #builder}), with its console
 * as streams and a way to run shell commands in the guest.
 *
 * <pre>{@code
 * try (MicroVm vm = MicroVm.builder()
 *         .bootSource(new BootSourceConfig(dir.resolve("Image"), dir.resolve("initramfs.cpio"), null))
 *         .machineConfig(new MachineConfig(1, 128, false, false))
 *         .build()) {
 *     vm.start();
 *     GuestCommandResult r = vm.exec("uname -m", Duration.ofSeconds(30));
 *     System.out.println(r.output() + " exit " + r.exitCode());   // riscv64 exit 0
 *     vm.shutdown(Duration.ofSeconds(10));
 * }
 * }</pre>
 *
 * <p><b>Lifecycle.</b> {@link State#CREATED} after {@code build()} (images read, memory laid
 * out, nothing running) → {@link #start} → {@link State#RUNNING} → {@link State#EXITED} when the
 * guest powers off, {@link #kill} stops it, or the VMM stops it after an internal failure (then
 * {@link #errorOutput} says why) → {@link #close} → {@link State#CLOSED}, guest memory released.
 * A guest reboot restarts the guest inside the same run; it does not end it.
 *
 * <p><b>Exit statuses</b> ({@link #exitStatus}): 0 for a clean poweroff, the SiFive test
 * finisher's code for a failing one, 1 after a VMM failure, {@link #KILLED_STATUS} after
 * {@link #kill} (or a {@link #shutdown} that had to kill).
 *
 * <p><b>The guest agent.</b> When the VM has a vsock device (or was built with
 * {@link MicroVmBuilder#guestAgent}) and the guest runs {@code ember-agent} (the default guest
 * does, {@code guest/agent/PROTOCOL.md}), {@link #exec(String, Duration)} runs the command through
 * it: {@code sh -c}, stderr merged into the output, no console typing, no line-length limit,
 * several commands at once, each in {@code /} with a fresh shell. {@link #spawn} and
 * {@link #exec(List, byte[], Duration)} give more: stdout and stderr apart as bytes, stdin,
 * signals, a terminal ({@link GuestProcess}). Which way exec goes is decided at the first call:
 * it pings the agent and probes the console shell at the same time, and settles on the console
 * only when the shell has answered and the agent has not within {@value #AGENT_GRACE_MILLIS} ms
 * more. {@link #shutdown} asks the agent to power off when one answers.
 *
 * <p><b>How {@link #exec} reaches a guest without the agent.</b> The guest's console runs an
 * interactive root shell (the default guest's {@code /etc/inittab} starts busybox {@code sh} on
 * the console, prompt {@code ~ # }), and exec types one line at it, exactly as a person would:
 * <pre>
 *   echo @@B-<i>tag</i>-<i>n</i>-$((1))@@; command eval '<i>command</i>' &lt;/dev/null; echo @@E-<i>tag</i>-<i>n</i>-$?-$((1))@@
 * </pre>
 * where <i>tag</i> is random per VM and <i>n</i> counts commands. The terminal echoes the typed
 * line as typed, so it contains {@code $((1))}; only the shell's real output contains the
 * expanded markers {@code @@B-tag-n-1@@} and {@code @@E-tag-n-<status>-1@@}. Exec searches the
 * console output for those two, takes what lies between as the command's output and the number
 * in the second as its exit code. Searching only for the expanded forms means that the echoed
 * line never counts, however the terminal wraps or redraws it. {@code command eval} with the
 * command single-quoted keeps a syntax error or a trailing {@code &} in the command from breaking
 * the marker line ({@code command} makes {@code eval}'s errors non-fatal, POSIX XCU 2.14): the
 * error is reported as output with status 2. The command runs in the console
 * shell itself, so {@code cd} and variables persist between calls; its standard input is
 * {@code /dev/null} so that it cannot swallow later input. Before the first command, exec waits
 * for the shell by typing {@code echo @@R-tag-$((1))@@} every half second until
 * {@code @@R-tag-1@@} comes back: this does not depend on the prompt, and lines typed before
 * the shell reads the terminal are either queued for it or discarded by the UART driver's open.
 * Consequences: commands are one line without control characters, at most {@link #MAX_COMMAND_BYTES}
 * once quoted (busybox's line editor holds 1024 bytes); kernel messages printed to the
 * console while a command runs end up in its output; exec calls on one VM run one at a time, and
 * nothing else should type at the console meanwhile; a command that ends the shell
 * ({@code exit}, {@code exec ...}) makes that call time out, and later calls use the new shell
 * that init starts (in {@code /}, without the old one's variables). A command that outlives its timeout is sent
 * Ctrl-C (SIGINT to the shell's foreground job) and exec throws {@link TimeoutException}; the
 * next exec works as usual.
 *
 * <p><b>Isolation.</b> Each MicroVm has its own guest memory (its own off-heap segment), its own
 * run thread ({@code ember-vm-<name>}), vCPU threads, console threads and device threads, and
 * no state shared with another VM. A failure inside one — a vCPU's internal error, a device
 * bug, a guest panic, a bad boot image — ends that VM's run (or its {@code build()}) and is
 * reported through its own {@link #errorOutput}; other VMs in the JVM run on.
 *
 * <p>Thread-safe: every method may be called from any thread.
 */
public final class MicroVm implements AutoCloseable {

    /** Where a {@link MicroVm} is in its life. */
    public enum State {
        /** Built; not yet started. */
        CREATED,
        /** Started; the guest runs. */
        RUNNING,
        /** The guest powered off, was killed or failed; the exit status is known. */
        EXITED,
        /** Closed; guest memory released. */
        CLOSED
    }

    /** The exit status of a VM stopped by {@link #kill}: 128 + SIGKILL, as a shell reports a killed process. */
    public static final int KILLED_STATUS = 137;

    /**
     * The longest command {@link #exec} takes, in UTF-8 bytes after quoting, so that the whole
     * typed line stays within busybox's 1024-byte line editor.
     */
    public static final int MAX_COMMAND_BYTES = 900;

    /** The most output {@link #exec(List, byte[], Duration)} keeps per stream: 16 MiB; the rest is dropped. */
    public static final int MAX_EXEC_OUTPUT = 16 << 20;

    /** How long exec waits for the agent once the console shell has answered, before it uses the console. */
    static final long AGENT_GRACE_MILLIS = 3000;
    /** How long {@link #spawn} waits for a booting guest's agent. */
    private static final Duration AGENT_BOOT_TIMEOUT = Duration.ofMinutes(2);
    private static final long AGENT_RETRY_MILLIS = 100;

    /** How exec reaches the guest: not known yet, through the agent, or at the console shell. */
    private enum Route { UNKNOWN, AGENT, CONSOLE }

    private static final long PROBE_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
    private static final long KILL_WAIT_MILLIS = 10_000;
    private static final int ERROR_LOG_BYTES = 64 * 1024;

    private final String name;
    private final VirtualMachine machine;
    private final ConsoleHistory history;
    private final ConsoleInputPipe input;
    private final GuestConsole console;
    private final KeptLog keptLog;
    private final Log log;
    private final String tag = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
    private final CompletableFuture<Integer> exit = new CompletableFuture<>();
    private final ReentrantLock execLock = new ReentrantLock();
    private final Object stateLock = new Object();
    private State state = State.CREATED;
    private Thread runThread;
    private long commandCount;
    private volatile boolean shellReady;
    private final GuestAgent agent;          // null without a vsock device
    private final ReentrantLock routeLock = new ReentrantLock();
    private volatile Route route = Route.UNKNOWN;
    private Path ownedSocketDir;             // made by the builder for the agent's vsock; deleted on close

    MicroVm(String name, VmConfig config, int consoleHistoryBytes, OutputStream consoleCopy, LogSink userLog)
            throws dev.ember.boot.BootException {
        this.name = name;
        this.history = new ConsoleHistory(consoleHistoryBytes, consoleCopy);
        this.input = new ConsoleInputPipe();
        this.console = new GuestConsole(history, input);
        this.keptLog = new KeptLog(userLog);
        this.log = Log.of(keptLog, MicroVm.class);
        this.machine = new VirtualMachine(config, history, keptLog);
        this.agent = agentFor(config);
    }

    private static GuestAgent agentFor(VmConfig config) {
        VsockConfig vsock = config.devices().vsock();
        return vsock == null ? null : new GuestAgent(vsock.udsPath());
    }

    /** Makes {@link #close} delete {@code dir}, the directory the builder made for the agent's vsock socket. */
    void deleteOnClose(Path dir) {
        this.ownedSocketDir = dir;
    }

    /** A VM restored from a snapshot: {@code machine} is built, nothing runs until {@link #start}. */
    private MicroVm(String name, int consoleHistoryBytes, LogSink userLog, Restorer restorer)
            throws dev.ember.boot.BootException, dev.ember.snapshot.SnapshotException {
        this.name = name;
        this.history = new ConsoleHistory(consoleHistoryBytes, null);
        this.input = new ConsoleInputPipe();
        this.console = new GuestConsole(history, input);
        this.keptLog = new KeptLog(userLog);
        this.log = Log.of(keptLog, MicroVm.class);
        this.machine = restorer.restore(history, keptLog);
        this.agent = agentFor(machine.config());
    }

    private interface Restorer {
        VirtualMachine restore(OutputStream console, LogSink log)
                throws dev.ember.boot.BootException, dev.ember.snapshot.SnapshotException;
    }

    /**
     * Writes a snapshot of this VM: its state file and its memory file (see
     * {@link VirtualMachine#snapshot}). A running guest is paused for the time it takes and
     * resumed after; a paused one stays paused.
     *
     * @throws IllegalStateException if the VM is not running
     * @throws IOException           if a file cannot be written; earlier files at those paths are intact
     */
    public VirtualMachine.SnapshotInfo snapshot(Path stateFile, Path memoryFile) throws IOException, InterruptedException {
        return snapshot(stateFile, memoryFile, false);
    }

    /**
     * Writes a Full snapshot, or with {@code diff} a Diff snapshot (only the pages written since
     * the previous one; the VM must track dirty pages, {@link dev.ember.config.MachineConfig#trackDirtyPages}),
     * as {@link #snapshot(Path, Path)} does.
     */
    public VirtualMachine.SnapshotInfo snapshot(Path stateFile, Path memoryFile, boolean diff)
            throws IOException, InterruptedException {
        requireRunning();
        boolean wasPaused = machine.isPaused();
        machine.pause();
        try {
            return machine.snapshot(stateFile, memoryFile, diff);
        } finally {
            if (!wasPaused) {
                machine.resume();
            }
        }
    }

    /**
     * Restores a snapshot as a new VM named {@code name} (null: assigned), in state
     * {@link State#CREATED}: {@link #start} continues the guest where it was saved. Its memory
     * file is mapped copy-on-write, so restoring reads nothing up front and many VMs can share it.
     *
     * @throws dev.ember.snapshot.SnapshotException if a file is missing, damaged or of another version
     * @throws dev.ember.boot.BootException         if a host resource named in the snapshot cannot be opened
     */
    public static MicroVm restore(Path stateFile, Path memoryFile, String name)
            throws dev.ember.snapshot.SnapshotException, dev.ember.boot.BootException {
        String vmName = name != null ? name : "vm-" + MicroVmBuilder.NEXT_ID.getAndIncrement();
        return new MicroVm(vmName, MicroVmBuilder.DEFAULT_CONSOLE_HISTORY_BYTES, LogSink.systemLogger(),
                (console, log) -> VirtualMachine.restore(stateFile, memoryFile, c -> c.named(vmName), console, log, null));
    }

    /**
     * Makes {@code n} running copies of this VM in this JVM: the sandbox pool. This VM is
     * paused, snapshotted into {@code dir}, each writable drive's image is copied there once as
     * the clones' frozen base, and the VM is resumed. Each clone is restored from those files,
     * so the clones share every page of guest memory none of them has written (the memory file
     * is mapped copy-on-write); a page a clone writes becomes its own. Each clone gets its own
     * identity: its name ({@code NAME-clone-K}), a MAC address per network interface (locally
     * administered, {@code 52:54:KK:...}), a vsock CID ({@code cid + K}) and socket path
     * ({@code PATH-clone-K}), which its driver picks up at the transport reset the restore sends,
     * its own metadata store, and for each writable drive a copy-on-write overlay over the
     * frozen base ({@code dir/NAME-clone-K-DRIVE.overlay}), so clones and this VM never see each
     * other's disk writes. The guest keeps the MAC it read at boot until it is told otherwise
     * (for example {@code ip link set eth0 address}), as on Firecracker.
     *
     * @throws IllegalArgumentException if {@code n} is not positive, or a drive is itself an
     *                                  overlay (clone the original VM instead)
     */
    public List<MicroVm> clone(int n, Path dir) throws IOException, InterruptedException,
            dev.ember.snapshot.SnapshotException, dev.ember.boot.BootException {
        if (n < 1) {
            throw new IllegalArgumentException("clone count must be positive, not " + n);
        }
        requireRunning();
        List<DriveConfig> writable = new java.util.ArrayList<>();
        for (DriveConfig d : machine.config().devices().drives()) {
            if (d.backingFile() != null) {
                throw new IllegalArgumentException("drive " + d.driveId() + " is a clone's overlay; clone the original VM");
            }
            if (!d.isReadOnly()) {
                writable.add(d);
            }
        }
        Path state = dir.resolve(name + ".state");
        Path memory = dir.resolve(name + ".mem");
        java.util.Map<String, Path> frozen = new java.util.HashMap<>();
        boolean wasPaused = machine.isPaused();
        machine.pause();
        try {
            machine.snapshot(state, memory);
            for (DriveConfig d : writable) {
                Path base = dir.resolve(name + "-" + d.driveId() + ".base");
                java.nio.file.Files.copy(d.pathOnHost(), base, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                frozen.put(d.driveId(), base);
            }
        } finally {
            if (!wasPaused) {
                machine.resume();
            }
        }
        List<MicroVm> clones = new java.util.ArrayList<>();
        try {
            for (int k = 1; k <= n; k++) {
                int index = k;
                String cloneName = name + "-clone-" + k;
                MicroVm clone = new MicroVm(cloneName, MicroVmBuilder.DEFAULT_CONSOLE_HISTORY_BYTES, keptLog.forward,
                        (console, log) -> VirtualMachine.restore(state, memory,
                                c -> cloneIdentity(c, cloneName, index, dir, frozen), console, log, null));
                clones.add(clone);
                dev.ember.mmds.Mmds own = machine.mmds();
                if (own != null && own.isInitialized() && clone.machine.mmds() != null) {
                    clone.machine.mmds().put(own.get());   // a copy, which the clone's owner may change
                }
                clone.start();
            }
        } catch (RuntimeException | dev.ember.snapshot.SnapshotException | dev.ember.boot.BootException e) {
            clones.forEach(MicroVm::close);
            throw e;
        }
        return clones;
    }

    /** The configuration of clone {@code k}: its own name, MACs, vsock CID and socket, and disk overlays. */
    static VmConfig cloneIdentity(VmConfig c, String name, int k, Path dir, java.util.Map<String, Path> frozen) {
        int[] netIndex = {0};
        DevicesConfig devices = c.devices().map(d -> switch (d) {
            case DriveConfig drive -> frozen.containsKey(drive.driveId())
                    ? drive.overlay(dir.resolve(name + "-" + drive.driveId() + ".overlay"), frozen.get(drive.driveId()))
                    : null;
            case dev.ember.config.NetworkInterfaceConfig n -> {
                int i = netIndex[0]++;
                String mac = String.format("52:54:%02x:%02x:%02x:%02x", (k >> 8) & 0xFF, k & 0xFF, i & 0xFF, 0x56);
                yield new dev.ember.config.NetworkInterfaceConfig(n.ifaceId(), mac, n.hostDevName(), n.portForwards(),
                        n.rxRateLimiter(), n.txRateLimiter());
            }
            case dev.ember.config.VsockConfig v -> new dev.ember.config.VsockConfig(v.guestCid() + k,
                    Path.of(v.udsPath() + "-clone-" + k));
            default -> null;
        });
        return c.withDevices(devices).named(name);
    }

    /** {@return a builder for a new microVM} */
    public static MicroVmBuilder builder() {
        return new MicroVmBuilder();
    }

    /** {@return this VM's name, as given to the builder or assigned ({@code vm-1}, {@code vm-2}...)} */
    public String name() {
        return name;
    }

    /** {@return where this VM is in its life} */
    public State state() {
        synchronized (stateLock) {
            return state;
        }
    }

    /**
     * Boots the guest on a new platform thread named {@code ember-vm-<name>} and returns at once.
     *
     * @throws IllegalStateException if the VM was already started or closed
     */
    public void start() {
        synchronized (stateLock) {
            if (state != State.CREATED) {
                throw new IllegalStateException("VM " + name + " cannot start: it is " + state);
            }
            state = State.RUNNING;
            machine.attachConsoleInput(input, null);
            runThread = Thread.ofPlatform().name("ember-vm-" + name).start(this::runMachine);
        }
    }

    private void runMachine() {
        int status;
        try {
            status = machine.run();
        } catch (InterruptedException e) {
            status = KILLED_STATUS;
        } catch (Throwable t) {
            // Contained: a VMM bug ends this VM, never the embedding application or another VM.
            log.error("ember: VM " + name + " stopped by an internal error: " + t, t);
            status = 1;
        }
        synchronized (stateLock) {
            if (state == State.RUNNING) {
                state = State.EXITED;
            }
        }
        // First the input: a caller typing at a guest that has stopped fails now instead of
        // waiting for room that will never come (and one that probes for the shell stops looping).
        input.close();
        history.close();
        exit.complete(status);
    }

    /** {@return the guest's console} */
    public GuestConsole console() {
        return console;
    }

    /**
     * Waits until {@code text} appears anywhere in the kept console output.
     *
     * @return whether it appeared within {@code timeout}; false at once if the VM has exited without printing it
     */
    public boolean awaitOutput(String text, Duration timeout) throws InterruptedException {
        return console.awaitOutput(text, timeout);
    }

    /**
     * Runs a one-line shell command in the guest's console shell and returns its output and exit
     * code; see the class description for how. Calls on one VM run one after another.
     *
     * @param command a shell command line: no newline or other control character, at most
     *                {@link #MAX_COMMAND_BYTES} bytes once quoted
     * @param timeout for the whole call: waiting for earlier commands, for the shell after boot,
     *                and for this command
     * @throws IllegalArgumentException if the command has a newline or control character, or is too long
     * @throws IllegalStateException    if the VM is not running, or stops before the command ends
     * @throws TimeoutException         if the command did not finish in time; it has been sent Ctrl-C
     */
    public GuestCommandResult exec(String command, Duration timeout) throws InterruptedException, TimeoutException {
        Objects.requireNonNull(command, "command");
        long deadline = GuestConsole.deadline(timeout);
        if (agent != null && useAgent(deadline)) {
            // "command eval": a syntax error is reported with status 2 instead of ending the shell, as on the console.
            ExecResult r = AgentExec.run(agent, ProcessSpec.of("/bin/sh", "-c", "command eval \"$1\" 2>&1", "sh", command),
                    null, deadline, name);
            String output = r.stdoutText() + r.stderrText();
            return new GuestCommandResult(output.endsWith("\n") ? output.substring(0, output.length() - 1) : output,
                    r.exitCode());
        }
        return execAtConsole(command, timeout, deadline);
    }

    private GuestCommandResult execAtConsole(String command, Duration timeout, long deadline)
            throws InterruptedException, TimeoutException {
        String quoted = "'" + command.replace("'", "'\\''") + "'";
        checkCommand(command, quoted);
        if (!execLock.tryLock(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
            throw new TimeoutException("VM " + name + ": an earlier command was still running after " + timeout);
        }
        try {
            requireRunning();
            awaitShell(deadline);
            long n = ++commandCount;
            String id = tag + "-" + n;
            byte[] begin = ascii("@@B-" + id + "-1@@");
            byte[] endPrefix = ascii("@@E-" + id + "-");
            byte[] endSuffix = ascii("-1@@");
            long from = history.end();
            type("echo @@B-" + id + "-$((1))@@; command eval " + quoted + " </dev/null; echo @@E-" + id + "-$?-$((1))@@\n",
                    deadline);
            long b = history.find(begin, from, deadline);
            long outputStart = b + begin.length;
            long e = b < 0 ? -1 : history.find(endPrefix, outputStart, deadline);
            long statusStart = e + endPrefix.length;
            long s = e < 0 ? -1 : history.find(endSuffix, statusStart, deadline);
            if (s < 0) {
                throw notFinished(command, timeout);
            }
            String status = new String(history.copy(statusStart, s), StandardCharsets.US_ASCII);
            String output = new String(history.copy(outputStart, e), StandardCharsets.UTF_8).replace("\r\n", "\n");
            if (output.startsWith("\n")) {
                output = output.substring(1);
            }
            if (output.endsWith("\n")) {
                output = output.substring(0, output.length() - 1);
            }
            try {
                return new GuestCommandResult(output, Integer.parseInt(status));
            } catch (NumberFormatException ex) {
                throw new IllegalStateException("VM " + name + ": the guest shell printed '" + status
                        + "' where the exit status of '" + command + "' belongs");
            }
        } finally {
            execLock.unlock();
        }
    }

    /**
     * Runs {@code argv} in the guest through the agent and returns its stdout and stderr apart, as
     * bytes, with its exit status. The program is looked up in {@code PATH}; it runs as root in
     * {@code /} with {@link ProcessSpec#DEFAULT_ENV}. Calls may run concurrently.
     *
     * @param stdin   bytes for the process's standard input, then end of input; null for none
     * @param timeout for the whole call, including waiting for a booting guest's agent
     * @throws IllegalStateException if the VM is not running or has no vsock device, or the agent's connection failed
     * @throws TimeoutException      if the agent did not answer or the process did not end in time (it was killed)
     */
    public ExecResult exec(List<String> argv, byte[] stdin, Duration timeout) throws InterruptedException, TimeoutException {
        return exec(ProcessSpec.builder(argv.toArray(String[]::new)).build(), stdin, timeout);
    }

    /** Runs {@code sh -c command} as {@link #exec(List, byte[], Duration)} does. */
    public ExecResult exec(String command, byte[] stdin, Duration timeout) throws InterruptedException, TimeoutException {
        return exec(ProcessSpec.shell(command), stdin, timeout);
    }

    /** Runs {@code spec} to completion as {@link #exec(List, byte[], Duration)} does. */
    public ExecResult exec(ProcessSpec spec, byte[] stdin, Duration timeout) throws InterruptedException, TimeoutException {
        long deadline = GuestConsole.deadline(timeout);
        GuestAgent a = readyAgent(deadline);
        return AgentExec.run(a, spec, stdin, deadline, name);
    }

    /**
     * Starts a process in the guest through the agent, waiting up to two minutes for a booting
     * guest's agent to answer.
     *
     * @throws IllegalStateException if the VM is not running or has no vsock device
     * @throws AgentException        if the guest could not start the process (the message says why)
     * @throws TimeoutException      if the agent did not answer
     */
    public GuestProcess spawn(ProcessSpec spec) throws IOException, AgentException, InterruptedException, TimeoutException {
        return readyAgent(GuestConsole.deadline(AGENT_BOOT_TIMEOUT)).spawn(spec);
    }

    /**
     * {@return the client of this VM's guest agent}, for mounts, the hostname and the rest of
     * {@link GuestAgent}; it may not answer yet ({@link GuestAgent#awaitReady}).
     *
     * @throws IllegalStateException if the VM has no vsock device
     */
    public GuestAgent agent() {
        if (agent == null) {
            throw new IllegalStateException("VM " + name + " has no vsock device, so no guest agent: "
                    + "build it with guestAgent(true) or a vsock device");
        }
        return agent;
    }

    private GuestAgent readyAgent(long deadline) throws InterruptedException, TimeoutException {
        GuestAgent a = agent();
        requireRunning();
        if (route != Route.AGENT) {
            a.awaitReady(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
            route = Route.AGENT;
        }
        return a;
    }

    /**
     * Decides, once, whether exec goes through the agent: pings it and probes the console shell
     * until one answers; the console wins only if the agent stays silent for
     * {@value #AGENT_GRACE_MILLIS} ms after the shell answered.
     */
    private boolean useAgent(long deadline) throws InterruptedException, TimeoutException {
        if (route != Route.UNKNOWN) {
            return route == Route.AGENT;
        }
        if (!routeLock.tryLock(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
            throw new TimeoutException("VM " + name + ": still finding out whether the guest runs an agent");
        }
        try {
            requireRunning();
            byte[] answer = ascii("@@R-" + tag + "-1@@");
            long from = history.end();
            long shellAnsweredAt = 0;
            boolean shellAnswered = false;
            long nextProbe = System.nanoTime();
            while (route == Route.UNKNOWN) {
                try {
                    agent.ping();
                    route = Route.AGENT;
                    break;
                } catch (IOException | AgentException e) {
                    // Not listening (yet): try the console too.
                }
                long now = System.nanoTime();
                if (!shellAnswered && history.find(answer, from, now) >= 0) {
                    shellAnswered = true;
                    shellAnsweredAt = now;
                }
                if (shellAnswered && now - shellAnsweredAt > TimeUnit.MILLISECONDS.toNanos(AGENT_GRACE_MILLIS)) {
                    shellReady = true;
                    route = Route.CONSOLE;
                    break;
                }
                if (exit.isDone()) {
                    throw new IllegalStateException("VM " + name + " stopped (exit status " + exit.join()
                            + ") before its guest agent or console shell answered");
                }
                if (now - deadline >= 0) {
                    throw new TimeoutException("VM " + name + ": neither the guest agent nor a console shell answered in time");
                }
                if (!shellAnswered && now - nextProbe >= 0) {
                    type("echo @@R-" + tag + "-$((1))@@\n", deadline);
                    nextProbe = now + PROBE_INTERVAL_NANOS;
                }
                Thread.sleep(AGENT_RETRY_MILLIS);
            }
            return route == Route.AGENT;
        } finally {
            routeLock.unlock();
        }
    }

    private static void checkCommand(String command, String quoted) {
        for (int i = 0; i < command.length(); i++) {
            char c = command.charAt(i);
            if (c == '\n' || c == '\r') {
                throw new IllegalArgumentException("a guest command must be one line, but this one contains a line break: "
                        + command.replace("\n", "\\n").replace("\r", "\\r"));
            }
            if (Character.isISOControl(c)) {
                throw new IllegalArgumentException(String.format(
                        "a guest command must not contain control characters (the guest's line editor acts on them), "
                        + "but this one contains U+%04X at index %d", (int) c, i));
            }
        }
        int bytes = quoted.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_COMMAND_BYTES) {
            throw new IllegalArgumentException("a guest command may be at most " + MAX_COMMAND_BYTES
                    + " bytes once quoted (busybox's line editor holds 1024), but this one is " + bytes);
        }
    }

    /** Gives the caller what it can act on: the VM ended, or the command is still running. */
    private RuntimeException notFinished(String command, Duration timeout) throws TimeoutException {
        if (exit.isDone()) {
            throw new IllegalStateException("VM " + name + " stopped (exit status " + exit.join()
                    + ") before '" + command + "' finished");
        }
        try {
            type("\u0003", System.nanoTime());
        } catch (TimeoutException | IllegalStateException e) {
            // The guest takes no input: the command cannot be interrupted, and the caller is told it timed out.
        }
        throw new TimeoutException("VM " + name + ": '" + command + "' did not finish within " + timeout
                + "; it was sent Ctrl-C");
    }

    /** Waits until the console shell answers, typing a probe line every half second. */
    private void awaitShell(long deadline) throws InterruptedException, TimeoutException {
        if (shellReady) {
            return;
        }
        byte[] answer = ascii("@@R-" + tag + "-1@@");
        long from = history.end();
        while (true) {
            type("echo @@R-" + tag + "-$((1))@@\n", deadline);
            long probeDeadline = Math.min(deadline, System.nanoTime() + PROBE_INTERVAL_NANOS);
            if (history.find(answer, from, probeDeadline) >= 0) {
                shellReady = true;
                return;
            }
            if (exit.isDone()) {
                throw new IllegalStateException("VM " + name + " stopped (exit status " + exit.join()
                        + ") before its console shell answered");
            }
            if (deadline - System.nanoTime() <= 0) {
                throw new TimeoutException("VM " + name + ": no shell answered on the console in time");
            }
        }
    }

    /**
     * Types {@code text} at the guest's console, whole, waiting at most until {@code deadline}
     * for the guest to take earlier input: a guest that reads no console (its agent as PID 1, a
     * bare-metal program) stops taking input once its UART's buffer is full.
     *
     * @throws TimeoutException      if the guest took no input until the deadline; nothing was typed
     * @throws IllegalStateException if the VM has stopped or is closed
     */
    private void type(String text, long deadline) throws TimeoutException {
        try {
            if (!input.offerWhole(text.getBytes(StandardCharsets.UTF_8), deadline)) {
                throw new TimeoutException("VM " + name + ": the guest took no console input in time");
            }
        } catch (IOException e) {
            throw new IllegalStateException("VM " + name + " has stopped: it takes no console input", e);
        }
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * {@return the VM's metadata store (MMDS), or null when its configuration has none}: what the
     * guest reads at {@code 169.254.169.254}; a clone has its own, starting as a copy.
     */
    public dev.ember.mmds.Mmds mmds() {
        return machine.mmds();
    }

        /** {@return whether this VM was restored from a snapshot rather than booted} */
    public boolean isRestored() {
        return machine.isRestored();
    }

    private void requireRunning() {
        State s = state();
        if (s != State.RUNNING) {
            throw new IllegalStateException("VM " + name + " is not running: it is " + s
                    + (exit.isDone() ? " with exit status " + exit.join() : ""));
        }
    }

    /**
     * Asks the guest to power off, by typing {@code poweroff} at its console shell, and waits for
     * it; if the guest has not stopped within {@code timeout} (or no shell answered), kills it.
     * Returns at once with the known status if the VM has already exited; a VM that was never
     * started is marked killed. A paused VM is resumed first; a running {@link #exec} is let
     * finish within the timeout.
     *
     * @return the exit status: 0 after a clean poweroff, {@link #KILLED_STATUS} if it had to kill
     */
    public int shutdown(Duration timeout) throws InterruptedException {
        long deadline = GuestConsole.deadline(timeout);
        machine.resume();
        if (agent != null && route != Route.CONSOLE && state() == State.RUNNING) {
            try {
                agent.powerOff();
                OptionalInt status = awaitExit(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
                if (status.isPresent()) {
                    return status.getAsInt();
                }
            } catch (IOException | AgentException e) {
                // No agent answers: ask the console shell below.
            }
        }
        if (state() == State.RUNNING
                && execLock.tryLock(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
            try {
                awaitShell(deadline);
                type("poweroff\n", deadline);
            } catch (TimeoutException | IllegalStateException e) {
                // No shell, or the VM ended meanwhile: kill below if it still runs.
            } finally {
                execLock.unlock();
            }
            OptionalInt status = awaitExit(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
            if (status.isPresent()) {
                return status.getAsInt();
            }
        }
        kill();
        return exitStatus().orElse(KILLED_STATUS);
    }

    /**
     * Stops the VM at once, as pulling the plug: the vCPUs stop wherever they are, and the
     * exit status becomes {@link #KILLED_STATUS} unless the VM had already exited. Returns when the
     * run has ended. Does nothing after exit.
     */
    public void kill() {
        Thread thread;
        synchronized (stateLock) {
            if (state == State.CREATED) {
                state = State.EXITED;
                history.close();
                exit.complete(KILLED_STATUS);
                return;
            }
            thread = runThread;
        }
        if (thread == null) {
            return;
        }
        // Monotonic: a wall clock stepped back while this waits must not stretch the wait.
        long deadline = System.nanoTime() + KILL_WAIT_MILLIS * 1_000_000L;
        try {
            // Repeated: a stop that lands while run() is still starting its vCPU threads is not kept.
            while (thread.isAlive() && System.nanoTime() - deadline < 0) {
                machine.finish(KILLED_STATUS);
                machine.resume();
                thread.join(20);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Pauses the guest, as Firecracker's {@code PATCH /vm {"state": "Paused"}}: every vCPU stops
     * after its current slice; devices and the console stay attached, guest time runs on. Returns
     * once all vCPUs have stopped. Commands and typed input wait until {@link #resume}.
     *
     * @throws IllegalStateException if the VM is not running, or its vCPUs do not stop within 5 s
     */
    public void pause() throws InterruptedException {
        requireRunning();
        machine.pause();
    }

    /** Lets a paused guest run again; does nothing if it is not paused. */
    public void resume() {
        machine.resume();
    }

    /** {@return whether the guest is paused} */
    public boolean isPaused() {
        return machine.isPaused();
    }

    /** {@return the exit status once the VM has exited; empty while it is created or running} */
    public OptionalInt exitStatus() {
        Integer status = exit.getNow(null);
        return status == null ? OptionalInt.empty() : OptionalInt.of(status);
    }

    /** {@return the exit status, waiting up to {@code timeout} for the VM to exit; empty if it is still running} */
    public OptionalInt awaitExit(Duration timeout) throws InterruptedException {
        try {
            long nanos = Math.max(0, GuestConsole.deadline(timeout) - System.nanoTime());
            return OptionalInt.of(exit.get(nanos, TimeUnit.NANOSECONDS));
        } catch (TimeoutException e) {
            return OptionalInt.empty();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    /** {@return what the VMM reported about this VM (a vCPU's internal error, a failed reboot), the first 64 KiB} */
    public String errorOutput() {
        return keptLog.text();
    }

    /**
     * {@return the VM's counters under Firecracker's metric names, totals since it was built}:
     * disk and network traffic, rate-limiter throttling, console bytes, MMIO accesses. Any
     * thread, any state; after {@link #close} the last totals stay readable.
     */
    public VmMetrics metrics() {
        return machine.metrics();
    }

    /**
     * {@return the execution engine's counters: instructions interpreted and translated, and the
     * translation cache's regions and translation time} Any thread, any state.
     */
    public EngineStats engineStats() {
        return machine.engineStats();
    }

    /** {@return the machine, for tests that add a device before start} */
    VirtualMachine machine() {
        return machine;
    }

    /**
     * Kills the VM if it still runs, ends its console streams and releases its guest memory and
     * threads. Idempotent.
     */
    @Override
    public void close() {
        synchronized (stateLock) {
            if (state == State.CLOSED) {
                return;
            }
        }
        kill();
        input.close();
        machine.close();
        history.close();
        if (ownedSocketDir != null) {
            try {
                java.nio.file.Files.deleteIfExists(ownedSocketDir.resolve(MicroVmBuilder.AGENT_SOCKET));
                java.nio.file.Files.deleteIfExists(ownedSocketDir);
            } catch (IOException e) {
                log.warn("ember: VM " + name + ": cannot delete " + ownedSocketDir + ": " + e.getMessage());
            }
        }
        synchronized (stateLock) {
            state = State.CLOSED;
        }
    }

    @Override
    public String toString() {
        return "MicroVm[" + name + ", " + state() + "]";
    }

    /**
     * The VMM's reports about this VM: those at WARN and above kept as text (the first
     * {@value #ERROR_LOG_BYTES} bytes, for {@link #errorOutput}), and every one passed on to the
     * application's sink.
     */
    private static final class KeptLog implements LogSink {
        final LogSink forward;
        private final StringBuilder kept = new StringBuilder();

        KeptLog(LogSink forward) {
            this.forward = forward;
        }

        @Override
        public void log(LogEvent event) {
            if (Level.WARN.admits(event.level())) {
                String line = event.message() + (event.cause() == null ? "" : ": " + event.cause()) + "\n";
                synchronized (kept) {
                    kept.append(line, 0, Math.min(line.length(), Math.max(0, ERROR_LOG_BYTES - kept.length())));
                }
            }
            if (forward.isEnabled(event.level())) {
                forward.log(event);
            }
        }

        @Override
        public boolean isEnabled(Level level) {
            return Level.WARN.admits(level) || forward.isEnabled(level);
        }

        @Override
        public boolean wantsOrigin() {
            return forward.wantsOrigin();
        }

        String text() {
            synchronized (kept) {
                return kept.toString();
            }
        }
    }
}
