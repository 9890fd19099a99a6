package dev.ember.devices.virtio;

import dev.ember.log.Log;
import dev.ember.log.LogSink;
import java.util.ArrayList;
import java.util.List;

import dev.ember.devices.irq.IrqLine;
import dev.ember.devices.virtio.queue.Virtqueue;
import dev.ember.devices.virtio.queue.VirtqueueViolation;
import dev.ember.memory.GuestMemory;
import dev.ember.memory.MmioDevice;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The virtio-mmio transport, version 2 (VIRTIO 1.2 §4.2): the register window through which the
 * driver finds a device, negotiates features, sets up queues and hears interrupts.
 *
 * <pre>
 *   0x000 MagicValue "virt"       0x050 QueueNotify          0x0a0 QueueDeviceLow/High
 *   0x004 Version 2               0x060 InterruptStatus      0x0ac SHMSel, 0x0b0.. SHMLen/Base
 *   0x008 DeviceID                0x064 InterruptACK         0x0c0 QueueReset (not offered)
 *   0x00c VendorID                0x070 Status               0x0fc ConfigGeneration
 *   0x010 DeviceFeatures(+Sel)    0x080 QueueDescLow/High    0x100 device configuration
 *   0x020 DriverFeatures(+Sel)    0x090 QueueDriverLow/High
 *   0x030 QueueSel, 0x034 QueueNumMax, 0x038 QueueNum, 0x044 QueueReady
 * </pre>
 *
 * <p>The interrupt line is level-triggered: high while InterruptStatus is non-zero.
 *
 * <p><b>Guest-controlled.</b> Every register write comes from the guest. Queue registers are
 * taken only while the selected queue is not ready (§4.2.2.3); a QueueSel beyond the device's
 * queues reads QueueNumMax 0; a feature set the device did not offer, or one without
 * VIRTIO_F_VERSION_1, leaves FEATURES_OK clear (§2.2.2); rings that are misaligned or outside
 * RAM, and any {@link VirtqueueViolation} a device reports, set DEVICE_NEEDS_RESET and raise a
 * configuration interrupt (§2.1.2). A device in that state is served no more until the driver
 * writes status 0; the rest of the VM carries on.
 *
 * <p>Threads: vCPU threads call {@link #read} and {@link #write}; device threads reach the
 * transport through {@link VirtioContext}. All state is guarded by the device's monitor.
 */
public final class VirtioMmio implements MmioDevice {

    public static final int MAGIC_VALUE = 0x7472_6976;   // "virt", little-endian
    public static final int VERSION = 2;
    public static final int VENDOR_ID = 0x454D_4252;      // "EMBR"

    /** §2.1: device status bits. */
    public static final int ACKNOWLEDGE = 1, DRIVER = 2, DRIVER_OK = 4, FEATURES_OK = 8,
            DEVICE_NEEDS_RESET = 64, FAILED = 128;
    /** §4.2.2: InterruptStatus bits. */
    public static final int INTERRUPT_USED_BUFFER = 1, INTERRUPT_CONFIG_CHANGE = 2;

    private static final int REG_MAGIC = 0x000, REG_VERSION = 0x004, REG_DEVICE_ID = 0x008,
            REG_VENDOR_ID = 0x00c, REG_DEVICE_FEATURES = 0x010, REG_DEVICE_FEATURES_SEL = 0x014,
            REG_DRIVER_FEATURES = 0x020, REG_DRIVER_FEATURES_SEL = 0x024, REG_QUEUE_SEL = 0x030,
            REG_QUEUE_NUM_MAX = 0x034, REG_QUEUE_NUM = 0x038, REG_QUEUE_READY = 0x044,
            REG_QUEUE_NOTIFY = 0x050, REG_INTERRUPT_STATUS = 0x060, REG_INTERRUPT_ACK = 0x064,
            REG_STATUS = 0x070, REG_QUEUE_DESC_LOW = 0x080, REG_QUEUE_DESC_HIGH = 0x084,
            REG_QUEUE_DRIVER_LOW = 0x090, REG_QUEUE_DRIVER_HIGH = 0x094, REG_QUEUE_DEVICE_LOW = 0x0a0,
            REG_QUEUE_DEVICE_HIGH = 0x0a4, REG_SHM_LEN_LOW = 0x0b0, REG_SHM_LEN_HIGH = 0x0b4,
            REG_SHM_BASE_LOW = 0x0b8, REG_SHM_BASE_HIGH = 0x0bc, REG_CONFIG_GENERATION = 0x0fc,
            REG_CONFIG = 0x100;
    private static final long WINDOW = 0x1000;

    private final VirtioDevice device;
    private final GuestMemory memory;
    private final IrqLine irq;
    private final String name;
    private final Log log;
    private final long offeredFeatures;
    private final QueueRegisters[] queueRegs;
    private final Virtqueue[] queues;
    private final Context context = new Context();

    private int status;
    private int deviceFeaturesSel;
    private int driverFeaturesSel;
    private long driverFeatures;
    private int queueSel;
    private int interruptStatus;
    private int configGeneration;
    private boolean active;
    private boolean quiesced;
    private long violations;
    private final AtomicLongArray notifications;   // written under the device monitor, read without it

    /**
     * @param name a short label for log lines, e.g. {@code "virtio-blk vda"}
     * @param log  the VM's sink, for the WARN report of a driver's rule-breaking
     */
    public VirtioMmio(VirtioDevice device, GuestMemory memory, IrqLine irq, String name, LogSink log) {
        this.device = device;
        this.memory = memory;
        this.irq = irq;
        this.name = name;
        this.log = Log.of(log, VirtioMmio.class);
        this.offeredFeatures = device.deviceFeatures() | VirtioFeatures.TRANSPORT;
        this.queueRegs = new QueueRegisters[device.queueCount()];
        for (int i = 0; i < queueRegs.length; i++) {
            queueRegs[i] = new QueueRegisters();
        }
        this.queues = new Virtqueue[device.queueCount()];
        this.notifications = new AtomicLongArray(device.queueCount());
    }

    /** {@return the device behind this transport} */
    public VirtioDevice device() {
        return device;
    }

    /** {@return how many times a driver broke the queue rules on this device} */
    public long violations() {
        synchronized (device) {
            return violations;
        }
    }

    /**
     * {@return how many times the driver notified queue {@code index} while the device was live}:
     * Firecracker's {@code queue_event_count} family
     *
     * @throws IndexOutOfBoundsException if the device has no such queue
     */
    public long notifications(int index) {
        return notifications.get(index);
    }

    /** {@return the device status register} */
    public int status() {
        synchronized (device) {
            return status;
        }
    }

    @Override
    public long size() {
        return WINDOW;
    }

    @Override
    public long read(long offset, int width) {
        synchronized (device) {
            if (offset >= REG_CONFIG) {
                long configOffset = offset - REG_CONFIG;
                return configOffset < WINDOW ? device.readConfig((int) configOffset, width) : 0;
            }
            if (width != 4 || (offset & 3) != 0) {
                return 0;   // §4.2.2.1: control registers are 32-bit accesses only
            }
            return readRegister((int) offset) & 0xFFFF_FFFFL;
        }
    }

    private int readRegister(int offset) {
        QueueRegisters q = selectedQueue();
        return switch (offset) {
            case REG_MAGIC -> MAGIC_VALUE;
            case REG_VERSION -> VERSION;
            case REG_DEVICE_ID -> device.deviceType();
            case REG_VENDOR_ID -> VENDOR_ID;
            case REG_DEVICE_FEATURES -> deviceFeaturesSel == 0 ? (int) offeredFeatures
                    : deviceFeaturesSel == 1 ? (int) (offeredFeatures >>> 32) : 0;
            case REG_QUEUE_NUM_MAX -> q == null ? 0 : device.queueMaxSize(queueSel);
            case REG_QUEUE_READY -> q != null && q.ready ? 1 : 0;
            case REG_INTERRUPT_STATUS -> interruptStatus;
            case REG_STATUS -> status;
            // §4.2.2: no shared memory regions; a length of all ones says so.
            case REG_SHM_LEN_LOW, REG_SHM_LEN_HIGH, REG_SHM_BASE_LOW, REG_SHM_BASE_HIGH -> -1;
            case REG_CONFIG_GENERATION -> configGeneration;
            default -> 0;
        };
    }

    @Override
    public void write(long offset, int width, long value) {
        synchronized (device) {
            if (offset >= REG_CONFIG) {
                long configOffset = offset - REG_CONFIG;
                if (configOffset < WINDOW) {
                    device.writeConfig((int) configOffset, width, value);
                }
                return;
            }
            if (width != 4 || (offset & 3) != 0) {
                return;
            }
            writeRegister((int) offset, (int) value);
        }
    }

    private void writeRegister(int offset, int value) {
        QueueRegisters q = selectedQueue();
        boolean queueWritable = q != null && !q.ready;
        switch (offset) {
            case REG_DEVICE_FEATURES_SEL -> deviceFeaturesSel = value;
            case REG_DRIVER_FEATURES -> {
                if ((status & FEATURES_OK) == 0 && driverFeaturesSel >= 0 && driverFeaturesSel <= 1) {
                    int shift = 32 * driverFeaturesSel;
                    driverFeatures = (driverFeatures & ~(0xFFFF_FFFFL << shift)) | ((value & 0xFFFF_FFFFL) << shift);
                }
            }
            case REG_DRIVER_FEATURES_SEL -> driverFeaturesSel = value;
            case REG_QUEUE_SEL -> queueSel = value;
            case REG_QUEUE_NUM -> { if (queueWritable) q.num = value; }
            case REG_QUEUE_DESC_LOW -> { if (queueWritable) q.desc = low(q.desc, value); }
            case REG_QUEUE_DESC_HIGH -> { if (queueWritable) q.desc = high(q.desc, value); }
            case REG_QUEUE_DRIVER_LOW -> { if (queueWritable) q.driver = low(q.driver, value); }
            case REG_QUEUE_DRIVER_HIGH -> { if (queueWritable) q.driver = high(q.driver, value); }
            case REG_QUEUE_DEVICE_LOW -> { if (queueWritable) q.device = low(q.device, value); }
            case REG_QUEUE_DEVICE_HIGH -> { if (queueWritable) q.device = high(q.device, value); }
            case REG_QUEUE_READY -> {
                if (q != null) {
                    queueReady(q, value == 1);
                }
            }
            case REG_QUEUE_NOTIFY -> queueNotify(value);
            case REG_INTERRUPT_ACK -> {
                interruptStatus &= ~value;
                irq.set(interruptStatus != 0);
            }
            case REG_STATUS -> writeStatus(value & 0xFF);
            default -> { }
        }
    }

    private QueueRegisters selectedQueue() {
        return queueSel >= 0 && queueSel < queueRegs.length ? queueRegs[queueSel] : null;
    }

    private static long low(long old, int value) {
        return (old & 0xFFFF_FFFF_0000_0000L) | (value & 0xFFFF_FFFFL);
    }

    private static long high(long old, int value) {
        return (old & 0xFFFF_FFFFL) | ((long) value << 32);
    }

    private void queueReady(QueueRegisters q, boolean ready) {
        if (!ready) {
            q.ready = false;
            return;
        }
        // §2.7: a split queue's size is a power of 2, at most QueueNumMax; the free-running
        // 16-bit indices only map onto ring slots consistently for such sizes.
        if (q.num < 1 || q.num > device.queueMaxSize(queueSel) || Integer.bitCount(q.num) != 1) {
            violation(new VirtqueueViolation("queue " + queueSel + " size " + q.num + " is not a power of 2 in 1.."
                    + device.queueMaxSize(queueSel)));
            return;
        }
        q.ready = true;
    }

    private void writeStatus(int value) {
        if (value == 0) {
            reset();
            return;
        }
        if ((value & FEATURES_OK) != 0 && (status & FEATURES_OK) == 0) {
            boolean subset = (driverFeatures & ~offeredFeatures) == 0;
            boolean modern = (driverFeatures & (1L << VirtioFeatures.VIRTIO_F_VERSION_1)) != 0;
            if (!subset || !modern) {
                value &= ~FEATURES_OK;   // §2.2.2: the driver reads it back and gives up
            }
        }
        status = (status & DEVICE_NEEDS_RESET) | value;
        if ((status & DRIVER_OK) != 0 && (status & FEATURES_OK) != 0 && !active && (status & DEVICE_NEEDS_RESET) == 0) {
            activate();
        }
    }

    private void activate() {
        boolean eventIdx = negotiated(VirtioFeatures.VIRTIO_F_RING_EVENT_IDX);
        boolean indirect = negotiated(VirtioFeatures.VIRTIO_F_RING_INDIRECT_DESC);
        try {
            for (int i = 0; i < queueRegs.length; i++) {
                QueueRegisters q = queueRegs[i];
                queues[i] = q.ready ? new Virtqueue(memory, q.num, q.desc, q.driver, q.device, eventIdx, indirect) : null;
            }
            active = true;
            device.activate(context);
        } catch (VirtqueueViolation v) {
            violation(v);
        }
    }

    private boolean negotiated(int bit) {
        return (driverFeatures & (1L << bit)) != 0;
    }

    private void queueNotify(int index) {
        if (!active || (status & DEVICE_NEEDS_RESET) != 0 || index < 0 || index >= queues.length
                || queues[index] == null) {
            return;
        }
        notifications.incrementAndGet(index);
        try {
            device.queueNotify(index);
        } catch (VirtqueueViolation v) {
            violation(v);
        }
    }

    private void violation(VirtqueueViolation v) {
        violations++;
        if ((status & DEVICE_NEEDS_RESET) == 0) {
            log.warn("ember: " + name + ": driver error, device needs reset: " + v.getMessage());
        }
        status |= DEVICE_NEEDS_RESET;
        if (active) {
            active = false;
            device.reset();
        }
        raise(INTERRUPT_CONFIG_CHANGE);
    }

    private void raise(int bits) {
        interruptStatus |= bits;
        irq.set(true);
    }

    /**
     * The quiesce point of a pause: from now on the device's own threads (a network backend,
     * vsock's sockets, timers) find no queues through the context, so they neither take buffers
     * nor write guest memory, and hold what arrives. Returns once no thread is inside the device.
     */
    public void quiesce() {
        synchronized (device) {
            quiesced = true;
        }
    }

    /**
     * Ends {@link #quiesce}: the device is kicked on every ready queue, as if the driver had
     * notified it, so work held or buffers made available meanwhile are served.
     */
    public void unquiesce() {
        synchronized (device) {
            if (!quiesced) {
                return;
            }
            quiesced = false;
            if (!active || (status & DEVICE_NEEDS_RESET) != 0) {
                return;
            }
            for (int i = 0; i < queues.length && active; i++) {
                if (queues[i] != null) {
                    try {
                        device.queueNotify(i);
                    } catch (VirtqueueViolation v) {
                        violation(v);
                    }
                }
            }
        }
    }

    /** Returns the transport and device to their power-on state (§2.4); also used on reboot. */
    public void reset() {
        synchronized (device) {
            if (active) {
                device.reset();
            }
            active = false;
            status = 0;
            deviceFeaturesSel = 0;
            driverFeaturesSel = 0;
            driverFeatures = 0;
            queueSel = 0;
            interruptStatus = 0;
            irq.set(false);
            for (int i = 0; i < queueRegs.length; i++) {
                queueRegs[i] = new QueueRegisters();
                queues[i] = null;
            }
        }
    }

    /** The per-queue registers the driver writes before QueueReady. */
    private static final class QueueRegisters {
        int num;
        long desc;
        long driver;
        long device;
        boolean ready;
    }

    private final class Context implements VirtioContext {
        @Override public GuestMemory memory() { return memory; }
        @Override public Virtqueue queue(int index) {
            return !quiesced && index >= 0 && index < queues.length ? queues[index] : null;
        }
        @Override public boolean quiesced() { return quiesced; }
        @Override public boolean negotiated(int bit) { return VirtioMmio.this.negotiated(bit); }
        @Override public void usedBuffers() {
            if (active) {
                raise(INTERRUPT_USED_BUFFER);
            }
        }
        @Override public void configChanged() {
            configGeneration++;
            raise(INTERRUPT_CONFIG_CHANGE);
        }
        @Override public void fail(VirtqueueViolation violation) { violation(violation); }
    }

    /**
     * One queue's registers as the driver wrote them, and, while the device is active and the
     * queue ready, the device's side of the queue.
     */
    public record QueueState(int num, long desc, long driver, long device, boolean ready, Virtqueue.State queue) { }

    /**
     * The transport's state for snapshots (§4.2.2): status, feature selection and the
     * negotiated features, the selected queue, interrupt status, configuration generation and
     * each queue.
     */
    public record State(int status, int deviceFeaturesSel, int driverFeaturesSel, long driverFeatures, int queueSel,
                        int interruptStatus, int configGeneration, boolean active, List<QueueState> queues) { }

    /** {@return the state, for a snapshot}; the caller has quiesced the device */
    public State saveState() {
        synchronized (device) {
            List<QueueState> qs = new ArrayList<>();
            for (int i = 0; i < queueRegs.length; i++) {
                QueueRegisters r = queueRegs[i];
                qs.add(new QueueState(r.num, r.desc, r.driver, r.device, r.ready,
                        queues[i] == null ? null : queues[i].saveState()));
            }
            return new State(status, deviceFeaturesSel, driverFeaturesSel, driverFeatures, queueSel, interruptStatus,
                    configGeneration, active, qs);
        }
    }

    /**
     * Restores {@code s} on a transport that has not been used since it was built, and
     * reactivates the device on the restored queues, as Firecracker does after a load. The
     * device's own state must be restored first, since activation may serve buffers the driver
     * made available before the snapshot.
     *
     * @throws IllegalArgumentException if {@code s} does not fit this device (queue count, features)
     */
    public void restoreState(State s) {
        synchronized (device) {
            if (s.queues() == null || s.queues().size() != queueRegs.length) {
                throw new IllegalArgumentException(name + ": saved state has " + (s.queues() == null ? 0 : s.queues().size())
                        + " queues, the device has " + queueRegs.length);
            }
            if ((s.driverFeatures() & ~offeredFeatures) != 0) {
                throw new IllegalArgumentException(name + ": saved features 0x" + Long.toHexString(s.driverFeatures())
                        + " are not offered by this device");
            }
            status = s.status() & 0xFF;
            deviceFeaturesSel = s.deviceFeaturesSel();
            driverFeaturesSel = s.driverFeaturesSel();
            driverFeatures = s.driverFeatures();
            queueSel = s.queueSel();
            interruptStatus = s.interruptStatus() & (INTERRUPT_USED_BUFFER | INTERRUPT_CONFIG_CHANGE);
            configGeneration = s.configGeneration();
            for (int i = 0; i < queueRegs.length; i++) {
                QueueState q = s.queues().get(i);
                QueueRegisters r = new QueueRegisters();
                r.num = q.num();
                r.desc = q.desc();
                r.driver = q.driver();
                r.device = q.device();
                r.ready = q.ready();
                queueRegs[i] = r;
                queues[i] = null;
            }
            irq.set(interruptStatus != 0);
            if (!s.active()) {
                return;
            }
            try {
                for (int i = 0; i < queueRegs.length; i++) {
                    QueueState q = s.queues().get(i);
                    queues[i] = q.queue() == null ? null : Virtqueue.restore(memory, q.queue());
                }
                active = true;
                device.activate(context);
            } catch (VirtqueueViolation v) {
                violation(v);
            }
        }
    }
}
