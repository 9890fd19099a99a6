package dev.ember.server.oci;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ember.agent.AgentException;
import dev.ember.agent.GuestAgent;
import dev.ember.agent.GuestProcess;
import dev.ember.agent.MountSpec;
import dev.ember.agent.ProcessSpec;
import dev.ember.config.BootSourceConfig;
import dev.ember.config.MachineConfig;
import dev.ember.config.ShareConfig;
import dev.ember.config.VsockConfig;
import dev.ember.log.Level;
import dev.ember.log.LogSink;
import dev.ember.vmm.MicroVm;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * A container's VM process: the long-lived host process that {@code ember-oci create} starts and
 * that the caller (conmon, containerd's shim) then watches as the container's pid. It boots a
 * microVM on the default guest's kernel and initramfs with the agent as init
 * ({@code rdinit=/usr/bin/ember-agent}), shares the bundle's root file system and bind mounts
 * into it with virtio-fs, makes the mounts, and then waits on its control socket for
 * {@code start}. The container's process then runs in the guest with the stdio this process
 * inherited from {@code create} (the caller's pipes or the terminal sent over the console socket),
 * and this process exits with the container process's exit status, after powering the VM off.
 *
 * <p>Usage (by {@link OciCommand} only): {@code ContainerVm ROOT ID [CONSOLE_SOCKET]}, with the
 * log options in the system properties {@code ember.oci.log} and {@code ember.oci.logFormat}.
 */
public final class ContainerVm {

    /** How long boot, agent and mounts may take before {@code create} fails. */
    static final Duration SETUP_TIMEOUT = Duration.ofSeconds(180);
    /** Where the console of the guest goes at most (the rest is dropped). */
    private static final long MAX_CONSOLE_LOG = 1 << 20;

    private final ContainerStore store;
    private final String id;
    private final Path consoleSocket;
    private final RuntimeLog log;
    private final CountDownLatch started = new CountDownLatch(1);
    private volatile ContainerRecord record;
    private volatile GuestProcess process;
    private volatile boolean startRequested;
    private volatile int earlySignal;
    private final long born = System.nanoTime();
    private MicroVm vm;
    private Bundle bundle;
    private GuestAgent agent;
    private HostTerminal terminal;

    private ContainerVm(ContainerStore store, String id, Path consoleSocket, RuntimeLog log) {
        this.store = store;
        this.id = id;
        this.consoleSocket = consoleSocket;
        this.log = log;
    }

    public static void main(String[] args) {
        ContainerStore store = new ContainerStore(Path.of(args[0]));
        String id = args[1];
        Path consoleSocket = args.length > 2 && !args[2].isEmpty() ? Path.of(args[2]) : null;
        String logFile = System.getProperty("ember.oci.log");
        RuntimeLog log = new RuntimeLog(logFile == null || logFile.isEmpty() ? null : Path.of(logFile),
                System.getProperty("ember.oci.logFormat", "text"), Boolean.getBoolean("ember.oci.debug"));
        System.exit(new ContainerVm(store, id, consoleSocket, log).run());
    }

    private int run() {
        ControlChannel control = null;
        try {
            record = store.read(id);
            Bundle bundle = Bundle.load(Path.of(record.bundle()));
            MountPlan plan = MountPlan.of(bundle);
            Path sockets = store.socketDir(id);
            control = ControlChannel.bind(sockets.resolve("ctl.sock"));
            control.serve(this::handle);
            boot(bundle, plan, sockets);
            record = record.withProcess(ProcessHandle.current()).withStatus(ContainerRecord.CREATED);
            store.write(record);
        } catch (Exception e) {
            String why = e.getMessage() == null ? e.toString() : e.getMessage();
            log.error("container " + id + ": " + why);
            fail(why);
            return 1;
        }
        try {
            started.await();
            if (earlySignal != 0) {
                return finish(128 + earlySignal);
            }
            return finish(runProcess());
        } catch (InterruptedException e) {
            return finish(137);
        } catch (AgentException e) {
            // the program could not start (not found: 127, else 126), as runc reports at start
            log.error("container " + id + ": " + e.getMessage());
            System.err.println("ember-oci: " + e.getMessage());
            return finish(e.exitCode() > 0 ? e.exitCode() : 126);
        } catch (IOException e) {
            log.error("container " + id + ": " + e.getMessage());
            return finish(126);
        } finally {
            control.close();
        }
    }

    private void fail(String why) {
        try {
            ContainerRecord r = record != null ? record : store.read(id);
            store.write(r.withProcess(ProcessHandle.current()).failed(why));
        } catch (IOException | OciException e) {
            System.err.println("ember-oci: " + why);
        }
        if (vm != null) {
            vm.close();
        }
    }

    private void boot(Bundle bundle, MountPlan plan, Path sockets) throws Exception {
        Path guest = guestDir();
        Path vsock = sockets.resolve("vsock.sock");
        Files.deleteIfExists(vsock);
        OutputStream consoleLog = boundedFile(store.dir(id).resolve("console.log"));
        var builder = MicroVm.builder()
                .name(id)
                .bootSource(new BootSourceConfig(guest.resolve("Image"), guest.resolve("initramfs.cpio"),
                        "console=ttyS0 quiet rdinit=/usr/bin/ember-agent"))
                .machineConfig(new MachineConfig(bundle.vcpus(), bundle.memMib(), false, false))
                .vsock(new VsockConfig(3, vsock))
                .consoleCopy(consoleLog)
                .log(LogSink.stream(new PrintStream(consoleLog, true)).atLeast(Level.INFO));
        for (MountPlan.Share s : plan.shares()) {
            builder.share(new ShareConfig(s.tag(), s.hostPath(), s.readOnly()));
        }
        for (String s : bundle.unsupported()) {
            log.warn("container " + id + ": " + s);
        }
        for (String s : plan.skipped()) {
            log.warn("container " + id + ": mount " + s);
        }
        OciSpec.Process p = bundle.spec().process();
        if (p.terminal()) {
            if (consoleSocket == null) {
                throw new OciException("process.terminal is true but no --console-socket was given");
            }
            OciSpec.ConsoleSize size = p.consoleSize();
            terminal = HostTerminal.open(consoleSocket, size == null ? 24 : size.height(), size == null ? 80 : size.width());
        }
        vm = builder.build();
        vm.start();
        milestone("VM started");
        agent = new GuestAgent(vsock);
        agent.awaitReady(SETUP_TIMEOUT);
        milestone("agent ready");
        for (MountPlan.GuestMount m : plan.mounts()) {
            if (m.content() != null) {
                copyIn(m.source(), m.content());
            }
            try {
                agent.mount(new MountSpec(m.source(), m.target(), m.fstype(), m.data(), m.flags()));
            } catch (AgentException e) {
                throw new OciException("mount " + m.target().substring(MountPlan.GUEST_ROOT.length()) + ": " + e.getMessage());
            }
        }
        if (bundle.spec().hostname() != null && !bundle.spec().hostname().isEmpty()) {
            agent.hostname(bundle.spec().hostname());
        }
        this.bundle = bundle;
        milestone("mounts made");
    }

    /** Logs, at debug level, how long after this process's start {@code what} happened. */
    private void milestone(String what) {
        log.debug("container " + id + ": " + what + " after " + (System.nanoTime() - born) / 1_000_000 + " ms");
    }

    /** Writes {@code content} to {@code path} in the guest (outside the container's root). */
    private void copyIn(String path, byte[] content) throws IOException, AgentException, InterruptedException {
        GuestProcess cp = agent.spawn(ProcessSpec.of("/bin/sh", "-c", "mkdir -p \"${0%/*}\" && cat > \"$0\"", path));
        try (OutputStream in = cp.stdin()) {
            in.write(content);
        }
        int rc = cp.waitFor();
        if (rc != 0) {
            throw new IOException("cannot copy a bound file into the guest (" + path + "): exit status " + rc);
        }
    }

    private static Path guestDir() throws OciException {
        String dir = System.getenv("EMBER_GUEST_DIR");
        if (dir == null || dir.isEmpty()) {
            dir = System.getProperty("ember.guest.dir", "guest/out");
        }
        Path p = Path.of(dir);
        if (!Files.isRegularFile(p.resolve("Image")) || !Files.isRegularFile(p.resolve("initramfs.cpio"))) {
            throw new OciException("the guest kernel and initramfs are not in " + p + " (build them with guest/build.sh)");
        }
        return p;
    }

    /** The control socket's requests: start, kill. {@return null, or the error} */
    private String handle(JsonNode request) {
        String op = request.path("op").asText("");
        switch (op) {
            case "start" -> {
                synchronized (this) {
                    if (startRequested) {
                        return "container " + id + " has already been started";
                    }
                    startRequested = true;
                }
                started.countDown();
                return null;
            }
            case "kill" -> {
                int sig = request.path("signal").asInt(0);
                if (sig <= 0 || sig > 64) {
                    return "bad signal " + sig;
                }
                GuestProcess p = process;
                if (p == null) {
                    // not started yet: the process that waits for start ends, as runc's init would
                    synchronized (this) {
                        earlySignal = sig;
                        startRequested = true;
                    }
                    started.countDown();
                    return null;
                }
                try {
                    p.signal(sig);
                    return null;
                } catch (IOException e) {
                    return "cannot signal the container's process: " + e.getMessage();
                }
            }
            default -> {
                return "unknown request \"" + op + "\"";
            }
        }
    }

    private int runProcess() throws IOException, AgentException, InterruptedException {
        OciSpec.Process p = bundle.spec().process();
        OciSpec.User u = p.user();
        List<Integer> groups = new ArrayList<>();
        if (u != null && u.additionalGids() != null) {
            u.additionalGids().forEach(g -> groups.add(g.intValue()));
        }
        List<ProcessSpec.Rlimit> rlimits = new ArrayList<>();
        if (p.rlimits() != null) {
            for (OciSpec.Rlimit r : p.rlimits()) {
                rlimits.add(new ProcessSpec.Rlimit(r.type(), limit(r.soft()), limit(r.hard())));
            }
        }
        int[] size = terminal == null ? null : terminal.windowSize();
        ProcessSpec spec = new ProcessSpec(p.args(), p.env() == null ? List.of() : p.env(),
                p.cwd() == null ? "/" : p.cwd(), MountPlan.GUEST_ROOT,
                u == null ? 0 : (int) u.uid(), u == null ? 0 : (int) u.gid(), groups,
                terminal == null ? null : new ProcessSpec.TerminalSize(size[0] > 0 ? size[0] : 24, size[1] > 0 ? size[1] : 80),
                rlimits);
        milestone("start requested");
        GuestProcess gp = agent.spawn(spec);
        process = gp;
        milestone("process started");
        record = record.withStatus(ContainerRecord.RUNNING);
        store.write(record);
        List<Thread> outputs = new ArrayList<>();      // what must be forwarded before the exit
        if (terminal != null) {
            pump("stdin", terminal.input(), gp.stdin(), true);
            outputs.add(pump("stdout", gp.stdout(), terminal.output(), false));
            Thread resize = new Thread(() -> watchWindow(gp), "ember-oci-winsize");
            resize.setDaemon(true);
            resize.start();
        } else {
            pump("stdin", new FileInputStream(FileDescriptor.in), gp.stdin(), true);
            outputs.add(pump("stdout", gp.stdout(), new FileOutputStream(FileDescriptor.out), false));
            outputs.add(pump("stderr", gp.stderr(), new FileOutputStream(FileDescriptor.err), false));
        }
        int code = gp.waitFor();
        milestone("process exited with " + code);
        for (Thread t : outputs) {
            t.join(2000);        // the output that came before the exit status
        }
        return code;
    }

    /** An rlimit value of the spec (a uint64) for the agent: beyond a long is unlimited. */
    private static long limit(java.math.BigInteger v) {
        return v == null || v.bitLength() > 63 ? ProcessSpec.Rlimit.UNLIMITED : v.longValue();
    }

    /** Copies {@code in} to {@code out} on a daemon thread; closes {@code out} at the end when asked. */
    private Thread pump(String name, InputStream in, OutputStream out, boolean closeAtEnd) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[64 * 1024];
            try {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // the other side went away: the process or the caller ended
            } finally {
                if (closeAtEnd) {
                    try {
                        out.close();
                    } catch (IOException ignored) {
                        // already closed
                    }
                }
            }
        }, "ember-oci-" + name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** Passes the caller's window size changes (TIOCSWINSZ on the master) to the guest's terminal. */
    private void watchWindow(GuestProcess gp) {
        int[] last = terminal.windowSize();
        while (true) {
            try {
                Thread.sleep(200);
                int[] now = terminal.windowSize();
                if (now[0] > 0 && (now[0] != last[0] || now[1] != last[1])) {
                    gp.resize(now[0], now[1]);
                    last = now;
                }
            } catch (InterruptedException | IOException e) {
                return;
            }
        }
    }

    /** Records the exit status, powers the VM off and {@return the status for System.exit} */
    private int finish(int code) {
        try {
            record = record.exited(code);
            store.write(record);
        } catch (IOException e) {
            log.warn("container " + id + ": cannot record the exit status: " + e.getMessage());
        }
        if (agent != null) {
            try {
                agent.powerOff();
            } catch (IOException | AgentException e) {
                // the VM goes with the process either way
            }
        }
        if (vm != null) {
            vm.close();
        }
        if (terminal != null) {
            terminal.close();
        }
        milestone("VM closed");
        return code;
    }

    private static OutputStream boundedFile(Path file) throws IOException {
        OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE);
        return new OutputStream() {
            private long written;

            @Override
            public synchronized void write(int b) throws IOException {
                if (written++ < MAX_CONSOLE_LOG) {
                    out.write(b);
                }
            }

            @Override
            public synchronized void write(byte[] b, int off, int len) throws IOException {
                long room = Math.max(0, MAX_CONSOLE_LOG - written);
                if (room > 0) {
                    out.write(b, off, (int) Math.min(room, len));
                }
                written += len;
            }

            @Override
            public void flush() throws IOException {
                out.flush();
            }
        };
    }
}
