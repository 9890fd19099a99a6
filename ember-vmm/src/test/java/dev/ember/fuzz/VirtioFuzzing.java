package dev.ember.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import dev.ember.devices.virtio.FakeDriver;
import dev.ember.devices.virtio.VirtioMmio;
import dev.ember.devices.virtio.queue.Virtqueue;

/**
 * A hostile virtio driver for fuzz targets: decodes the fuzz input into a bounded script of
 * virtio-mmio register accesses (VIRTIO 1.2 §4.2.2) and split-queue writes (§2.7) — arbitrary
 * descriptor tables, indirect tables, available rings and indices, notifications, configuration
 * space writes and resets — and plays it against one device through {@link FakeDriver}.
 *
 * <p>Then {@link #assertRecovers} checks what a driver relies on after any such script: a reset
 * (status 0, §2.4) returns the device to a state where the ordinary initialisation succeeds and a
 * well-formed request is answered. Exceptions that escape the transport are findings by
 * themselves; the transport's documented answer to rule-breaking is DEVICE_NEEDS_RESET.
 *
 * <p>Layout: {@link FakeDriver}'s, in {@link #RAM_BYTES} of RAM: queue {@code q}'s rings at
 * {@code RAM_BASE + q * 64 KiB}, data buffers in the second MiB, where the script's addresses
 * mostly point so that chains reach real bytes; some point anywhere in the 64-bit space.
 */
final class VirtioFuzzing {

    /** Guest RAM per execution: small, so that thousands of executions a second stay cheap. */
    static final long RAM_BYTES = 2 << 20;
    /** Operations per execution; bounds the work any input can ask for. */
    static final int MAX_OPERATIONS = 48;

    private static final long DATA = FakeDriver.RAM_BASE + (1 << 20);
    private static final int DATA_BYTES = 1 << 20;
    private static final int[] REGISTERS = {0x000, 0x004, 0x008, 0x010, 0x014, 0x020, 0x024, 0x030, 0x034, 0x038,
            0x044, 0x050, 0x060, 0x064, 0x070, 0x080, 0x084, 0x090, 0x094, 0x0a0, 0x0a4, 0x0ac, 0x0b0, 0x0c0, 0x0fc};

    /** A device-specific operation the script may interleave: host-side input, a backend's frame. */
    @FunctionalInterface
    interface HostEvent {
        void fire(FuzzedDataProvider data);
    }

    static final HostEvent NO_HOST_EVENT = data -> { };

    private VirtioFuzzing() { }

    /** Plays up to {@link #MAX_OPERATIONS} operations decoded from {@code data} against {@code d}. */
    static void drive(FakeDriver d, FuzzedDataProvider data, HostEvent host) {
        int queues = d.transport().device().queueCount();
        for (int op = 0; op < MAX_OPERATIONS && data.remainingBytes() > 0; op++) {
            int q = data.consumeInt(0, queues - 1);
            switch (data.consumeInt(0, 13)) {
                case 0 -> d.initialize(d.deviceFeatures() & data.consumeLong(), 1 << data.consumeInt(0, 9));
                case 1 -> d.reg(data.pickValue(REGISTERS), data.consumeInt());
                case 2 -> d.transport().write(data.consumeInt(0, 0x1ff), width(data), data.consumeLong());
                case 3 -> d.transport().read(data.consumeInt(0, 0x1ff), width(data));
                case 4, 5 -> d.writeDescriptor(q, data.consumeInt(0, 1023), address(data), length(data),
                        flags(data), data.consumeInt(0, 0xFFFF));
                case 6 -> writeIndirectTable(d, data);
                case 7 -> d.memory().write(DATA + data.consumeInt(0, DATA_BYTES - 256), data.consumeBytes(256));
                case 8 -> publish(d, q, data.consumeInt(0, 0xFFFF), data.consumeInt(0, 255));
                case 9 -> d.setAvailIdx(q, data.consumeInt(0, 0xFFFF));
                case 10 -> d.notify(data.consumeBoolean() ? q : data.consumeInt());   // or any queue number
                case 11 -> d.memory().write16(d.availGpa(q), data.consumeInt(0, 0xFFFF));   // avail.flags
                case 12 -> d.ackInterrupt();
                default -> host.fire(data);
            }
        }
    }

    private static int width(FuzzedDataProvider data) {
        return 1 << data.consumeInt(0, 3);
    }

    /** A buffer address: mostly in the data area, sometimes anywhere (out of RAM, wrapping). */
    private static long address(FuzzedDataProvider data) {
        return switch (data.consumeInt(0, 3)) {
            case 0 -> data.consumeLong();
            case 1 -> FakeDriver.RAM_BASE + data.consumeLong(0, RAM_BYTES);
            default -> DATA + data.consumeInt(0, DATA_BYTES - 1);
        };
    }

    private static int length(FuzzedDataProvider data) {
        return data.consumeBoolean() ? data.consumeInt(0, 4096) : data.consumeInt();
    }

    private static int flags(FuzzedDataProvider data) {
        return data.consumeBoolean() ? data.consumeInt(0, 7) : data.consumeInt(0, 0xFFFF);
    }

    /** Writes up to 16 descriptors of an indirect table in the data area (§2.7.5.3). */
    private static void writeIndirectTable(FakeDriver d, FuzzedDataProvider data) {
        long table = DATA + 16L * data.consumeInt(0, DATA_BYTES / 16 - 16);
        int count = data.consumeInt(1, 16);
        for (int i = 0; i < count; i++) {
            long e = table + 16L * i;
            d.memory().write64(e, address(data));
            d.memory().write32(e + 8, length(data));
            d.memory().write16(e + 12, flags(data));
            d.memory().write16(e + 14, data.consumeInt(0, 0xFFFF));
        }
    }

    /** Puts {@code head} in available-ring slot {@code slot} and sets avail.idx to one past it. */
    private static void publish(FakeDriver d, int q, int head, int slot) {
        d.memory().write16(d.availGpa(q) + 4 + 2L * slot, head);
        d.setAvailIdx(q, slot + 1);
    }

    /** A well-formed request on an initialised device, with its assertions on the answer. */
    @FunctionalInterface
    interface Probe {
        void check(FakeDriver d) throws Exception;
    }

    /**
     * Resets the device as a driver does after DEVICE_NEEDS_RESET, initialises it with 16-entry
     * queues and every offered feature, and runs {@code probe}: whatever the script did, the
     * device must serve a well-formed request afterwards.
     */
    static void assertRecovers(FakeDriver d, Probe probe) throws Exception {
        d.reg(0x070, 0);
        assertEquals(0, d.reg(0x070), "status after reset");
        assertTrue(d.initialize(16), "FEATURES_OK after reset");
        assertEquals(0, d.reg(0x070) & VirtioMmio.DEVICE_NEEDS_RESET, "DEVICE_NEEDS_RESET after reset");
        probe.check(d);
        assertEquals(0, d.reg(0x070) & VirtioMmio.DEVICE_NEEDS_RESET, "a well-formed request set DEVICE_NEEDS_RESET");
    }

    /** Flags of a device-writable descriptor, for probes. */
    static final int WRITE = Virtqueue.VIRTQ_DESC_F_WRITE;
}
