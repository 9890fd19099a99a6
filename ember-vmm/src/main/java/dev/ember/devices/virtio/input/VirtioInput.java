package dev.ember.devices.virtio.input;

import dev.ember.devices.virtio.ConfigSpace;
import dev.ember.devices.virtio.VirtioContext;
import dev.ember.devices.virtio.VirtioDevice;
import dev.ember.devices.virtio.queue.DescriptorChain;
import dev.ember.devices.virtio.queue.Virtqueue;
import dev.ember.devices.virtio.queue.VirtqueueViolation;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;

/**
 * A virtio input keyboard (VIRTIO 1.2 §5.8) whose one job is Firecracker's
 * {@code SendCtrlAltDel}: {@link #sendCtrlAltDel} makes it press and release Ctrl+Alt+Delete.
 * On x86 Firecracker injects the same keys through its i8042 controller
 * ({@code src/vmm/src/devices/legacy/i8042.rs}, {@code trigger_ctrl_alt_del}); here Linux's
 * {@code virtio_input} driver hands them to the VT keyboard handler, whose default keymap maps
 * Ctrl+Alt+Delete to {@code ctrl_alt_del()}, which signals init (SIGINT) once init has disabled
 * the kernel's own reboot (busybox init does), and init runs its {@code ::ctrlaltdel:} action.
 *
 * <pre>
 *   queue 0  eventq    device-writable buffers, one virtio_input_event each     (§5.8.2, §5.8.6.1)
 *   queue 1  statusq   device-readable buffers of driver events (LEDs)          (§5.8.6.2)
 *   event    type:le16 | code:le16 | value:le32                                 (§5.8.6)
 *   config   select:u8 | subsel:u8 | size:u8 | reserved[5] | u[128]            (§5.8.4)
 * </pre>
 *
 * <p>Configuration (§5.8.4): the driver writes {@code select} and {@code subsel}, then reads
 * {@code size} and the union. This keyboard answers
 * <pre>
 *   ID_NAME      (0x01, 0)        "Ember keyboard"
 *   ID_SERIAL    (0x02, 0)        size 0 (no serial)
 *   ID_DEVIDS    (0x03, 0)        bustype BUS_VIRTUAL 0x06, vendor 0x454d ("EM"), product 1, version 1
 *   PROP_BITS    (0x10, 0)        size 0 (no properties)
 *   EV_BITS      (0x11, EV_KEY)   KEY_LEFTCTRL, KEY_LEFTALT, KEY_DELETE: the keys it ever sends
 *   EV_BITS      (0x11, EV_LED)   LED_NUML, LED_CAPSL, LED_SCROLLL, which the VT keyboard sets
 *   anything else                 size 0: no EV_REP (no kernel autorepeat), no EV_REL/EV_ABS,
 *                                 no ABS_INFO; EV_SYN is never asked (Linux's input core sets it)
 * </pre>
 * which is what Linux's {@code virtinput_probe} ({@code drivers/virtio/virtio_input.c}) reads.
 *
 * <p>Delivery: events wait in a pending queue of at most {@link #MAX_PENDING_EVENTS} and go out
 * one per eventq buffer (Linux posts 8-byte buffers), in order, as far as buffers reach; the rest
 * follow when the driver posts more and notifies. Status events are read, LED states kept
 * ({@link #leds}), and the buffers returned with used length 0. No feature bits (§5.8.3).
 *
 * <p>Lifecycle: {@link #reset} drops pending events, so a Ctrl+Alt+Delete queued for one boot
 * never reaches the next.
 *
 * <p><b>Guest-controlled.</b> The {@code select} and {@code subsel} bytes, config offsets and
 * widths, and the buffers of both queues. An unknown or out-of-range selection reads as size 0
 * and zeros; reads outside the 136-byte space read zero and writes there are ignored; only bytes
 * 0 and 1 are writable. An eventq chain with fewer than 8 writable bytes is returned with length
 * 0, counted, and the event kept for the next buffer. A status chain is read for at most one
 * event; a shorter one is counted and ignored. Ring rule-breaking is a {@link VirtqueueViolation}
 * (from {@link #queueNotify}) or {@link VirtioContext#fail} (from {@link #sendCtrlAltDel}).
 *
 * <p>Threads: the transport calls in on vCPU threads under this object's monitor;
 * {@link #sendCtrlAltDel} is called from the API or VMM thread and takes the same monitor.
 */
