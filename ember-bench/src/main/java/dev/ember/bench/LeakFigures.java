package dev.ember.bench;

import dev.ember.config.BootSourceConfig;
import dev.ember.config.DriveConfig;
import dev.ember.config.EntropyConfig;
import dev.ember.config.MachineConfig;
import dev.ember.config.NetworkInterfaceConfig;
import dev.ember.log.LogSink;
import dev.ember.vmm.ExecResult;
import dev.ember.vmm.MicroVm;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The lifecycle leak check of issue 12 ("No leaks"): creates, boots and destroys a
 * {@link MicroVm} many times in this JVM and compares what the process holds afterwards
 * (threads, file descriptors, direct and mapped buffer memory, mapped regions) with what it
 * held after the first cycles.
 *
 * <p>Run: {@code ./ember bench leak [--cycles N]} (see {@code scripts/bench.sh});
 * {@code LifecycleLeakTest} runs a short version in CI.
 *
 * <p><b>One cycle</b> ({@link #cycle}): a microVM of {@value #MEM_MIB} MiB with a scratch
 * virtio-blk drive, a user-mode network interface, a virtio-rng device and the guest agent's
 * vsock device, booted with the agent as PID 1 ({@code rdinit=/usr/bin/ember-agent}, no init
 * scripts, so a boot takes seconds); the cycle waits until the agent answers and runs one
 * command through it. Even cycles then power the guest off through the agent
 * ({@link MicroVm#shutdown}), odd ones pull the plug ({@link MicroVm#kill} by
 * {@link MicroVm#close}), so both ways a VM ends are counted.
 *
 * <p><b>The baseline</b> is taken after {@value #WARM_UP_CYCLES} cycles: the first VMs load
 * and compile classes, grow the heap, start the JVM's shared threads (the common fork-join
 * pool, virtual-thread carriers, the cleaner) and map the code cache, none of which a later VM
 * repeats. {@link #settle} then lets threads that a closed VM asked to stop finish, and runs a
 * GC so that buffers only a collection frees are freed.
 */
@Command(name = "ember bench leak", mixinStandardHelpOptions = true,
        description = "Creates, boots and destroys a microVM many times in one JVM and reports what it holds after.")
public final class LeakFigures implements Callable<Integer> {

    /** Cycles before the baseline is taken. */
    static final int WARM_UP_CYCLES = 2;
    /** Guest memory of each cycle's VM, in MiB. */
    static final int MEM_MIB = 96;
    /** The scratch drive's size. */
    private static final long SCRATCH_BYTES = 4 << 20;
    private static final Duration STEP = Duration.ofSeconds(120);

    @Option(names = "--cycles", defaultValue = "1000", description = "create-boot-destroy cycles (default ${DEFAULT-VALUE})")
    int cycles;

    @Option(names = "--every", defaultValue = "50", description = "print the figures every N cycles (default ${DEFAULT-VALUE})")
    int every;

    @Option(names = "--guest", required = true, description = "directory with the default guest's Image and initramfs.cpio")
    Path guest;

    public static void main(String[] args) {
        System.exit(new CommandLine(new LeakFigures()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        Path scratch = Files.createTempFile("ember-leak", ".img");
        try {
            MarkdownTable table = new MarkdownTable(withResources("cycle", "failed"));
            table.row(withResources(settle(null), "before", "0"));
            ProcessResources baseline = null;
            List<String> baselineInventory = List.of();
            int failed = 0;
            for (int c = 1; c <= cycles; c++) {
                try {
                    cycle(guest, scratch, c);
                } catch (Exception e) {
                    failed++;
                    System.err.printf(Locale.ROOT, "cycle %d failed: %s%n", c, e);
                }
                if (c == WARM_UP_CYCLES) {
                    baseline = settle(null);
                    baselineInventory = ProcessResources.inventory();
                    table.row(withResources(baseline, c + " (baseline)", Integer.toString(failed)));
                } else if (c % every == 0 || c == cycles) {
                    table.row(withResources(c == cycles ? settle(baseline) : ProcessResources.sample(),
                            Integer.toString(c), Integer.toString(failed)));
                }
            }
            List<String> added = ProcessResources.added(baselineInventory, ProcessResources.inventory());
            System.out.println(added.isEmpty() ? "nothing held now that was not held at the baseline"
                    : "held now, not at the baseline:\n  " + String.join("\n  ", added));
            System.out.printf(Locale.ROOT, "load average at end: %s%n", Files.readString(Path.of("/proc/loadavg")).strip());
            return failed == 0 ? 0 : 1;
        } finally {
            Files.deleteIfExists(scratch);
        }
    }

    /**
     * Creates, boots, uses and destroys one microVM, as described in the class comment.
     *
     * @param scratch an existing file, made the VM's scratch drive (its contents do not matter)
     * @param index   the cycle's number: its VM's name, and whether it powers off or is killed
     * @throws Exception whatever went wrong in this cycle; the VM is closed in any case
     */
    static void cycle(Path guest, Path scratch, int index) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(scratch.toFile(), "rw")) {
            f.setLength(SCRATCH_BYTES);
        }
        try (MicroVm vm = MicroVm.builder()
                .name("leak-" + index)
                .bootSource(new BootSourceConfig(guest.resolve("Image"), guest.resolve("initramfs.cpio"),
                        "console=ttyS0 quiet rdinit=/usr/bin/ember-agent"))
                .machineConfig(new MachineConfig(1, MEM_MIB, false, false))
                .drive(new DriveConfig("scratch", scratch, false, false))
                .networkInterface(new NetworkInterfaceConfig("eth0", null, null, List.of()))
                .entropy(new EntropyConfig(null))
                .guestAgent(true)
                .log(LogSink.discard())
                .build()) {
            vm.start();
            vm.agent().awaitReady(STEP);
            ExecResult r = vm.exec("head -c 4096 /dev/hwrng >/dev/null && cat /sys/class/net/eth0/address", null, STEP);
            if (r.exitCode() != 0) {
                throw new IllegalStateException("cycle " + index + ": the guest's command failed: " + r.stderrText());
            }
            if (index % 2 == 0 && vm.shutdown(STEP) != 0) {
                throw new IllegalStateException("cycle " + index + ": the guest did not power off cleanly");
            }
        }
    }

    /**
     * {@return the figures once the process has settled}: runs a GC and samples, repeating for
     * up to ten seconds while threads, descriptors or regions are still above {@code target}
     * (null: samples after one GC). A closed VM's threads end shortly after {@link MicroVm#close}
     * returns; direct buffers are freed only by a collection.
     */
    static ProcessResources settle(ProcessResources target) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (true) {
            System.gc();
            Thread.sleep(200);
            ProcessResources now = ProcessResources.sample();
            boolean settled = target == null || (now.threads() <= target.threads() && now.fds() <= target.fds()
                    && now.maps() <= target.maps() && now.bigMapBytes() <= target.bigMapBytes()
                    && now.directBytes() <= target.directBytes());
            if (settled || System.nanoTime() - deadline >= 0) {
                return now;
            }
        }
    }

    private static List<String> withResources(String... leading) {
        List<String> headers = new ArrayList<>(List.of(leading));
        headers.addAll(ProcessResources.HEADERS);
        return headers;
    }

    private static List<String> withResources(ProcessResources r, String... leading) {
        List<String> cells = new ArrayList<>(List.of(leading));
        cells.addAll(r.cells());
        return cells;
    }
}
