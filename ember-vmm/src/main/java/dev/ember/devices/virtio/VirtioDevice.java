package dev.ember.devices.virtio;

import dev.ember.devices.virtio.queue.VirtqueueViolation;

/**
 * A virtio device type behind a transport (VIRTIO 1.2 §5): what it is, what it offers, its
 * configuration space and how it serves its queues. The transport ({@link VirtioMmio}) owns
 * status, feature negotiation, queue setup and interrupts.
 *
 * <p>Lifecycle: inactive until the driver sets DRIVER_OK, when {@link #activate} hands over the
 * queues; active until the driver writes status 0 (or the VM reboots), when {@link #reset}
 * takes them back. {@link #close} releases host resources when the VM ends.
 *
 * <p>Threads and locking: the transport calls every method here while holding the device's
 * monitor ({@code synchronized (device)}), on the vCPU thread that touched the register. A device
 * with threads of its own (a network backend, a vsock socket) takes the same monitor before it
 * touches a queue or the {@link VirtioContext}. Work done in {@link #queueNotify} runs on the
 * vCPU; it must not wait on anything the guest has to do.
 */
public interface VirtioDevice {

    /** {@return the device ID (§5): 1 network, 2 block, 3 console, 4 entropy, 5 balloon, 18 input, 19 socket, 26 file system} */
    int deviceType();

    /**
     * {@return the device-specific feature bits offered}; the transport adds VIRTIO_F_VERSION_1,
     * VIRTIO_F_RING_INDIRECT_DESC and VIRTIO_F_RING_EVENT_IDX
     */
    long deviceFeatures();

    /** {@return the number of virtqueues} */
    int queueCount();

    /** {@return the largest size the driver may give queue {@code index}} */
    default int queueMaxSize(int index) {
        return 256;
    }

    /**
     * Reads the device configuration space (§4.2.2: offset 0x100 onwards of the window).
     *
     * @param offset offset into the configuration space; any value, from the guest
     * @param width  1, 2, 4 or 8
     * @return the little-endian value, zero where the space has nothing
     */
    long readConfig(int offset, int width);

    /** Writes the configuration space; ignored by devices whose configuration is read-only. */
    default void writeConfig(int offset, int width, long value) { }

    /**
     * The driver set DRIVER_OK: the queues in {@code context} are ready (those the driver left
     * unready are null) and the negotiated features are final.
     */
    void activate(VirtioContext context) throws VirtqueueViolation;

    /** The driver notified queue {@code index} (always a valid, ready queue of an active device). */
    void queueNotify(int index) throws VirtqueueViolation;

    /** The driver reset the device: forget the queues and return to the inactive state. */
    void reset();

    /** The VM is ending: release host resources (files, sockets, threads). Idempotent. */
    default void close() { }

    // ---- snapshots (Firecracker's per-device persist) -------------------------------------

    /**
     * {@return the device's own state for a snapshot, beyond its configuration record and its
     * transport's queues; null when it has none}. Called with the device quiesced: vCPUs paused
     * and the device's monitor held.
     */
    default Record saveState() {
        return null;
    }

    /**
     * Restores what {@link #saveState} returned, on a device freshly built from the same
     * configuration, before the transport reactivates it. The record is read back as the class
     * of what {@link #saveState} returns on that fresh device.
     *
     * @throws IllegalArgumentException if the state does not fit this device
     */
    default void restoreState(Record state) { }

    /**
     * Called once after a restored VM's transport has reactivated the device: the place to tell
     * the driver about host-side state that could not be restored (vsock's transport reset).
     */
    default void restored() { }

    /**
     * Reports the device's counters under Firecracker's metric names; {@code transport} gives
     * the queue notification counts. Callable from any thread while the VM runs.
     */
    default void reportMetrics(MetricsSink m, VirtioMmio transport) { }
}