public final class VirtioInput implements VirtioDevice {

    /** §5: device ID of an input device. */
    public static final int DEVICE_ID = 18;
    /** §5.8.2: queue indices. */
    public static final int EVENTQ = 0, STATUSQ = 1;
    /** §5.8.4: {@code virtio_input_config_select}. */
    public static final int VIRTIO_INPUT_CFG_UNSET = 0x00, VIRTIO_INPUT_CFG_ID_NAME = 0x01,
            VIRTIO_INPUT_CFG_ID_SERIAL = 0x02, VIRTIO_INPUT_CFG_ID_DEVIDS = 0x03,
            VIRTIO_INPUT_CFG_PROP_BITS = 0x10, VIRTIO_INPUT_CFG_EV_BITS = 0x11,
            VIRTIO_INPUT_CFG_ABS_INFO = 0x12;
    /** §5.8.4: offsets in the configuration space; the union is 128 bytes. */
    public static final int CONFIG_SELECT = 0, CONFIG_SUBSEL = 1, CONFIG_SIZE = 2, CONFIG_UNION = 8,
            UNION_BYTES = 128, CONFIG_BYTES = CONFIG_UNION + UNION_BYTES;
    /** Linux {@code include/uapi/linux/input-event-codes.h}: event types. */
    public static final int EV_SYN = 0x00, EV_KEY = 0x01, EV_LED = 0x11, EV_REP = 0x14;
    /** Linux input codes used here. */
    public static final int SYN_REPORT = 0, KEY_LEFTCTRL = 29, KEY_LEFTALT = 56, KEY_DELETE = 111,
            LED_NUML = 0, LED_CAPSL = 1, LED_SCROLLL = 2;
    /** Linux {@code include/uapi/linux/input.h}: the bus of a virtual device. */
    public static final int BUS_VIRTUAL = 0x06;
    /** The IDs reported for ID_DEVIDS. */
    public static final int VENDOR = 0x454d, PRODUCT = 0x0001, VERSION = 0x0001;
    /** What ID_NAME reports; Linux prints it when it registers the input device. */
    public static final String NAME = "Ember keyboard";
    /** Most events waiting for eventq buffers: eight Ctrl+Alt+Delete sequences. */
    public static final int MAX_PENDING_EVENTS = 64;
    /** §5.8.6: bytes of one {@code virtio_input_event}. */
    public static final int EVENT_BYTES = 8;

    /** One {@code virtio_input_event} (§5.8.6); {@code type} and {@code code} are 16-bit. */
    public record Event(int type, int code, int value) {

        /** {@return the event's 8 little-endian bytes} */
        public byte[] encode() {
            return new byte[] {
                (byte) type, (byte) (type >>> 8), (byte) code, (byte) (code >>> 8),
                (byte) value, (byte) (value >>> 8), (byte) (value >>> 16), (byte) (value >>> 24)};
        }

        /** {@return the event in {@code b}'s first 8 bytes} */
        public static Event decode(byte[] b) {
            return new Event((b[0] & 0xFF) | (b[1] & 0xFF) << 8, (b[2] & 0xFF) | (b[3] & 0xFF) << 8,
                    (b[4] & 0xFF) | (b[5] & 0xFF) << 8 | (b[6] & 0xFF) << 16 | (b[7] & 0xFF) << 24);
        }
    }

    /** Press Ctrl, Alt, Delete; report; release in reverse; report. */
    public static final List<Event> CTRL_ALT_DEL = List.of(
            new Event(EV_KEY, KEY_LEFTCTRL, 1), new Event(EV_KEY, KEY_LEFTALT, 1), new Event(EV_KEY, KEY_DELETE, 1),
            new Event(EV_SYN, SYN_REPORT, 0),
            new Event(EV_KEY, KEY_DELETE, 0), new Event(EV_KEY, KEY_LEFTALT, 0), new Event(EV_KEY, KEY_LEFTCTRL, 0),
            new Event(EV_SYN, SYN_REPORT, 0));

