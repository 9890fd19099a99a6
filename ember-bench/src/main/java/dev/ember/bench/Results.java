package dev.ember.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Samples of every metric per column ({@link Vmm}), in the order first recorded, and the
 * report: medians, each Ember column's ratio to QEMU, raw numbers.
 *
 * <p>Metrics are of three kinds ({@link Kind}): times in seconds (a ratio above 1 means Ember
 * is slower), rates such as MB/s (a ratio below 1 means Ember is slower), and Ember's own
 * engine figures, which QEMU has no counterpart for and which get no ratio.
 *
 * <p>Owned by the harness's main thread.
 */
final class Results {

    /** What a metric's numbers are, which decides its table and the meaning of its ratio. */
    enum Kind {
        /** Seconds; lower is better. */
        SECONDS,
        /** A rate (MB/s, units/s); higher is better. */
        RATE,
        /** An Ember engine figure (counts, milliseconds, KiB); no ratio. */
        ENGINE
    }

    /**
     * A measured quantity.
     *
     * @param label  what the table calls it, with its unit unless it is seconds
     * @param format how one value is printed ({@link String#format}, root locale)
     */
    record Metric(String key, String label, Kind kind, String format) {
        /** A time in seconds. */
        Metric(String key, String label) {
            this(key, label, Kind.SECONDS, "%.3f");
        }

        static Metric rate(String key, String label) {
            return new Metric(key, label, Kind.RATE, "%.2f");
        }

        static Metric engine(String key, String label, String format) {
            return new Metric(key, label, Kind.ENGINE, format);
        }
    }

    private final List<Vmm> columns;
    private final Map<Metric, Map<Vmm, List<Double>>> samples = new LinkedHashMap<>();

    /** @param columns the columns in table order; QEMU, if there, is the base of every ratio */
    Results(List<Vmm> columns) {
        this.columns = List.copyOf(columns);
    }

    void add(Metric metric, Vmm vmm, double value) {
        samples.computeIfAbsent(metric, k -> new LinkedHashMap<>())
                .computeIfAbsent(vmm, k -> new ArrayList<>())
                .add(value);
    }

    boolean isEmpty() {
        return samples.isEmpty();
    }

    /** {@return whether any metric is of {@code kind}} */
    boolean has(Kind kind) {
        return samples.keySet().stream().anyMatch(m -> m.kind() == kind);
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

    /** {@return the ratio {@code value / base} as {@code 1.23x}, or "-"} */
    static String ratio(double value, double base) {
        return Double.isNaN(value) || Double.isNaN(base) || base == 0 ? "-" : String.format(Locale.ROOT, "%.2fx", value / base);
    }

    /**
     * Prints the metrics of {@code kind}: label, the median of each column, and (for times and
     * rates, when QEMU ran) each Ember column's median divided by QEMU's.
     */
    void printTable(PrintStream out, Kind kind, String heading) {
        List<Vmm> shown = kind == Kind.ENGINE ? columns.stream().filter(Vmm::isEmber).toList() : columns;
        List<Vmm> ratios = kind != Kind.ENGINE && columns.contains(Vmm.QEMU)
                ? columns.stream().filter(Vmm::isEmber).toList() : List.of();
        int w = Math.max(heading.length(), samples.keySet().stream().filter(m -> m.kind() == kind)
                .mapToInt(m -> m.label().length()).max().orElse(10));
        StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "%-" + w + "s", heading));
        shown.forEach(v -> head.append(String.format(Locale.ROOT, "  %12s", v.name())));
        ratios.forEach(v -> head.append(String.format(Locale.ROOT, "  %11s", v.ratioHeading())));
        out.println(head);
        out.println("-".repeat(head.length()));
        samples.forEach((metric, byVmm) -> {
            if (metric.kind() != kind) {
                return;
            }
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%-" + w + "s", metric.label()));
            shown.forEach(v -> row.append(String.format(Locale.ROOT, "  %12s", fmt(metric, median(byVmm.get(v))))));
            double q = median(byVmm.get(Vmm.QEMU));
            ratios.forEach(v -> row.append(String.format(Locale.ROOT, "  %11s", ratio(median(byVmm.get(v)), q))));
            out.println(row);
        });
    }

    /** Prints every sample, one line per metric and column, in round order. */
    void printRaw(PrintStream out) {
        int w = samples.keySet().stream().mapToInt(m -> m.label().length()).max().orElse(10);
        int c = columns.stream().mapToInt(v -> v.name().length()).max().orElse(5);
        samples.forEach((metric, byVmm) -> columns.forEach(vmm -> {
            List<Double> values = byVmm.get(vmm);
            if (values == null) {
                return;
            }
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-" + w + "s  %-" + c + "s", metric.label(),
                    vmm.name()));
            for (double v : values) {
                line.append(String.format(Locale.ROOT, "  %9s", fmt(metric, v)));
            }
            out.println(line);
        }));
    }

    private static String fmt(Metric metric, double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, metric.format(), v);
    }
}
