package dev.ember.devices.boottimer;

import dev.ember.log.Log;
import dev.ember.log.LogSink;
import dev.ember.memory.MmioDevice;
import java.util.function.LongSupplier;

/**
 * The boot-timer device, as Firecracker's ({@code devices/pseudo/boot_timer.rs}): the guest's
 * init writes the byte {@value #MAGIC_VALUE_SIGNAL_GUEST_BOOT_COMPLETE} at offset 0 when
 * userspace starts, and the device logs the wall-clock and process CPU time since the VM was
 * started, once.
 *
 * <p>Ember maps it at guest-physical {@code 0x0011_0000} (4 KiB, not in the device tree: the
 * guest reaches it through {@code /dev/mem}, as Firecracker's guests do). The default guest's
 * {@code rcS} writes it first thing with {@code devmem 0x110000 8 123}. The device is always
 * mapped, so that write never faults; it logs only when enabled ({@code --boot-timer}).
 *
 * <p><b>Guest-controlled.</b> Any offset, width and value: only the magic byte at offset 0
 * counts, and only the first time.
 *
 * <p>Threads: written by vCPU threads; {@link #start} by the VMM thread.
 */
public final class BootTimer implements MmioDevice {

    public static final long BASE = 0x0011_0000L;
    public static final int MAGIC_VALUE_SIGNAL_GUEST_BOOT_COMPLETE = 123;

    private final boolean enabled;
    private final Log log;
    private final LongSupplier wallNanos;
    private final LongSupplier cpuNanos;
    private long startWall;
    private long startCpu;
    private boolean signalled;

    /**
     * @param enabled   whether to log at all
     * @param log       the VM's sink: the one line goes to it at INFO, as Firecracker logs it
     * @param wallNanos a monotonic clock in nanoseconds
     * @param cpuNanos  the process's CPU time in nanoseconds
     */
    public BootTimer(boolean enabled, LogSink log, LongSupplier wallNanos, LongSupplier cpuNanos) {
        this.enabled = enabled;
        this.log = Log.of(log, BootTimer.class);
        this.wallNanos = wallNanos;
        this.cpuNanos = cpuNanos;
    }

    /** Marks the start, as Firecracker marks {@code InstanceStart}; a reboot starts the timer again. */
    public synchronized void start() {
        startWall = wallNanos.getAsLong();
        startCpu = cpuNanos.getAsLong();
        signalled = false;
    }

    @Override
    public long size() {
        return 0x1000;
    }

    @Override
    public long read(long offset, int width) {
        return 0;
    }

    @Override
    public void write(long offset, int width, long value) {
        if (offset != 0 || (value & 0xFF) != MAGIC_VALUE_SIGNAL_GUEST_BOOT_COMPLETE || !enabled) {
            return;
        }
        String line;
        synchronized (this) {
            if (signalled) {
                return;
            }
            signalled = true;
            long wallUs = (wallNanos.getAsLong() - startWall) / 1000;
            long cpuUs = (cpuNanos.getAsLong() - startCpu) / 1000;
            line = String.format("Guest-boot-time = %6d us %d ms, %6d CPU us %d CPU ms",
                    wallUs, wallUs / 1000, cpuUs, cpuUs / 1000);
        }
        log.info(line);
    }

    /** The boot timer's state for snapshots: whether the guest already signalled its boot. */
    public record State(boolean signalled) { }

    /** {@return the state, for a snapshot} */
    public synchronized State saveState() {
        return new State(signalled);
    }

    /** Restores {@code s}; a guest that had not signalled yet is timed from now. */
    public synchronized void restoreState(State s) {
        startWall = wallNanos.getAsLong();
        startCpu = cpuNanos.getAsLong();
        signalled = s.signalled();
    }
}
