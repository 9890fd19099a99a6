package dev.ember.ratelimit;

import static dev.ember.ratelimit.TokenBucket.Reduction.FAILURE;
import static dev.ember.ratelimit.TokenBucket.Reduction.OVER_CONSUMPTION;
import static dev.ember.ratelimit.TokenBucket.Reduction.SUCCESS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ember.config.TokenBucketConfig;
import org.junit.jupiter.api.Test;

/** {@link TokenBucket}'s arithmetic on a hand-driven clock: no sleeps. */
class TokenBucketTest {

    private static final long MS = 1_000_000;

    private long now = 1_000 * MS;   // any origin; the bucket only uses differences

    private TokenBucket bucket(long size, long burst, long refillMs) {
        return new TokenBucket(size, burst, refillMs, () -> now);
    }

    @Test
    void newBucketIsFullAndRefusesTheTokenPastItsSize() {
        TokenBucket b = bucket(1000, 0, 1000);
        assertEquals(SUCCESS, b.reduce(1000));
        assertEquals(FAILURE, b.reduce(1));
        assertEquals(0, b.budget());
    }

    @Test
    void failureTakesNothing() {
        TokenBucket b = bucket(1000, 0, 1000);
        assertEquals(SUCCESS, b.reduce(600));
        assertEquals(FAILURE, b.reduce(500));
        assertEquals(SUCCESS, b.reduce(400));
    }

    @Test
    void refillIsProportionalToElapsedTime() {
        TokenBucket b = bucket(1000, 0, 1000);
        b.reduce(1000);
        now += 250 * MS;
        assertEquals(SUCCESS, b.reduce(250));
        assertEquals(FAILURE, b.reduce(1));
    }

    @Test
    void fractionOfATokenIsCarriedToTheNextRefill() {
        // 3 tokens per 10 ms: one token every 3.33 ms.
        TokenBucket b = bucket(3, 0, 10);
        b.reduce(3);
        now += 5 * MS;                       // 1.5 tokens
        assertEquals(SUCCESS, b.reduce(1));
        assertEquals(FAILURE, b.reduce(1));
        now += 2 * MS;                       // 2.1 tokens in all since empty
        assertEquals(SUCCESS, b.reduce(1));
        now += 3 * MS + MS / 3 + 1;          // 10 ms since empty: the third token
        assertEquals(SUCCESS, b.reduce(1));
        assertEquals(FAILURE, b.reduce(1));
    }

    @Test
    void idleBucketHoldsNoMoreThanItsSize() {
        TokenBucket b = bucket(1000, 0, 100);
        now += 10_000 * MS;
        assertEquals(SUCCESS, b.reduce(1000));
        assertEquals(FAILURE, b.reduce(1));
    }

    @Test
    void oneTimeBurstIsSpentFirstAndNeverRefills() {
        TokenBucket b = bucket(100, 50, 100);
        assertEquals(SUCCESS, b.reduce(50));
        assertEquals(0, b.oneTimeBurst());
        assertEquals(100, b.budget());
        assertEquals(SUCCESS, b.reduce(100));
        now += 1_000 * MS;
        assertEquals(SUCCESS, b.reduce(100));
        assertEquals(FAILURE, b.reduce(1));
    }

    @Test
    void requestLargerThanTheBurstTakesTheRestFromTheBudget() {
        TokenBucket b = bucket(100, 30, 100);
        assertEquals(SUCCESS, b.reduce(120));
        assertEquals(0, b.oneTimeBurst());
        assertEquals(10, b.budget());
    }

    @Test
    void requestLargerThanTheBucketIsGrantedAndItsExcessOwed() {
        TokenBucket b = bucket(100, 0, 100);          // 1 token per ms
        assertEquals(OVER_CONSUMPTION, b.reduce(350));
        assertEquals(0, b.budget());
        assertEquals(250 * MS, b.nanosInDebt());
        now += 250 * MS;
        assertEquals(FAILURE, b.reduce(1));            // debt paid, nothing refilled yet
        now += MS;
        assertEquals(SUCCESS, b.reduce(1));
    }

    @Test
    void overConsumptionFromAPartlyUsedBucketOwesOnlyWhatWasMissing() {
        TokenBucket b = bucket(100, 0, 100);
        b.reduce(40);
        assertEquals(OVER_CONSUMPTION, b.reduce(160));
        assertEquals(100 * MS, b.nanosInDebt());
    }

    @Test
    void nanosUntilCountsFromTheLastCreditedInstant() {
        TokenBucket b = bucket(1000, 0, 1000);         // 1 token per ms
        b.reduce(1000);
        assertEquals(100 * MS, b.nanosUntil(100));
        now += 40 * MS;
        assertEquals(60 * MS, b.nanosUntil(100));
        now += 60 * MS;
        assertEquals(0, b.nanosUntil(100));
    }

    @Test
    void nanosUntilOfMoreThanTheSizeIsTheTimeToFill() {
        TokenBucket b = bucket(1000, 0, 1000);
        b.reduce(1000);
        assertEquals(1000 * MS, b.nanosUntil(5000));
    }

    @Test
    void replenishRefillsTheBurstWhileItLastsCappedAtItsInitialValue() {
        TokenBucket b = bucket(100, 50, 100);
        b.reduce(20);
        b.replenish(1000);
        assertEquals(50, b.oneTimeBurst());
        assertEquals(100, b.budget());
    }

    @Test
    void replenishRefillsTheBudgetCappedAtTheSize() {
        TokenBucket b = bucket(100, 0, 100);
        b.reduce(30);
        b.replenish(10);
        assertEquals(80, b.budget());
        b.replenish(1000);
        assertEquals(100, b.budget());
    }

    @Test
    void hugeSizesAndRefillTimesDoNotOverflow() {
        TokenBucket b = bucket(Long.MAX_VALUE / 2, 0, 1_000_000_000L);
        b.reduce(Long.MAX_VALUE / 2);
        now += 500_000_000L * MS;
        assertEquals(SUCCESS, b.reduce(Long.MAX_VALUE / 4 - 1));
        assertEquals(FAILURE, b.reduce(Long.MAX_VALUE / 8));
    }

    @Test
    void mulDivFallsBackToExactArithmeticPastSixtyFourBits() {
        assertEquals(Long.MAX_VALUE / 3, TokenBucket.mulDiv(Long.MAX_VALUE, 4, 12));
        assertEquals(3, TokenBucket.mulDivCeil(5, 1, 2));
        assertEquals(Long.MAX_VALUE, TokenBucket.mulDiv(Long.MAX_VALUE, Long.MAX_VALUE, 1));
    }

    @Test
    void configRoundTrips() {
        TokenBucketConfig c = new TokenBucketConfig(4096, 512, 250);
        assertEquals(c, TokenBucket.of(c, () -> now).config());
    }

    @Test
    void invalidParametersAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> bucket(0, 0, 100));
        assertThrows(IllegalArgumentException.class, () -> bucket(100, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> bucket(100, -1, 100));
        assertThrows(IllegalArgumentException.class, () -> bucket(100, 0, Long.MAX_VALUE));
        assertThrows(IllegalArgumentException.class, () -> bucket(100, 0, 100).reduce(-1));
    }
}
