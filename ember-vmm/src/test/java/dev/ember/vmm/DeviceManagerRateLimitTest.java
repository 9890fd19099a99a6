package dev.ember.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.config.DevicesConfig;
import dev.ember.config.DriveConfig;
import dev.ember.config.EntropyConfig;
import dev.ember.config.RateLimiterConfig;
import dev.ember.config.TokenBucketConfig;
import dev.ember.devices.irq.HartInterruptInputs;
import dev.ember.devices.irq.Plic;
import dev.ember.log.LogSink;
import dev.ember.memory.GuestMemory;
import dev.ember.memory.PhysicalBus;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link DeviceManager} turns config rate limiters into device limiters and applies run-time updates. */
class DeviceManagerRateLimitTest {

    private static final RateLimiterConfig DRIVE_LIMIT =
            new RateLimiterConfig(new TokenBucketConfig(1 << 20, 0, 1000), new TokenBucketConfig(100, 10, 1000));

    @TempDir
    Path dir;

    private final GuestMemory ram = GuestMemory.allocate(0x8000_0000L, 1 << 20);
    private DeviceManager devices;

    @AfterEach
    void close() {
        if (devices != null) {
            devices.close();
        }
        ram.close();
    }

    private DeviceManager build(DevicesConfig config) throws Exception {
        Plic plic = new Plic(1, new HartInterruptInputs() {
            @Override public int hartCount() { return 1; }
            @Override public void setPending(int hartId, int mipBit, boolean level) { }
            @Override public long timerCompare(int hartId) { return 0; }
            @Override public void setTimerCompare(int hartId, long mtimecmp) { }
        });
        devices = new DeviceManager(config, "test", ram, new PhysicalBus(ram), plic, (b, off, len) -> { },
                LogSink.discard(), null);
        return devices;
    }

    private DevicesConfig oneDriveAndEntropy() throws Exception {
        Path image = dir.resolve("disk.img");
        Files.write(image, new byte[4096]);
        return new DevicesConfig(List.of(new DriveConfig("rootfs", image, true, false, DRIVE_LIMIT)), List.of(), null,
                new EntropyConfig(new RateLimiterConfig(null, new TokenBucketConfig(5, 0, 1000))), null, false);
    }

    @Test
    void drivesAndEntropyGetTheLimitersTheirConfigsName() throws Exception {
        DeviceManager d = build(oneDriveAndEntropy());
        assertEquals(DRIVE_LIMIT, d.drive("rootfs").rateLimiter().config());
        assertEquals(new RateLimiterConfig(null, new TokenBucketConfig(5, 0, 1000)), d.entropy().rateLimiter().config());
    }

    @Test
    void driveUpdateReplacesOnlyTheBucketsGiven() throws Exception {
        DeviceManager d = build(oneDriveAndEntropy());
        d.updateDriveRateLimiter("rootfs", new RateLimiterConfig(new TokenBucketConfig(4096, 0, 10), null));
        assertEquals(new RateLimiterConfig(new TokenBucketConfig(4096, 0, 10), DRIVE_LIMIT.ops()),
                d.drive("rootfs").rateLimiter().config());
    }

    @Test
    void unknownIdsAreRefused() throws Exception {
        DeviceManager d = build(oneDriveAndEntropy());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> d.updateDriveRateLimiter("data", DRIVE_LIMIT));
        assertTrue(e.getMessage().contains("no such drive"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> d.updateNetworkRateLimiters("eth0", DRIVE_LIMIT, null));
        assertTrue(e.getMessage().contains("no such network interface"), e.getMessage());
        assertNull(d.network("eth0"));
    }
}
