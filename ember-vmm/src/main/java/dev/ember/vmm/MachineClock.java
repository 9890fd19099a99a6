package dev.ember.vmm;

/**
 * The machine's timebase: {@code mtime} and the {@code time} CSR count at
 * {@link #FREQUENCY_HZ} from the moment the machine was built, as on QEMU's virt board.
 *
 * <p>Thread-safe: every hart and the ACLINT read it.
 */
public final class MachineClock {

    /** 10 MHz, QEMU virt's {@code timebase-frequency}. */
    public static final long FREQUENCY_HZ = 10_000_000L;
    private static final long NANOS_PER_TICK = 1_000_000_000L / FREQUENCY_HZ;

    private final long origin;

    /** A clock at tick 0 now: a machine that boots. */
    public MachineClock() {
        this(0);
    }

    /**
     * A clock at {@code startTicks} now: a machine restored from a snapshot taken at that tick.
     * The guest's time continues from where it was saved, so it never runs backwards and the
     * time the snapshot spent on disk is invisible to it, as on Firecracker (the guest's wall
     * clock is behind by that much until it is set again, e.g. by NTP).
     */
    public MachineClock(long startTicks) {
        this.origin = System.nanoTime() - startTicks * NANOS_PER_TICK;
    }

    /** {@return ticks since the machine was built (plus the start ticks of a restored machine)} */
    public long ticks() {
        return (System.nanoTime() - origin) / NANOS_PER_TICK;
    }

    /** {@return how many nanoseconds from now until the clock reaches {@code tick}; 0 if passed} */
    public long nanosUntil(long tick) {
        long now = ticks();
        if (Long.compareUnsigned(tick, now) <= 0) {
            return 0;
        }
        long delta = tick - now;   // unsigned: a deadline near 2^64 is far away, not negative
        return Long.compareUnsigned(delta, Long.MAX_VALUE / NANOS_PER_TICK) > 0
                ? Long.MAX_VALUE : delta * NANOS_PER_TICK;
    }
}
