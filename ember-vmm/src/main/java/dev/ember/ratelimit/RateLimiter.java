package dev.ember.ratelimit;

import dev.ember.config.RateLimiterConfig;
import java.util.function.LongSupplier;

/**
 * A device's rate limiter, as Firecracker's {@code RateLimiter} (src/vmm/src/rate_limiter/mod.rs):
 * an optional bandwidth bucket (tokens are bytes) and an optional ops bucket (tokens are
 * requests); an absent bucket never limits.
 *
 * <p>A refused {@link #consume} puts the limiter in the <em>blocked</em> state, in which every
 * consume fails, until the refused request's tokens are due; a device then stops taking requests
 * off its queue and arms a {@link RefillTimer.Wakeup} for {@link #nanosUntilAvailable()}.
 * An over-consumption (a request larger than its bucket, let through) blocks the limiter until its
 * debt is paid. Firecracker arms a timerfd for a fixed 100 ms after a refusal; Ember waits
 * exactly until the tokens are due, so a bucket that refills in less than 100 ms still delivers its
 * rate (a 64 KiB bucket at 1 MiB/s refills in 62.5 ms; with a 100 ms wait it would give
 * 640 KiB/s).
 *
 * <p>{@link #update} applies Firecracker's PATCH semantics: a bucket given replaces the old
 * one with a full bucket, a bucket not given is kept, a disabled one is removed. Unlike
 * Firecracker, an update also lifts the blocked state, so a device told to retry at once makes
 * progress under the new limits (a debt in a kept bucket still holds).
 *
 * <p><b>Guest-controlled.</b> The token counts: a request's bytes come from the driver's chain
 * lengths (below 2^32 after {@code Virtqueue.pop}). A request larger than the bucket is an
 * over-consumption: it is served once and the debt blocks the same device until paid, so a
 * hostile driver only slows itself; the arithmetic is exact and saturates instead of wrapping.
 *
 * <p>Threads: every method is synchronized on the limiter; consumed on the thread serving the
 * device (a vCPU, a backend thread or the {@link RefillTimer}'s), updated from the API thread.
 */
public final class RateLimiter {

    private final LongSupplier clock;
    private TokenBucket bandwidth;   // null: unlimited bytes
    private TokenBucket ops;         // null: unlimited requests
    private long blockedUntil;
    private boolean blocked;
    private long throttled;

    private RateLimiter(RateLimiterConfig config, LongSupplier clock) {
        this.clock = clock;
        if (config != null) {
            bandwidth = config.bandwidth() == null || config.bandwidth().disabled() ? null : TokenBucket.of(config.bandwidth(), clock);
            ops = config.ops() == null || config.ops().disabled() ? null : TokenBucket.of(config.ops(), clock);
        }
    }

    /** {@return a limiter over {@code config} (null: unlimited), timed by {@link System#nanoTime}} */
    public static RateLimiter of(RateLimiterConfig config) {
        return new RateLimiter(config, System::nanoTime);
    }

    /** {@return a limiter over {@code config} (null: unlimited) timed by {@code clock}, in nanoseconds} */
    public static RateLimiter of(RateLimiterConfig config, LongSupplier clock) {
        return new RateLimiter(config, clock);
    }

    /** {@return a limiter that never limits until {@link #update updated}} */
    public static RateLimiter unlimited() {
        return of(null);
    }

    /**
     * Takes one op and {@code bytes} bytes, as Firecracker's devices do for a request: if the
     * bytes are refused, the op is given back.
     *
     * @return whether the request may go ahead; if not, nothing was taken and the limiter is blocked
     */
    public synchronized boolean consume(long bytes) {
        if (!consume(1, TokenType.OPS)) {
            return false;
        }
        if (!consume(bytes, TokenType.BYTES)) {
            replenish(1, TokenType.OPS);
            return false;
        }
        return true;
    }

    /**
     * Takes {@code tokens} of one kind, as Firecracker's {@code RateLimiter::consume}: fails
     * while blocked; succeeds at once without that bucket.
     *
     * @return whether the tokens were taken; a refusal blocks the limiter and is counted
     */
    public synchronized boolean consume(long tokens, TokenType type) {
        long now = clock.getAsLong();
        if (blocked && now - blockedUntil < 0) {
            throttled++;
            return false;
        }
        blocked = false;
        TokenBucket bucket = bucket(type);
        if (bucket == null) {
            return true;
        }
        return switch (bucket.reduce(tokens)) {
            case SUCCESS -> true;
            case OVER_CONSUMPTION -> {
                block(now, bucket.nanosInDebt());
                yield true;
            }
            case FAILURE -> {
                block(now, bucket.nanosUntil(tokens));
                throttled++;
                yield false;
            }
        };
    }

