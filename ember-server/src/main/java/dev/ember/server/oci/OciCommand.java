package dev.ember.server.oci;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code ember-oci}: an OCI runtime (OCI Runtime Specification, {@code runtime.md} "Operations")
 * with runc's command line, as podman (through conmon) and containerd (through its runc shim)
 * call it. Each container is one Ember microVM; see {@link ContainerVm}.
 *
 * <p>Exit statuses: 0 on success, 1 with a one-line error on standard error (and in the
 * {@code --log} file, which conmon and the shim read), 2 for a usage error. The global options
 * are runc's: {@code --root} is honoured (the state directory), {@code --log} and
 * {@code --log-format} are honoured, {@code --systemd-cgroup}, {@code --rootless} and
 * {@code --criu} are accepted and have no effect (a VM process is not placed in the container's
 * cgroup; see the README).
 */
@Command(name = "ember-oci", versionProvider = OciCommand.Version.class, mixinStandardHelpOptions = true,
        description = "An OCI runtime that runs each container in its own Ember RISC-V microVM.",
        subcommands = {OciCommand.Create.class, OciCommand.Start.class, OciCommand.State.class,
                OciCommand.Kill.class, OciCommand.Delete.class, OciCommand.Run.class, OciCommand.Features.class,
                OciCommand.ListCommand.class})
public final class OciCommand {

    public static final String VERSION = "0.1.0";
    /** The newest runtime specification version this runtime implements. */
    public static final String SPEC_VERSION = "1.2.0";

    @Option(names = "--root", paramLabel = "DIR", description = "state directory (default: " + ContainerStore.DEFAULT_ROOT + ")")
    Path root = Path.of(ContainerStore.DEFAULT_ROOT);

    @Option(names = "--log", paramLabel = "FILE", description = "append messages to FILE (conmon and containerd read it)")
    Path logFile;

    @Option(names = "--log-format", paramLabel = "text|json", description = "format of --log (default: text)")
    String logFormat = "text";

    @Option(names = "--debug", description = "log debug messages")
    boolean debug;

    @Option(names = "--systemd-cgroup", description = "accepted for runc compatibility; no effect (the VM is the boundary)")
    boolean systemdCgroup;

    @Option(names = "--rootless", paramLabel = "true|false|auto", description = "accepted for runc compatibility; no effect")
    String rootless;

    @Option(names = "--criu", paramLabel = "PATH", description = "accepted for runc compatibility; checkpointing is not supported")
    String criu;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    RuntimeLog log() {
        return new RuntimeLog(logFile, logFormat, debug);
    }

