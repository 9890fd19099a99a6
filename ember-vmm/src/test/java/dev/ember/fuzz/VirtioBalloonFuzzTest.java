package dev.ember.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ember.devices.virtio.FakeDriver;
import dev.ember.devices.virtio.FakeDriver.Buffer;
import dev.ember.devices.virtio.FakeDriver.Used;
import dev.ember.devices.virtio.balloon.VirtioBalloon;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * virtio-balloon (VIRTIO 1.2 §5.5) under a hostile driver ({@link VirtioFuzzing}): page numbers
 * of any value in the inflate and deflate queues, statistics of any shape, and host-side target
 * changes in between.
 */
class VirtioBalloonFuzzTest {

    @FuzzTest
    void queues(FuzzedDataProvider data) throws Exception {
        VirtioBalloon balloon = new VirtioBalloon(0, data.consumeBoolean(), 0);
        try (FakeDriver d = new FakeDriver(balloon, VirtioFuzzing.RAM_BYTES)) {
            VirtioFuzzing.drive(d, data, events -> {
                if (events.consumeBoolean()) {
                    balloon.setTargetPages(events.consumeInt(0, 1 << 20));
                } else {
                    balloon.requestStatistics();
                }
            });
            VirtioFuzzing.assertRecovers(d, driver -> {
                // inflating one page of the data area: used, and counted as the balloon's
                int pfn = (int) ((FakeDriver.RAM_BASE + (1 << 20)) >>> 12);
                byte[] pfns = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(pfn).array();
                int head = driver.post(VirtioBalloon.INFLATEQ, Buffer.in(driver.allocWith(pfns), 4));
                driver.notify(VirtioBalloon.INFLATEQ);
                assertEquals(List.of(new Used(head, 0)), driver.takeUsed(VirtioBalloon.INFLATEQ));
            });
        }
    }
}
