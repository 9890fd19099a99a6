package dev.ember.bench;

import dev.ember.config.DevicesConfig;
import dev.ember.log.LogSink;
import dev.ember.vmm.VirtualMachine;
import dev.ember.vmm.VmConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Snapshot figures, in this JVM, for a booted default guest of each memory size: snapshot
 * creation time and file sizes, restore time to the guest's next instruction, and clones per
 * second with the resident memory each added clone costs until it writes.
 *
 * <p>Run: {@code ./ember bench snapshot [--rounds N] [--clones N] [--sizes 128,1024]}. Each
 * memory size boots once (with the translator), waits for the shell, starts a busy loop in
 * the background (so a hart is running, not waiting for a timer tick), then per round pauses,
 * snapshots to a temporary directory, resumes; restores that snapshot into a new machine and
 * times until one of its harts retires an instruction. An idle snapshot taken before the loop
 * started feeds the clones (restored together while {@code VmRSS} of this process is sampled)
 * and the fresh-process figure ({@code ember run --restore} in a child JVM with the launcher's
 * options, until the guest answers a typed command). Last, the cost of dirty-page tracking.
 */
public final class SnapshotFigures {

    private SnapshotFigures() { }

    public static void main(String[] args) throws Exception {
        int rounds = 5;
        int clones = 10;
        List<Integer> sizes = List.of(128, 1024);
        Path guest = Path.of("guest/out");
        String emberClasspath = null;
        String emberJvmOpts = "";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--clones" -> clones = Integer.parseInt(args[++i]);
                case "--sizes" -> sizes = Arrays.stream(args[++i].split(",")).map(Integer::parseInt).toList();
                case "--guest" -> guest = Path.of(args[++i]);
                case "--ember-classpath" -> emberClasspath = args[++i];
                case "--ember-jvm-opts" -> emberJvmOpts = args[++i];
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        System.out.printf(Locale.ROOT, "load average at start: %s%n", Files.readString(Path.of("/proc/loadavg")).strip());
        for (int mib : sizes) {
            figures(guest, mib, rounds, clones, emberClasspath, emberJvmOpts);
        }
        dirtyTrackingCost(guest, rounds);
        System.out.printf(Locale.ROOT, "load average at end: %s%n", Files.readString(Path.of("/proc/loadavg")).strip());
    }

