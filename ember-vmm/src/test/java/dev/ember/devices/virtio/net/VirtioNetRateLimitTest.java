package dev.ember.devices.virtio.net;

import static dev.ember.devices.virtio.FakeDriver.Buffer.in;
import static dev.ember.devices.virtio.FakeDriver.Buffer.out;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.config.RateLimiterConfig;
import dev.ember.config.TokenBucketConfig;
import dev.ember.devices.virtio.FakeDriver;
import dev.ember.devices.virtio.FakeDriver.Used;
import dev.ember.ratelimit.RateLimiter;
import dev.ember.ratelimit.RefillTimer;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * virtio-net under Firecracker's {@code rx_rate_limiter} and {@code tx_rate_limiter}: one op and
 * the frame's bytes with its virtio header per frame.
 */
class VirtioNetRateLimitTest {

    private static final int RX = VirtioNet.RECEIVEQ, TX = VirtioNet.TRANSMITQ, HDR = VirtioNet.HEADER_BYTES;
    private static final byte[] MAC = {0x02, 0x00, 0x00, 0x12, 0x34, 0x56};
    private static final long MS = 1_000_000;
    private static final int FRAME = 100;

    private final AtomicLong clock = new AtomicLong(3 * MS);
    private final RefillTimer timer = new RefillTimer("net-test");
    private final VirtioNetTest.FakeBackend backend = new VirtioNetTest.FakeBackend();
    private VirtioNet net;
    private FakeDriver driver;

    @AfterEach
    void close() {
        timer.close();
        driver.close();
    }

    private RateLimiter limiter(TokenBucketConfig bandwidth, TokenBucketConfig ops) {
        return RateLimiter.of(new RateLimiterConfig(bandwidth, ops), clock::get);
    }

    private void start(RateLimiter rx, RateLimiter tx) {
        net = new VirtioNet("eth0", MAC, backend, rx, tx, timer);
        driver = new FakeDriver(net, 8 << 20);
        assertTrue(driver.initialize(64));
    }

    private static byte[] frame(int seed) {
        byte[] f = new byte[FRAME];
        Arrays.fill(f, (byte) seed);
        return f;
    }

    private int postTx(int seed) {
        byte[] b = new byte[HDR + FRAME];
        System.arraycopy(frame(seed), 0, b, HDR, FRAME);
        return driver.post(TX, in(driver.allocWith(b), b.length));
    }

    private boolean deliver(int seed) {
        byte[] f = frame(seed);
        return backend.sink.deliver(f, 0, f.length);
    }

    private static void await(BooleanSupplier condition, Object lock) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            synchronized (lock) {
                if (condition.getAsBoolean()) {
                    return;
                }
            }
            Thread.sleep(2);
        }
        throw new AssertionError("condition not met within 5 s");
    }

    @Test
    void txLimitSendsUpToTheBucketAndTheRestAfterTheRefill() throws Exception {
        // Two frames with their headers per 100 ms.
        start(RateLimiter.unlimited(), limiter(new TokenBucketConfig(2 * (HDR + FRAME), 0, 100), null));
        int a = postTx(1), b = postTx(2), c = postTx(3);
        driver.notify(TX);

        synchronized (net) {
            assertEquals(List.of(new Used(a, 0), new Used(b, 0)), driver.takeUsed(TX));
        }
        assertEquals(2, backend.sent.size());
        assertEquals(1, net.txRateLimiter().throttledCount());

        clock.addAndGet(50 * MS);
        assertEquals(List.of(new Used(c, 0)), driver.awaitUsed(TX, 5_000));
        synchronized (net) {
            assertArrayEquals(frame(3), backend.sent.get(2));
        }
    }

    @Test
    void rxFrameRefusedByTheLimiterWaitsInTheBacklogAndIsDeliveredAfterTheRefill() throws Exception {
        start(limiter(null, new TokenBucketConfig(1, 0, 1000)), RateLimiter.unlimited());
        long bufA = driver.alloc(2048), bufB = driver.alloc(2048);
        int a = driver.post(RX, out(bufA, 2048));
        int b = driver.post(RX, out(bufB, 2048));

        assertTrue(deliver(1));
        assertTrue(deliver(2));
        synchronized (net) {
            assertEquals(List.of(new Used(a, HDR + FRAME)), driver.takeUsed(RX));
        }
        assertEquals(1, net.backlogFrames());
        assertEquals(1, net.rxRateLimiter().throttledCount());

        clock.addAndGet(1000 * MS);
        assertEquals(List.of(new Used(b, HDR + FRAME)), driver.awaitUsed(RX, 5_000));
        assertArrayEquals(frame(2), driver.memory().read(bufB + HDR, FRAME));
        assertEquals(0, net.backlogFrames());
    }

    @Test
    void rxTokensAreGivenBackWhenTheGuestHasNoBuffer() {
        start(limiter(null, new TokenBucketConfig(1, 0, 1000)), RateLimiter.unlimited());
        assertTrue(deliver(1));               // no receive buffer: backlogged, op given back
        int a = driver.post(RX, out(driver.alloc(2048), 2048));
        driver.notify(RX);
        synchronized (net) {
            assertEquals(List.of(new Used(a, HDR + FRAME)), driver.takeUsed(RX));
        }
        assertEquals(0, net.rxRateLimiter().throttledCount());
    }

    @Test
    void runTimeUpdateLiftsBothLimits() throws Exception {
        TokenBucketConfig oneAnHour = new TokenBucketConfig(1, 0, 3_600_000);
        start(limiter(null, oneAnHour), limiter(null, oneAnHour));
        driver.post(RX, out(driver.alloc(2048), 2048));
        int rxB = driver.post(RX, out(driver.alloc(2048), 2048));
        postTx(1);
        int txB = postTx(2);
        driver.notify(TX);
        assertTrue(deliver(1));
        assertTrue(deliver(2));
        synchronized (net) {
            assertEquals(1, driver.takeUsed(TX).size());
            assertEquals(1, driver.takeUsed(RX).size());
        }

        RateLimiterConfig generous = new RateLimiterConfig(null, new TokenBucketConfig(1000, 0, 1000));
        net.updateRateLimiters(generous, generous);

        assertEquals(List.of(new Used(txB, 0)), driver.awaitUsed(TX, 5_000));
        assertEquals(List.of(new Used(rxB, HDR + FRAME)), driver.awaitUsed(RX, 5_000));
        await(() -> backend.sent.size() == 2, net);
    }

    @Test
    void updateOfOneDirectionLeavesTheOther() {
        TokenBucketConfig ops = new TokenBucketConfig(5, 0, 1000);
        start(limiter(null, ops), limiter(null, ops));
        net.updateRateLimiters(null, new RateLimiterConfig(new TokenBucketConfig(4096, 0, 100), null));
        assertEquals(new RateLimiterConfig(null, ops), net.rxRateLimiter().config());
        assertEquals(new RateLimiterConfig(new TokenBucketConfig(4096, 0, 100), ops), net.txRateLimiter().config());
    }
}