    private void block(long now, long nanos) {
        if (nanos > 0) {
            blocked = true;
            blockedUntil = now + nanos;
        }
    }

    /** Gives back one op and {@code bytes} bytes taken by {@link #consume(long)}, e.g. when a frame found no guest buffer. */
    public synchronized void replenish(long bytes) {
        replenish(1, TokenType.OPS);
        replenish(bytes, TokenType.BYTES);
    }

    /** Gives back {@code tokens} of one kind, as Firecracker's {@code manual_replenish}. */
    public synchronized void replenish(long tokens, TokenType type) {
        TokenBucket bucket = bucket(type);
        if (bucket != null) {
            bucket.replenish(tokens);
        }
    }

    /** {@return whether a consume now would fail without looking at the buckets} */
    public synchronized boolean isBlocked() {
        return nanosUntilAvailable() > 0;
    }

    /** {@return nanoseconds until the blocked state ends, 0 if not blocked} */
    public synchronized long nanosUntilAvailable() {
        if (!blocked) {
            return 0;
        }
        long left = blockedUntil - clock.getAsLong();
        if (left <= 0) {
            blocked = false;
            return 0;
        }
        return left;
    }

    /**
     * Applies a PATCH: each non-null bucket of {@code config} replaces the current one with a
     * full bucket; null buckets (or a null {@code config}) are kept.
     */
    public void update(RateLimiterConfig config) {
        if (config != null) {
            update(BucketUpdate.of(config.bandwidth()), BucketUpdate.of(config.ops()));
        }
    }

    /** Applies one update to each bucket (see {@link BucketUpdate}) and lifts the blocked state. */
    public synchronized void update(BucketUpdate bandwidthUpdate, BucketUpdate opsUpdate) {
        bandwidth = apply(bandwidth, bandwidthUpdate);
        ops = apply(ops, opsUpdate);
        blocked = false;
    }

    private TokenBucket apply(TokenBucket current, BucketUpdate update) {
        return switch (update) {
            case BucketUpdate.Keep k -> current;
            case BucketUpdate.Disable d -> null;
            case BucketUpdate.Replace r -> TokenBucket.of(r.config(), clock);
        };
    }

    private TokenBucket bucket(TokenType type) {
        return type == TokenType.BYTES ? bandwidth : ops;
    }

    /** {@return the current configuration, as Firecracker reports it in GET /vm/config} */
    public synchronized RateLimiterConfig config() {
        return new RateLimiterConfig(bandwidth == null ? null : bandwidth.config(), ops == null ? null : ops.config());
    }

    /** {@return whether neither bucket is set} */
    public synchronized boolean unlimitedNow() {
        return bandwidth == null && ops == null;
    }

    /**
     * {@return how many consumes were refused}: Firecracker's {@code rate_limiter_throttled_events}
     * (block, entropy) and {@code rx_rate_limiter_throttled} / {@code tx_rate_limiter_throttled} (net)
     */
    public synchronized long throttledCount() {
        return throttled;
    }

    /** {@return the bandwidth bucket, or null; for tests and metrics, under this limiter's lock} */
    synchronized TokenBucket bandwidth() {
        return bandwidth;
    }

    /** {@return the ops bucket, or null} */
    synchronized TokenBucket ops() {
        return ops;
    }

    @Override
    public synchronized String toString() {
        return "RateLimiter[bandwidth=" + bandwidth + ", ops=" + ops + "]";
    }

    /**
     * A limiter's state for snapshots: its configuration as it is now (a PATCH at run time
     * included) and each bucket's fill.
     */
    public record State(RateLimiterConfig config, TokenBucket.State bandwidth, TokenBucket.State ops) { }

    /** {@return the state, for a snapshot} */
    public synchronized State saveState() {
        return new State(config(), bandwidth == null ? null : bandwidth.saveState(), ops == null ? null : ops.saveState());
    }

    /** Makes this limiter what {@code s} describes: its buckets, filled as they were. */
    public synchronized void restoreState(State s) {
        RateLimiterConfig c = s.config();
        bandwidth = c == null || c.bandwidth() == null || c.bandwidth().disabled() ? null : TokenBucket.of(c.bandwidth(), clock);
        ops = c == null || c.ops() == null || c.ops().disabled() ? null : TokenBucket.of(c.ops(), clock);
        if (bandwidth != null && s.bandwidth() != null) {
            bandwidth.restoreState(s.bandwidth());
        }
        if (ops != null && s.ops() != null) {
            ops.restoreState(s.ops());
        }
        blocked = false;
    }
}
