package dev.ember.server.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ember.config.MetricsConfig;
import dev.ember.devices.virtio.balloon.VirtioBalloon;
import dev.ember.devices.virtio.balloon.VirtioBalloonMetrics;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
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
 * <p>Counters are deltas since the previous flush, as Firecracker's {@code SharedIncMetric}.
 * Groups Ember cannot fill yet are written empty so the structure stays Firecracker's.
 * Thread-safe: counters are {@link LongAdder}s; flushes are serialised on this object.
 */
final class ApiMetrics {

    static final long PERIOD_SECONDS = 60;
    private static final String[] GROUPS = {"api_server", "balloon", "block", "deprecated_api", "entropy",
        "get_api_requests", "latencies_us", "logger", "mmds", "net", "patch_api_requests", "put_api_requests",
        "seccomp", "signals", "uart", "vcpu", "vmm", "vsock"};

    private final Map<String, Map<String, LongAdder>> counters = new ConcurrentHashMap<>();
    private OutputStream out;
    private ScheduledExecutorService timer;
    private Supplier<VirtioBalloon> balloon = () -> null;
    private long lastBalloonInflated;
    private long lastBalloonDeflated;

    /** Counts one event in {@code group.name}. */
    void inc(String group, String name) {
        counters.computeIfAbsent(group, g -> new ConcurrentHashMap<>())
                .computeIfAbsent(name, n -> new LongAdder()).increment();
    }

    /** Where device counters come from once the VM runs. */
    synchronized void devices(Supplier<VirtioBalloon> balloon) {
        this.balloon = balloon;
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
        try {
            out = Files.newOutputStream(config.metricsPath(), StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                    StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw ApiError.badRequest("Metrics error: Cannot initialize the metrics system due to bad user input: "
                    + ApiLogger.osError(e));
        }
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
        root.put("utc_timestamp_ms", System.currentTimeMillis());
        Map<String, ObjectNode> groups = new TreeMap<>();
        for (String g : GROUPS) {
            groups.put(g, root.putObject(g));
        }
        counters.forEach((group, names) -> {
            ObjectNode node = groups.computeIfAbsent(group, root::putObject);
            names.forEach((name, adder) -> node.put(name, adder.sumThenReset()));
        });
        VirtioBalloon b = balloon.get();
        if (b != null) {
            VirtioBalloonMetrics m = b.metrics();
            long inflated = m.pagesInflated.sum();
            long deflated = m.pagesDeflated.sum();
            ObjectNode node = groups.get("balloon");
            node.put("inflate_count", inflated - lastBalloonInflated);
            node.put("deflate_count", deflated - lastBalloonDeflated);
            node.put("stats_updates_count", m.statsUpdates.sum());
            node.put("event_fails", m.badChains.sum());
            lastBalloonInflated = inflated;
            lastBalloonDeflated = deflated;
        }
        try {
            out.write((root + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            inc("logger", "metrics_fails");
            throw ApiError.badRequest("Internal VMM error: Metrics error: " + ApiLogger.osError(e));
        }
    }

    /** Stops the periodic flush. */
    synchronized void close() {
        if (timer != null) {
            timer.shutdownNow();
        }
    }
}