    ContainerStore store() {
        return new ContainerStore(root);
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** {@return the command line, with errors reported as one line on stderr and in the log, status 1} */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new OciCommand());
        cl.setExecutionExceptionHandler((e, line, parse) -> {
            OciCommand top = line.getCommandSpec().root().userObject() instanceof OciCommand o ? o : null;
            String msg = e instanceof OciException ? e.getMessage() : e.toString();
            if (top != null) {
                top.log().error(msg);
            }
            line.getErr().println("ember-oci: " + msg);
            return 1;
        });
        return cl;
    }

    /**
     * For the JVM start-up cache's training run ({@code StartupTraining}): the runtime's commands
     * on a throw-away bundle and state directory under {@code dir}, their output discarded. No VM
     * is started.
     */
    public static void exerciseForTraining(Path dir) throws IOException, OciException {
        Path bundle = Files.createDirectories(dir.resolve("oci-bundle"));
        Files.createDirectories(bundle.resolve("rootfs"));
        Files.writeString(bundle.resolve(Bundle.CONFIG), """
                {"ociVersion":"1.0.2","process":{"terminal":false,"user":{"uid":0,"gid":0},"args":["true"],
                 "env":["PATH=/bin"],"cwd":"/","rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}]},
                 "root":{"path":"rootfs"},"hostname":"training",
                 "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
                           {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","mode=755"]}],
                 "linux":{"resources":{"memory":{"limit":134217728}},"namespaces":[{"type":"pid"}]}}""");
        Bundle b = Bundle.load(bundle);
        MountPlan.of(b);
        b.unsupported();
        Signals.parse("SIGTERM");
        Path root = dir.resolve("oci-state");
        ContainerStore store = new ContainerStore(root);
        store.reserve("training");
        store.write(new ContainerRecord("training", bundle.toString(), ContainerRecord.STOPPED, 0, 0,
                Instant.now().toString(), null, null, 0));
        java.io.PrintStream out = System.out;
        try {
            System.setOut(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
            for (String[] args : List.of(new String[] {"features"}, new String[] {"state", "training"},
                    new String[] {"state", "no-such-container"}, new String[] {"list"})) {
                CommandLine cl = commandLine();
                cl.setOut(new java.io.PrintWriter(java.io.Writer.nullWriter()));
                cl.setErr(new java.io.PrintWriter(java.io.Writer.nullWriter()));
                String[] all = new String[args.length + 2];
                all[0] = "--root";
                all[1] = root.toString();
                System.arraycopy(args, 0, all, 2, args.length);
                cl.execute(all);
            }
        } finally {
            System.setOut(out);
        }
        ContainerStore.deleteTree(root);
        ContainerStore.deleteTree(bundle);
    }

    // ---- create --------------------------------------------------------------------------------

    /** Options shared by create and run. */
    static class CreateOptions {
        @Option(names = {"--bundle", "-b"}, paramLabel = "DIR", description = "the bundle directory (default: the current directory)")
        Path bundle = Path.of("");

        @Option(names = "--pid-file", paramLabel = "FILE", description = "write the container's pid (its VM process) here")
        Path pidFile;

        @Option(names = "--console-socket", paramLabel = "PATH",
                description = "Unix socket that receives the terminal's master when process.terminal is true")
        Path consoleSocket;

        @Option(names = "--no-pivot", description = "accepted; no effect")
        boolean noPivot;

        @Option(names = "--no-new-keyring", description = "accepted; no effect")
        boolean noNewKeyring;

        @Option(names = "--preserve-fds", paramLabel = "N", description = "accepted; descriptors beyond stdio are not passed to a VM")
        int preserveFds;
    }

    @Command(name = "create", description = "Create a container: boot its microVM and wait for start.")
    static final class Create implements Callable<Integer> {
        @ParentCommand OciCommand top;
        @CommandLine.Mixin CreateOptions opts = new CreateOptions();
        @Parameters(paramLabel = "ID") String id;

        @Override
        public Integer call() throws Exception {
            Process vm = top.create(id, opts);
            return vm != null ? 0 : 1;
        }
    }

    /**
     * Checks the bundle, reserves the id, starts the VM process and waits until it is created.
     * {@return the VM process}
     */
    Process create(String id, CreateOptions opts) throws OciException, IOException, InterruptedException {
        ContainerStore store = store();
        ContainerStore.checkId(id);
        if (Files.exists(store.dir(id))) {
            throw new OciException("container " + id + " already exists");
        }
        Path bundleDir = opts.bundle.toString().isEmpty() ? Path.of("").toAbsolutePath() : opts.bundle.toAbsolutePath();
        Bundle bundle = Bundle.load(bundleDir);
        if (bundle.spec().process().terminal() && opts.consoleSocket == null) {
            throw new OciException("process.terminal is true but no --console-socket was given");
        }
        if (opts.consoleSocket != null && !Files.exists(opts.consoleSocket)) {
            throw new OciException("console socket " + opts.consoleSocket + " does not exist");
        }
        store.reserve(id);
        try {
            store.write(new ContainerRecord(id, bundle.dir().toString(), ContainerRecord.CREATING, 0, 0,
                    Instant.now().toString(), bundle.spec().annotations(), null, null));
            Process vm = startVmProcess(store, id, opts.consoleSocket);
            ContainerRecord r = awaitCreated(store, id, vm);
            if (opts.pidFile != null) {
                Path tmp = opts.pidFile.resolveSibling(opts.pidFile.getFileName() + ".tmp");
                Files.writeString(tmp, Long.toString(r.pid()));
                Files.move(tmp, opts.pidFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
            log().debug("container " + id + " created, pid " + r.pid());
            return vm;
        } catch (OciException | IOException | InterruptedException | RuntimeException e) {
            store.remove(id);
            throw e;
        }
    }

    private Process startVmProcess(ContainerStore store, String id, Path consoleSocket) throws IOException {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.add("-Dember.oci.log=" + (logFile == null ? "" : logFile.toAbsolutePath()));
        cmd.add("-Dember.oci.logFormat=" + logFormat);
        cmd.add("-Dember.oci.debug=" + debug);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(ContainerVm.class.getName());
        cmd.add(store.root().toString());
        cmd.add(id);
        cmd.add(consoleSocket == null ? "" : consoleSocket.toAbsolutePath().toString());
        return new ProcessBuilder(cmd).inheritIO().start();
    }

    private static ContainerRecord awaitCreated(ContainerStore store, String id, Process vm)
            throws OciException, InterruptedException {
        long deadline = System.nanoTime() + ContainerVm.SETUP_TIMEOUT.plusSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            ContainerRecord r = store.find(id).orElse(null);
            if (r != null && r.status().equals(ContainerRecord.CREATED)) {
                return r;
            }
            if (r != null && r.error() != null) {
                vm.waitFor(5, TimeUnit.SECONDS);
                throw new OciException(r.error());
            }
            if (vm.waitFor(20, TimeUnit.MILLISECONDS)) {
                throw new OciException("container " + id + ": the VM process exited with status " + vm.exitValue()
                        + " before the container was created");
            }
        }
        vm.destroyForcibly();
        throw new OciException("container " + id + ": not created within " + ContainerVm.SETUP_TIMEOUT.plusSeconds(30).toSeconds() + " s");
    }

    // ---- start, state, kill, delete --------------------------------------------------------------

    @Command(name = "start", description = "Run the container's process in its created microVM.")
    static final class Start implements Callable<Integer> {
        @ParentCommand OciCommand top;
        @Parameters(paramLabel = "ID") String id;

        @Override
        public Integer call() throws Exception {
            top.start(id);
            return 0;
        }
    }

    void start(String id) throws OciException, IOException {
        ContainerStore store = store();
        ContainerRecord r = store.read(id);
        switch (ContainerStore.status(r)) {
            case ContainerRecord.CREATED -> ControlChannel.request(store.socketDir(id).resolve("ctl.sock"), ControlChannel.op("start"));
            case ContainerRecord.RUNNING -> throw new OciException("container " + id + " is already running");
            case ContainerRecord.CREATING -> throw new OciException("container " + id + " is still being created");
            default -> throw new OciException("cannot start container " + id + ": it has stopped");
        }
    }

    @Command(name = "state", description = "Print the container's state as JSON (runtime spec, \"State\").")
    static final class State implements Callable<Integer> {
        @ParentCommand OciCommand top;
        @Parameters(paramLabel = "ID") String id;

        @Override
        public Integer call() throws Exception {
            ContainerRecord r = top.store().read(id);
            System.out.println(JSON.writeValueAsString(stateJson(r)));
            return 0;
        }
    }

    static ObjectNode stateJson(ContainerRecord r) {
        String status = ContainerStore.status(r);
        ObjectNode n = JSON.createObjectNode();
        n.put("ociVersion", SPEC_VERSION);
        n.put("id", r.id());
        n.put("pid", status.equals(ContainerRecord.STOPPED) ? 0 : r.pid());
        n.put("status", status);
        n.put("bundle", r.bundle());
        n.put("rootfs", r.bundle() == null ? "" : Path.of(r.bundle()).resolve("rootfs").toString());
        n.put("created", r.created());
        n.put("owner", "");
        if (r.annotations() != null && !r.annotations().isEmpty()) {
            ObjectNode a = n.putObject("annotations");
            r.annotations().forEach(a::put);
        }
        return n;
    }

    @Command(name = "kill", description = "Send a signal to the container's process; SIGKILL ends its microVM.")
    static final class Kill implements Callable<Integer> {
        @ParentCommand OciCommand top;
        @Option(names = {"--all", "-a"}, description = "signal every process of the container (the VM has one init)")
        boolean all;
        @Parameters(index = "0", paramLabel = "ID") String id;
        @Parameters(index = "1", paramLabel = "SIGNAL", defaultValue = "SIGTERM") String signal;

        @Override
        public Integer call() throws Exception {
            top.kill(id, Signals.parse(signal));
            return 0;
        }
    }

    void kill(String id, int signal) throws OciException, IOException {
        ContainerStore store = store();
        ContainerRecord r = store.read(id);
        String status = ContainerStore.status(r);
        if (status.equals(ContainerRecord.STOPPED) || r.pid() == 0) {
            throw new OciException("container " + id + " is not running");
        }
        if (signal == Signals.SIGKILL) {
            ProcessHandle.of(r.pid()).ifPresent(ProcessHandle::destroyForcibly);
            return;
        }
        ControlChannel.request(store.socketDir(id).resolve("ctl.sock"), ControlChannel.op("kill").put("signal", signal));
    }

    @Command(name = "delete", description = "Delete a stopped container's state; --force ends a running one first.")
    static final class Delete implements Callable<Integer> {
        @ParentCommand OciCommand top;
        @Option(names = {"--force", "-f"}, description = "end the container's microVM if it runs")
        boolean force;
        @Parameters(paramLabel = "ID") String id;

        @Override
        public Integer call() throws Exception {
            top.delete(id, force);
            return 0;
        }
    }

    void delete(String id, boolean force) throws OciException, IOException, InterruptedException {
        ContainerStore store = store();
        ContainerStore.checkId(id);
        if (force && store.find(id).isEmpty() && !java.nio.file.Files.exists(store.dir(id))) {
            return;      // as runc: --force succeeds for a container that is already gone
        }
        ContainerRecord r = store.read(id);
        String status = ContainerStore.status(r);
        if (status.equals(ContainerRecord.RUNNING) && !force) {
            throw new OciException("cannot delete container " + id + " that is not stopped: running (use --force)");
        }
        if (!status.equals(ContainerRecord.STOPPED)) {
            // a created container is ended by delete, as runc's; a running one only with --force
            var handle = ProcessHandle.of(r.pid());
            if (handle.isPresent() && ContainerStore.alive(r)) {
                handle.get().destroyForcibly();
                try {
                    handle.get().onExit().get(10, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                    throw new OciException("container " + id + ": its VM process " + r.pid() + " did not end after SIGKILL");
                }
            }
        }
        store.remove(id);
    }

    // ---- run, list, features ------------------------------------------------------------------------

    @Command(name = "run", description = "Create and start a container, wait for it, then delete it.")
    static final class Run implements Callable<Integer> {
        @ParentCommand OciCommand top;
        @CommandLine.Mixin CreateOptions opts = new CreateOptions();
        @Option(names = {"--detach", "-d"}, description = "return once the container runs")
        boolean detach;
        @Option(names = "--keep", description = "do not delete the container after it exits")
        boolean keep;
        @Parameters(paramLabel = "ID") String id;

        @Override
        public Integer call() throws Exception {
            Process vm = top.create(id, opts);
            top.start(id);
            if (detach) {
                return 0;
            }
            int code = vm.waitFor();
            if (!keep) {
                top.store().remove(id);
            }
            return code;
        }
    }

    @Command(name = "list", aliases = "ls", description = "List the containers under --root.")
    static final class ListCommand implements Callable<Integer> {
        @ParentCommand OciCommand top;
        @Option(names = {"--format", "-f"}, paramLabel = "table|json") String format = "table";
        @Option(names = {"--quiet", "-q"}) boolean quiet;

        @Override
        public Integer call() throws Exception {
            ContainerStore store = top.store();
            ArrayNode all = JSON.createArrayNode();
            if (Files.isDirectory(store.root())) {
                try (var dirs = Files.list(store.root())) {
                    for (Path d : dirs.sorted().toList()) {
                        store.find(d.getFileName().toString()).ifPresent(r -> all.add(stateJson(r)));
                    }
                }
            }
            if (format.equals("json")) {
                System.out.println(JSON.writeValueAsString(all));
            } else {
                if (!quiet) {
                    System.out.printf("%-24s %-8s %-10s %s%n", "ID", "PID", "STATUS", "BUNDLE");
                }
                all.forEach(n -> System.out.println(quiet ? n.path("id").asText()
                        : String.format("%-24s %-8d %-10s %s", n.path("id").asText(), n.path("pid").asLong(),
                                n.path("status").asText(), n.path("bundle").asText())));
            }
            return 0;
        }
    }

    @Command(name = "features", description = "Print what this runtime implements (runtime spec, features.md).")
    static final class Features implements Callable<Integer> {
        @Override
        public Integer call() throws Exception {
            ObjectNode f = JSON.createObjectNode();
            f.put("ociVersionMin", "1.0.0");
            f.put("ociVersionMax", SPEC_VERSION);
            f.putArray("hooks");
            ArrayNode opts = f.putArray("mountOptions");
            for (String o : List.of("ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "sync", "async",
                    "dirsync", "noatime", "nodiratime", "relatime", "strictatime", "bind", "rbind")) {
                opts.add(o);
            }
            ObjectNode linux = f.putObject("linux");
            linux.putArray("namespaces");
            linux.putArray("capabilities");
            ObjectNode cg = linux.putObject("cgroup");
            cg.put("v1", false).put("v2", false).put("systemd", false).put("systemdUser", false);
            linux.putObject("seccomp").put("enabled", false);
            linux.putObject("apparmor").put("enabled", false);
            linux.putObject("selinux").put("enabled", false);
            ObjectNode ann = f.putObject("annotations");
            ann.put("dev.ember.oci.isolation", "riscv64 microVM (Ember), one per container");
            ann.put("dev.ember.oci.version", VERSION);
            System.out.println(JSON.writeValueAsString(f));
            return 0;
        }
    }

    /** {@code --version}, in runc's shape. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"ember-oci version " + VERSION, "spec: " + SPEC_VERSION,
                    "java: " + Runtime.version()};
        }
    }

}
