package dev.ember.devices.virtio;

import dev.ember.devices.virtio.queue.Virtqueue;
import dev.ember.memory.GuestMemory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A virtio driver in Java, for device tests: it probes a {@link VirtioMmio} the way Linux's
 * virtio_mmio does (§3.1.1), lays out split queues in a {@link GuestMemory}, posts chains
 * (direct or indirect) and reads back used entries. Hostile tests poke the rings directly
 * through {@link #memory()} and the queue addresses.
 *
 * <p>Memory layout: queue {@code q} gets a 64 KiB area at {@code base + q * 64 KiB}; data
 * buffers are carved from {@code base + 1 MiB} upwards by {@link #alloc}.
 */
public final class FakeDriver implements AutoCloseable {

    public static final long RAM_BASE = 0x8000_0000L;

    private final GuestMemory memory;
    private final VirtioMmio transport;
    private final AtomicBoolean irq = new AtomicBoolean();
    private final List<String> log = new ArrayList<>();
    private long nextBuffer = RAM_BASE + (1 << 20);
    private final int[] queueSize;
    private final int[] availIdx;
    private final int[] usedSeen;
    private final int[] nextDesc;

    /** A driver over {@code device} with {@code ramBytes} of fresh guest RAM. */
    public FakeDriver(VirtioDevice device, long ramBytes) {
        this(device, GuestMemory.allocate(RAM_BASE, ramBytes));
    }

    public FakeDriver(VirtioDevice device, GuestMemory memory) {
        this.memory = memory;
        this.transport = new VirtioMmio(device, memory, irq::set, "fake", e -> log.add(e.message()));
        int n = device.queueCount();
        queueSize = new int[n];
        availIdx = new int[n];
        usedSeen = new int[n];
        nextDesc = new int[n];
    }

    public GuestMemory memory() { return memory; }
    public VirtioMmio transport() { return transport; }
    public boolean irqAsserted() { return irq.get(); }
    public List<String> log() { return log; }

    public int reg(int offset) { return (int) transport.read(offset, 4); }
    public void reg(int offset, int value) { transport.write(offset, 4, value & 0xFFFF_FFFFL); }

    /** {@return the 64-bit feature word the device offers} */
    public long deviceFeatures() {
        reg(0x014, 0);
        long lo = reg(0x010) & 0xFFFF_FFFFL;
        reg(0x014, 1);
        long hi = reg(0x010) & 0xFFFF_FFFFL;
        return hi << 32 | lo;
    }

    /**
     * Runs §3.1.1's initialisation: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, queues of
     * {@code size} entries, DRIVER_OK.
     *
     * @return whether the device kept FEATURES_OK
     */
    public boolean initialize(long features, int size) {
        reg(0x070, 0);
        reg(0x070, VirtioMmio.ACKNOWLEDGE);
        reg(0x070, VirtioMmio.ACKNOWLEDGE | VirtioMmio.DRIVER);
        reg(0x024, 0);
        reg(0x020, (int) features);
        reg(0x024, 1);
        reg(0x020, (int) (features >>> 32));
        reg(0x070, VirtioMmio.ACKNOWLEDGE | VirtioMmio.DRIVER | VirtioMmio.FEATURES_OK);
        if ((reg(0x070) & VirtioMmio.FEATURES_OK) == 0) {
            return false;
        }
        for (int q = 0; q < queueSize.length; q++) {
            setupQueue(q, size);
        }
        reg(0x070, VirtioMmio.ACKNOWLEDGE | VirtioMmio.DRIVER | VirtioMmio.FEATURES_OK | VirtioMmio.DRIVER_OK);
        return true;
    }

    /** Initialises with every feature the device offers. */
    public boolean initialize(int size) {
        return initialize(deviceFeatures(), size);
    }

    private void setupQueue(int q, int size) {
        reg(0x030, q);
        int max = reg(0x034);
        int n = Math.min(size, max);
        long area = queueArea(q);
        memory.segment().asSlice(area - RAM_BASE, 0x10000).fill((byte) 0);
        reg(0x038, n);
        reg(0x080, (int) descGpa(q));
        reg(0x084, (int) (descGpa(q) >>> 32));
        reg(0x090, (int) availGpa(q));
        reg(0x094, (int) (availGpa(q) >>> 32));
        reg(0x0a0, (int) usedGpa(q));
        reg(0x0a4, (int) (usedGpa(q) >>> 32));
        reg(0x044, 1);
        queueSize[q] = n;
        availIdx[q] = 0;
        usedSeen[q] = 0;
        nextDesc[q] = 0;
    }

    public long queueArea(int q) { return RAM_BASE + 0x10000L * q; }
    public long descGpa(int q) { return queueArea(q); }
    public long availGpa(int q) { return queueArea(q) + 0x4000; }
    public long usedGpa(int q) { return queueArea(q) + 0x8000; }
    public int queueSize(int q) { return queueSize[q]; }

    /** {@return {@code length} bytes of fresh buffer space (16-byte aligned)} */
    public long alloc(int length) {
        long gpa = nextBuffer;
        nextBuffer = (nextBuffer + length + 15) & ~15L;
        return gpa;
    }

    /** {@return a buffer holding {@code bytes}} */
    public long allocWith(byte[] bytes) {
        long gpa = alloc(bytes.length);
        memory.write(gpa, bytes);
        return gpa;
    }

    /** One buffer of a chain. */
    public record Buffer(long gpa, int length, boolean writable) {
        public static Buffer in(long gpa, int length) { return new Buffer(gpa, length, false); }
        public static Buffer out(long gpa, int length) { return new Buffer(gpa, length, true); }
    }

    /** Writes one descriptor of queue {@code q}'s table. */
    public void writeDescriptor(int q, int index, long gpa, int length, int flags, int next) {
        long d = descGpa(q) + 16L * index;
        memory.write64(d, gpa);
        memory.write32(d + 8, length);
        memory.write16(d + 12, flags);
        memory.write16(d + 14, next);
    }

    /** Posts a chain of direct descriptors; {@return its head index} */
    public int post(int q, Buffer... buffers) {
        int head = nextDesc[q];
        for (int i = 0; i < buffers.length; i++) {
            int index = (head + i) % queueSize[q];
            Buffer b = buffers[i];
            boolean last = i == buffers.length - 1;
            writeDescriptor(q, index, b.gpa(), b.length(),
                    (b.writable() ? Virtqueue.VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : Virtqueue.VIRTQ_DESC_F_NEXT),
                    (index + 1) % queueSize[q]);
        }
        nextDesc[q] = (head + buffers.length) % queueSize[q];
        publish(q, head);
        return head;
    }

    /** Posts a chain as one indirect descriptor; {@return its head index} */
    public int postIndirect(int q, Buffer... buffers) {
        long table = alloc(16 * buffers.length);
        for (int i = 0; i < buffers.length; i++) {
            Buffer b = buffers[i];
            long d = table + 16L * i;
            boolean last = i == buffers.length - 1;
            memory.write64(d, b.gpa());
            memory.write32(d + 8, b.length());
            memory.write16(d + 12, (b.writable() ? Virtqueue.VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : Virtqueue.VIRTQ_DESC_F_NEXT));
            memory.write16(d + 14, i + 1);
        }
        int head = nextDesc[q];
        writeDescriptor(q, head, table, 16 * buffers.length, Virtqueue.VIRTQ_DESC_F_INDIRECT, 0);
        nextDesc[q] = (head + 1) % queueSize[q];
        publish(q, head);
        return head;
    }

    /** Puts {@code head} in the available ring and advances avail.idx, without notifying. */
    public void publish(int q, int head) {
        memory.write16(availGpa(q) + 4 + 2L * (availIdx[q] % queueSize[q]), head);
        availIdx[q] = (availIdx[q] + 1) & 0xFFFF;
        memory.write16(availGpa(q) + 2, availIdx[q]);
    }

    /** Sets avail.idx directly, as a hostile driver might. */
    public void setAvailIdx(int q, int idx) {
        availIdx[q] = idx & 0xFFFF;
        memory.write16(availGpa(q) + 2, availIdx[q]);
    }

    /** Writes QueueNotify for {@code q}. */
    public void notify(int q) {
        reg(0x050, q);
    }

    /** A used-ring entry. */
    public record Used(int head, int length) { }

    /** {@return the used entries added since the last call, in order} */
    public List<Used> takeUsed(int q) {
        List<Used> out = new ArrayList<>();
        int idx = memory.readU16(usedGpa(q) + 2);
        while (usedSeen[q] != idx) {
            long e = usedGpa(q) + 4 + 8L * (usedSeen[q] % queueSize[q]);
            out.add(new Used((int) memory.readU32(e), (int) memory.readU32(e + 4)));
            usedSeen[q] = (usedSeen[q] + 1) & 0xFFFF;
        }
        return out;
    }

    /** Waits up to {@code millis} for at least one used entry on {@code q}, for devices with threads. */
    public List<Used> awaitUsed(int q, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000;
        List<Used> got = new ArrayList<>();
        while (got.isEmpty() && System.nanoTime() < deadline) {
            synchronized (transport.device()) {
                got.addAll(takeUsed(q));
            }
            if (got.isEmpty()) {
                Thread.sleep(2);
            }
        }
        return got;
    }

    /** Acknowledges every pending interrupt; {@return the InterruptStatus it acknowledged} */
    public int ackInterrupt() {
        int s = reg(0x060);
        reg(0x064, s);
        return s;
    }

    /** {@return whether the device set DEVICE_NEEDS_RESET} */
    public boolean needsReset() {
        return (reg(0x070) & VirtioMmio.DEVICE_NEEDS_RESET) != 0;
    }

    @Override
    public void close() {
        transport.device().close();
        memory.close();
    }
}
