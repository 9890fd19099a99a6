package dev.ember.devices.virtio;

/**
 * Where a device reports its counters under Firecracker's metric names (its {@code metrics.rs}),
 * so each device package keeps the mapping from its own counters to those names.
 */
public interface MetricsSink {

    /** Adds {@code value} to {@code group.field}. */
    void add(String group, String field, long value);

    /** Adds {@code value} to {@code family_id.field} and to the sum in {@code family.field}. */
    void addPerDevice(String family, String id, String field, long value);
}
