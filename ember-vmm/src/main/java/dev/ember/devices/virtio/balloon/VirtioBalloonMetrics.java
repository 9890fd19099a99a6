package dev.ember.devices.virtio.balloon;

import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of one {@link VirtioBalloon}, in the manner of Firecracker's balloon metrics:
 * written under the device monitor, readable from any thread.
 */
public final class VirtioBalloonMetrics {

    /** Pages the guest inflated that lay in RAM and were given back to the host. */
    public final LongAdder pagesInflated = new LongAdder();
    /** Pages the guest took back (deflated). */
    public final LongAdder pagesDeflated = new LongAdder();
    /** Inflate or deflate PFNs outside guest RAM, ignored. */
    public final LongAdder badPfns = new LongAdder();
    /** madvise calls made for inflation (contiguous PFNs share one). */
    public final LongAdder discardCalls = new LongAdder();
    /** Inflate, deflate or stats chains that were malformed (partial entries, writable data, too long). */
    public final LongAdder badChains = new LongAdder();
    /** Statistics buffers received and parsed. */
    public final LongAdder statsUpdates = new LongAdder();
    /** Statistics entries with a tag this device does not know, ignored. */
    public final LongAdder statsUnknownTags = new LongAdder();
    /** Times the driver posted a statistics buffer while the device still held one. */
    public final LongAdder statsExtraBuffers = new LongAdder();
    /** Config-change interrupts raised for a new target. */
    public final LongAdder targetChanges = new LongAdder();
}
