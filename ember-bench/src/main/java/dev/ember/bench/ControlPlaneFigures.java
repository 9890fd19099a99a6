package dev.ember.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ember.bench.GuestConsole.ConsoleException;
import dev.ember.config.BootSourceConfig;
import dev.ember.config.MachineConfig;
import dev.ember.vmm.MicroVm;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The control plane's figures, the ones Firecracker states for itself in its specification:
 * how soon the process serves its API, how soon the guest reaches userspace after
 * {@code InstanceStart}, and what idle microVMs cost in resident memory.
 *
 * <h2>Running it</h2>
 * {@code ./ember bench api [--rounds N] [--vms N] [--stalled N]} (see {@code scripts/bench.sh}).
 *
 * <h2>What is measured</h2>
 * Each round starts a fresh {@code ember --api-sock S --boot-timer} in a child JVM with the
 * launcher's JVM options, and configures it with {@code curl --unix-socket} as Firecracker's
 * getting-started guide does (1 vCPU, 128 MiB, the default guest's kernel and initramfs):
 * <ul>
 *   <li><b>socket ready</b>: host wall time from just before the process starts until a
 *       connection to the socket is accepted, polled every millisecond; and the process's own
 *       {@code api_server.process_startup_time_us} from its metrics file;</li>
 *   <li><b>InstanceStart to userspace</b>: the guest's boot-timer line
 *       ({@code Guest-boot-time = N us}, written when the guest's {@code rcS} stores 123 at the
 *       boot-timer device), and, seen from the client, from the {@code InstanceStart} request
 *       until the guest's first userspace line ({@code ember-guest: userspace up}) arrives.</li>
 * </ul>
 * Resident memory: a child JVM (the same JVM options) boots N microVMs of 128 MiB through the
 * Java API ({@link MicroVm}), waits until each answers a command at its shell, lets them idle
 * for five seconds and reads its own {@code VmRSS}; once with one VM and once with N.
 */
@Command(name = "ember bench api", mixinStandardHelpOptions = true,
        description = "Measures the API's start-up, InstanceStart to userspace, and idle microVMs' resident memory.")
public final class ControlPlaneFigures implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern BOOT_TIME = Pattern.compile("Guest-boot-time = +(\\d+) us");

    @Option(names = "--rounds", defaultValue = "5", description = "API rounds (default ${DEFAULT-VALUE})")
    int rounds;

    @Option(names = "--vms", defaultValue = "10", description = "microVMs in the larger memory run (default ${DEFAULT-VALUE})")
    int vms;

    @Option(names = "--guest", required = true, description = "directory with the default guest's Image and initramfs.cpio")
    Path guest;

    @Option(names = "--ember-classpath", required = true, description = "class path of dev.ember.server.EmberCommand")
    String emberClasspath;

    @Option(names = "--ember-jvm-opts", defaultValue = "", description = "the launcher's JVM options")
    String emberJvmOpts;

    @Option(names = "--stalled", defaultValue = "1000",
            description = "connections holding half a request body during the request-rate run (default ${DEFAULT-VALUE})")
    int stalledClients;

    @Option(names = "--timeout", defaultValue = "120", description = "seconds any one step may take")
    long timeoutSeconds;

    @Option(names = "--rss-child", hidden = true, description = "internal: boot this many microVMs here, print VmRSS")
    Integer rssChild;

    public static void main(String[] args) {
        System.exit(new CommandLine(new ControlPlaneFigures()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        if (rssChild != null) {
            return residentMemoryHere(rssChild);
        }
        List<Double> ready = new ArrayList<>();
        List<Double> startupMetric = new ArrayList<>();
        List<Double> bootTimer = new ArrayList<>();
        List<Double> userspace = new ArrayList<>();
        for (int r = 1; r <= rounds; r++) {
            double[] round = apiRound();
            ready.add(round[0]);
            startupMetric.add(round[1]);
            bootTimer.add(round[2]);
            userspace.add(round[3]);
            System.err.printf(Locale.ROOT, "round %d: socket %.0f ms (metric %.0f ms), boot timer %.0f ms, userspace line %.0f ms%n",
                    r, round[0], round[1], round[2], round[3]);
        }
        double[] rate = requestRates();
        long one = residentMemory(1);
        long many = residentMemory(vms);
        System.out.printf(Locale.ROOT, "%-66s %s%n", "figure (medians of " + rounds + " rounds)", "value");
        print("process start to API socket accepting (client)", ready, "ms");
        print("process start to API ready (api_server.process_startup_time_us)", startupMetric, "ms");
        print("InstanceStart to the boot timer's write (Guest-boot-time)", bootTimer, "ms");
        print("InstanceStart request to the first userspace line (client)", userspace, "ms");
        System.out.printf(Locale.ROOT, "%-66s %.0f /s%n", "GET /machine-config, 2 clients, no stalled clients", rate[0]);
        System.out.printf(Locale.ROOT, "%-66s %.0f /s%n", "GET /machine-config, 2 clients, " + stalledClients
                + " clients holding half a body", rate[1]);
        System.out.printf(Locale.ROOT, "%-66s %d MiB%n", "resident memory, 1 idle 128 MiB microVM", one >> 10);
        System.out.printf(Locale.ROOT, "%-66s %d MiB (%.1f MiB per added VM)%n",
                "resident memory, " + vms + " idle 128 MiB microVMs", many >> 10, (many - one) / 1024.0 / Math.max(1, vms - 1));
        return 0;
    }

    private static void print(String label, List<Double> values, String unit) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        System.out.printf(Locale.ROOT, "%-66s %.0f %s (range %.0f-%.0f)%n", label, Results.median(values), unit,
                sorted[0], sorted[sorted.length - 1]);
    }

    /** {@return socket ready, startup metric, boot timer, userspace line; all in ms} */
    private double[] apiRound() throws IOException, InterruptedException, ConsoleException {
        Path dir = Files.createTempDirectory("ember-bench-api");
        Path socket = dir.resolve("api.sock");
        Path metrics = dir.resolve("metrics.json");
        List<String> command = javaCommand(emberClasspath, "dev.ember.server.EmberCommand");
        command.addAll(List.of("--api-sock", socket.toString(), "--boot-timer"));
        Duration timeout = Duration.ofSeconds(timeoutSeconds);
        try (GuestConsole ember = GuestConsole.start("ember-api", command, true)) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!accepts(socket)) {
                if (System.nanoTime() > deadline) {
                    throw new ConsoleException("the API socket was not accepting within " + timeoutSeconds + " s: "
                            + ember.tail(500));
                }
                Thread.sleep(1);
            }
            double ready = (System.nanoTime() - ember.startNanos()) / 1e6;
            put(socket, "/boot-source", "{\"kernel_image_path\": \"" + guest.resolve("Image") + "\", \"initrd_path\": \""
                    + guest.resolve("initramfs.cpio") + "\", \"boot_args\": \"console=ttyS0\"}");
            put(socket, "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 128}");
            put(socket, "/metrics", "{\"metrics_path\": \"" + metrics + "\"}");
            long start = System.nanoTime();
            put(socket, "/actions", "{\"action_type\": \"InstanceStart\"}");
            // rcS writes the boot timer just before it prints its first line.
            GuestConsole.Match timerLine = ember.await("Guest-boot-time = ", timeout);
            GuestConsole.Match timerEnd = ember.await(" us ", timeout);
            Matcher m = BOOT_TIME.matcher(ember.text(timerLine.start(), timerEnd.end()));
            if (!m.find()) {
                throw new ConsoleException("unreadable boot-timer line: " + ember.text(timerLine.start(), timerEnd.end()));
            }
            double bootTimer = Long.parseLong(m.group(1)) / 1e3;
            double userspace = (ember.await("ember-guest: userspace up", timeout).nanos() - start) / 1e6;
            put(socket, "/actions", "{\"action_type\": \"FlushMetrics\"}");
            List<String> lines = Files.readAllLines(metrics);
            JsonNode last = JSON.readTree(lines.get(lines.size() - 1));
            double metric = last.path("api_server").path("process_startup_time_us").asLong() / 1e3;
            ember.await(Compare.PROMPT, timeout);
            ember.sendLine("poweroff -f");
            ember.awaitExit(timeout);
            return new double[] {ready, metric, bootTimer, userspace};
        } finally {
            Files.deleteIfExists(metrics);
            Files.deleteIfExists(socket);
            Files.deleteIfExists(dir);
        }
    }

    /**
     * Requests per second that a fresh {@code ember --api-sock} answers to two clients (each a new
     * connection per {@code GET /machine-config}, as curl makes them) for 3 s, first alone, then
     * while {@link #stalledClients} other connections have each sent headers and half a body.
     */
    private double[] requestRates() throws IOException, InterruptedException, ConsoleException {
        Path dir = Files.createTempDirectory("ember-bench-rate");
        Path socket = dir.resolve("api.sock");
        List<String> command = javaCommand(emberClasspath, "dev.ember.server.EmberCommand");
        command.addAll(List.of("--api-sock", socket.toString()));
        List<SocketChannel> stalled = new ArrayList<>();
        try (GuestConsole ember = GuestConsole.start("ember-api", command, true)) {
            long deadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
            while (!accepts(socket)) {
                if (System.nanoTime() > deadline) {
                    throw new ConsoleException("the API socket was not accepting: " + ember.tail(500));
                }
                Thread.sleep(1);
            }
            rate(socket, 3000);                       // warm-up: the server JIT-compiles its request path
            double alone = rate(socket, 3000);
            byte[] half = ("PUT /machine-config HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 64\r\n\r\n{\"vcpu_count\": ").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            for (int i = 0; i < stalledClients; i++) {
                SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
                ch.write(java.nio.ByteBuffer.wrap(half));
                stalled.add(ch);
            }
            double withStalled = rate(socket, 3000);
            return new double[] {alone, withStalled};
        } finally {
            for (SocketChannel ch : stalled) {
                ch.close();
            }
            Files.deleteIfExists(socket);
            Files.deleteIfExists(dir);
        }
    }

    /** {@return GET /machine-config answers per second from two client threads over {@code millis}} */
    private static double rate(Path socket, long millis) throws InterruptedException {
        java.util.concurrent.atomic.AtomicLong answers = new java.util.concurrent.atomic.AtomicLong();
        long end = System.nanoTime() + millis * 1_000_000;
        byte[] get = "GET /machine-config HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        List<Thread> clients = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            clients.add(Thread.ofPlatform().start(() -> {
                java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(4096);
                while (System.nanoTime() < end) {
                    try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                        ch.write(java.nio.ByteBuffer.wrap(get));
                        buf.clear();
                        while (ch.read(buf) >= 0) {
                            buf.clear();
                        }
                        answers.incrementAndGet();
                    } catch (IOException e) {
                        return;
                    }
                }
            }));
        }
        for (Thread t : clients) {
            t.join();
        }
        return answers.get() * 1000.0 / millis;
    }

    /** {@return a child JVM's command: this JDK's java, the launcher's JVM options, {@code mainClass}} */
    private List<String> javaCommand(String classpath, String mainClass) {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(Arrays.stream(emberJvmOpts.trim().split("\\s+")).filter(s -> !s.isEmpty()).toList());
        command.addAll(List.of("-cp", classpath, mainClass));
        return command;
    }

    private static boolean accepts(Path socket) {
        if (!Files.exists(socket)) {
            return false;
        }
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            return ch.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            return false;
        }
    }

    private void put(Path socket, String path, String body) throws IOException, InterruptedException {
        Process curl = new ProcessBuilder("curl", "-s", "-o", "/dev/stderr", "-w", "%{http_code}", "--unix-socket",
                socket.toString(), "-X", "PUT", "http://localhost" + path, "-H", "Content-Type: application/json",
                "-d", body).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String status = new String(curl.getInputStream().readAllBytes()).trim();
        curl.waitFor();
        if (!status.equals("204")) {
            throw new IOException("PUT " + path + " answered " + status);
        }
    }

    /** Runs a child JVM that boots {@code count} microVMs; {@return its resident memory in KiB} */
    private long residentMemory(int count) throws IOException, InterruptedException {
        List<String> command = javaCommand(System.getProperty("java.class.path"), ControlPlaneFigures.class.getName());
        command.addAll(List.of("--guest", guest.toString(), "--ember-classpath", emberClasspath, "--timeout", Long.toString(timeoutSeconds),
                "--rss-child", Integer.toString(count)));
        Process child = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(child.getInputStream().readAllBytes());
        if (child.waitFor() != 0) {
            throw new IOException("the memory run with " + count + " VMs failed: " + out);
        }
        Matcher m = Pattern.compile("rss-kib (\\d+)").matcher(out);
        if (!m.find()) {
            throw new IOException("the memory run printed no figure: " + out);
        }
        return Long.parseLong(m.group(1));
    }

    /** In the child: boots {@code count} idle microVMs here and prints this process's VmRSS. */
    private int residentMemoryHere(int count) throws Exception {
        List<MicroVm> started = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                MicroVm vm = MicroVm.builder().name("idle-" + i)
                        .bootSource(new BootSourceConfig(guest.resolve("Image"), guest.resolve("initramfs.cpio"), null))
                        .machineConfig(new MachineConfig(1, 128, false, false))
                        .build();
                started.add(vm);
                vm.start();
            }
            for (MicroVm vm : started) {
                if (vm.exec("true", Duration.ofSeconds(timeoutSeconds)).exitCode() != 0) {
                    throw new IllegalStateException(vm.name() + " did not answer at its shell");
                }
            }
            Thread.sleep(5000);
            String status = Files.readString(Path.of("/proc/self/status"));
            Matcher m = Pattern.compile("VmRSS:\\s+(\\d+) kB").matcher(status);
            if (!m.find()) {
                throw new IllegalStateException("no VmRSS in /proc/self/status");
            }
            System.out.println("rss-kib " + m.group(1));
            return 0;
        } finally {
            started.forEach(MicroVm::close);
        }
    }
}
