package dev.ember.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ember.devices.virtio.FakeDriver;
import dev.ember.devices.virtio.FakeDriver.Buffer;
import dev.ember.devices.virtio.FakeDriver.Used;
import dev.ember.devices.virtio.input.VirtioInput;
import java.util.List;

/**
 * virtio-input (VIRTIO 1.2 §5.8) under a hostile driver ({@link VirtioFuzzing}): configuration
 * selects of any value, status events, and Ctrl+Alt+Del pressed by the host in between.
 */
class VirtioInputFuzzTest {

    @FuzzTest
    void queues(FuzzedDataProvider data) throws Exception {
        VirtioInput keyboard = new VirtioInput();
        try (FakeDriver d = new FakeDriver(keyboard, VirtioFuzzing.RAM_BYTES)) {
            VirtioFuzzing.drive(d, data, events -> keyboard.sendCtrlAltDel());
            VirtioFuzzing.assertRecovers(d, driver -> {
                // the LED status event a driver sends (§5.8.6.1): used, with nothing written
                byte[] led = new VirtioInput.Event(VirtioInput.EV_LED, 0, 1).encode();
                int head = driver.post(VirtioInput.STATUSQ, Buffer.in(driver.allocWith(led), led.length));
                driver.notify(VirtioInput.STATUSQ);
                assertEquals(List.of(new Used(head, 0)), driver.takeUsed(VirtioInput.STATUSQ));
                // the host's keys reach an event buffer
                int eventHead = driver.post(VirtioInput.EVENTQ, Buffer.out(driver.alloc(8), 8));
                driver.notify(VirtioInput.EVENTQ);
                keyboard.sendCtrlAltDel();
                assertEquals(List.of(new Used(eventHead, 8)), driver.takeUsed(VirtioInput.EVENTQ));
            });
        }
    }
}