    private static final byte[] KEY_BITS = bitmap(KEY_LEFTCTRL, KEY_LEFTALT, KEY_DELETE);
    private static final byte[] LED_BITS = bitmap(LED_NUML, LED_CAPSL, LED_SCROLLL);

    private final VirtioInputMetrics metrics = new VirtioInputMetrics();
    private final ArrayDeque<Event> pending = new ArrayDeque<>();
    private int select;
    private int subsel;
    private int leds;
    private VirtioContext context;   // non-null while active

    /** {@return the device's counters} */
    public VirtioInputMetrics metrics() {
        return metrics;
    }

    /**
     * Presses and releases Ctrl+Alt+Delete ({@link #CTRL_ALT_DEL}): delivers what the eventq's
     * buffers hold now, with an interrupt, and keeps the rest for the driver's next buffers. Any
     * thread.
     *
     * @return false, queueing nothing, if the driver has not activated the device with a ready
     *         eventq, or if the pending queue has no room for the whole sequence
     */
    public synchronized boolean sendCtrlAltDel() {
        if (context == null || context.queue(EVENTQ) == null) {
            return false;
        }
        if (pending.size() + CTRL_ALT_DEL.size() > MAX_PENDING_EVENTS) {
            metrics.droppedSequences.increment();
            return false;
        }
        pending.addAll(CTRL_ALT_DEL);
        try {
            deliver();
        } catch (VirtqueueViolation v) {
            context.fail(v);
        }
        return true;
    }

    /** {@return the number of events waiting for eventq buffers} */
    public synchronized int pendingEvents() {
        return pending.size();
    }

    /** {@return the LED states the driver last sent: bit {@code LED_*} set when that LED is on} */
    public synchronized int leds() {
        return leds;
    }

    @Override
    public int deviceType() {
        return DEVICE_ID;
    }

    @Override
    public long deviceFeatures() {
        return 0;
    }

    @Override
    public int queueCount() {
        return 2;
    }

    @Override
    public synchronized long readConfig(int offset, int width) {
        return ConfigSpace.read(offset, width, CONFIG_BYTES, this::configByte);
    }

    @Override
    public synchronized void writeConfig(int offset, int width, long value) {
        if (width < 1 || width > 8 || offset < 0) {
            return;
        }
        // Bounds: only select and subsel are driver-writable (§5.8.4); a wide write that covers
        // them sets each from its own byte, the rest of it is dropped.
        for (int i = 0; i < width; i++) {
            int b = (int) (value >>> (8 * i)) & 0xFF;
            switch (offset + i) {
                case CONFIG_SELECT -> select = b;
                case CONFIG_SUBSEL -> subsel = b;
                default -> { }
            }
        }
    }

    /** {@return byte {@code offset} (in range) of the configuration space for the current selection} */
    private int configByte(int offset) {
        byte[] payload = selected();
        return switch (offset) {
            case CONFIG_SELECT -> select;
            case CONFIG_SUBSEL -> subsel;
            case CONFIG_SIZE -> payload.length;
            default -> {
                int u = offset - CONFIG_UNION;
                yield u >= 0 && u < payload.length ? payload[u] & 0xFF : 0;
            }
        };
    }

    /** {@return the union's content for ({@code select}, {@code subsel}); empty is size 0} */
    private byte[] selected() {
        return switch (select) {
            case VIRTIO_INPUT_CFG_ID_NAME -> subsel == 0 ? NAME.getBytes(StandardCharsets.US_ASCII) : new byte[0];
            case VIRTIO_INPUT_CFG_ID_DEVIDS -> subsel == 0 ? devids() : new byte[0];
            case VIRTIO_INPUT_CFG_EV_BITS -> switch (subsel) {
                case EV_KEY -> KEY_BITS.clone();
                case EV_LED -> LED_BITS.clone();
                default -> new byte[0];
            };
            default -> new byte[0];   // UNSET, ID_SERIAL, PROP_BITS, ABS_INFO, unknown
        };
    }

