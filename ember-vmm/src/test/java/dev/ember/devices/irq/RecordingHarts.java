package dev.ember.devices.irq;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A fake {@link HartInterruptInputs} that keeps each hart's {@code mip} bits and
 * {@code mtimecmp}, and records every {@code setPending} call in order.
 */
final class RecordingHarts implements HartInterruptInputs {

    /** One {@code setPending} call. */
    record Call(int hart, int mipBit, boolean level) {}

    final List<Call> calls = new ArrayList<>();
    private final long[] mip;
    private final long[] mtimecmp;

    RecordingHarts(int hartCount) {
        this.mip = new long[hartCount];
        this.mtimecmp = new long[hartCount];
        Arrays.fill(mtimecmp, -1L);
    }

    @Override
    public int hartCount() {
        return mip.length;
    }

    @Override
    public synchronized void setPending(int hartId, int mipBit, boolean level) {
        calls.add(new Call(hartId, mipBit, level));
        mip[hartId] = level ? mip[hartId] | (1L << mipBit) : mip[hartId] & ~(1L << mipBit);
    }

    @Override
    public synchronized long timerCompare(int hartId) {
        return mtimecmp[hartId];
    }

    @Override
    public synchronized void setTimerCompare(int hartId, long value) {
        mtimecmp[hartId] = value;
    }

    synchronized boolean pending(int hart, int mipBit) {
        return (mip[hart] & (1L << mipBit)) != 0;
    }

    synchronized List<Call> takeCalls() {
        List<Call> taken = List.copyOf(calls);
        calls.clear();
        return taken;
    }
}
