package dev.ember.bench;

import dev.ember.config.DevicesConfig;
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
 * times until one of its harts retires an instruction; the clones are restored from the last
 * snapshot and run together while {@code VmRSS} of this process is sampled.
 */
public final class SnapshotFigures {

    private SnapshotFigures() { }

    public static void main(String[] args) throws Exception {
        int rounds = 5;
        int clones = 10;
        List<Integer> sizes = List.of(128, 1024);
        Path guest = Path.of("guest/out");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--clones" -> clones = Integer.parseInt(args[++i]);
                case "--sizes" -> sizes = Arrays.stream(args[++i].split(",")).map(Integer::parseInt).toList();
                case "--guest" -> guest = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        System.out.printf(Locale.ROOT, "load average at start: %s%n", Files.readString(Path.of("/proc/loadavg")).strip());
        for (int mib : sizes) {
            figures(guest, mib, rounds, clones);
        }
        System.out.printf(Locale.ROOT, "load average at end: %s%n", Files.readString(Path.of("/proc/loadavg")).strip());
    }

    private static void figures(Path guest, int mib, int rounds, int cloneCount) throws Exception {
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
        try (VirtualMachine vm = new VirtualMachine(config, console, new PrintStream(console, true))) {
            Thread run = Thread.ofPlatform().start(() -> {
                try {
                    vm.run();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            console.await("ember-guest: userspace up", 300_000);
            Thread.sleep(2000);   // the shell is up
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
            clones(state, mem, mib, cloneCount);
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

    /** Restores into a new machine, runs it, and times until a hart has retired an instruction. */
    private static double restoreMillis(Path state, Path mem) throws Exception {
        long start = System.nanoTime();
        VirtualMachine vm = VirtualMachine.restore(state, mem, c -> c.named("restored"), OutputStream.nullOutputStream(),
                new PrintStream(OutputStream.nullOutputStream()), null);
        long[] before = instret(vm);
        Thread run = Thread.ofPlatform().start(() -> {
            try {
                vm.run();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
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
                    OutputStream.nullOutputStream(), new PrintStream(OutputStream.nullOutputStream()), null);
            vms.add(vm);
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    vm.run();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        Thread.sleep(3000);   // the idle clones run their timers and shells
        System.gc();
        Thread.sleep(500);
        long rssAfter = rssKib();
        System.out.printf(Locale.ROOT, "%d MiB guest: %d clones in %.3f s (%.0f clones/s); resident memory %+.1f MiB in all, "
                        + "%.2f MiB per idle clone%n", mib, n, seconds, n / seconds, (rssAfter - rssBefore) / 1024.0,
                (rssAfter - rssBefore) / 1024.0 / n);
        for (VirtualMachine vm : vms) {
            vm.finish(0);
        }
        for (Thread t : threads) {
            t.join(10_000);
        }
        vms.forEach(VirtualMachine::close);
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