    private static byte[] devids() {
        return new byte[] {
            (byte) BUS_VIRTUAL, 0, (byte) VENDOR, (byte) (VENDOR >>> 8),
            (byte) PRODUCT, (byte) (PRODUCT >>> 8), (byte) VERSION, (byte) (VERSION >>> 8)};
    }

    /** {@return the shortest §5.8.4 bitmap with {@code bits} set: byte {@code n / 8}, bit {@code n % 8}} */
    private static byte[] bitmap(int... bits) {
        int max = 0;
        for (int b : bits) {
            max = Math.max(max, b);
        }
        byte[] map = new byte[max / 8 + 1];
        for (int b : bits) {
            map[b / 8] |= (byte) (1 << (b % 8));
        }
        return map;
    }

    @Override
    public synchronized void activate(VirtioContext context) throws VirtqueueViolation {
        this.context = context;
        drainStatus();
    }

    @Override
    public synchronized void queueNotify(int index) throws VirtqueueViolation {
        if (index == EVENTQ) {
            deliver();
        } else if (index == STATUSQ) {
            drainStatus();
        }
    }

    @Override
    public synchronized void reset() {
        context = null;
        pending.clear();
    }

    /** Writes pending events into eventq buffers, one per buffer, in order. */
    private void deliver() throws VirtqueueViolation {
        Virtqueue queue = context == null ? null : context.queue(EVENTQ);
        if (queue == null) {
            return;
        }
        boolean used = false;
        do {
            for (DescriptorChain chain; !pending.isEmpty() && (chain = queue.pop()) != null; ) {
                used = true;
                if (chain.writableBytes() < EVENT_BYTES) {
                    metrics.badBuffers.increment();
                    queue.addUsed(chain.head(), 0);
                    continue;
                }
                Event event = pending.poll();
                queue.addUsed(chain.head(), chain.write(0, event.encode(), 0, EVENT_BYTES));
                metrics.events.increment();
            }
            // Only events still waiting need the driver's next buffer announced (EVENT_IDX).
        } while (!pending.isEmpty() && queue.enableNotification());
        if (used && queue.needsInterrupt()) {
            context.usedBuffers();
        }
    }

    /** Takes every status event the driver posted and returns its buffer. */
    private void drainStatus() throws VirtqueueViolation {
        Virtqueue queue = context == null ? null : context.queue(STATUSQ);
        if (queue == null) {
            return;
        }
        boolean used = false;
        do {
            for (DescriptorChain chain; (chain = queue.pop()) != null; ) {
                used = true;
                byte[] bytes = chain.readAll(EVENT_BYTES);
                if (bytes.length < EVENT_BYTES) {
                    metrics.badBuffers.increment();
                } else {
                    status(Event.decode(bytes));
                }
                queue.addUsed(chain.head(), 0);
            }
        } while (queue.enableNotification());
        if (used && queue.needsInterrupt()) {
            context.usedBuffers();
        }
    }

    private void status(Event event) {
        metrics.statusEvents.increment();
        if (event.type() == EV_LED && event.code() <= LED_SCROLLL) {
            int bit = 1 << event.code();
            leds = event.value() != 0 ? leds | bit : leds & ~bit;
        }
    }

    /** The keyboard's state for snapshots: undelivered events, the config selector and the LEDs. */
    public record State(List<Event> pending, int select, int subsel, int leds) { }

    @Override
    public synchronized Record saveState() {
        return new State(List.copyOf(pending), select, subsel, leds);
    }


    @Override
    public synchronized void restoreState(Record state) {
        State s = (State) state;
        if (s.pending() != null && s.pending().size() > 4096) {
            throw new IllegalArgumentException("virtio-input state holds too many events");
        }
        pending.clear();
        if (s.pending() != null) {
            pending.addAll(s.pending());
        }
        select = s.select() & 0xFF;
        subsel = s.subsel() & 0xFF;
        leds = s.leds();
    }

    /** The keyboard {@code config} asks for. */
    public static VirtioInput create(dev.ember.config.KeyboardConfig config) {
        return new VirtioInput();
    }
}
