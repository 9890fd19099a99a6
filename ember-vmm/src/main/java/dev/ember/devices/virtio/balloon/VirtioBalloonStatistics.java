package dev.ember.devices.virtio.balloon;

import java.time.Instant;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * A snapshot of a balloon's size and of the guest's latest memory statistics (VIRTIO 1.2
 * §5.5.6.3), what Firecracker's {@code GET /balloon/statistics} reports.
 *
 * @param targetPages the size the host asked for, in 4 KiB pages ({@code num_pages})
 * @param actualPages the size the driver reports, in 4 KiB pages ({@code actual})
 * @param updatedAt   when the guest last delivered statistics; null if it never has
 * @param values      the latest value of every statistic the guest has reported, unmodifiable;
 *                    a tag missing from a later report keeps its earlier value
 */
public record VirtioBalloonStatistics(long targetPages, long actualPages, Instant updatedAt,
                                      Map<VirtioBalloonStat, Long> values) {

    public VirtioBalloonStatistics {
        values = values.isEmpty() ? Map.of() : Collections.unmodifiableMap(new EnumMap<>(values));
    }

    /** {@return the target in MiB, rounded down} */
    public long targetMib() {
        return targetPages / VirtioBalloon.PAGES_PER_MIB;
    }

    /** {@return the actual size in MiB, rounded down} */
    public long actualMib() {
        return actualPages / VirtioBalloon.PAGES_PER_MIB;
    }

    /** {@return the latest value of {@code stat}, empty if the guest never reported it} */
    public OptionalLong value(VirtioBalloonStat stat) {
        Long v = values.get(stat);
        return v == null ? OptionalLong.empty() : OptionalLong.of(v);
    }
}
