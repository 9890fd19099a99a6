package dev.ember.bench;

import dev.ember.config.CpuFeatures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The command line of {@link Compare}, parsed and checked.
 *
 * @param rounds       how many times each VMM boots the guest, alternating, at least 1
 * @param vcpus        harts of both guests (Ember {@code --vcpus}, QEMU {@code -smp})
 * @param memory       guest RAM of both guests, in the {@code 512M} notation both accept
 * @param kernel       the kernel {@code Image} both VMMs boot
 * @param initrd       the initramfs both VMMs boot
 * @param cmdline      the kernel command line of both
 * @param only         {@code "ember"} (every engine of {@code engines}), {@code "qemu"}, or null
 *                     for both
 * @param engines      Ember's execution engines, one column each, in column order
 * @param jitThreshold Ember's {@code --jit-threshold} for the {@code jit} column, or null for
 *                     Ember's default
 * @param cpuFeatures  the harts' optional extensions on both sides (Ember's
 *                     {@code --cpu-features}, QEMU's {@code -cpu rv64,h=on|off}), or null for
 *                     each VMM's default
 * @param devices      whether to run the device workloads ({@link DeviceWorkload}) on a guest
 *                     with its root on virtio-blk, a scratch disk and a user-mode network,
 *                     instead of the boot runs and the CPU workloads
 * @param rootfs       the ext4 root image of the device runs (copied per boot); null without
 *                     {@code devices}
 * @param warmup       whether to run the warm-up curve ({@link WarmupJob}) instead of the boot
 *                     runs and the CPU workloads
 * @param warmupSeconds how long after the prompt the warm-up curve covers
 * @param timeout      the limit on each wait: boot to prompt, one workload, poweroff to exit
 * @param emberCommand the Ember launch up to (not including) {@code run}: java, JVM options
 *                     (with {@link EngineReport#JVM_OPTIONS} last), class path and main class
 * @param qemu         the QEMU executable
 * @param logDir       where every run's console log is written
 */
record CompareOptions(int rounds, int vcpus, String memory, Path kernel, Path initrd, String cmdline, String only,
                      List<String> engines, Integer jitThreshold, CpuFeatures cpuFeatures, boolean devices, Path rootfs, boolean warmup,
                      int warmupSeconds, Duration timeout, List<String> emberCommand, String qemu, Path logDir) {

    static final String USAGE = """
            usage: Compare [--rounds N] [--vcpus N] [--kernel FILE] [--initrd FILE] [--only ember|qemu]
                           [--engines jit,interp] [--jit-threshold N] [--cpu-features LIST]
                           [--devices [--rootfs FILE]]
                           [--warmup [--seconds N]] [--timeout SECONDS] [--root DIR] [--ember-classpath CP]
                           [--ember-jvm-opts "OPTS"] [--qemu PATH] [--log-dir DIR]
              --rounds N          rounds; each boots every column once per kind of run, in column
                                  order (Ember's engines, then QEMU) (default 3)
              --vcpus N           vCPUs of every guest (default 1)
              --kernel FILE       kernel Image (default ROOT/guest/out/Image)
              --initrd FILE       initramfs (default ROOT/guest/out/initramfs.cpio)
              --only ember|qemu   run Ember's engines only, or QEMU only (no ratios)
              --engines LIST      Ember's execution engines, one column each, comma-separated, in
                                  column order (default jit,interp); every run gets --engine-stats
              --jit-threshold N   Ember's --jit-threshold for the jit column (default: Ember's own)
              --cpu-features LIST the harts' extensions on both sides: +h gives Ember --cpu-features +h
                                  and QEMU -cpu rv64,h=on; -h gives QEMU h=off (default: each VMM's own)
              --devices           device workloads instead of the boot and CPU ones: root on virtio-blk
                                  (a copy of --rootfs per boot), a 160 MiB scratch disk (vdb) and a
                                  user-mode network; sequential dd on vdb, TCP to and from the host (MB/s)
              --rootfs FILE       ext4 root image of --devices (default ROOT/guest/out/rootfs.ext4)
              --warmup            the warm-up curve instead of the boot and CPU workloads: one boot per
                                  column and round, a chained sha256 job started at the prompt, guest
                                  speed (units/s) in each second after the prompt
              --seconds N         how many seconds after the prompt --warmup covers (default 30)
              --timeout SECONDS   limit on each boot, workload and poweroff (default 300)
              --root DIR          the Ember repository (default .)
              --ember-classpath CP   class path of dev.ember.server.EmberCommand
                                  (default ROOT/ember-server/target/ember-server-0.1.0-SNAPSHOT.jar:ROOT/ember-server/target/lib/*)
              --ember-jvm-opts OPTS  JVM options of the Ember process, space-separated
                                  (default: the ember launcher's, %s);
                                  %s is always added, for the code cache's size at exit
              --qemu PATH         QEMU executable (default qemu-system-riscv64)
              --log-dir DIR       console logs (default ROOT/ember-bench/target/compare-logs)
            """.formatted(String.join(" ", Compare.DEFAULT_EMBER_JVM_OPTS), String.join(" ", EngineReport.JVM_OPTIONS));

    /** Thrown for a bad command line; the message is for the user. */
    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    static CompareOptions parse(String[] args) throws UsageException {
        int rounds = 3, vcpus = 1;
        String memory = "512M", cmdline = "console=ttyS0", only = null, qemu = "qemu-system-riscv64";
        Path root = Path.of("."), kernel = null, initrd = null, logDir = null;
        String classpath = null;
        boolean devices = false, warmup = false;
        Path rootfs = null;
        List<String> engines = Vmm.ENGINES;
        Integer jitThreshold = null;
        CpuFeatures cpuFeatures = null;
        int warmupSeconds = 30;
        boolean secondsGiven = false;
        List<String> jvmOpts = Compare.DEFAULT_EMBER_JVM_OPTS;
        long timeoutSeconds = 300;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                value = a.substring(eq + 1);
                a = a.substring(0, eq);
            }
            if (a.equals("-h") || a.equals("--help")) {
                throw new UsageException("");
            }
            if (a.equals("--devices") || a.equals("--warmup")) {
                if (value != null) {
                    throw new UsageException(a + " takes no value");
                }
                if (a.equals("--devices")) {
                    devices = true;
                } else {
                    warmup = true;
                }
                continue;
            }
            if (value == null) {
                if (i + 1 >= args.length) {
                    throw new UsageException(a + " needs a value");
                }
                value = args[++i];
            }
            switch (a) {
                case "--rounds" -> rounds = positive(a, value);
                case "--vcpus" -> vcpus = positive(a, value);
                case "--kernel" -> kernel = Path.of(value);
                case "--initrd" -> initrd = Path.of(value);
                case "--rootfs" -> rootfs = Path.of(value);
                case "--only" -> {
                    if (!value.equals("ember") && !value.equals("qemu")) {
                        throw new UsageException("--only takes ember or qemu, not '" + value + "'");
                    }
                    only = value;
                }
                case "--engines" -> engines = engines(value);
                case "--jit-threshold" -> {
                    try {
                        jitThreshold = Integer.parseInt(value);
                    } catch (NumberFormatException e) {
                        jitThreshold = -1;
                    }
                    if (jitThreshold < 0) {
                        throw new UsageException("--jit-threshold takes a non-negative integer, not '" + value + "'");
                    }
                }
                case "--cpu-features" -> {
                    try {
                        cpuFeatures = CpuFeatures.parse(value);
                    } catch (IllegalArgumentException e) {
                        throw new UsageException("--cpu-features: " + e.getMessage());
                    }
                }
                case "--seconds" -> {
                    warmupSeconds = positive(a, value);
                    secondsGiven = true;
                }
                case "--timeout" -> timeoutSeconds = positive(a, value);
                case "--root" -> root = Path.of(value);
                case "--ember-classpath" -> classpath = value;
                case "--ember-jvm-opts" -> jvmOpts = value.isBlank() ? List.of() : Arrays.asList(value.trim().split("\\s+"));
                case "--qemu" -> qemu = value;
                case "--log-dir" -> logDir = Path.of(value);
                default -> throw new UsageException("unknown option " + a);
            }
        }
        if (devices && warmup) {
            throw new UsageException("--devices and --warmup are different runs; choose one");
        }
        if (secondsGiven && !warmup) {
            throw new UsageException("--seconds needs --warmup");
        }
        if (jitThreshold != null && (!engines.contains("jit") || "qemu".equals(only))) {
            throw new UsageException("--jit-threshold needs the jit engine among --engines");
        }
        if (kernel == null) {
            kernel = root.resolve("guest/out/Image");
        }
        if (initrd == null) {
            initrd = root.resolve("guest/out/initramfs.cpio");
        }
        if (!Files.isRegularFile(kernel)) {
            throw new UsageException("kernel " + kernel + " not found (build the default guest with guest/build.sh)");
        }
        if (devices) {
            if (rootfs == null) {
                rootfs = root.resolve("guest/out/rootfs.ext4");
            }
            if (!Files.isRegularFile(rootfs)) {
                throw new UsageException("root image " + rootfs + " not found (build the default guest with guest/build.sh)");
            }
            rootfs = rootfs.toAbsolutePath().normalize();
        } else if (rootfs != null) {
            throw new UsageException("--rootfs needs --devices");
        }
        if (!devices && !Files.isRegularFile(initrd)) {
            throw new UsageException("initrd " + initrd + " not found (build the default guest with guest/build.sh)");
        }
        if (classpath == null) {
            Path target = root.resolve("ember-server/target");
            Path jar = target.resolve("ember-server-0.1.0-SNAPSHOT.jar");
            if (!Files.isRegularFile(jar) && !"qemu".equals(only)) {
                throw new UsageException(jar + " not found; build Ember first (mvn -DskipTests package)");
            }
            classpath = jar + ":" + target.resolve("lib") + "/*";
        }
        if (logDir == null) {
            logDir = root.resolve("ember-bench/target/compare-logs");
        }
        List<String> ember = new ArrayList<>();
        ember.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        ember.addAll(jvmOpts);
        ember.addAll(EngineReport.JVM_OPTIONS);
        ember.addAll(List.of("-cp", classpath, "dev.ember.server.EmberCommand"));
        return new CompareOptions(rounds, vcpus, memory, kernel.toAbsolutePath().normalize(),
                initrd.toAbsolutePath().normalize(), cmdline, only, engines, jitThreshold, cpuFeatures, devices, rootfs, warmup,
                warmupSeconds, Duration.ofSeconds(timeoutSeconds), List.copyOf(ember), qemu, logDir);
    }

    private static List<String> engines(String value) throws UsageException {
        List<String> engines = new ArrayList<>();
        for (String e : value.split(",", -1)) {
            String engine = e.strip();
            if (!Vmm.ENGINES.contains(engine)) {
                throw new UsageException("--engines takes a comma-separated list of " + String.join(", ", Vmm.ENGINES)
                        + ", not '" + value + "'");
            }
            if (engines.contains(engine)) {
                throw new UsageException("--engines names " + engine + " twice");
            }
            engines.add(engine);
        }
        return List.copyOf(engines);
    }

    private static int positive(String option, String value) throws UsageException {
        try {
            int n = Integer.parseInt(value);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new UsageException(option + " takes a positive integer, not '" + value + "'");
    }

    /** {@return whether the named VMM ({@code "ember"} or {@code "qemu"}) takes part} */
    boolean runs(String vmm) {
        return only == null || only.equals(vmm);
    }

    /** {@return the columns, in the order each round runs them: Ember's engines, then QEMU} */
    List<Vmm> vmms() {
        List<Vmm> v = new ArrayList<>();
        if (runs(Compare.EMBER)) {
            engines.forEach(e -> v.add(Vmm.ember(e)));
        }
        if (runs(Compare.QEMU)) {
            v.add(Vmm.QEMU);
        }
        return List.copyOf(v);
    }
}
