package dev.ember.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ember.devices.virtio.FakeDriver;
import dev.ember.devices.virtio.FakeDriver.Buffer;
import dev.ember.devices.virtio.FakeDriver.Used;
import dev.ember.devices.virtio.console.VirtioConsole;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * virtio-console (VIRTIO 1.2 §5.3) under a hostile driver ({@link VirtioFuzzing}), with host
 * input (what the user types) arriving between the driver's operations.
 */
class VirtioConsoleFuzzTest {

    @FuzzTest
    void queues(FuzzedDataProvider data) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        VirtioConsole console = new VirtioConsole(out::write);
        try (FakeDriver d = new FakeDriver(console, VirtioFuzzing.RAM_BYTES)) {
            VirtioFuzzing.drive(d, data, events -> {
                byte[] typed = events.consumeBytes(VirtioConsole.INPUT_CAPACITY + 16);
                console.offer(typed, 0, typed.length);
            });
            out.reset();
            VirtioFuzzing.assertRecovers(d, driver -> {
                byte[] line = "hello\n".getBytes(StandardCharsets.US_ASCII);
                int head = driver.post(VirtioConsole.TRANSMITQ, Buffer.in(driver.allocWith(line), line.length));
                driver.notify(VirtioConsole.TRANSMITQ);
                assertEquals(List.of(new Used(head, 0)), driver.takeUsed(VirtioConsole.TRANSMITQ));
                assertArrayEquals(line, out.toByteArray());
            });
        }
    }
}
