package dev.ember.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ember.devices.virtio.FakeDriver;
import dev.ember.devices.virtio.FakeDriver.Buffer;
import dev.ember.devices.virtio.FakeDriver.Used;
import dev.ember.devices.virtio.net.VirtioNet;
import dev.ember.net.NetBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * virtio-net (VIRTIO 1.2 §5.1) under a hostile driver ({@link VirtioFuzzing}), with frames of
 * any size arriving from the backend between the driver's operations.
 */
class VirtioNetFuzzTest {

    private static final byte[] MAC = {0x06, 0, 0, 0, 0, 1};

    /** A backend that keeps what the guest sent and lets the script deliver frames. */
    private static final class Backend implements NetBackend {
        final List<byte[]> sent = new ArrayList<>();
        FrameSink guest;

        @Override public void start(FrameSink sink) { guest = sink; }
        @Override public void transmit(byte[] frame, int offset, int length) {
            if (sent.size() < 64) {   // Bounds: a script sends at most a few dozen chains anyway
                sent.add(Arrays.copyOfRange(frame, offset, offset + length));
            }
        }
        @Override public void close() { }
    }

    @FuzzTest
    void queues(FuzzedDataProvider data) throws Exception {
        Backend backend = new Backend();
        VirtioNet net = new VirtioNet("eth0", MAC, backend);
        try (FakeDriver d = new FakeDriver(net, VirtioFuzzing.RAM_BYTES)) {
            VirtioFuzzing.drive(d, data, events -> {
                if (backend.guest != null) {
                    byte[] frame = events.consumeBytes(events.consumeInt(0, 70_000));
                    backend.guest.deliver(frame, 0, frame.length);
                }
            });
            backend.sent.clear();
            VirtioFuzzing.assertRecovers(d, driver -> {
                byte[] frame = new byte[60];
                Arrays.fill(frame, (byte) 0x5A);
                int head = driver.post(VirtioNet.TRANSMITQ, Buffer.in(driver.allocWith(new byte[VirtioNet.HEADER_BYTES]),
                        VirtioNet.HEADER_BYTES), Buffer.in(driver.allocWith(frame), frame.length));
                driver.notify(VirtioNet.TRANSMITQ);
                assertEquals(List.of(new Used(head, 0)), driver.takeUsed(VirtioNet.TRANSMITQ));
                assertEquals(1, backend.sent.size());
                assertArrayEquals(frame, backend.sent.get(0));
            });
        }
    }
}
