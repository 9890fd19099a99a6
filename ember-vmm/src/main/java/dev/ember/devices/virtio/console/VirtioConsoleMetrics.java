package dev.ember.devices.virtio.console;

import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of one {@link VirtioConsole}, in the manner of Firecracker's device metrics: written
 * under the device monitor, readable from any thread.
 */
public final class VirtioConsoleMetrics {

    /** Bytes of guest output handed to the host, emergency writes included. */
    public final LongAdder txBytes = new LongAdder();
    /** Transmit chains served. */
    public final LongAdder txChains = new LongAdder();
    /** Output bytes dropped because a transmit chain exceeded {@link VirtioConsole#MAX_TX_CHAIN}. */
    public final LongAdder txTruncatedBytes = new LongAdder();
    /** Bytes of input delivered to the guest. */
    public final LongAdder rxBytes = new LongAdder();
    /** Receive chains filled. */
    public final LongAdder rxChains = new LongAdder();
    /** Receive chains without writable space, returned empty. */
    public final LongAdder badChains = new LongAdder();
    /** Bytes written through {@code emerg_wr}. */
    public final LongAdder emergencyWrites = new LongAdder();
    /** Times the host output threw; the output was lost. */
    public final LongAdder outputErrors = new LongAdder();
}
