package dev.ember.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The soak of issue 12 item 8: many microVMs in this one JVM doing checked work for a long
 * time, while VMs are created and destroyed beside them, and what the process holds over time.
 *
 * <h2>Running it</h2>
 * {@code ./ember bench soak [--vms N] [--minutes M] [--interval S] [--mem MIB] [--timeout S]}
 * (see {@code scripts/bench.sh}).
 *
 * <h2>What runs</h2>
 * <ul>
 *   <li>N long-lived VMs ({@link SoakVm}), each of {@code --mem} MiB with a 16 MiB scratch
 *       virtio-blk drive, a user-mode network interface and a vsock device, booted with the
 *       default guest's init (so DHCP configures {@code eth0}) and driven through the guest
 *       agent. Each loops over the {@link Op}s; every operation's answer is checked.</li>
 *   <li>One more slot that creates, boots (agent as PID 1), uses and destroys a VM over and
 *       over ({@link LeakFigures#cycle}).</li>
 *   <li>The host's ends: one TCP echo on 127.0.0.1 for every VM, and one vsock echo per VM
 *       ({@link EchoListener}).</li>
 * </ul>
 * The timer starts once every long-lived VM has booted (or failed to). A failure is counted,
 * printed to stderr with its VM and operation, and the soak goes on: a VM that stops is
 * replaced by a fresh one (a restart).
 *
 * <h2>What it prints</h2>
 * Every {@code --interval} seconds a row: elapsed time, operations done per kind, cycles,
 * errors, checksum failures (data lost), restarts, then the process's resources
 * ({@link ProcessResources}: resident memory, Java heap in use, platform threads, open file
 * descriptors, lines of {@code /proc/self/maps}, direct and mapped buffer memory). At the end
 * two markdown tables: the totals (with rates per minute) and the resources before the VMs,
 * once all had booted (start), at the end with the VMs still running, and after they closed.
 */
@Command(name = "ember bench soak", mixinStandardHelpOptions = true,
        description = "Runs N microVMs doing checked CPU, disk, network and vsock work in one JVM, "
                + "with VMs created and destroyed beside them, and reports operations, errors and resources over time.")
public final class SoakFigures implements Callable<Integer> {

    /** The kinds of work a long-lived VM does, in turn. */
    enum Op {
        /** {@code seq 1 N | sha256sum}, an answer the host knows. */
        CPU("cpu"),
        /** A random 64 KiB block written to the scratch drive, synced, read back; compared in the guest and on the host. */
        DISK("disk"),
        /** 128 KiB of random bytes to the host's TCP echo over the user-mode network and back. */
        NET("net"),
        /** 128 KiB of random bytes to the host's vsock echo and back. */
        VSOCK("vsock");

        private final String label;

        Op(String label) {
            this.label = label;
        }

        String label() {
            return label;
        }
    }

    /** What every slot needs to know: the guest, each VM's memory, and how long one step may take. */
    record Settings(Path guest, int memMib, Duration timeout) { }

    /**
     * The soak's tallies, updated by every slot's thread and read by the reporting thread. Errors
     * and checksum failures are printed as they happen (the first {@value #MAX_PRINTED}; later
     * ones are only counted).
     */
    static final class Counters {
        static final int MAX_PRINTED = 200;

        private final Map<Op, AtomicLong> done = new EnumMap<>(Op.class);
        final AtomicLong errors = new AtomicLong();
        final AtomicLong badSums = new AtomicLong();
        final AtomicLong boots = new AtomicLong();
        final AtomicLong restarts = new AtomicLong();
        final AtomicLong cycles = new AtomicLong();
        private final AtomicInteger printed = new AtomicInteger();
        private final long startNanos = System.nanoTime();

        Counters() {
            for (Op op : Op.values()) {
                done.put(op, new AtomicLong());
            }
        }

        void done(Op op) {
            done.get(op).incrementAndGet();
        }

        long count(Op op) {
            return done.get(op).get();
        }

        void error(String vm, String what, String message) {
            errors.incrementAndGet();
            report(vm, what, "error: " + message);
        }

        void badSum(String vm, Op op) {
            badSums.incrementAndGet();
            report(vm, op.label(), "CHECKSUM FAILURE: the data that came back differs from the data sent");
        }

        private void report(String vm, String what, String message) {
            int n = printed.incrementAndGet();
            if (n <= MAX_PRINTED) {
                System.err.printf(Locale.ROOT, "soak [%s] %s %s: %s%s%n", clock(System.nanoTime() - startNanos), vm, what,
                        message, n == MAX_PRINTED ? " (further failures are counted, not printed)" : "");
            }
        }
    }

    @Option(names = "--vms", defaultValue = "4", description = "long-lived microVMs (default ${DEFAULT-VALUE})")
    int vms;

    @Option(names = "--minutes", defaultValue = "10", description = "soak time after every VM booted (default ${DEFAULT-VALUE})")
    double minutes;

    @Option(names = "--interval", defaultValue = "30", description = "seconds between rows (default ${DEFAULT-VALUE})")
    int intervalSeconds;

    @Option(names = "--mem", defaultValue = "112", description = "guest memory per VM in MiB (default ${DEFAULT-VALUE})")
    int memMib;

    @Option(names = "--timeout", defaultValue = "300", description = "seconds a boot or one operation may take (default ${DEFAULT-VALUE})")
    int timeoutSeconds;

    @Option(names = "--guest", required = true, description = "directory with the default guest's Image and initramfs.cpio")
    Path guest;

    private volatile boolean stopping;

    public static void main(String[] args) {
        System.exit(new CommandLine(new SoakFigures()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        Settings settings = new Settings(guest, memMib, Duration.ofSeconds(timeoutSeconds));
        System.out.printf(Locale.ROOT, "soak: %d VMs of %d MiB + 1 create/destroy slot, %.1f minutes, a row every %d s; "
                + "%d cores, load average %s%n", vms, memMib, minutes, intervalSeconds,
                Runtime.getRuntime().availableProcessors(), loadAverage());
        ProcessResources before = LeakFigures.settle(null);
        Counters counters = new Counters();
        List<SoakVm> slots = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        try (EchoListener tcpEcho = EchoListener.tcp()) {
            for (int i = 1; i <= vms; i++) {
                SoakVm slot = new SoakVm(i, settings, counters, tcpEcho.port(), () -> stopping);
                slots.add(slot);
                threads.add(Thread.ofPlatform().name("soak-vm-" + i).start(slot));
            }
            long bootDeadline = System.nanoTime() + settings.timeout().toNanos() * 2;
            while (!slots.stream().allMatch(SoakVm::firstBootDone) && System.nanoTime() - bootDeadline < 0) {
                Thread.sleep(500);
            }
            System.out.printf(Locale.ROOT, "soak: %d of %d VMs booted in %.0f s%n", counters.boots.get(), vms,
                    (System.nanoTime() - counters.startNanos) / 1e9);
            ProcessResources start = ProcessResources.sample();
            threads.add(Thread.ofPlatform().name("soak-cycler").start(() -> cycleVms(counters)));

            MarkdownTable rows = new MarkdownTable(rowHeaders());
            long t0 = System.nanoTime();
            long end = t0 + (long) (minutes * 60e9);
            rows.row(row(counters, 0, start));
            for (long next = t0 + intervalSeconds * 1_000_000_000L; next - end < 0; next += intervalSeconds * 1_000_000_000L) {
                Thread.sleep(Math.max(0, (next - System.nanoTime()) / 1_000_000));
                rows.row(row(counters, System.nanoTime() - t0, ProcessResources.sample()));
            }
            Thread.sleep(Math.max(0, (end - System.nanoTime()) / 1_000_000));
            ProcessResources last = ProcessResources.sample();
            rows.row(row(counters, System.nanoTime() - t0, last));
            // The operations under way finish (each within --timeout) and count: a checksum
            // failure in the last one is data lost as much as any other.
            stopping = true;
            for (Thread t : threads) {
                t.join(settings.timeout().toMillis() + 60_000);
            }
            long elapsed = System.nanoTime() - t0;
            ProcessResources closed = LeakFigures.settle(start);
            summary(counters, elapsed, before, start, last, closed);
            System.out.printf(Locale.ROOT, "bytes echoed: %d KiB over TCP%n", tcpEcho.bytes() >> 10);
            System.out.printf(Locale.ROOT, "load average at end: %s%n", loadAverage());
        }
        return counters.badSums.get() == 0 ? 0 : 1;
    }

    /** The create-and-destroy slot: one VM after another until the soak stops. */
    private void cycleVms(Counters counters) {
        Path scratch = null;
        try {
            scratch = Files.createTempFile("ember-soak-cycle", ".img");
            for (int k = 1; !stopping; k++) {
                try {
                    LeakFigures.cycle(guest, scratch, k);
                    counters.cycles.incrementAndGet();
                } catch (Exception e) {
                    counters.error("cycle-" + k, "create/boot/destroy", e.toString());
                }
            }
        } catch (IOException e) {
            counters.error("cycler", "scratch", e.toString());
        } finally {
            if (scratch != null) {
                try {
                    Files.deleteIfExists(scratch);
                } catch (IOException e) {
                    counters.error("cycler", "cleanup", e.toString());
                }
            }
        }
    }

    private static List<String> rowHeaders() {
        List<String> h = new ArrayList<>(List.of("elapsed"));
        for (Op op : Op.values()) {
            h.add(op.label());
        }
        h.addAll(List.of("cycles", "errors", "bad sums", "restarts"));
        h.addAll(ProcessResources.HEADERS);
        return h;
    }

    private static List<String> row(Counters c, long elapsedNanos, ProcessResources r) {
        List<String> cells = new ArrayList<>(List.of(clock(elapsedNanos)));
        for (Op op : Op.values()) {
            cells.add(Long.toString(c.count(op)));
        }
        cells.addAll(List.of(Long.toString(c.cycles.get()), Long.toString(c.errors.get()), Long.toString(c.badSums.get()),
                Long.toString(c.restarts.get())));
        cells.addAll(r.cells());
        return cells;
    }

    private void summary(Counters c, long elapsedNanos, ProcessResources before, ProcessResources start,
                         ProcessResources end, ProcessResources closed) {
        double min = elapsedNanos / 60e9;
        System.out.printf(Locale.ROOT, "%n%d VMs of %d MiB, %.1f minutes (until the last operation ended):%n%n",
                vms, memMib, min);
        MarkdownTable totals = new MarkdownTable(List.of("operation", "done", "per minute"));
        for (Op op : Op.values()) {
            totals.row(List.of(op.label(), Long.toString(c.count(op)), perMinute(c.count(op), min)));
        }
        totals.row(List.of("create/boot/destroy cycles", Long.toString(c.cycles.get()), perMinute(c.cycles.get(), min)));
        totals.row(List.of("errors", Long.toString(c.errors.get()), perMinute(c.errors.get(), min)));
        totals.row(List.of("checksum failures (data lost)", Long.toString(c.badSums.get()), perMinute(c.badSums.get(), min)));
        totals.row(List.of("VM restarts", Long.toString(c.restarts.get()), perMinute(c.restarts.get(), min)));
        System.out.println();
        MarkdownTable resources = new MarkdownTable(List.of("figure", "before VMs", "start", "end", "after close"));
        List<List<String>> columns = List.of(before.cells(), start.cells(), end.cells(), closed.cells());
        for (int i = 0; i < ProcessResources.HEADERS.size(); i++) {
            List<String> cells = new ArrayList<>(List.of(ProcessResources.HEADERS.get(i)));
            for (List<String> column : columns) {
                cells.add(column.get(i));
            }
            resources.row(cells);
        }
    }

    private static String perMinute(long n, double minutes) {
        return String.format(Locale.ROOT, "%.1f", minutes > 0 ? n / minutes : 0.0);
    }

    private static String clock(long nanos) {
        long s = nanos / 1_000_000_000L;
        return String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }

    private static String loadAverage() throws IOException {
        return Files.readString(Path.of("/proc/loadavg")).strip();
    }
}
