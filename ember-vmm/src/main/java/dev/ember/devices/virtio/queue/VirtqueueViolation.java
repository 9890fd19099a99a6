package dev.ember.devices.virtio.queue;

/**
 * A driver broke the split-virtqueue rules of VIRTIO 1.2 §2.7 in a way the device cannot
 * answer request by request: a looping or over-long chain, an index outside the table, an
 * available index that runs ahead of the ring, a malformed indirect table, or a buffer outside
 * guest RAM.
 *
 * <p>The transport catches it, counts it, sets DEVICE_NEEDS_RESET (§2.1.2) and stops serving
 * that device until the driver resets it. It is a guest event, never a host failure: it carries
 * no stack trace.
 */
public final class VirtqueueViolation extends Exception {

    public VirtqueueViolation(String message) {
        super(message, null, false, false);
    }
}
