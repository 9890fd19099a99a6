package dev.ember.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ember.devices.virtio.FakeDriver;
import dev.ember.devices.virtio.FakeDriver.Buffer;
import dev.ember.devices.virtio.FakeDriver.Used;
import dev.ember.devices.virtio.rng.VirtioRng;
import java.util.List;

/** virtio-rng (VIRTIO 1.2 §5.4) under a hostile driver ({@link VirtioFuzzing}). */
class VirtioRngFuzzTest {

    @FuzzTest
    void queues(FuzzedDataProvider data) throws Exception {
        try (FakeDriver d = new FakeDriver(new VirtioRng(), VirtioFuzzing.RAM_BYTES)) {
            VirtioFuzzing.drive(d, data, VirtioFuzzing.NO_HOST_EVENT);
            VirtioFuzzing.assertRecovers(d, VirtioRngFuzzTest::fillsABuffer);
        }
    }

    static void fillsABuffer(FakeDriver d) {
        int head = d.post(VirtioRng.REQUESTQ, Buffer.out(d.alloc(64), 64));
        d.notify(VirtioRng.REQUESTQ);
        assertEquals(List.of(new Used(head, 64)), d.takeUsed(VirtioRng.REQUESTQ));
    }
}
