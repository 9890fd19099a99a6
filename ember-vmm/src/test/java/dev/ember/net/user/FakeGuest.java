package dev.ember.net.user;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

import dev.ember.net.NetBackend;

/**
 * The guest's receive side for tests: a {@link NetBackend.FrameSink} that keeps every frame it
 * accepts, and can refuse every n-th offer the way a full receive ring does.
 */
final class FakeGuest implements NetBackend.FrameSink {

    static final long TIMEOUT_MILLIS = 10_000;

    private final LinkedBlockingQueue<byte[]> frames = new LinkedBlockingQueue<>();
    private final AtomicInteger offers = new AtomicInteger();
    final AtomicInteger refused = new AtomicInteger();
    volatile int refuseEvery;

    @Override
    public boolean deliver(byte[] frame, int offset, int length) {
        int every = refuseEvery;
        if (every > 0 && offers.incrementAndGet() % every == 0) {
            refused.incrementAndGet();
            return false;
        }
        frames.add(Arrays.copyOfRange(frame, offset, offset + length));
        return true;
    }

    /** {@return the next frame, parsed and checksum-checked, or null after {@code millis}} */
    TestFrames.Frame poll(long millis) {
        try {
            byte[] f = frames.poll(millis, TimeUnit.MILLISECONDS);
            return f == null ? null : TestFrames.Frame.parse(f);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** {@return the first frame matching {@code p}, skipping others; fails after the timeout} */
    TestFrames.Frame await(Predicate<TestFrames.Frame> p, String what) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MILLIS);
        while (System.nanoTime() - deadline < 0) {
            TestFrames.Frame f = poll(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            if (f != null && p.test(f)) {
                return f;
            }
        }
        return fail("no " + what + " within " + TIMEOUT_MILLIS + " ms");
    }

    /** Asserts that no frame matching {@code p} arrives within {@code millis}. */
    void assertNone(Predicate<TestFrames.Frame> p, long millis, String what) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() - deadline < 0) {
            TestFrames.Frame f = poll(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            if (f != null && p.test(f)) {
                fail("unexpected " + what + ": " + f);
            }
        }
    }
}
