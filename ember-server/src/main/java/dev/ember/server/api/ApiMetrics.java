package dev.ember.server.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ember.config.MetricsConfig;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.InstantSource;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Firecracker-style metrics: counters grouped as Firecracker groups them ({@code api_server},
 * {@code get_api_requests}, {@code put_api_requests}, {@code patch_api_requests}, {@code block},
 * {@code net}, {@code vcpu}, {@code vmm}, {@code uart}, {@code balloon}, {@code vsock},
 * {@code entropy}, {@code logger}...), written as one JSON object per line on each flush:
 * {@code FlushMetrics} and every 60 seconds once configured ({@code docs/metrics.md}).
 *
 * <p>Two sources: the API's own request counters ({@link #inc}) and the running VM's device
 * counters ({@link dev.ember.vmm.VmMetrics}, totals under Firecracker's names, read at each flush through
 * {@link #devices}). Both are written as differences since the previous flush, as Firecracker's
 * {@code SharedIncMetric}; {@link #store}d values (the {@code latencies_us} of pause and resume)
 * are written as they are, as its {@code SharedStoreMetric}. Each record reaches the file
 * whole or not at all, even on a full disk or a crash ({@link WholeRecordFile}). Groups with
 * nothing to report, such as {@code seccomp} and {@code signals}, are written empty so the
 * structure stays Firecracker's.
 * Thread-safe: counters are {@link LongAdder}s; flushes are serialised on this object.
 */
final class ApiMetrics {

    static final long PERIOD_SECONDS = 60;
    private static final String[] GROUPS = {"api_server", "balloon", "block", "deprecated_api", "entropy",
        "get_api_requests", "latencies_us", "logger", "mmds", "net", "patch_api_requests", "put_api_requests",
        "seccomp", "signals", "uart", "vcpu", "vmm", "vsock"};

    private final InstantSource wallClock;
    private final Map<String, Map<String, LongAdder>> counters = new ConcurrentHashMap<>();
    private final Map<String, Map<String, Long>> stored = new ConcurrentHashMap<>();
    private OutputStream out;
    private ScheduledExecutorService timer;
    private Supplier<Map<String, Map<String, Long>>> devices = () -> null;
    /** The device totals written at the previous flush, by "group/field". */
    private final Map<String, Long> lastDeviceTotals = new HashMap<>();

    ApiMetrics() {
        this(InstantSource.system());
    }

    /**
     * Metrics whose records are stamped by {@code wallClock}. Wall time is only their label
     * ({@code utc_timestamp_ms}, as Firecracker's): the period between flushes is timed by the
     * scheduler's monotonic clock, so a clock stepped back changes the stamps and nothing else.
     */
    ApiMetrics(InstantSource wallClock) {
        this.wallClock = wallClock;
    }

    /** Counts one event in {@code group.name}. */
    void inc(String group, String name) {
        counters.computeIfAbsent(group, g -> new ConcurrentHashMap<>())
                .computeIfAbsent(name, n -> new LongAdder()).increment();
    }

    /** Sets {@code group.name} to {@code value}, written as it is at every flush. */
    void store(String group, String name, long value) {
        stored.computeIfAbsent(group, g -> new ConcurrentHashMap<>()).put(name, value);
    }

    /**
     * Where device counters come from once the VM runs: its totals by group and field
     * ({@link dev.ember.vmm.VmMetrics#groups()}), read at each flush.
     */
    synchronized void devices(Supplier<Map<String, Map<String, Long>>> devices) {
        this.devices = devices;
    }

    /**
     * Opens the metrics file and starts the periodic flush.
     *
     * @throws ApiError with Firecracker's metrics fault message when already configured or the
     *         file cannot be opened
     */
    synchronized void configure(MetricsConfig config) {
        if (out != null) {
            throw ApiError.badRequest("Metrics error: Cannot initialize the metrics system due to bad user input: "
                    + "Reinitialization of metrics not allowed.");
        }
        OutputStream opened;
        try {
            opened = WholeRecordFile.open(config.metricsPath());
        } catch (IOException e) {
            throw ApiError.badRequest("Metrics error: Cannot initialize the metrics system due to bad user input: "
                    + ApiLogger.osError(e));
        }
        writeTo(opened);
    }

    /** Starts writing to {@code opened} (the configured file; a test's stream) and the periodic flush. */
    synchronized void writeTo(OutputStream opened) {
        out = opened;
        timer = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("ember-metrics").unstarted(r));
        timer.scheduleAtFixedRate(() -> {
            try {
                flush();
            } catch (RuntimeException e) {
                // A failed periodic flush is counted in logger.metrics_fails and retried next period.
            }
        }, PERIOD_SECONDS, PERIOD_SECONDS, TimeUnit.SECONDS);
    }

    synchronized boolean configured() {
        return out != null;
    }

    /**
     * Writes one JSON object with the counters since the last flush.
     *
     * @throws ApiError when the metrics are not configured or the write fails
     */
    synchronized void flush() {
        if (out == null) {
            throw ApiError.badRequest("Internal VMM error: Metrics error: Metrics system not initialized.");
        }
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("utc_timestamp_ms", wallClock.millis());
        Map<String, ObjectNode> groups = new TreeMap<>();
        for (String g : GROUPS) {
            groups.put(g, root.putObject(g));
        }
        // The devices first: should reading them fail, no API counter has been reset yet.
        Map<String, Map<String, Long>> vm = devices.get();
        Map<LongAdder, Long> taken = new HashMap<>();
        counters.forEach((group, names) -> {
            ObjectNode node = groups.computeIfAbsent(group, root::putObject);
            names.forEach((name, adder) -> {
                long n = adder.sumThenReset();
                taken.put(adder, n);
                node.put(name, n);
            });
        });
        stored.forEach((group, names) -> {
            ObjectNode node = groups.computeIfAbsent(group, root::putObject);
            names.forEach(node::put);
        });
        Map<String, Long> totals = new HashMap<>();
        if (vm != null) {
            vm.forEach((group, fields) -> {
                ObjectNode node = groups.computeIfAbsent(group, root::putObject);
                fields.forEach((name, total) -> {
                    totals.put(group + "/" + name, total);
                    node.put(name, total - lastDeviceTotals.getOrDefault(group + "/" + name, 0L));
                });
            });
        }
        try {
            out.write((root + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            lastDeviceTotals.putAll(totals);
        } catch (IOException e) {
            // Nothing is lost: the next flush reports these counts again.
            taken.forEach(LongAdder::add);
            inc("logger", "metrics_fails");
            throw ApiError.badRequest("Internal VMM error: Metrics error: " + ApiLogger.osError(e));
        }
    }

    /** Stops the periodic flush and closes the metrics file; later flushes fail. */
    synchronized void close() {
        if (timer != null) {
            timer.shutdownNow();
        }
        if (out != null) {
            try {
                out.close();
            } catch (IOException e) {
                // Every record was written whole or not at all: closing loses nothing.
            }
        }
    }
}
