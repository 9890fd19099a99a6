package dev.ember.devices.virtio;

import dev.ember.devices.virtio.queue.Virtqueue;
import dev.ember.devices.virtio.queue.VirtqueueViolation;
import dev.ember.memory.GuestMemory;

/**
 * What an active device gets from its transport: guest memory, the ready queues, the
 * negotiated features and the interrupt.
 *
 * <p>Threads: callers hold the device's monitor (see {@link VirtioDevice}).
 */
public interface VirtioContext {

    /** {@return guest RAM} */
    GuestMemory memory();

    /**
     * {@return queue {@code index}, or null if the driver did not make it ready, or while the
     * device is quiesced (the VM is paused): then no queue and no guest memory may be touched}
     */
    Virtqueue queue(int index);

    /** {@return whether the driver accepted feature bit {@code bit}} */
    boolean negotiated(int bit);

    /** Raises the used-buffer interrupt (§2.3) */
    void usedBuffers();

    /** Tells the driver the configuration space changed (§2.5.1) */
    void configChanged();

    /**
     * Reports a driver's rule-breaking found outside {@link VirtioDevice#queueNotify}, e.g. on a
     * backend thread: the device is marked DEVICE_NEEDS_RESET and served no more.
     */
    void fail(VirtqueueViolation violation);

    /**
     * {@return whether the VM is paused and the device quiesced}: work that arrives meanwhile
     * (a frame from the network) is held, and the transport kicks every queue when it ends.
     */
    default boolean quiesced() {
        return false;
    }
}
