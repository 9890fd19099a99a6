package dev.ember.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.config.RateLimiterConfig;
import dev.ember.config.TokenBucketConfig;
import org.junit.jupiter.api.Test;

/** {@link RateLimiter} on a hand-driven clock. */
class RateLimiterTest {

    private static final long MS = 1_000_000;

    private long now = 5_000 * MS;

    private RateLimiter limiter(TokenBucketConfig bandwidth, TokenBucketConfig ops) {
        return RateLimiter.of(new RateLimiterConfig(bandwidth, ops), () -> now);
    }

    @Test
    void aSavedLimiterRestoresItsRunTimeConfigurationAndItsFill() {
        RateLimiter l = limiter(new TokenBucketConfig(1000, 0, 1000), null);
        l.update(new RateLimiterConfig(null, new TokenBucketConfig(10, 5, 1000)));   // a PATCH at run time
        assertTrue(l.consume(700));
        assertTrue(l.consume(0, TokenType.OPS));
        RateLimiter.State saved = l.saveState();

        RateLimiter restored = RateLimiter.of(null, () -> now);   // as built from the boot-time config
        restored.restoreState(saved);
        assertEquals(l.config(), restored.config());
        assertEquals(300, restored.bandwidth().budget());
        assertTrue(restored.consume(300));
        assertFalse(restored.consume(1));
        now += 1000 * MS;   // a full refill time later the bucket is full again
        assertTrue(restored.consume(1000));
    }

    @Test
    void unlimitedLimiterGrantsEverything() {
        RateLimiter l = RateLimiter.of(null, () -> now);
        for (int i = 0; i < 1000; i++) {
            assertTrue(l.consume(1L << 40));
        }
        assertEquals(0, l.throttledCount());
        assertTrue(l.unlimitedNow());
    }

    @Test
    void bandwidthOnlyLimitsBytesNotRequests() {
        RateLimiter l = limiter(new TokenBucketConfig(1000, 0, 1000), null);
        assertTrue(l.consume(600));
        assertTrue(l.consume(400));
        assertTrue(l.consume(0, TokenType.OPS));
        assertFalse(l.consume(1));
        assertEquals(1, l.throttledCount());
    }

    @Test
    void opsOnlyLimitsRequestsWhateverTheirSize() {
        RateLimiter l = limiter(null, new TokenBucketConfig(2, 0, 1000));
        assertTrue(l.consume(1 << 20));
        assertTrue(l.consume(1 << 20));
        assertFalse(l.consume(0));
        now += 500 * MS;
        assertTrue(l.consume(1 << 20));
    }

    @Test
    void refusedBytesGiveTheOpBack() {
        RateLimiter l = limiter(new TokenBucketConfig(100, 0, 1000), new TokenBucketConfig(10, 0, 1000));
        assertTrue(l.consume(100));
        assertFalse(l.consume(50));
        assertEquals(9, l.ops().budget());
    }

    @Test
    void refusalBlocksEveryConsumeUntilTheRefusedTokensAreDue() {
        RateLimiter l = limiter(new TokenBucketConfig(1000, 0, 1000), null);   // 1 byte per ms
        assertTrue(l.consume(1000));
        assertFalse(l.consume(100));
        assertEquals(100 * MS, l.nanosUntilAvailable());
        assertTrue(l.isBlocked());
        now += 50 * MS;
        assertFalse(l.consume(1));   // 50 bytes are there, but the limiter is blocked
        assertEquals(50 * MS, l.nanosUntilAvailable());
        now += 50 * MS;
        assertFalse(l.isBlocked());
        assertTrue(l.consume(100));
        assertEquals(2, l.throttledCount());
    }

    @Test
    void overConsumptionIsGrantedAndBlocksUntilTheDebtIsPaid() {
        RateLimiter l = limiter(new TokenBucketConfig(64, 0, 64), null);     // 1 byte per ms
        assertTrue(l.consume(200));
        assertEquals(136 * MS, l.nanosUntilAvailable());
        assertFalse(l.consume(1));
        now += 136 * MS;
        assertEquals(0, l.nanosUntilAvailable());
    }

    @Test
    void oneTimeBurstLetsAnInitialBurstThroughOnce() {
        RateLimiter l = limiter(new TokenBucketConfig(100, 1000, 1000), null);
        assertTrue(l.consume(1000));
        assertTrue(l.consume(100));
        assertFalse(l.consume(1));
    }

    @Test
    void replenishUndoesAConsume() {
        RateLimiter l = limiter(new TokenBucketConfig(100, 0, 1000), new TokenBucketConfig(1, 0, 1000));
        assertTrue(l.consume(100));
        l.replenish(100);
        assertTrue(l.consume(100));
    }

    @Test
    void updateReplacesAGivenBucketWithAFullOneAndKeepsTheOther() {
        RateLimiter l = limiter(new TokenBucketConfig(100, 0, 1000), new TokenBucketConfig(5, 0, 1000));
        assertTrue(l.consume(100));
        assertFalse(l.consume(1));
        l.update(new RateLimiterConfig(new TokenBucketConfig(10_000, 0, 1000), null));
        assertFalse(l.isBlocked());
        assertTrue(l.consume(10_000));
        assertEquals(new RateLimiterConfig(new TokenBucketConfig(10_000, 0, 1000), new TokenBucketConfig(5, 0, 1000)),
                l.config());
        assertEquals(3, l.ops().budget());
    }

    @Test
    void updateWithNullChangesNothing() {
        RateLimiter l = limiter(new TokenBucketConfig(100, 0, 1000), null);
        l.update(null);
        l.update(RateLimiterConfig.UNLIMITED);
        assertEquals(new RateLimiterConfig(new TokenBucketConfig(100, 0, 1000), null), l.config());
    }

    @Test
    void disableRemovesTheBucket() {
        RateLimiter l = limiter(new TokenBucketConfig(100, 0, 1000), new TokenBucketConfig(5, 0, 1000));
        assertTrue(l.consume(100));
        l.update(BucketUpdate.of(0, 0, 0), BucketUpdate.KEEP);
        assertNull(l.bandwidth());
        assertTrue(l.consume(1 << 30));
        assertEquals(new RateLimiterConfig(null, new TokenBucketConfig(5, 0, 1000)), l.config());
    }

    @Test
    void updateAddsALimitToAnUnlimitedLimiter() {
        RateLimiter l = RateLimiter.of(null, () -> now);
        l.update(new RateLimiterConfig(null, new TokenBucketConfig(1, 0, 1000)));
        assertTrue(l.consume(1));
        assertFalse(l.consume(1));
    }

    @Test
    void bucketUpdateOfRawFieldsFollowsFirecracker() {
        assertEquals(BucketUpdate.DISABLE, BucketUpdate.of(0, 0, 100));
        assertEquals(BucketUpdate.DISABLE, BucketUpdate.of(100, 0, 0));
        assertEquals(new BucketUpdate.Replace(new TokenBucketConfig(100, 5, 10)), BucketUpdate.of(100, 5, 10));
        assertEquals(BucketUpdate.KEEP, BucketUpdate.of(null));
    }
}
