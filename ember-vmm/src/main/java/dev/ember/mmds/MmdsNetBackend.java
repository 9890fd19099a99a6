package dev.ember.mmds;

import dev.ember.net.NetBackend;
import java.util.Objects;

/**
 * A {@link NetBackend} that puts an {@link MmdsNetworkStack} in front of another backend: frames
 * the guest sends to the MMDS are answered by the stack, every other frame goes to the inner
 * backend unchanged. This is the hook without touching the device: the VMM wraps the backend of
 * each interface named in {@code MmdsConfig.networkInterfaces}.
 *
 * <p>Threads: as {@link NetBackend}; {@link #transmit} runs on the vCPU thread under the
 * device's monitor and the stack answers inline, delivering re-entrantly through the device's
 * sink (whose monitor that thread already holds).
 */
public final class MmdsNetBackend implements NetBackend {

    private final MmdsNetworkStack mmds;
    private final NetBackend inner;

    /** Answers MMDS frames with mmds and passes the rest to inner; closing closes both. */
    public MmdsNetBackend(MmdsNetworkStack mmds, NetBackend inner) {
        this.mmds = Objects.requireNonNull(mmds);
        this.inner = Objects.requireNonNull(inner);
    }

    @Override
    public void start(FrameSink guest) {
        mmds.setGuestSink(guest);
        inner.start(guest);
    }

    @Override
    public void transmit(byte[] frame, int offset, int length) {
        if (!mmds.interceptFromGuest(frame, offset, length)) {
            inner.transmit(frame, offset, length);
        }
    }

    /** The inner backend's answer: the stack's own frames always carry correct checksums. */
    @Override
    public boolean deliversValidChecksums() {
        return inner.deliversValidChecksums();
    }

    @Override
    public void receiveSpaceAvailable() {
        inner.receiveSpaceAvailable();
    }

    @Override
    public void close() {
        mmds.close();
        inner.close();
    }
}
