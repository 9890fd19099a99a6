package dev.ember.vmm;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.ember.devices.boottimer.BootTimer;
import dev.ember.devices.irq.Aclint;
import dev.ember.devices.irq.Plic;
import dev.ember.devices.serial.Uart16550;
import dev.ember.devices.virtio.VirtioMmio;
import dev.ember.riscv.cpu.Hart;
import dev.ember.snapshot.SnapshotException;
import java.util.List;

/**
 * Everything a snapshot's state file holds: the machine configuration (with the execution
 * engine's choice), the machine clock, each hart, the interrupt controllers, the UART, the boot
 * timer and each virtio device with its transport. Guest RAM is in the memory file; translated
 * code and TLBs are not saved.
 *
 * <p>Encoding: the payload of a {@link dev.ember.snapshot.SnapshotFile} is this record as JSON,
 * with each record's component names as field names ({@code "harts": [{"x": [...], "pc": ...}]}),
 * byte arrays in base64 and paths as {@code file:} URIs. A reader ignores fields it does not
 * know, so adding a field with a default that keeps the old meaning does not change the format
 * version; changing a meaning does.
 *
 * @param memoryId   the snapshot's id, which its memory file's trailer holds too (32 hex digits)
 * @param config     the machine, its devices and its engine, as configured before boot
 * @param clockTicks the machine timer ({@code mtime}) when the snapshot was taken
 * @param harts      one state per hart, in hart-id order
 * @param devices    one state per virtio device, in slot order (the configuration's order)
 */
