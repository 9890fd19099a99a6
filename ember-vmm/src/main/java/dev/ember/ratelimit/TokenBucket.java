package dev.ember.ratelimit;

import dev.ember.config.TokenBucketConfig;
import java.math.BigInteger;
import java.util.function.LongSupplier;

/**
 * One token bucket of a {@link RateLimiter}, as Firecracker's {@code TokenBucket}
 * (src/vmm/src/rate_limiter/mod.rs): it holds at most {@code size} tokens, starts full, and
 * refills continuously at {@code size} tokens per {@code refillTimeMs} milliseconds;
 * {@code oneTimeBurst} extra tokens are spent first and never come back.
 *
 * <p>{@link #reduce} has Firecracker's three outcomes: {@link Reduction#SUCCESS} (the tokens
 * were there), {@link Reduction#FAILURE} (they were not; nothing was taken) and
 * {@link Reduction#OVER_CONSUMPTION}: a request larger than the whole bucket can never fit, so
 * it is let through, the bucket is emptied and the rest becomes a debt that the refill pays off
 * before any token is available again. Two differences from Firecracker, both so that the rate
 * holds exactly:
 * <ul>
 *   <li>Firecracker refills only when a request does not fit the budget, crediting all the time
 *       since its last refill, so after an idle period a bucket can hand out up to twice its
 *       size at once. Here every {@link #reduce} refills first, so the bucket never holds more
 *       than {@code size}.
 *   <li>Firecracker lets the bucket refill while the limiter's timer waits out an
 *       over-consumption; here the debt is paid before the bucket refills
 *       ({@code lastUpdate} moves into the future by the debt's refill time).
 * </ul>
 * The refill arithmetic is Firecracker's: the fraction {@code size / (refillTimeMs * 10^6)} is
 * reduced by its greatest common divisor, and the time of a fractional token is carried over to
 * the next refill rather than lost.
 *
 * <p>Threads: not thread-safe; its {@link RateLimiter} serialises every call.
 */
public final class TokenBucket {

    /** What {@link #reduce} did. */
    public enum Reduction {
        /** The tokens were taken. */
        SUCCESS,
        /** Not enough tokens; nothing was taken. */
        FAILURE,
        /** More than the bucket's size was asked: all was granted, the excess is owed. */
        OVER_CONSUMPTION
    }

    private static final long NANOS_PER_MS = 1_000_000;

    private final long size;
    private final long initialOneTimeBurst;
    private final long refillTimeMs;
    private final long refillTimeNs;
    private final long processedCapacity;
    private final long processedRefillTime;
    private final LongSupplier clock;

    private long oneTimeBurst;
    private long budget;
    /** The clock reading up to which refills have been credited; ahead of now while in debt. */
    private long lastUpdate;

    /**
     * A full bucket.
     *
     * @param clock monotonic nanoseconds, e.g. {@code System::nanoTime}
     * @throws IllegalArgumentException if {@code size} or {@code refillTimeMs} is below 1, the
     *                                  burst is negative, or the refill time overflows in nanoseconds
     */
    public TokenBucket(long size, long oneTimeBurst, long refillTimeMs, LongSupplier clock) {
        if (size < 1 || refillTimeMs < 1 || oneTimeBurst < 0 || refillTimeMs > Long.MAX_VALUE / NANOS_PER_MS) {
            throw new IllegalArgumentException("token bucket size " + size + ", one_time_burst " + oneTimeBurst
                    + ", refill_time " + refillTimeMs + " ms is not a valid bucket");
        }
        this.size = size;
        this.initialOneTimeBurst = oneTimeBurst;
        this.oneTimeBurst = oneTimeBurst;
        this.refillTimeMs = refillTimeMs;
        this.refillTimeNs = refillTimeMs * NANOS_PER_MS;
        long gcd = gcd(size, refillTimeNs);
        this.processedCapacity = size / gcd;
        this.processedRefillTime = refillTimeNs / gcd;
        this.clock = clock;
        this.budget = size;
        this.lastUpdate = clock.getAsLong();
    }

    /** A full bucket as {@code config} describes it. */
    public static TokenBucket of(TokenBucketConfig config, LongSupplier clock) {
        return new TokenBucket(config.size(), config.oneTimeBurst(), config.refillTimeMs(), clock);
    }

    private static long gcd(long x, long y) {
        while (y != 0) {
            long t = y;
            y = x % y;
            x = t;
        }
        return x;
    }

    /**
     * Takes {@code tokens} from the one-time burst first, then from the budget.
     *
     * @param tokens 0 or more
     * @return the outcome; on {@link Reduction#FAILURE} nothing was taken
     */
    public Reduction reduce(long tokens) {
        if (tokens < 0) {
            throw new IllegalArgumentException("negative token count " + tokens);
        }
        long now = clock.getAsLong();
        if (oneTimeBurst > 0) {
            if (oneTimeBurst >= tokens) {
                oneTimeBurst -= tokens;
                // As Firecracker: while the burst lasts the budget stays full and time is not credited.
                lastUpdate = now;
                return Reduction.SUCCESS;
            }
            tokens -= oneTimeBurst;
            oneTimeBurst = 0;
        }
        refill(now);
        if (tokens <= budget) {
            budget -= tokens;
            return Reduction.SUCCESS;
        }
        if (tokens > size) {
            long debt = tokens - budget;
            budget = 0;
            // The debt is paid before anything refills: credit starts once its refill time has passed.
            lastUpdate = Math.max(lastUpdate, now) + saturate(mulDivCeil(debt, processedRefillTime, processedCapacity));
            return Reduction.OVER_CONSUMPTION;
        }
        return Reduction.FAILURE;
    }

