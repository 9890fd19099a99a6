package dev.ember.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link RefillTimer}: wake-ups run once, at the earliest time asked, and not after close. */
class RefillTimerTest {

    private final RefillTimer timer = new RefillTimer("test");

    @AfterEach
    void close() {
        timer.close();
    }

    @Test
    void armedWakeupRunsItsActionOnTheTimerThread() throws InterruptedException {
        CountDownLatch ran = new CountDownLatch(1);
        String[] thread = new String[1];
        RefillTimer.Wakeup w = timer.wakeup(() -> {
            thread[0] = Thread.currentThread().getName();
            ran.countDown();
        });
        w.arm(TimeUnit.MILLISECONDS.toNanos(5));
        assertTrue(ran.await(5, TimeUnit.SECONDS));
        assertEquals("ember-ratelimit-test", thread[0]);
    }

    @Test
    void armingTwiceRunsOnceAtTheEarlierTime() throws InterruptedException {
        AtomicInteger runs = new AtomicInteger();
        CountDownLatch ran = new CountDownLatch(1);
        RefillTimer.Wakeup w = timer.wakeup(() -> {
            runs.incrementAndGet();
            ran.countDown();
        });
        long start = System.nanoTime();
        w.arm(TimeUnit.SECONDS.toNanos(30));
        w.arm(TimeUnit.MILLISECONDS.toNanos(1));
        w.arm(TimeUnit.SECONDS.toNanos(20));   // later than the pending one: ignored
        assertTrue(ran.await(5, TimeUnit.SECONDS));
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5));
        assertFalse(w.armed());
        assertEquals(1, runs.get());
    }

    @Test
    void closeDropsPendingWakeupsAndLaterArms() {
        AtomicInteger runs = new AtomicInteger();
        RefillTimer.Wakeup w = timer.wakeup(runs::incrementAndGet);
        w.arm(TimeUnit.SECONDS.toNanos(30));
        timer.close();
        assertFalse(w.armed());
        w.arm(0);
        assertFalse(w.armed());
        assertTrue(timer.closed());
        assertEquals(0, runs.get());
    }

    @Test
    void failingActionDoesNotStopTheTimer() throws InterruptedException {
        RefillTimer.Wakeup bad = timer.wakeup(() -> { throw new IllegalStateException("boom"); });
        CountDownLatch ran = new CountDownLatch(1);
        bad.arm(0);
        timer.wakeup(ran::countDown).arm(TimeUnit.MILLISECONDS.toNanos(2));
        assertTrue(ran.await(5, TimeUnit.SECONDS));
    }
}
