package dev.ember.bench;

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
 * @param only         {@code "ember"}, {@code "qemu"}, or null for both
 * @param devices      whether to run the device workloads ({@link DeviceWorkload}) on a guest
 *                     with its root on virtio-blk, a scratch disk and a user-mode network,
 *                     instead of the boot runs and the CPU workloads
 * @param rootfs       the ext4 root image of the device runs (copied per boot); null without
 *                     {@code devices}
 * @param timeout      the limit on each wait: boot to prompt, one workload, poweroff to exit
 * @param emberCommand the Ember launch up to (not including) {@code run}: java, JVM options,
 *                     class path and main class
 * @param qemu         the QEMU executable
 * @param logDir       where every run's console log is written
 */
record CompareOptions(int rounds, int vcpus, String memory, Path kernel, Path initrd, String cmdline, String only,
                      boolean devices, Path rootfs, Duration timeout, List<String> emberCommand, String qemu,
                      Path logDir) {

    static final String USAGE = """
            usage: Compare [--rounds N] [--vcpus N] [--kernel FILE] [--initrd FILE] [--only ember|qemu]
                           [--devices [--rootfs FILE]] [--timeout SECONDS] [--root DIR] [--ember-classpath CP]
                           [--ember-jvm-opts "OPTS"] [--qemu PATH] [--log-dir DIR]
              --rounds N          boots per VMM and per kind of run, alternating Ember and QEMU (default 3)
              --vcpus N           vCPUs of both guests (default 1)
              --kernel FILE       kernel Image (default ROOT/guest/out/Image)
              --initrd FILE       initramfs (default ROOT/guest/out/initramfs.cpio)
              --only ember|qemu   run one VMM only (no ratios)
              --devices           device workloads instead of the boot and CPU ones: root on virtio-blk
                                  (a copy of --rootfs per boot), a 160 MiB scratch disk (vdb) and a
                                  user-mode network; sequential dd on vdb, TCP to and from the host (MB/s)
              --rootfs FILE       ext4 root image of --devices (default ROOT/guest/out/rootfs.ext4)
              --timeout SECONDS   limit on each boot, workload and poweroff (default 300)
              --root DIR          the Ember repository (default .)
              --ember-classpath CP   class path of dev.ember.server.EmberCommand
                                  (default ROOT/ember-server/target/ember-server-0.1.0-SNAPSHOT.jar:ROOT/ember-server/target/lib/*)
              --ember-jvm-opts OPTS  JVM options of the Ember process, space-separated
                                  (default: the ember launcher's, %s)
              --qemu PATH         QEMU executable (default qemu-system-riscv64)
              --log-dir DIR       console logs (default ROOT/ember-bench/target/compare-logs)
            """.formatted(String.join(" ", Compare.DEFAULT_EMBER_JVM_OPTS));

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
        boolean devices = false;
        Path rootfs = null;
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
            if (a.equals("--devices")) {
                if (value != null) {
                    throw new UsageException("--devices takes no value");
                }
                devices = true;
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
                case "--timeout" -> timeoutSeconds = positive(a, value);
                case "--root" -> root = Path.of(value);
                case "--ember-classpath" -> classpath = value;
                case "--ember-jvm-opts" -> jvmOpts = value.isBlank() ? List.of() : Arrays.asList(value.trim().split("\\s+"));
                case "--qemu" -> qemu = value;
                case "--log-dir" -> logDir = Path.of(value);
                default -> throw new UsageException("unknown option " + a);
            }
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
        ember.addAll(List.of("-cp", classpath, "dev.ember.server.EmberCommand"));
        return new CompareOptions(rounds, vcpus, memory, kernel.toAbsolutePath().normalize(),
                initrd.toAbsolutePath().normalize(), cmdline, only, devices, rootfs, Duration.ofSeconds(timeoutSeconds),
                List.copyOf(ember), qemu, logDir);
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
}
