package dev.ember.net;

/**
 * The host side of one virtio-net interface: where the guest's Ethernet frames go and where
 * frames for the guest come from. Frames carry no virtio header; the device adds and strips it.
 *
 * <p>Threads: {@link #transmit} is called on the vCPU thread that notified the transmit queue,
 * under the device's lock. It must not block on the network and must not call
 * {@link FrameSink#deliver} re-entrantly on that thread for long work; the backend's own threads
 * deliver frames to the guest.
 */
public interface NetBackend extends AutoCloseable {

    /**
     * Starts the backend's threads; from now on frames for the guest go to {@code guest}.
     * Called once, when the guest driver sets DRIVER_OK.
     */
    void start(FrameSink guest);

    /**
     * Takes one frame the guest transmitted. The bytes are only valid during the call.
     *
     * @param frame an Ethernet frame (destination MAC first), 14 to 65,550 bytes
     */
    void transmit(byte[] frame, int offset, int length);

    /**
     * {@return whether every TCP and UDP frame this backend delivers already carries a verified,
     * correct checksum}; the device then lets the guest skip checking it
     * (VIRTIO_NET_F_GUEST_CSUM with VIRTIO_NET_HDR_F_DATA_VALID, VIRTIO 1.2 §5.1.6.4)
     */
    default boolean deliversValidChecksums() {
        return false;
    }

    /** The guest posted new receive buffers; a backend holding frames back may retry now. */
    default void receiveSpaceAvailable() { }

    /** Stops the backend's threads and releases host resources. Idempotent. */
    @Override
    void close();

    /** Where a backend hands frames to the guest. */
    interface FrameSink {
        /**
         * Offers one frame to the guest. Never blocks.
         *
         * @return false if the guest has no receive buffer free and the device's own backlog is
         *         full; the frame was not taken, and the backend should keep it or drop it as
         *         a real network would
         */
        boolean deliver(byte[] frame, int offset, int length);

        /**
         * Tells the guest that the host side of the link went down or came back, e.g. a TAP
         * interface deleted while in use. Called on the backend's thread; takes the device's
         * lock only to update its status, never waits for the guest.
         */
        default void linkChanged(boolean up) { }
    }
}
