package dev.ember.devices.virtio.rng;

import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of one {@link VirtioRng}, in the manner of Firecracker's entropy metrics: written
 * under the device monitor, readable from any thread.
 */
public final class VirtioRngMetrics {

    /** Requests answered with random bytes. */
    public final LongAdder requests = new LongAdder();
    /** Random bytes given to the guest. */
    public final LongAdder bytes = new LongAdder();
    /** Requests larger than {@link VirtioRng#MAX_REQUEST}, answered with that many bytes. */
    public final LongAdder truncatedRequests = new LongAdder();
    /** Chains without a writable part, returned with length 0. */
    public final LongAdder badChains = new LongAdder();
}
