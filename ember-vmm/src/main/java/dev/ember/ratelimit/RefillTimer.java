package dev.ember.ratelimit;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The timer that wakes rate-limited devices when their tokens are due: Ember's counterpart of
 * the timerfd each Firecracker {@code RateLimiter} owns, as one daemon thread per VM.
 *
 * <p>A device that a {@link RateLimiter} refused leaves the request in its queue (or frame in its
 * backlog) and {@linkplain Wakeup#arm arms} its {@link Wakeup}; when the delay has passed, the
 * timer thread runs the device's action, which takes the device's monitor and serves the queue
 * again. One {@code RefillTimer} per VM (made and closed by the VM's device manager) keeps one
 * VM's devices from delaying another's; the thread is started on the first arm, so a VM without
 * limits has none.
 *
 * <p>Threads: {@link Wakeup#arm} may be called from any thread; actions run on the timer's one
 * thread, named {@code ember-ratelimit-NAME}. {@link #close} drops pending wake-ups and lets a
 * running one finish; it never interrupts it (an interrupted block device's file would close).
 */
public final class RefillTimer implements AutoCloseable {

    private static final class Shared {
        static final RefillTimer INSTANCE = new RefillTimer("shared");
    }

    private final ScheduledThreadPoolExecutor executor;

    /** A timer whose thread is named {@code ember-ratelimit-NAME}. */
    public RefillTimer(String name) {
        executor = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "ember-ratelimit-" + name);
            t.setDaemon(true);
            return t;
        });
        executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        executor.setRemoveOnCancelPolicy(true);
    }

    /**
     * {@return the JVM-wide timer}, for devices built without a VM (tests, standalone use);
     * never closed
     */
    public static RefillTimer shared() {
        return Shared.INSTANCE;
    }

    /** {@return a wake-up that runs {@code action} on this timer's thread when armed and due} */
    public Wakeup wakeup(Runnable action) {
        return new Wakeup(action);
    }

    /** Drops every pending wake-up; later arms do nothing. Idempotent. */
    @Override
    public void close() {
        executor.shutdown();
    }

    /** {@return whether {@link #close} was called} */
    public boolean closed() {
        return executor.isShutdown();
    }

    /**
     * One device's pending retry: at most one is scheduled at a time, at the earliest time asked.
     *
     * <p>Threads: arm and cancel from any thread, synchronized on the wake-up.
     */
    public final class Wakeup {

        private final Runnable action;
        private ScheduledFuture<?> pending;
        private long dueAt;

        private Wakeup(Runnable action) {
            this.action = action;
        }

        /**
         * Runs the action in {@code nanos} nanoseconds (0 or less: as soon as the timer thread can),
         * unless a run is already due no later than that.
         */
        public synchronized void arm(long nanos) {
            long delay = Math.max(0, nanos);
            long at = System.nanoTime() + delay;
            if (pending != null && !pending.isDone() && dueAt - at <= 0) {
                return;
            }
            if (pending != null) {
                pending.cancel(false);
            }
            if (executor.isShutdown()) {
                pending = null;
                return;
            }
            dueAt = at;
            pending = executor.schedule(this::fire, delay, TimeUnit.NANOSECONDS);
        }

        /** {@return whether a run is scheduled and has not started} */
        public synchronized boolean armed() {
            return pending != null && !pending.isDone();
        }

        /** Drops the scheduled run, if any. */
        public synchronized void cancel() {
            if (pending != null) {
                pending.cancel(false);
                pending = null;
            }
        }

        private void fire() {
            synchronized (this) {
                pending = null;
            }
            try {
                action.run();
            } catch (RuntimeException e) {
                // A device's failure must not kill the VM's only timer thread; the device counts
                // and reports its own errors.
            }
        }
    }
}