    private static void figures(Path guest, int mib, int rounds, int cloneCount, String emberClasspath, String emberJvmOpts)
            throws Exception {
        Path dir = Files.createTempDirectory("ember-snapshot-figures");
        VmConfig config = new VmConfig(1, (long) mib << 20, guest.resolve("Image"), guest.resolve("initramfs.cpio"),
                VmConfig.DEFAULT_CMDLINE, null, null, DevicesConfig.NONE, false, "figures-" + mib);
        Console console = new Console();
        List<Double> create = new ArrayList<>();
        List<Double> restore = new ArrayList<>();
        long stateBytes = 0;
        long memAllocated = 0;
        Path state = dir.resolve("vm.state");
        Path mem = dir.resolve("vm.mem");
        try (VirtualMachine vm = new VirtualMachine(config, console, LogSink.stream(new PrintStream(console, true)))) {
            Thread run = runInBackground(vm);
            console.await("ember-guest: userspace up", 300_000);
            Thread.sleep(2000);   // the shell is up
            // An idle guest at its prompt, for the fresh-process figure: nothing competes with the
            // shell that answers the typed command.
            Path idleState = dir.resolve("idle.state");
            Path idleMem = dir.resolve("idle.mem");
            vm.pause();
            vm.snapshot(idleState, idleMem);
            vm.resume();
            // A busy loop, so the snapshot catches a hart running rather than in WFI, whose next
            // instruction would wait for the guest's next timer tick.
            byte[] busy = "while :; do :; done &\n".getBytes(StandardCharsets.US_ASCII);
            vm.uart().offer(busy, 0, busy.length);
            Thread.sleep(1000);
            for (int r = 0; r < rounds; r++) {
                vm.pause();
                VirtualMachine.SnapshotInfo info = vm.snapshot(state, mem);
                vm.resume();
                create.add(info.nanos() / 1e6);
                stateBytes = info.stateBytes();
                memAllocated = allocatedBytes(mem);
                restore.add(restoreMillis(state, mem));
            }
            System.out.printf(Locale.ROOT, "%d MiB guest: snapshot/create %s ms; state file %d bytes; memory file %d MiB, "
                            + "%.1f MiB allocated (sparse)%n", mib, range(create), stateBytes, Files.size(mem) >> 20,
                    memAllocated / 1048576.0);
            System.out.printf(Locale.ROOT, "%d MiB guest: restore to the next instruction, in this JVM: %s ms%n", mib,
                    range(restore));
            clones(idleState, idleMem, mib, cloneCount);
            if (emberClasspath != null) {
                freshProcess(idleState, idleMem, mib, rounds, emberClasspath, emberJvmOpts);
            }
            vm.finish(0);
            run.join(10_000);
        } finally {
            try (var files = Files.list(dir)) {
                for (Path p : files.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    /**
     * Restores the snapshot with {@code ember run --restore} in a fresh JVM, types a command at
     * once, and times from process start until the guest's answer appears on its console.
     */
    private static void freshProcess(Path state, Path mem, int mib, int rounds, String classpath, String jvmOpts)
            throws Exception {
        List<Double> ms = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            List<String> command = new ArrayList<>();
            command.add(ProcessHandle.current().info().command().orElse("java"));
            command.addAll(Arrays.stream(jvmOpts.trim().split("\\s+")).filter(o -> !o.isEmpty()).toList());
            command.addAll(List.of("-cp", classpath, "dev.ember.server.EmberCommand", "run", "--restore", state + "," + mem));
            long start = System.nanoTime();
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().write("echo answer-$((6*7))\n".getBytes(StandardCharsets.US_ASCII));
            p.getOutputStream().flush();
            StringBuilder out = new StringBuilder();
            byte[] buf = new byte[4096];
            var in = p.getInputStream();
            int n;
            while (out.indexOf("answer-42") < 0 && (n = in.read(buf)) > 0) {
                out.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
            }
            ms.add((System.nanoTime() - start) / 1e6);
            p.destroyForcibly();
            p.waitFor();
        }
        System.out.printf(Locale.ROOT, "%d MiB guest: fresh ember process (run --restore of an idle guest) to the guest's "
                + "answer to a typed command: %s ms%n", mib, range(ms));
    }

    /**
     * The cost of dirty-page tracking: the same CPU-bound guest job (sha256 of 32 MiB made in
     * tmpfs, then a shell loop) timed on a VM without tracking, with tracking, and with tracking
     * and a Diff snapshot every second, alternating, in this JVM.
     */
    private static void dirtyTrackingCost(Path guest, int rounds) throws Exception {
        String[] modes = {"off", "on", "on + Diff every 1 s"};
        List<List<Double>> times = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        Path dir = Files.createTempDirectory("ember-dirty-cost");
        try {
            for (int r = 0; r < rounds; r++) {
                for (int m = 0; m < modes.length; m++) {
                    times.get(m).add(jobSeconds(guest, m, dir));
                }
            }
        } finally {
            try (var files = Files.list(dir)) {
                for (Path p : files.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
        }
        double base = times.get(0).stream().mapToDouble(Double::doubleValue).sorted().toArray()[rounds / 2];
        for (int m = 0; m < modes.length; m++) {
            double med = times.get(m).stream().mapToDouble(Double::doubleValue).sorted().toArray()[rounds / 2];
            System.out.printf(Locale.ROOT, "dirty-page tracking %-20s job %s s, %.2f x off%n", modes[m],
                    range(times.get(m)), med / base);
        }
    }

    private static double jobSeconds(Path guest, int mode, Path dir) throws Exception {
        VmConfig config = new VmConfig(1, 256L << 20, guest.resolve("Image"), guest.resolve("initramfs.cpio"),
                VmConfig.DEFAULT_CMDLINE, null, null, DevicesConfig.NONE, false, "dirty-" + mode);
        Console console = new Console();
        try (VirtualMachine vm = new VirtualMachine(config, console, LogSink.stream(new PrintStream(console, true)))) {
            if (mode > 0) {
                vm.trackDirtyPages();
            }
            Thread run = runInBackground(vm);
            console.await("ember-guest: userspace up", 300_000);
            Thread.sleep(1500);
            byte[] job = ("dd if=/dev/zero of=/tmp/z bs=1M count=32 2>/dev/null; sha256sum /tmp/z >/dev/null;"
                    + " i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo job-$((6*7))-done\n")
                    .getBytes(StandardCharsets.US_ASCII);
            long start = System.nanoTime();
            vm.uart().offer(job, 0, job.length);
            long nextDiff = System.nanoTime() + 1_000_000_000L;
            int k = 0;
            while (!console.contains("job-42-done")) {
                Thread.sleep(10);
                if (mode == 2 && System.nanoTime() > nextDiff) {
                    vm.pause();
                    vm.snapshot(dir.resolve("d.state"), dir.resolve("d" + (k++ % 2) + ".mem"), true);
                    vm.resume();
                    nextDiff = System.nanoTime() + 1_000_000_000L;
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            vm.finish(0);
            run.join(10_000);
            return seconds;
        }
    }

    /** Restores into a new machine, runs it, and times until a hart has retired an instruction. */
    private static double restoreMillis(Path state, Path mem) throws Exception {
        long start = System.nanoTime();
        VirtualMachine vm = VirtualMachine.restore(state, mem, c -> c.named("restored"), OutputStream.nullOutputStream(),
                LogSink.discard(), null);
        long[] before = instret(vm);
        Thread run = runInBackground(vm);
        while (Arrays.equals(before, instret(vm))) {
            Thread.onSpinWait();
        }
        double ms = (System.nanoTime() - start) / 1e6;
        vm.finish(0);
        run.join(10_000);
        vm.close();
        return ms;
    }

    private static long[] instret(VirtualMachine vm) {
        return Arrays.stream(vm.harts()).mapToLong(h -> h.instret).toArray();
    }

    private static void clones(Path state, Path mem, int mib, int n) throws Exception {
        System.gc();
        Thread.sleep(500);
        long rssBefore = rssKib();
        List<VirtualMachine> vms = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        long start = System.nanoTime();
        for (int k = 0; k < n; k++) {
            VirtualMachine vm = VirtualMachine.restore(state, mem, c -> c.named("clone-" + vms.size()),
                    OutputStream.nullOutputStream(), LogSink.discard(), null);
            vms.add(vm);
            threads.add(runInBackground(vm));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        Thread.sleep(3000);   // the idle clones run their timers and shells
        System.gc();
        Thread.sleep(500);
        long rssAfter = rssKib();
        System.out.printf(Locale.ROOT, "%d MiB guest: %d clones of an idle guest in %.3f s (%.0f clones/s); resident memory "
                        + "%+.1f MiB in all, %.2f MiB per clone after 3 s%n", mib, n, seconds, n / seconds, (rssAfter - rssBefore) / 1024.0,
                (rssAfter - rssBefore) / 1024.0 / n);
        for (VirtualMachine vm : vms) {
            vm.finish(0);
        }
        for (Thread t : threads) {
            t.join(10_000);
        }
        vms.forEach(VirtualMachine::close);
    }

    /** {@return a started thread that runs {@code vm} until it stops} */
    private static Thread runInBackground(VirtualMachine vm) {
        return Thread.ofPlatform().start(() -> {
            try {
                vm.run();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    private static long rssKib() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    private static long allocatedBytes(Path file) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("stat", "-c", "%b", file.toString()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
        p.waitFor();
        return Long.parseLong(out) * 512;
    }

    private static String range(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return String.format(Locale.ROOT, "median %.1f (%.1f to %.1f, %d runs)", v[v.length / 2], v[0], v[v.length - 1],
                v.length);
    }

    /** Console text, for waiting on the guest. */
    private static final class Console extends ByteArrayOutputStream {
        synchronized boolean contains(String text) {
            return toString(StandardCharsets.UTF_8).contains(text);
        }

        synchronized void await(String text, long millis) throws InterruptedException {
            long deadline = System.currentTimeMillis() + millis;
            while (!toString(StandardCharsets.UTF_8).contains(text)) {
                long left = deadline - System.currentTimeMillis();
                if (left <= 0) {
                    throw new IllegalStateException("no '" + text + "' from the guest");
                }
                wait(Math.min(left, 100));
            }
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            super.write(b, off, len);
            notifyAll();
        }

        @Override
        public synchronized void write(int b) {
            super.write(b);
            notifyAll();
        }
    }
}
