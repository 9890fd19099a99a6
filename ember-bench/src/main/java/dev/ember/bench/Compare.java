package dev.ember.bench;

import dev.ember.bench.CompareOptions.UsageException;
import dev.ember.bench.GuestConsole.ConsoleException;
import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The end-to-end comparison: boots the same guest under Ember, once per execution engine, and
 * under QEMU, alternately, and reports medians and each engine's ratio to QEMU.
 *
 * <h2>Running it</h2>
 * {@code ./ember bench [--rounds N] [--vcpus N] [--kernel K] [--initrd I] [--only ember|qemu]
 * [--engines jit,interp] [--jit-threshold N] [--devices | --warmup [--seconds N]]
 * [--timeout S]} builds Ember, builds the default guest and runs this class (see
 * {@code scripts/bench.sh}); {@link CompareOptions#USAGE} lists every option.
 *
 * <h2>What runs</h2>
 * The columns ({@link Vmm}) are Ember on each engine of {@code --engines} ({@code ember-jit},
 * {@code ember-interp}) and QEMU. All boot the same kernel {@code Image} and initramfs with the
 * same memory (512M), the same number of vCPUs and the same command line
 * ({@code console=ttyS0}), with the serial console on the child process's stdin and stdout:
 * <ul>
 *   <li>Ember: {@code java [the launcher's JVM options] -XX:+PrintCodeCache
 *       -XX:+DisplayVMOutputToStderr -cp ... dev.ember.server.EmberCommand run --engine E
 *       [--jit-threshold N] --engine-stats --kernel K --initrd I --append console=ttyS0
 *       --vcpus N --memory 512M}, with its built-in SBI. The JVM is started directly, not
 *       through {@code ./ember}, so the launcher's JDK probe and build check are not timed;
 *       JVM start-up is.</li>
 *   <li>QEMU: {@code qemu-system-riscv64 -M virt -nographic -m 512M -smp N -kernel K -initrd I
 *       -append console=ttyS0}, with QEMU's default firmware, OpenSBI ({@code -bios default}),
 *       and TCG.</li>
 * </ul>
 * Each round boots each column twice, in column order (Ember's engines, then QEMU) each time:
 * a <em>boot run</em> and a <em>workload run</em>. Between runs nothing else is shared: every
 * run is a fresh process.
 *
 * <h2>What is measured</h2>
 * All times are host wall-clock, from {@link System#nanoTime()} just before the process is
 * started; console output is stamped by a reader thread as it arrives ({@link GuestConsole}).
 * <ul>
 *   <li>Boot run: until {@code ember-guest: userspace up} (the first userspace line), until the
 *       shell prompt, and until the process exits after {@code poweroff} is typed the moment
 *       the prompt appears; also the shutdown alone (poweroff typed to exit).</li>
 *   <li>Workload run: each {@link Workload} typed at the prompt in turn (the first one makes
 *       the second one's input); host-observed time is from the line being written to the
 *       pipe until its {@code @@DONE-n@@} marker arrives, with nothing subtracted (it
 *       includes the console round trip, a few echoes and two reads of {@code /proc/uptime}).
 *       The guest-observed time is the difference of two {@code /proc/uptime} readings around
 *       the job, 10 ms resolution, on the guest's clock.</li>
 *   <li>After every Ember run, from the process's stderr ({@link EngineReport}): the engine's
 *       statistics ({@code --engine-stats}: instructions interpreted and translated, regions
 *       translated, invalidated and live, their bytecode, translation time) and the JVM's code
 *       cache in use at exit. After a boot run these describe a boot to the prompt.</li>
 * </ul>
 * Answers (hashes, byte counts) must agree between all runs of all columns.
 *
 * <h2>Devices ({@code --devices})</h2>
 * Instead of the boot and workload runs, each round boots each column once with no initramfs,
 * the root file system on virtio-blk and a user-mode network:
 * <ul>
 *   <li>Ember: {@code ... run --engine E ... --kernel K --append console=ttyS0 --vcpus N --memory 512M
 *       --drive path=ROOT,root --drive path=SCRATCH,id=scratch --net user} (Ember appends
 *       {@code root=/dev/vda rw} for its root drive).</li>
 *   <li>QEMU: {@code ... -kernel K -append "console=ttyS0 root=/dev/vda rw"}, two
 *       {@code virtio-blk-device}s on {@code -drive ...,format=raw,if=none} (root first) and a
 *       {@code virtio-net-device} on {@code -netdev user}.</li>
 * </ul>
 * ROOT is a fresh copy of {@code --rootfs} and SCRATCH a fresh 160 MiB sparse file, made
 * before every boot and deleted after it. A setup step checks, untimed, that the guest's root
 * is vda, that vdb is the scratch disk and that eth0 has its DHCP lease; then each
 * {@link DeviceWorkload} runs, its answer checked against the known one, and its time turned
 * into MB/s (10^6 bytes per second) by the guest's clock and by the host's. The TCP workloads
 * talk to {@link TcpPeers} on the host's 127.0.0.1, which the guest reaches as 10.0.2.2.
 *
 * <h2>Warm-up ({@code --warmup})</h2>
 * Instead of the boot and workload runs, each round boots each column once from the
 * initramfs and types the {@link WarmupJob} the moment the prompt appears; the arrival times
 * of its progress lines become guest speed (units per second) in each second of the next
 * {@code --seconds} (30 by default), reported per second with each engine's ratio to QEMU.
 *
 * <h2>Failure</h2>
 * Every wait is bounded ({@code --timeout}, 300 s by default). On a timeout, early exit,
 * non-zero exit status or wrong answer the harness kills the child and its descendants, prints
 * the tail of the console and the log's path, prints what it measured so far, and exits 1.
 * Console logs of every run are kept in {@code ember-bench/target/compare-logs/}
 * ({@code NAME.log}, and the process's stderr in {@code NAME.stderr.log}). Exit status: 0 when
 * every run succeeded, 1 when one failed, 2 for a usage error.
 *
 * <p>Everything runs on the main thread, one VM at a time; the only other threads are the
 * console readers.
 */
public final class Compare {

    /** The {@code --only} value that selects every Ember engine. */
    static final String EMBER = "ember";
    static final String QEMU = "qemu";
    static final String USERSPACE_MARKER = "ember-guest: userspace up";
    /** The end of the shell prompt {@code ~ # } (PS1 {@code '\w \$ '}). */
    static final String PROMPT = "# ";
    /** The JVM options of the {@code ember} launcher ({@code JAVA_OPTS_DEFAULT} in scripts/lib.sh). */
    static final List<String> DEFAULT_EMBER_JVM_OPTS =
            List.of("--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC", "-Xss4m");
    /** How long the stderr of an exited process may take to drain. */
    private static final Duration STDERR_DRAIN = Duration.ofSeconds(10);

    private static final Results.Metric USERSPACE = new Results.Metric("userspace", "boot: start to first userspace line");
    private static final Results.Metric PROMPT_SEEN = new Results.Metric("prompt", "boot: start to shell prompt");
    private static final Results.Metric POWEROFF = new Results.Metric("poweroff", "boot: start to exit after poweroff");
    private static final Results.Metric SHUTDOWN = new Results.Metric("shutdown", "boot: poweroff typed to exit");
    private static final Results.Metric DISK_PROMPT =
            new Results.Metric("disk-prompt", "boot from virtio-blk: start to shell prompt");
    private static final Results.Metric WARMUP_PROMPT = new Results.Metric("warmup-prompt", "warm-up: start to shell prompt");
    private static final Results.Metric WARMUP_FIRST =
            new Results.Metric("warmup-first", "warm-up: job typed to first unit done");

    /** A run that failed; the message says which VMM, which step and why. */
    static final class RunFailure extends Exception {
        RunFailure(String message) {
            super(message);
        }
    }

    private final CompareOptions options;
    private final PrintStream out;
    private final List<Vmm> vmms;
    private final Results results;
    /** Answers per workload and column, checked for agreement at the end. */
    private final Map<String, Map<Vmm, Set<String>>> answers = new LinkedHashMap<>();
    private final Set<GuestConsole> live = ConcurrentHashMap.newKeySet();
    /** The host ends of the TCP workloads; only with {@code --devices}. */
    private TcpPeers peers;
    private List<DeviceWorkload> deviceWorkloads = List.of();
    /** The warm-up job's expected hashes, and each warm-up run's units per second, round 1 first. */
    private final WarmupJob warmupJob = new WarmupJob();
    private final Map<Vmm, List<double[]>> warmupCurves = new LinkedHashMap<>();

    /** The disks of one device run: a copy of the root image and the scratch file. */
    private record Disks(Path root, Path scratch) {}

    private Compare(CompareOptions options, PrintStream out) {
        this.options = options;
        this.out = out;
        this.vmms = options.vmms();
        this.results = new Results(vmms);
    }

    public static void main(String[] args) throws InterruptedException {
        CompareOptions options;
        try {
            options = CompareOptions.parse(args);
        } catch (UsageException e) {
            if (!e.getMessage().isEmpty()) {
                System.err.println("compare: " + e.getMessage());
            }
            System.err.print(CompareOptions.USAGE);
            System.exit(e.getMessage().isEmpty() ? 0 : 2);
            return;
        }
        System.exit(new Compare(options, System.out).run());
    }

    private int run() throws InterruptedException {
        Thread killer = new Thread(() -> live.forEach(GuestConsole::close));
        Runtime.getRuntime().addShutdownHook(killer);
        if (options.devices()) {
            try {
                peers = TcpPeers.start(DeviceWorkload.TCP_RX_MIB * DeviceWorkload.MIB);
            } catch (IOException e) {
                System.err.println("compare: cannot listen on 127.0.0.1 for the TCP workloads: " + e.getMessage());
                return 1;
            }
            deviceWorkloads = DeviceWorkload.all(peers);
        }
        printHeader();
        String failure = null;
        try {
            for (int round = 1; round <= options.rounds(); round++) {
                if (options.devices()) {
                    for (Vmm vmm : vmms) {
                        deviceRun(vmm, round);
                    }
                } else if (options.warmup()) {
                    for (Vmm vmm : vmms) {
                        warmupRun(vmm, round);
                    }
                } else {
                    for (Vmm vmm : vmms) {
                        bootRun(vmm, round);
                    }
                    for (Vmm vmm : vmms) {
                        workloadRun(vmm, round);
                    }
                }
            }
            failure = checkAnswers();
        } catch (RunFailure e) {
            failure = e.getMessage();
        } finally {
            if (peers != null) {
                peers.close();
            }
        }
        out.println();
        out.println("load average at end: " + loadAverage());
        printReport();
        Runtime.getRuntime().removeShutdownHook(killer);
        if (failure != null) {
            out.flush();
            System.err.println();
            System.err.println("compare: FAILED: " + failure);
            return 1;
        }
        return 0;
    }

    private void printReport() {
        String rounds = options.rounds() + " round(s)";
        if (results.has(Results.Kind.SECONDS)) {
            out.println();
            out.println("== Times, medians over " + rounds + "; a ratio above 1 means Ember is slower ==");
            results.printTable(out, Results.Kind.SECONDS, "metric (seconds, median)");
        }
        if (results.has(Results.Kind.RATE)) {
            out.println();
            out.println("== Rates, medians over " + rounds + (options.devices() ? "; MB/s = 10^6 bytes/s" : "")
                    + "; a ratio below 1 means Ember is slower ==");
            results.printTable(out, Results.Kind.RATE, "metric (median)");
        }
        if (!warmupCurves.isEmpty()) {
            out.println();
            out.println("== Warm-up: guest speed in each second after the prompt, units/s (one unit: a 128 KiB "
                    + "sha256 link), medians over " + rounds + "; a ratio below 1 means Ember is slower ==");
            printWarmupCurve();
        }
        if (results.has(Results.Kind.ENGINE)) {
            out.println();
            out.println("== Ember's engines at exit (--engine-stats; the JVM's code cache), medians over " + rounds + " ==");
            results.printTable(out, Results.Kind.ENGINE, "figure (median)");
        }
        if (!results.isEmpty()) {
            out.println();
            out.println("== Raw samples, round 1 first ==");
            results.printRaw(out);
        }
        warmupCurves.forEach((vmm, curves) -> {
            for (int r = 0; r < curves.size(); r++) {
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT,
                        "warm-up: units/s in seconds 0-1, 1-2, ...  %-12s  r%d", vmm.name(), r + 1));
                for (double v : curves.get(r)) {
                    line.append(Double.isNaN(v) ? "  -" : String.format(Locale.ROOT, "  %.2f", v));
                }
                out.println(line);
            }
        });
    }

    private void printWarmupCurve() {
        List<Vmm> ratios = vmms.contains(Vmm.QEMU) ? vmms.stream().filter(Vmm::isEmber).toList() : List.of();
        StringBuilder head = new StringBuilder("second");
        vmms.forEach(v -> head.append(String.format(Locale.ROOT, "  %12s", v.name())));
        ratios.forEach(v -> head.append(String.format(Locale.ROOT, "  %11s", v.ratioHeading())));
        out.println(head);
        out.println("-".repeat(head.length()));
        for (int k = 0; k < options.warmupSeconds(); k++) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%-6s", k + "-" + (k + 1)));
            Map<Vmm, Double> medians = new LinkedHashMap<>();
            for (Vmm v : vmms) {
                int second = k;
                double m = Results.median(warmupCurves.getOrDefault(v, List.of()).stream().map(c -> c[second]).toList());
                medians.put(v, m);
                row.append(String.format(Locale.ROOT, "  %12s", Double.isNaN(m) ? "-" : String.format(Locale.ROOT, "%.2f", m)));
            }
            ratios.forEach(v -> row.append(String.format(Locale.ROOT, "  %11s", Results.ratio(medians.get(v),
                    medians.get(Vmm.QEMU)))));
            out.println(row);
        }
    }

    private void printHeader() {
        out.println("== Ember (" + String.join(", ", options.engines()) + ") vs QEMU: same guest, same machine, "
                + "alternating runs ==");
        out.println("kernel:       " + options.kernel());
        if (options.cpuFeatures() != null) {
            out.println("cpu:          " + (options.cpuFeatures().hypervisor()
                    ? "H extension on (Ember --cpu-features +h, QEMU -cpu rv64,h=on)"
                    : "H extension off (QEMU -cpu rv64,h=off)"));
        }
        Disks disks = null;
        if (options.devices()) {
            disks = disks();
            out.println("rootfs:       " + options.rootfs() + " (a fresh copy per boot, vda, the root; "
                    + DeviceWorkload.SCRATCH_BYTES / DeviceWorkload.MIB + " MiB sparse scratch file, vdb)");
        } else {
            out.println("initrd:       " + options.initrd());
        }
        out.println("machine:      " + options.vcpus() + " vCPU(s), " + options.memory() + ", cmdline '" + options.cmdline() + "'"
                + (options.devices() ? " + root=/dev/vda rw (Ember appends it for its root drive)" : ""));
        boolean first = true;
        for (Vmm vmm : vmms) {
            String command = String.join(" ", command(vmm, disks));
            if (vmm.isEmber()) {
                out.printf("%-14s%s   (built-in SBI)%n", vmm.name() + ":", command);
                if (first) {
                    out.println(" ".repeat(14) + "JVM " + System.getProperty("java.vm.name") + " "
                            + System.getProperty("java.vm.version"));
                    first = false;
                }
            } else {
                out.printf("%-14s%s   (firmware: QEMU's default OpenSBI, TCG)%n", vmm.name() + ":", command);
                out.println(" ".repeat(14) + qemuVersion());
            }
        }
        out.println("host:         " + Runtime.getRuntime().availableProcessors() + " CPUs, load average at start: " + loadAverage());
        String order = vmms.stream().map(Vmm::name).reduce((a, b) -> a + ", " + b).orElse("");
        if (options.devices()) {
            out.println("rounds:       " + options.rounds() + " (each: one device run per column: " + order + ")");
            out.println("tcp:          host peers on 127.0.0.1 (the guest's " + DeviceWorkload.HOST_IP + "): source port "
                    + peers.sourcePort() + " sends " + DeviceWorkload.TCP_RX_MIB + " MiB per connection, sink port "
                    + peers.sinkPort() + " counts and replies");
        } else if (options.warmup()) {
            out.println("rounds:       " + options.rounds() + " (each: one warm-up run per column: " + order + ")");
        } else {
            out.println("rounds:       " + options.rounds() + " (each: boot runs, then workload runs; " + order + ")");
        }
        out.println("timeout:      " + options.timeout().toSeconds() + " s per wait; console logs in " + options.logDir());
        if (options.warmup()) {
            out.println("warm-up:      typed at the prompt; " + WarmupJob.description() + ", for "
                    + options.warmupSeconds() + " s (+" + WarmupJob.GUEST_MARGIN_SECONDS + " s) by the guest's clock; "
                    + "units/s per second of host time after the line is typed, interpolated between line arrivals; "
                    + "every hash checked against the host's");
        } else {
            out.println("workloads, in this order in one boot (host: line sent -> marker seen; guest: /proc/uptime):");
        }
        if (options.devices()) {
            out.println("  " + DeviceWorkload.SETUP_KEY + ": untimed: wait for eth0's lease; check root = vda, "
                    + "vdb = scratch, drop_caches present");
            for (DeviceWorkload w : deviceWorkloads) {
                out.println("  " + w.key() + ": " + w.description());
            }
        } else if (!options.warmup()) {
            for (Workload w : Workload.ALL) {
                out.println("  " + w.key() + ": " + w.description());
            }
        }
        out.println();
        out.flush();
    }

    /** {@return the command that boots {@code vmm}: from the initramfs, or from {@code disks} when not null} */
    private List<String> command(Vmm vmm, Disks disks) {
        List<String> c = new ArrayList<>();
        String mem = options.memory(), smp = Integer.toString(options.vcpus());
        String k = options.kernel().toString();
        if (vmm.isEmber()) {
            c.addAll(options.emberCommand());
            c.addAll(List.of("run", "--engine", vmm.engine()));
            if (options.jitThreshold() != null && vmm.engine().equals("jit")) {
                c.addAll(List.of("--jit-threshold", options.jitThreshold().toString()));
            }
            c.add("--engine-stats");
            if (options.cpuFeatures() != null) {
                c.add("--cpu-features=" + (options.cpuFeatures().hypervisor() ? "+h" : "-h"));
            }
        }
        List<String> qemuCpu = options.cpuFeatures() == null ? List.of()
                : List.of("-cpu", "rv64,h=" + (options.cpuFeatures().hypervisor() ? "on" : "off"));
        if (disks == null) {
            String i = options.initrd().toString();
            if (vmm.isEmber()) {
                c.addAll(List.of("--kernel", k, "--initrd", i, "--append", options.cmdline(),
                        "--vcpus", smp, "--memory", mem));
            } else {
                c.addAll(List.of(options.qemu(), "-M", "virt", "-nographic", "-m", mem, "-smp", smp,
                        "-kernel", k, "-initrd", i, "-append", options.cmdline()));
                c.addAll(qemuCpu);
            }
            return c;
        }
        if (vmm.isEmber()) {
            c.addAll(List.of("--kernel", k, "--append", options.cmdline(), "--vcpus", smp, "--memory", mem,
                    "--drive", "path=" + disks.root() + ",root", "--drive", "path=" + disks.scratch() + ",id=scratch",
                    "--net", "user"));
        } else {
            // The first virtio-blk-device becomes vda on QEMU's virt machine too; the setup step checks it.
            c.addAll(List.of(options.qemu(), "-M", "virt", "-nographic", "-m", mem, "-smp", smp,
                    "-kernel", k, "-append", options.cmdline() + " root=/dev/vda rw",
                    "-drive", "file=" + disks.root() + ",format=raw,if=none,id=d0", "-device", "virtio-blk-device,drive=d0",
                    "-drive", "file=" + disks.scratch() + ",format=raw,if=none,id=d1", "-device", "virtio-blk-device,drive=d1",
                    "-netdev", "user,id=n0", "-device", "virtio-net-device,netdev=n0"));
            c.addAll(qemuCpu);
        }
        return c;
    }

    /** {@return where the device runs' disks live: one root copy and one scratch file, reused by name} */
    private Disks disks() {
        Path dir = options.logDir().toAbsolutePath().normalize().resolveSibling("compare-disks");
        return new Disks(dir.resolve("root.ext4"), dir.resolve("scratch.img"));
    }

    /** Boots, types {@code poweroff} at the first prompt and times the way to exit. */
    private void bootRun(Vmm vmm, int round) throws RunFailure, InterruptedException {
        String name = vmm + "-r" + round + "-boot";
        try (GuestConsole console = start(vmm, name)) {
            try {
                Duration t = options.timeout();
                GuestConsole.Match up = console.await(USERSPACE_MARKER, t);
                GuestConsole.Match prompt = console.await(PROMPT, t);
                long sent = console.sendLine("poweroff");
                long exited = console.awaitExit(t);
                checkExit(console, name);
                results.add(USERSPACE, vmm, console.sinceStart(up.nanos()));
                results.add(PROMPT_SEEN, vmm, console.sinceStart(prompt.nanos()));
                results.add(POWEROFF, vmm, console.sinceStart(exited));
                results.add(SHUTDOWN, vmm, (exited - sent) / 1e9);
                progress(name, String.format(Locale.ROOT, "userspace %.3f s, prompt %.3f s, exit after poweroff %.3f s",
                        console.sinceStart(up.nanos()), console.sinceStart(prompt.nanos()), console.sinceStart(exited))
                        + engineReport(console, vmm, "boot", "after boot"));
            } catch (ConsoleException | IOException e) {
                throw failure(console, name, e.getMessage());
            } finally {
                saveLog(console, name);
            }
        }
    }

    /** Boots, runs every workload at the prompt in turn, then powers off. */
    private void workloadRun(Vmm vmm, int round) throws RunFailure, InterruptedException {
        String name = vmm + "-r" + round + "-work";
        try (GuestConsole console = start(vmm, name)) {
            try {
                Duration t = options.timeout();
                console.await(USERSPACE_MARKER, t);
                console.await(PROMPT, t);
                StringBuilder summary = new StringBuilder();
                int n = 1;
                for (Workload w : Workload.ALL) {
                    Step step = step(console, name, w.key(), w.commandLine(n), n, t);
                    String answer = step.answer();
                    answers.computeIfAbsent(w.key(), k -> new LinkedHashMap<>())
                            .computeIfAbsent(vmm, k -> new LinkedHashSet<>()).add(answer);
                    double host = step.hostSeconds();
                    double guest = step.guestSeconds();
                    results.add(new Results.Metric(w.key() + "-host", w.key() + ": host-observed"), vmm, host);
                    results.add(new Results.Metric(w.key() + "-guest", w.key() + ": guest-observed (/proc/uptime)"), vmm, guest);
                    summary.append(String.format(Locale.ROOT, "%s %.3f s (guest %.2f)  ", w.key(), host, guest));
                    console.await(PROMPT, t);
                    n++;
                }
                console.sendLine("poweroff");
                console.awaitExit(t);
                checkExit(console, name);
                progress(name, summary.toString().strip() + engineReport(console, vmm, "work", "after the workloads"));
            } catch (ConsoleException | IOException e) {
                throw failure(console, name, e.getMessage());
            } finally {
                saveLog(console, name);
            }
        }
    }

    /**
     * Boots, types the warm-up job at the first prompt, turns its progress lines into units per
     * second, then powers off.
     */
    private void warmupRun(Vmm vmm, int round) throws RunFailure, InterruptedException {
        String name = vmm + "-r" + round + "-warmup";
        try (GuestConsole console = start(vmm, name)) {
            try {
                Duration t = options.timeout();
                console.await(USERSPACE_MARKER, t);
                GuestConsole.Match prompt = console.await(PROMPT, t);
                int seconds = options.warmupSeconds();
                int from = console.cursor();
                Workload job = new Workload(WarmupJob.KEY, WarmupJob.description(), WarmupJob.script(seconds));
                long sent = console.sendLine(job.commandLine(1));
                GuestConsole.Match done = console.await(Workload.marker(1),
                        t.plusSeconds(seconds + WarmupJob.GUEST_MARGIN_SECONDS));
                List<WarmupJob.Progress> lines = WarmupJob.progress(console, from, done.start());
                String wrong = warmupJob.check(lines);
                if (wrong != null) {
                    throw failure(console, name, WarmupJob.KEY + ": " + wrong);
                }
                if (lines.isEmpty()) {
                    throw failure(console, name, WarmupJob.KEY + ": no unit finished");
                }
                String answer = Workload.answer(console.text(from, done.start()));
                String last = lines.getLast().unit() + " " + lines.getLast().hash();
                if (!last.equals(answer)) {
                    throw failure(console, name, WarmupJob.KEY + " answered '" + answer + "', its last line was '" + last + "'");
                }
                double[] curve = WarmupJob.unitsPerSecond(lines, sent, seconds);
                warmupCurves.computeIfAbsent(vmm, k -> new ArrayList<>()).add(curve);
                double inWindow = WarmupJob.finishedBy(lines, sent, seconds);
                double lastFive = inWindow - WarmupJob.finishedBy(lines, sent, Math.max(0, seconds - 5));
                results.add(WARMUP_PROMPT, vmm, console.sinceStart(prompt.nanos()));
                results.add(WARMUP_FIRST, vmm, (lines.getFirst().nanos() - sent) / 1e9);
                results.add(Results.Metric.rate("warmup-rate", "warm-up: units/s over the first " + seconds + " s"), vmm,
                        inWindow / seconds);
                results.add(Results.Metric.rate("warmup-rate-end", "warm-up: units/s in seconds " + Math.max(0, seconds - 5)
                        + "-" + seconds), vmm, lastFive / Math.min(5, seconds));
                console.await(PROMPT, t);
                console.sendLine("poweroff");
                console.awaitExit(t);
                checkExit(console, name);
                progress(name, String.format(Locale.ROOT, "prompt %.3f s, first unit %.3f s after it, %.1f units in %d s, "
                                + "%d in all", console.sinceStart(prompt.nanos()), (lines.getFirst().nanos() - sent) / 1e9,
                        inWindow, seconds, lines.size()) + engineReport(console, vmm, "warmup", "after the warm-up"));
            } catch (ConsoleException | IOException e) {
                throw failure(console, name, e.getMessage());
            } finally {
                saveLog(console, name);
            }
        }
    }

    /**
     * Records Ember's engine statistics and code cache size from the stderr of the exited
     * process; {@return a suffix for the progress line}, empty for QEMU.
     */
    private String engineReport(GuestConsole console, Vmm vmm, String key, String phase) throws InterruptedException {
        if (!vmm.isEmber()) {
            return "";
        }
        EngineReport report = EngineReport.parse(console.errorsAfterExit(STDERR_DRAIN));
        report.addTo(results, vmm, key, phase);
        return "; " + report.summary();
    }

    /** What one typed job printed and how long it took. */
    private record Step(String answer, double hostSeconds, double guestSeconds) {}

    /**
     * Types {@code line} (which ends with the marker {@code @@DONE-n@@}) and waits up to
     * {@code timeout} for the marker; the caller then waits for the prompt.
     */
    private Step step(GuestConsole console, String name, String key, String line, int n, Duration timeout)
            throws RunFailure, ConsoleException, IOException, InterruptedException {
        int from = console.cursor();
        long sent = console.sendLine(line);
        GuestConsole.Match done = console.await(Workload.marker(n), timeout);
        String output = console.text(from, done.start());
        if (output.contains("unhandled signal") || output.contains("Illegal instruction")
                || output.contains("Segmentation fault")) {
            throw failure(console, name, key + ": a guest process died (see the kernel's message)");
        }
        String answer = Workload.answer(output);
        if (answer == null) {
            throw failure(console, name, key + " printed no answer (@@R=...)");
        }
        return new Step(answer, (done.nanos() - sent) / 1e9, Workload.guestSeconds(output));
    }

    /**
     * Boots from fresh disks with the network attached, checks what the guest sees, runs every
     * device workload in turn, then powers off.
     */
    private void deviceRun(Vmm vmm, int round) throws RunFailure, InterruptedException {
        String name = vmm + "-r" + round + "-devices";
        Disks disks = freshDisks(name);
        try (GuestConsole console = start(vmm, name, disks)) {
            try {
                Duration t = options.timeout();
                console.await(USERSPACE_MARKER, t);
                GuestConsole.Match prompt = console.await(PROMPT, t);
                results.add(DISK_PROMPT, vmm, console.sinceStart(prompt.nanos()));
                int n = 1;
                Step setup = step(console, name, DeviceWorkload.SETUP_KEY, DeviceWorkload.setupLine(n), n, t);
                String wrong = DeviceWorkload.checkSetup(setup.answer(), Files.size(options.rootfs()));
                if (wrong != null) {
                    throw failure(console, name, DeviceWorkload.SETUP_KEY + ": " + wrong);
                }
                answers.computeIfAbsent(DeviceWorkload.SETUP_KEY, k -> new LinkedHashMap<>())
                        .computeIfAbsent(vmm, k -> new LinkedHashSet<>()).add(setup.answer());
                console.await(PROMPT, t);
                n++;
                StringBuilder summary = new StringBuilder();
                for (DeviceWorkload w : deviceWorkloads) {
                    Step step = step(console, name, w.key(), w.commandLine(n), n, t);
                    if (!step.answer().equals(w.expected())) {
                        throw failure(console, name, w.key() + " answered '" + step.answer() + "', expected '"
                                + w.expected() + "'");
                    }
                    answers.computeIfAbsent(w.key(), k -> new LinkedHashMap<>())
                            .computeIfAbsent(vmm, k -> new LinkedHashSet<>()).add(step.answer());
                    double guestRate = megabytesPerSecond(w.bytes(), step.guestSeconds());
                    double hostRate = megabytesPerSecond(w.bytes(), step.hostSeconds());
                    results.add(new Results.Metric(w.key() + "-host", w.key() + ": host-observed"), vmm, step.hostSeconds());
                    results.add(new Results.Metric(w.key() + "-guest", w.key() + ": guest-observed (/proc/uptime)"), vmm,
                            step.guestSeconds());
                    results.add(Results.Metric.rate(w.key() + "-mbps-guest", w.key() + ": MB/s by guest clock"), vmm,
                            guestRate);
                    results.add(Results.Metric.rate(w.key() + "-mbps-host", w.key() + ": MB/s by host clock"), vmm,
                            hostRate);
                    summary.append(String.format(Locale.ROOT, "%s %.1f MB/s (%.2f s)  ", w.key(), guestRate,
                            step.guestSeconds()));
                    console.await(PROMPT, t);
                    n++;
                }
                console.sendLine("poweroff");
                console.awaitExit(t);
                checkExit(console, name);
                progress(name, String.format(Locale.ROOT, "prompt %.3f s  ", console.sinceStart(prompt.nanos()))
                        + summary.toString().strip() + engineReport(console, vmm, "devices", "after the device workloads"));
            } catch (ConsoleException | IOException e) {
                throw failure(console, name, e.getMessage());
            } finally {
                saveLog(console, name);
                deleteDisks(disks);
            }
        }
    }

    /** {@return 10^6 bytes per second, or NaN when the time is not positive (below the clock's resolution)} */
    private static double megabytesPerSecond(long bytes, double seconds) {
        return seconds > 0 ? bytes / 1e6 / seconds : Double.NaN;
    }

    /** Copies the root image and creates an empty sparse scratch file, replacing the last run's. */
    private Disks freshDisks(String name) throws RunFailure {
        Disks d = disks();
        try {
            Files.createDirectories(d.root().getParent());
            deleteDisks(d);
            Files.copy(options.rootfs(), d.root());
            try (RandomAccessFile f = new RandomAccessFile(d.scratch().toFile(), "rw")) {
                f.setLength(DeviceWorkload.SCRATCH_BYTES);
            }
            return d;
        } catch (IOException e) {
            throw new RunFailure(name + ": cannot prepare the disks in " + d.root().getParent() + ": " + e);
        }
    }

    private static void deleteDisks(Disks d) {
        try {
            Files.deleteIfExists(d.root());
            Files.deleteIfExists(d.scratch());
        } catch (IOException e) {
            System.err.println("compare: cannot delete " + d.root().getParent() + "'s disks: " + e.getMessage());
        }
    }

    private GuestConsole start(Vmm vmm, String name) throws RunFailure {
        return start(vmm, name, null);
    }

    private GuestConsole start(Vmm vmm, String name, Disks disks) throws RunFailure {
        List<String> command = command(vmm, disks);
        try {
            GuestConsole console = GuestConsole.start(name, command);
            live.add(console);
            return console;
        } catch (IOException e) {
            throw new RunFailure(name + ": cannot start " + command.getFirst() + ": " + e.getMessage());
        }
    }

    private void checkExit(GuestConsole console, String name) throws RunFailure {
        if (console.exitValue() != 0) {
            throw failure(console, name, "exited with status " + console.exitValue() + " after poweroff");
        }
    }

    private RunFailure failure(GuestConsole console, String name, String why) {
        Path log = options.logDir().resolve(name + ".log");
        String errors = console.errors();
        return new RunFailure(why + "\n--- last console output of " + name + " ---\n" + console.tail(2000)
                + (errors.isBlank() ? "" : "\n--- last stderr of " + name + " ---\n"
                        + errors.substring(Math.max(0, errors.length() - 2000)))
                + "\n--- full console log: " + log + " (stderr: " + errorLog(name) + ")");
    }

    private Path errorLog(String name) {
        return options.logDir().resolve(name + ".stderr.log");
    }

    private void saveLog(GuestConsole console, String name) {
        live.remove(console);
        console.close();
        try {
            console.saveLog(options.logDir().resolve(name + ".log"), errorLog(name));
        } catch (IOException e) {
            System.err.println("compare: cannot write the console log of " + name + ": " + e.getMessage());
        }
    }

    private void progress(String name, String what) {
        out.printf("%-22s %s%n", name, what);
        out.flush();
    }

    /** {@return null when every workload gave one answer in every column, else what differs} */
    private String checkAnswers() {
        for (var e : answers.entrySet()) {
            Set<String> all = new LinkedHashSet<>();
            e.getValue().values().forEach(all::addAll);
            if (all.size() > 1) {
                return "workload " + e.getKey() + " gave different answers: " + e.getValue();
            }
        }
        answers.forEach((k, v) -> out.println("answer " + k + ": " + v.values().iterator().next().iterator().next()
                + " (all runs agree)"));
        return null;
    }

    private String qemuVersion() {
        try {
            Process p = new ProcessBuilder(options.qemu(), "--version").redirectErrorStream(true).start();
            String v = new String(p.getInputStream().readAllBytes()).lines().findFirst().orElse("?");
            p.waitFor();
            return v;
        } catch (IOException e) {
            return "QEMU version unknown: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "?";
        }
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }
}
