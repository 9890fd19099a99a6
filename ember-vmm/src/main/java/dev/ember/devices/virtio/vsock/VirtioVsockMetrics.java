package dev.ember.devices.virtio.vsock;

import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of one {@link VirtioVsock}, in the manner of Firecracker's vsock metrics: written
 * under the device monitor or on its thread, readable from any thread.
 */
public final class VirtioVsockMetrics {

    /** Connections that reached the established state, either side initiating. */
    public final LongAdder connectionsOpened = new LongAdder();
    /** Established connections torn down, for any reason; opened minus closed is the number live. */
    public final LongAdder connectionsClosed = new LongAdder();
    /** Payload bytes the guest sent that were written to host sockets. */
    public final LongAdder bytesFromGuest = new LongAdder();
    /** Payload bytes read from host sockets and placed in rx buffers. */
    public final LongAdder bytesToGuest = new LongAdder();
    /**
     * tx packets dropped as hostile or malformed: short header, {@code len} beyond the buffer,
     * wrong source CID, unknown type or op, a credit breach, a packet the connection's state
     * does not allow.
     */
    public final LongAdder droppedPackets = new LongAdder();
    /** RST packets sent to the guest. */
    public final LongAdder resetsSent = new LongAdder();
    /** rx chains returned unused because they could not hold a header. */
    public final LongAdder badRxBuffers = new LongAdder();
    /** Host connections to {@code uds_path} closed without a guest connection: bad CONNECT line, too many connections, timeout. */
    public final LongAdder refusedHostConnections = new LongAdder();
    /** Guest requests refused: no Unix listener at {@code uds_path_PORT} or too many connections. */
    public final LongAdder refusedGuestConnections = new LongAdder();
}
