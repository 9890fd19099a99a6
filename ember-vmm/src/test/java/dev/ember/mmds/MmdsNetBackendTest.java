package dev.ember.mmds;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ember.net.NetBackend;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class MmdsNetBackendTest {

    /** A backend that records what it is given. */
    static final class Recording implements NetBackend {
        final List<Integer> transmitted = new ArrayList<>();
        FrameSink sink;
        boolean closed;

        @Override public void start(FrameSink guest) { sink = guest; }
        @Override public void transmit(byte[] frame, int offset, int length) { transmitted.add(length); }
        @Override public void close() { closed = true; }
    }

    @Test
    void mmdsFramesAreAnsweredAndOthersPassThrough() {
        Recording inner = new Recording();
        List<byte[]> toGuest = new ArrayList<>();
        try (MmdsNetBackend b = new MmdsNetBackend(new MmdsNetworkStack(new Mmds(), "169.254.169.254"), inner)) {
            b.start((f, off, len) -> toGuest.add(java.util.Arrays.copyOfRange(f, off, off + len)));
            byte[] arp = MmdsNetworkStackTest.arpRequest(0xA9FE_A9FE);
            b.transmit(arp, 0, arp.length);
            byte[] other = MmdsNetworkStackTest.arpRequest(0xC0A8_0001);
            b.transmit(other, 0, other.length);
            assertEquals(1, toGuest.size());
            assertEquals(List.of(42), inner.transmitted);
            assertEquals(true, inner.sink != null);
        }
        assertEquals(true, inner.closed);
    }
}
