package dev.ember.devices.virtio.rng;

import dev.ember.devices.virtio.VirtioContext;
import dev.ember.devices.virtio.VirtioDevice;
import dev.ember.devices.virtio.queue.DescriptorChain;
import dev.ember.devices.virtio.queue.Virtqueue;
import dev.ember.devices.virtio.queue.VirtqueueViolation;
import java.security.SecureRandom;
import java.util.Objects;

/**
 * The virtio entropy device (VIRTIO 1.2 §5.4): fills every buffer the driver posts with bytes
 * from a host {@link SecureRandom}, as Linux's {@code virtio-rng} hw_random driver expects.
 *
 * <pre>
 *   queue 0  requestq   device-writable buffers to fill   (§5.4.2)
 *   no feature bits, no configuration space               (§5.4.3, §5.4.4)
 * </pre>
 *
 * <p>Each chain's writable part is filled from the front, at most {@link #MAX_REQUEST} bytes,
 * and returned with the used length set to the bytes written (§5.4.6.1: the device MUST place
 * one or more random bytes into the buffer, but it MAY fill fewer than requested). Served on
 * the notifying vCPU; {@link SecureRandom#nextBytes} does not block on Linux's default
 * (NativePRNG, {@code /dev/urandom}).
 *
 * <p><b>Guest-controlled.</b> The chain lengths: a request is cut to {@link #MAX_REQUEST}
 * bytes so one notification cannot make the host generate gigabytes; a chain with no writable
 * part is returned with length 0 and counted. Readable buffers are ignored.
 *
 * <p>Threads: the transport calls in on vCPU threads under this object's monitor.
 */
public final class VirtioRng implements VirtioDevice {

    /** §5: device ID of an entropy source. */
    public static final int DEVICE_ID = 4;
    /** §5.4.2: the one queue. */
    public static final int REQUESTQ = 0;
    /** Most bytes written for one request. */
    public static final int MAX_REQUEST = 64 * 1024;

    private final SecureRandom random;
    private final VirtioRngMetrics metrics = new VirtioRngMetrics();
    private VirtioContext context;   // non-null while active

    /** A device over a fresh {@code new SecureRandom()}. */
    public VirtioRng() {
        this(new SecureRandom());
    }

    /** @param random the entropy source; used only under this device's monitor */
    public VirtioRng(SecureRandom random) {
        this.random = Objects.requireNonNull(random, "random");
    }

    /** {@return the device's counters} */
    public VirtioRngMetrics metrics() {
        return metrics;
    }

    @Override
    public int deviceType() {
        return DEVICE_ID;
    }

    @Override
    public long deviceFeatures() {
        return 0;
    }

    @Override
    public int queueCount() {
        return 1;
    }

    @Override
    public long readConfig(int offset, int width) {
        return 0;
    }

    @Override
    public synchronized void activate(VirtioContext context) throws VirtqueueViolation {
        this.context = context;
        drain();
    }

    @Override
    public synchronized void queueNotify(int index) throws VirtqueueViolation {
        drain();
    }

    @Override
    public synchronized void reset() {
        context = null;
    }

    private void drain() throws VirtqueueViolation {
        Virtqueue queue = context == null ? null : context.queue(REQUESTQ);
        if (queue == null) {
            return;
        }
        boolean used = false;
        do {
            for (DescriptorChain chain; (chain = queue.pop()) != null; ) {
                int grant = grant(chain.writableBytes());
                // The place where issue 4's rate limiter will refuse a request: grant 0, then
                // queue.undoPop() and stop until the limiter's timer fires.
                used = true;
                queue.addUsed(chain.head(), fill(chain, grant));
            }
        } while (queue.enableNotification());
        if (used && queue.needsInterrupt()) {
            context.usedBuffers();
        }
    }

    /** {@return how many of the {@code wanted} bytes this request gets} */
    private int grant(long wanted) {
        // Bounds: one request never costs more than MAX_REQUEST bytes of host entropy.
        if (wanted > MAX_REQUEST) {
            metrics.truncatedRequests.increment();
        }
        return (int) Math.min(wanted, MAX_REQUEST);
    }

    /** Writes {@code n} random bytes into {@code chain}'s writable part; {@return the bytes written} */
    private int fill(DescriptorChain chain, int n) {
        if (n == 0) {
            metrics.badChains.increment();
            return 0;
        }
        byte[] bytes = new byte[n];   // fresh: no entropy ever sits in a long-lived buffer
        random.nextBytes(bytes);
        int written = chain.write(0, bytes, 0, n);
        metrics.requests.increment();
        metrics.bytes.add(written);
        return written;
    }
}
