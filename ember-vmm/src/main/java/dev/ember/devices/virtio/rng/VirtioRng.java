package dev.ember.devices.virtio.rng;

import dev.ember.config.RateLimiterConfig;
import dev.ember.devices.virtio.VirtioContext;
import dev.ember.devices.virtio.VirtioDevice;
import dev.ember.devices.virtio.queue.DescriptorChain;
import dev.ember.devices.virtio.queue.Virtqueue;
import dev.ember.devices.virtio.queue.VirtqueueViolation;
import dev.ember.ratelimit.BucketUpdate;
import dev.ember.ratelimit.RateLimiter;
import dev.ember.ratelimit.RefillTimer;
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
 * <p>Rate limiting (Firecracker's entropy {@code rate_limiter}): each request takes one op and
 * the bytes it will be given (after the {@link #MAX_REQUEST} cut) from the {@link RateLimiter}, as
 * Firecracker's {@code Entropy::rate_limit_request}. A refused request is given back to the ring
 * and the queue waits for the {@link RefillTimer.Wakeup}, which serves it on the timer thread under
 * this object's monitor.
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
    private final RateLimiter limiter;
    private final RefillTimer.Wakeup wakeup;
    private VirtioContext context;   // non-null while active

    /** A device over a fresh {@code new SecureRandom()}. */
    public VirtioRng() {
        this(new SecureRandom());
    }

    /** @param random the entropy source; used only under this device's monitor */
    public VirtioRng(SecureRandom random) {
        this(random, RateLimiter.unlimited(), RefillTimer.shared());
    }

    /**
     * @param random  the entropy source; used only under this device's monitor
     * @param limiter limits requests and bytes
     * @param timer   the VM's timer, which wakes the device when refused tokens are due
     */
    public VirtioRng(SecureRandom random, RateLimiter limiter, RefillTimer timer) {
        this.random = Objects.requireNonNull(random, "random");
        this.limiter = Objects.requireNonNull(limiter, "limiter");
        this.wakeup = timer.wakeup(this::refilled);
    }

    /** {@return the rate limiter; its throttled count is Firecracker's {@code entropy_rate_limiter_throttled}} */
    public RateLimiter rateLimiter() {
        return limiter;
    }

    /** Applies a PATCH of the limiter (null buckets kept) and serves what it held back; any thread. */
    public void updateRateLimiter(RateLimiterConfig config) {
        limiter.update(config);
        wakeup.arm(0);
    }

    /** As {@link #updateRateLimiter(RateLimiterConfig)}, able to remove a bucket. */
    public void updateRateLimiter(BucketUpdate bandwidth, BucketUpdate ops) {
        limiter.update(bandwidth, ops);
        wakeup.arm(0);
    }

    private synchronized void refilled() {
        try {
            drain();
        } catch (VirtqueueViolation v) {
            if (context != null) {
                context.fail(v);
            }
        }
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
        wakeup.cancel();
    }

    @Override
    public void close() {
        wakeup.cancel();
    }

    private void drain() throws VirtqueueViolation {
        Virtqueue queue = context == null ? null : context.queue(REQUESTQ);
        if (queue == null) {
            return;
        }
        boolean used = false;
        boolean throttled = false;
        do {
            for (DescriptorChain chain; (chain = queue.pop()) != null; ) {
                int grant = grant(chain.writableBytes());
                if (!limiter.consume(grant)) {
                    queue.undoPop();
                    throttled = true;
                    break;
                }
                if (chain.writableBytes() > MAX_REQUEST) {
                    metrics.truncatedRequests.increment();
                }
                used = true;
                queue.addUsed(chain.head(), fill(chain, grant));
            }
        } while (!throttled && queue.enableNotification());
        if (used && queue.needsInterrupt()) {
            context.usedBuffers();
        }
        if (throttled) {
            wakeup.arm(limiter.nanosUntilAvailable());
        }
    }

    /** {@return how many of the {@code wanted} bytes this request gets} */
    private int grant(long wanted) {
        // Bounds: one request never costs more than MAX_REQUEST bytes of host entropy.
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

    /** The entropy device's state for snapshots is its rate limiter's: configuration and fill. */
    @Override
    public Record saveState() {
        return limiter.saveState();
    }

    @Override
    public void restoreState(Record state) {
        limiter.restoreState((RateLimiter.State) state);
    }

    /** Firecracker's {@code entropy} metrics. */
    @Override
    public void reportMetrics(dev.ember.devices.virtio.MetricsSink m, dev.ember.devices.virtio.VirtioMmio transport) {
        var r = metrics();
        m.add("entropy", "entropy_event_count", r.requests.sum());
        m.add("entropy", "entropy_bytes", r.bytes.sum());
        m.add("entropy", "entropy_rate_limiter_throttled", limiter.throttledCount());
        m.add("entropy", "entropy_event_fails", r.badChains.sum());
    }

    /** The entropy device {@code config} describes, fed from the host's {@link SecureRandom}. */
    public static VirtioRng create(dev.ember.config.EntropyConfig config, RefillTimer timer) {
        return new VirtioRng(new SecureRandom(), RateLimiter.of(config.rateLimiter()), timer);
    }
}