    /**
     * Gives back {@code tokens} taken by {@link #reduce}, as Firecracker's
     * {@code force_replenish}: to the burst while it lasts (at most its initial value), else to
     * the budget (at most {@code size}).
     */
    public void replenish(long tokens) {
        if (tokens <= 0) {
            return;
        }
        if (oneTimeBurst > 0) {
            oneTimeBurst = Math.min(saturatedAdd(oneTimeBurst, tokens), initialOneTimeBurst);
            return;
        }
        budget = Math.min(saturatedAdd(budget, tokens), size);
    }

    /**
     * {@return nanoseconds from now until {@code tokens} (at most {@code size}) can be taken,
     * 0 if they can now}; for a request larger than the bucket, until the bucket is full
     */
    public long nanosUntil(long tokens) {
        long now = clock.getAsLong();
        if (tokens <= oneTimeBurst) {
            return 0;
        }
        refill(now);
        long missing = Math.min(tokens - oneTimeBurst, size) - budget;
        if (missing <= 0) {
            return 0;
        }
        long at = lastUpdate + saturate(mulDivCeil(missing, processedRefillTime, processedCapacity));
        return Math.max(1, at - now);
    }

    /** {@return nanoseconds until an over-consumption's debt is paid, 0 if there is none} */
    public long nanosInDebt() {
        return Math.max(0, lastUpdate - clock.getAsLong());
    }

    /** Credits the tokens generated between {@code lastUpdate} and {@code now}. */
    private void refill(long now) {
        long delta = now - lastUpdate;
        if (delta <= 0) {
            return;   // in debt, or no time has passed
        }
        if (delta >= refillTimeNs) {
            budget = size;
            lastUpdate = now;
            return;
        }
        long tokens = mulDiv(delta, processedCapacity, processedRefillTime);
        if (tokens == 0) {
            return;
        }
        // The time of the fractional token left over is kept for the next refill (rounded up,
        // so no nanosecond is spent twice), as Firecracker's time_adjustment.
        lastUpdate += mulDivCeil(tokens, processedRefillTime, processedCapacity);
        budget = Math.min(budget + tokens, size);
    }

    /** {@return a * b / c rounded down}, for non-negative operands and positive c. */
    static long mulDiv(long a, long b, long c) {
        long high = Math.multiplyHigh(a, b);
        long low = a * b;
        if (high == 0 && low >= 0) {
            return low / c;
        }
        return BigInteger.valueOf(a).multiply(BigInteger.valueOf(b)).divide(BigInteger.valueOf(c)).min(MAX).longValue();
    }

    /** {@return a * b / c rounded up}, for non-negative operands and positive c. */
    static long mulDivCeil(long a, long b, long c) {
        long high = Math.multiplyHigh(a, b);
        long low = a * b;
        if (high == 0 && low >= 0) {
            return low / c + (low % c == 0 ? 0 : 1);
        }
        BigInteger[] qr = BigInteger.valueOf(a).multiply(BigInteger.valueOf(b)).divideAndRemainder(BigInteger.valueOf(c));
        BigInteger q = qr[1].signum() == 0 ? qr[0] : qr[0].add(BigInteger.ONE);
        return q.min(MAX).longValue();
    }

    private static final BigInteger MAX = BigInteger.valueOf(Long.MAX_VALUE);

    /** Caps a time span so that adding it to a clock reading cannot wrap (about 146 years). */
    private static long saturate(long nanos) {
        return Math.min(nanos, Long.MAX_VALUE / 4);
    }

    private static long saturatedAdd(long a, long b) {
        long r = a + b;
        return r < 0 ? Long.MAX_VALUE : r;
    }

    /** {@return the capacity in tokens} */
    public long size() {
        return size;
    }

    /** {@return the configured one-time burst} */
    public long initialOneTimeBurst() {
        return initialOneTimeBurst;
    }

    /** {@return what is left of the one-time burst} */
    public long oneTimeBurst() {
        return oneTimeBurst;
    }

    /** {@return the milliseconds to refill an empty bucket} */
    public long refillTimeMs() {
        return refillTimeMs;
    }

    /** {@return the tokens in the bucket as of the last operation, burst excluded} */
    public long budget() {
        return budget;
    }

    /** {@return the configuration this bucket was made from} */
    public TokenBucketConfig config() {
        return new TokenBucketConfig(size, initialOneTimeBurst, refillTimeMs);
    }

    @Override
    public String toString() {
        return "TokenBucket[size=" + size + ", oneTimeBurst=" + oneTimeBurst + "/" + initialOneTimeBurst
                + ", refillTimeMs=" + refillTimeMs + ", budget=" + budget + "]";
    }

    /**
     * A bucket's fill for snapshots: the tokens in it now, what is left of the one-time burst,
     * and how far it is in debt (nanoseconds before it refills again).
     */
    public record State(long budget, long oneTimeBurst, long debtNanos) { }

    /** {@return the fill as of now} */
    public State saveState() {
        long now = clock.getAsLong();
        refill(now);
        return new State(budget, oneTimeBurst, Math.max(0, lastUpdate - now));
    }

    /** Fills the bucket as {@code s} says, clamped to this bucket's size and burst; time restarts now. */
    public void restoreState(State s) {
        budget = Math.max(0, Math.min(size, s.budget()));
        oneTimeBurst = Math.max(0, Math.min(initialOneTimeBurst, s.oneTimeBurst()));
        lastUpdate = clock.getAsLong() + Math.max(0, Math.min(refillTimeNs, s.debtNanos()));
    }
}
