package dev.ember.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Samples of every metric per VMM, in the order first recorded, and the report: medians,
 * Ember/QEMU ratios, raw numbers. Most metrics are times in seconds; rates (MB/s, the device
 * workloads') are kept apart, since for them a ratio above 1 means Ember is faster.
 *
 * <p>Owned by the harness's main thread.
 */
final class Results {

    /**
     * A measured quantity.
     *
     * @param rate false for seconds (lower is better), true for MB/s (higher is better)
     */
    record Metric(String key, String label, boolean rate) {
        /** A time in seconds. */
        Metric(String key, String label) {
            this(key, label, false);
        }
    }

    private final Map<Metric, Map<String, List<Double>>> samples = new LinkedHashMap<>();

    void add(Metric metric, String vmm, double seconds) {
        samples.computeIfAbsent(metric, k -> new LinkedHashMap<>())
                .computeIfAbsent(vmm, k -> new ArrayList<>())
                .add(seconds);
    }

    boolean isEmpty() {
        return samples.isEmpty();
    }

    /** {@return whether any metric is a rate (MB/s)} */
    boolean hasRates() {
        return samples.keySet().stream().anyMatch(Metric::rate);
    }

    /** {@return the median, or NaN when there are no samples or any is NaN} */
    static double median(List<Double> values) {
        if (values == null || values.isEmpty() || values.stream().anyMatch(v -> v.isNaN())) {
            return Double.NaN;
        }
        double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    /** Prints metric, Ember median, QEMU median and Ember/QEMU ratio (above 1: Ember slower) of the times. */
    void printTable(PrintStream out) {
        printTable(out, false, "metric (seconds, median)");
    }

    /** Prints metric, Ember median, QEMU median and Ember/QEMU ratio (below 1: Ember slower) of the rates. */
    void printRates(PrintStream out) {
        printTable(out, true, "metric (MB/s, median)");
    }

    private void printTable(PrintStream out, boolean rates, String heading) {
        int w = samples.keySet().stream().mapToInt(m -> m.label().length()).max().orElse(10);
        String row = "%-" + w + "s  %12s  %12s  %12s%n";
        out.printf(Locale.ROOT, row, heading, "Ember", "QEMU", "Ember/QEMU");
        out.println("-".repeat(w + 42));
        samples.forEach((metric, byVmm) -> {
            if (metric.rate() != rates) {
                return;
            }
            double e = median(byVmm.get(Compare.EMBER));
            double q = median(byVmm.get(Compare.QEMU));
            out.printf(Locale.ROOT, row, metric.label(), fmt(e), fmt(q),
                    Double.isNaN(e) || Double.isNaN(q) || q == 0 ? "-" : String.format(Locale.ROOT, "%.2fx", e / q));
        });
    }

    /** Prints every sample, one line per metric and VMM, in round order. */
    void printRaw(PrintStream out) {
        int w = samples.keySet().stream().mapToInt(m -> m.label().length()).max().orElse(10);
        samples.forEach((metric, byVmm) -> byVmm.forEach((vmm, values) -> {
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-" + w + "s  %-5s", metric.label(), vmm));
            for (double v : values) {
                line.append(String.format(Locale.ROOT, "  %8s", fmt(v)));
            }
            out.println(line);
        }));
    }

    private static String fmt(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.3f", v);
    }
}
