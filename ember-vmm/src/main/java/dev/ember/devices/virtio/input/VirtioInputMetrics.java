package dev.ember.devices.virtio.input;

import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of one {@link VirtioInput}: written under the device monitor, readable from any
 * thread.
 */
public final class VirtioInputMetrics {

    /** Events written into eventq buffers. */
    public final LongAdder events = new LongAdder();
    /** Status events (LED changes and others) the driver sent. */
    public final LongAdder statusEvents = new LongAdder();
    /** Chains too short for one event (eventq: under 8 writable bytes; statusq: under 8 readable). */
    public final LongAdder badBuffers = new LongAdder();
    /** Ctrl+Alt+Delete sequences refused because the pending queue was full. */
    public final LongAdder droppedSequences = new LongAdder();
}
