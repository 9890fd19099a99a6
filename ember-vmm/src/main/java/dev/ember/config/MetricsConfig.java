package dev.ember.config;

import java.nio.file.Path;

/**
 * Where Ember writes its metrics, as Firecracker's {@code Metrics}: one JSON object per flush.
 *
 * @param metricsPath a file or named pipe
 */
public record MetricsConfig(Path metricsPath) {

    /** @throws IllegalArgumentException naming the problem */
    public MetricsConfig {
        if (metricsPath == null) {
            throw new IllegalArgumentException("metrics need a metrics_path");
        }
    }
}
