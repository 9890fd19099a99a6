package dev.ember.devices.virtio.rng;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ember.config.RateLimiterConfig;
import dev.ember.config.TokenBucketConfig;
import dev.ember.devices.virtio.FakeDriver;
import dev.ember.devices.virtio.FakeDriver.Buffer;
import dev.ember.devices.virtio.FakeDriver.Used;
import dev.ember.ratelimit.RateLimiter;
import dev.ember.ratelimit.RefillTimer;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** virtio-rng under Firecracker's entropy {@code rate_limiter}: one op and the granted bytes per request. */
class VirtioRngRateLimitTest {

    private static final int Q = VirtioRng.REQUESTQ;
    private static final long MS = 1_000_000;

    private final AtomicLong clock = new AtomicLong(77 * MS);
    private final RefillTimer timer = new RefillTimer("rng-test");
    private VirtioRng rng;
    private FakeDriver driver;

    @AfterEach
    void close() {
        timer.close();
        driver.close();
    }

    private void start(TokenBucketConfig bandwidth, TokenBucketConfig ops) {
        rng = new VirtioRng(new SecureRandom(), RateLimiter.of(new RateLimiterConfig(bandwidth, ops), clock::get), timer);
        driver = new FakeDriver(rng, 4 << 20);
        driver.initialize(16);
    }

    private int post(int length) {
        return driver.post(Q, Buffer.out(driver.alloc(length), length));
    }

    private List<Used> takeUsed() {
        synchronized (rng) {
            return driver.takeUsed(Q);
        }
    }

    @Test
    void bandwidthLimitDefersTheRequestThatDoesNotFitUntilTheRefill() throws Exception {
        start(new TokenBucketConfig(100, 0, 100), null);   // 1 byte per ms
        int a = post(60), b = post(60);
        driver.notify(Q);

        assertEquals(List.of(new Used(a, 60)), takeUsed());
        assertEquals(1, rng.rateLimiter().throttledCount());
        clock.addAndGet(20 * MS);
        assertEquals(List.of(new Used(b, 60)), driver.awaitUsed(Q, 5_000));
        assertEquals(120, rng.metrics().bytes.sum());
    }

    @Test
    void opsLimitCountsRequests() throws Exception {
        start(null, new TokenBucketConfig(1, 0, 1000));
        int a = post(8), b = post(8);
        driver.notify(Q);

        assertEquals(List.of(new Used(a, 8)), takeUsed());
        clock.addAndGet(1000 * MS);
        assertEquals(List.of(new Used(b, 8)), driver.awaitUsed(Q, 5_000));
    }

    @Test
    void requestIsChargedOnlyTheBytesItIsGiven() {
        start(new TokenBucketConfig(VirtioRng.MAX_REQUEST, 0, 1000), null);
        post(VirtioRng.MAX_REQUEST + 4096);
        driver.notify(Q);
        assertEquals(1, takeUsed().size(), "the request is cut to MAX_REQUEST, which the bucket holds");
        assertEquals(0, rng.rateLimiter().throttledCount());
    }

    @Test
    void runTimeUpdateLiftsTheLimit() throws Exception {
        start(null, new TokenBucketConfig(1, 0, 3_600_000));
        post(8);
        int b = post(8);
        driver.notify(Q);
        assertEquals(1, takeUsed().size());

        rng.updateRateLimiter(new RateLimiterConfig(null, new TokenBucketConfig(1000, 0, 1000)));

        assertEquals(List.of(new Used(b, 8)), driver.awaitUsed(Q, 5_000));
    }
}
