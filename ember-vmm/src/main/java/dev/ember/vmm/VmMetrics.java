package dev.ember.vmm;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * A microVM's counters at one moment, grouped and named as Firecracker groups and names them
 * ({@code src/vmm/src/logger/metrics.rs} and each device's {@code metrics.rs}), so that a
 * Firecracker metrics consumer reads Ember's without a mapping table.
 *
 * <p>Every value is a <em>total since the VM was built</em>; Firecracker's metrics file holds
 * differences since the previous flush, which the API server's writer computes from two of
 * these. Devices that Firecracker lists one per resource appear twice, as Firecracker writes
 * them: once per resource ({@code block_<drive_id>}, {@code net_<iface_id>}) and once summed
 * ({@code block}, {@code net}).
 *
 * <p>What is filled, each field with Firecracker's meaning; a field Firecracker has but Ember
 * cannot observe, or observes with another meaning, is left out rather than written as a
 * made-up zero:
 * <ul>
 *   <li>{@code block[_ID]}: {@code read_count}, {@code write_count}, {@code read_bytes},
 *       {@code write_bytes}, {@code flush_count}, {@code execute_fails} (requests that do not
 *       parse), {@code invalid_reqs_count} (host I/O errors and unsupported types),
 *       {@code queue_event_count}, {@code rate_limiter_throttled_events};
 *   <li>{@code net[_ID]}: {@code rx_/tx_packets_count}, {@code rx_/tx_bytes_count} (frame bytes,
 *       without the 12-byte virtio-net header), {@code rx_/tx_count},
 *       {@code rx_/tx_queue_event_count}, {@code rx_/tx_rate_limiter_throttled},
 *       {@code rx_fails}, {@code tx_malformed_frames}, and {@code tap_write_fails} on a TAP;
 *       transmitted frames are counted when the backend takes them, MMDS's included;
 *   <li>{@code vsock}: queue events, bytes each way, connections added and removed;
 *   <li>{@code entropy}, {@code balloon}: requests, bytes, throttling; inflate and deflate
 *       queue events, statistics updates, malformed chains ({@code event_fails});
 *   <li>{@code mmds}: the metadata stacks of every interface together;
 *   <li>{@code uart}: {@code read_count}, {@code write_count} (bytes through RBR and THR);
 *   <li>{@code vcpu}: {@code exit_mmio_read}, {@code exit_mmio_write} (every access to a device
 *       register, the interrupt controller's and the timer's included, since Ember emulates
 *       them all: what a VMM with a user-space irqchip sees as MMIO exits) and
 *       {@code failures};
 *   <li>{@code engine}, an Ember group with no Firecracker counterpart: instructions run by the
 *       interpreter and in translated code ({@code interpreted_instructions},
 *       {@code translated_instructions}: their ratio per flush is the share of translated code),
 *       and with the translator {@code regions_translated}, {@code regions_invalidated} (their
 *       page was written), {@code regions_evicted} (the cache's bound), {@code translation_time_us}
 *       and {@code translation_failures}.
 * </ul>
 * Queue-rule violations, which make a device need a reset, are logged as one line each and
 * counted by {@link dev.ember.devices.virtio.VirtioMmio#violations()}; Firecracker has no field
 * for them.
 *
 * <p>Immutable once returned by {@link VirtualMachine#metrics()}.
 */
public final class VmMetrics implements dev.ember.devices.virtio.MetricsSink {

    private final Map<String, Map<String, Long>> groups = new TreeMap<>();

    VmMetrics() {
    }

    /** Adds {@code value} to {@code group.field}. */
    @Override
    public void add(String group, String field, long value) {
        groups.computeIfAbsent(group, g -> new TreeMap<>()).merge(field, value, Long::sum);
    }

    /** Adds {@code value} to {@code family_id.field} and to the sum in {@code family.field}. */
    @Override
    public void addPerDevice(String family, String id, String field, long value) {
        add(family + "_" + id, field, value);
        add(family, field, value);
    }

    /** {@return every group, by name, each a map from field to total} */
    public Map<String, Map<String, Long>> groups() {
        Map<String, Map<String, Long>> copy = new TreeMap<>();
        groups.forEach((g, fields) -> copy.put(g, Collections.unmodifiableMap(fields)));
        return Collections.unmodifiableMap(copy);
    }

    /** {@return the total of {@code group.field}, or 0 when the VM has no such counter} */
    public long get(String group, String field) {
        Map<String, Long> fields = groups.get(group);
        return fields == null ? 0 : fields.getOrDefault(field, 0L);
    }

    @Override
    public String toString() {
        return groups.toString();
    }
}