public record VmState(String memoryId, VmConfig config, long clockTicks, List<Hart.State> harts, Aclint.State aclint, Plic.State plic,
                      Uart16550.State uart, BootTimer.State bootTimer, List<DeviceState> devices) {

    /**
     * One virtio device: its label (kind and id, as in log lines, e.g. {@code "virtio-blk rootfs"}),
     * its transport, and its own state (null when it has none).
     */
    public record DeviceState(String device, VirtioMmio.State transport, JsonNode state) { }

    /** The mapper of state files: records by component, unknown fields ignored. */
    static final ObjectMapper JSON = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(com.fasterxml.jackson.databind.SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .addMixIn(dev.ember.config.DeviceConfig.class, DeviceConfigJson.class)
            .build();

    /** How a device record names its kind in a state file: {@code "type": "drive"} and so on. */
    @com.fasterxml.jackson.annotation.JsonTypeInfo(use = com.fasterxml.jackson.annotation.JsonTypeInfo.Id.NAME,
            property = "type")
    @com.fasterxml.jackson.annotation.JsonSubTypes({
            @com.fasterxml.jackson.annotation.JsonSubTypes.Type(value = dev.ember.config.DriveConfig.class, name = "drive"),
            @com.fasterxml.jackson.annotation.JsonSubTypes.Type(value = dev.ember.config.NetworkInterfaceConfig.class,
                    name = "network_interface"),
            @com.fasterxml.jackson.annotation.JsonSubTypes.Type(value = dev.ember.config.VsockConfig.class, name = "vsock"),
            @com.fasterxml.jackson.annotation.JsonSubTypes.Type(value = dev.ember.config.EntropyConfig.class, name = "entropy"),
            @com.fasterxml.jackson.annotation.JsonSubTypes.Type(value = dev.ember.config.BalloonConfig.class, name = "balloon"),
            @com.fasterxml.jackson.annotation.JsonSubTypes.Type(value = dev.ember.config.VirtioConsoleConfig.class,
                    name = "virtio_console"),
            @com.fasterxml.jackson.annotation.JsonSubTypes.Type(value = dev.ember.config.KeyboardConfig.class, name = "keyboard")})
    private interface DeviceConfigJson { }

    /** {@return the state as the payload of a state file} */
    byte[] encode() {
        try {
            return JSON.writeValueAsBytes(this);
        } catch (JacksonException e) {
            throw new IllegalStateException("cannot encode the VM state: " + e.getMessage(), e);
        }
    }

    /**
     * Reads a state file's payload.
     *
     * @throws SnapshotException if it is not a VM state this Ember understands
     */
    static VmState decode(byte[] payload) throws SnapshotException {
        VmState s;
        try {
            s = JSON.readValue(payload, VmState.class);
        } catch (Exception e) {
            throw new SnapshotException("the snapshot's state does not decode: " + firstLine(e.getMessage()), e);
        }
        if (s.memoryId() == null || !s.memoryId().matches("[0-9a-f]{32}") || s.config() == null || s.harts() == null || s.aclint() == null || s.plic() == null || s.uart() == null
                || s.devices() == null) {
            throw new SnapshotException("the snapshot's state is incomplete");
        }
        try {
            s.config().validate();
        } catch (IllegalArgumentException e) {
            throw new SnapshotException("the snapshot's machine configuration is invalid: " + e.getMessage());
        }
        if (s.harts().size() != s.config().vcpus()) {
            throw new SnapshotException("the snapshot has " + s.harts().size() + " hart states for " + s.config().vcpus() + " vCPUs");
        }
        return s;
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "malformed";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }

    /**
     * Builds, encodes and decodes the state of a small machine with one of each device, for the
     * launcher's start-up training run (see {@code dev.ember.server.StartupTraining}), so a
     * fresh process finds the state file's decoding classes in the AOT cache.
     */
    public static void exerciseForTraining(java.nio.file.Path dir) throws Exception {
        java.nio.file.Path disk = java.nio.file.Files.write(dir.resolve("training.img"), new byte[4096]);
        VmConfig config = new VmConfig(1, 16L << 20, dir.resolve("kernel"), null, "console=ttyS0", null, null,
                new dev.ember.config.DevicesConfig(List.of(new dev.ember.config.DriveConfig("rootfs", disk, true, false)),
                        List.of(new dev.ember.config.NetworkInterfaceConfig("eth0", null, null, List.of())), null,
                        new dev.ember.config.EntropyConfig(null), new dev.ember.config.BalloonConfig(0, false, 0), true, null,
                        true), false);
        Hart hart = new Hart(0, new dev.ember.memory.PhysicalBus(dev.ember.memory.GuestMemory.allocate(VmConfig.RAM_BASE,
                16L << 20)), () -> 0L);
        Plic plic = new Plic(1, new dev.ember.devices.irq.HartInterruptInputs() {
            @Override public int hartCount() { return 1; }
            @Override public void setPending(int hartId, int mipBit, boolean level) { }
            @Override public long timerCompare(int hartId) { return -1; }
            @Override public void setTimerCompare(int hartId, long mtimecmp) { }
        });
        VirtioMmio.State transport = new VirtioMmio.State(0, 0, 0, 0, 0, 0, 0, false, List.of(
                new VirtioMmio.QueueState(256, 0, 0, 0, true, new dev.ember.devices.virtio.queue.Virtqueue.State(256, 0, 0, 0,
                        true, true, 0, 0, 0, false))));
        VmState state = new VmState("0".repeat(32), config, 0, List.of(hart.saveState()), new Aclint.State(new boolean[1]),
                plic.saveState(), new Uart16550.State(0, 0, 0, 0, 0, 0, false, new byte[0]), new BootTimer.State(false),
                List.of(new DeviceState("virtio-blk rootfs", transport, JSON.valueToTree(
                        new dev.ember.devices.virtio.balloon.VirtioBalloon.State(0, 0, -1, 0)))));
        decode(state.encode());
        java.nio.file.Path mem = java.nio.file.Files.write(dir.resolve("training.mem"), new byte[16 << 20]);
        dev.ember.memory.GuestMemory.mapPrivate(VmConfig.RAM_BASE, 16L << 20, mem).close();
    }
}
