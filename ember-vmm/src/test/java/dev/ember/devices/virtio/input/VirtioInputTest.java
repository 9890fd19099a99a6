package dev.ember.devices.virtio.input;

import static dev.ember.devices.virtio.input.VirtioInput.CTRL_ALT_DEL;
import static dev.ember.devices.virtio.input.VirtioInput.EVENTQ;
import static dev.ember.devices.virtio.input.VirtioInput.STATUSQ;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.devices.virtio.FakeDriver;
import dev.ember.devices.virtio.FakeDriver.Buffer;
import dev.ember.devices.virtio.FakeDriver.Used;
import dev.ember.devices.virtio.VirtioFeatures;
import dev.ember.devices.virtio.input.VirtioInput.Event;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** virtio-input keyboard (VIRTIO 1.2 §5.8) through {@link FakeDriver}, probed as Linux's virtio_input does. */
class VirtioInputTest {

    private static final int CONFIG = 0x100;

    private final VirtioInput keyboard = new VirtioInput();
    private final FakeDriver driver = new FakeDriver(keyboard, 4 << 20);
    /** Event buffer of each posted eventq head, as Linux's {@code evts[]}. */
    private final List<Long> eventBuffers = new ArrayList<>();

    @AfterEach
    void close() {
        driver.close();
    }

    // --- config space, the way virtinput_cfg_select and virtio_cread_bytes do it

    private int cfgSelect(int select, int subsel) {
        driver.transport().write(CONFIG + VirtioInput.CONFIG_SELECT, 1, select);
        driver.transport().write(CONFIG + VirtioInput.CONFIG_SUBSEL, 1, subsel);
        return (int) driver.transport().read(CONFIG + VirtioInput.CONFIG_SIZE, 1);
    }

    private byte[] cfgBytes(int n) {
        byte[] out = new byte[n];
        for (int i = 0; i < n; i++) {
            out[i] = (byte) driver.transport().read(CONFIG + VirtioInput.CONFIG_UNION + i, 1);
        }
        return out;
    }

    private BitSet cfgBits(int select, int subsel) {
        return BitSet.valueOf(cfgBytes(cfgSelect(select, subsel)));
    }

    // --- queues, the way virtinput_fill_evt and virtinput_send_status do it

    /** Posts {@code n} 8-byte device-writable buffers to the eventq, without notifying. */
    private void postEventBuffers(int n) {
        for (int i = 0; i < n; i++) {
            long gpa = driver.alloc(VirtioInput.EVENT_BYTES);
            int head = driver.post(EVENTQ, Buffer.out(gpa, VirtioInput.EVENT_BYTES));
            while (eventBuffers.size() <= head) {
                eventBuffers.add(0L);
            }
            eventBuffers.set(head, gpa);
        }
    }

    /** {@return the events in the used eventq entries since the last call} */
    private List<Event> takeEvents() {
        List<Event> out = new ArrayList<>();
        for (Used u : driver.takeUsed(EVENTQ)) {
            assertEquals(VirtioInput.EVENT_BYTES, u.length());
            out.add(Event.decode(driver.memory().read(eventBuffers.get(u.head()), VirtioInput.EVENT_BYTES)));
        }
        return out;
    }

    private int postStatus(Event event) {
        long gpa = driver.allocWith(event.encode());
        int head = driver.post(STATUSQ, Buffer.in(gpa, VirtioInput.EVENT_BYTES));
        driver.notify(STATUSQ);
        return head;
    }

    @Test
    void identifiesAsInputDeviceWithTwoQueuesAndNoFeaturesOfItsOwn() {
        assertEquals(18, driver.reg(0x008));
        assertEquals(VirtioFeatures.TRANSPORT, driver.deviceFeatures());
        assertEquals(2, keyboard.queueCount());
    }

    @Test
    void nameQueryReturnsEmberKeyboard() {
        int size = cfgSelect(VirtioInput.VIRTIO_INPUT_CFG_ID_NAME, 0);
        assertEquals(14, size);
        assertEquals("Ember keyboard", new String(cfgBytes(size), StandardCharsets.US_ASCII));
    }

    @Test
    void serialQueryIsEmpty() {
        assertEquals(0, cfgSelect(VirtioInput.VIRTIO_INPUT_CFG_ID_SERIAL, 0));
    }

    @Test
    void devidsQueryReportsVirtualBusAndEmberIds() {
        assertEquals(8, cfgSelect(VirtioInput.VIRTIO_INPUT_CFG_ID_DEVIDS, 0));
        assertEquals(VirtioInput.BUS_VIRTUAL, driver.transport().read(CONFIG + 8, 2));
        assertEquals(VirtioInput.VENDOR, driver.transport().read(CONFIG + 10, 2));
        assertEquals(VirtioInput.PRODUCT, driver.transport().read(CONFIG + 12, 2));
        assertEquals(VirtioInput.VERSION, driver.transport().read(CONFIG + 14, 2));
    }

    @Test
    void keyBitsAreExactlyCtrlAltAndDelete() {
        BitSet expected = new BitSet();
        expected.set(VirtioInput.KEY_LEFTCTRL);
        expected.set(VirtioInput.KEY_LEFTALT);
        expected.set(VirtioInput.KEY_DELETE);
        assertEquals(expected, cfgBits(VirtioInput.VIRTIO_INPUT_CFG_EV_BITS, VirtioInput.EV_KEY));
    }

    @Test
    void ledBitsAreNumCapsAndScrollLock() {
        BitSet expected = new BitSet();
        expected.set(0, 3);
        assertEquals(expected, cfgBits(VirtioInput.VIRTIO_INPUT_CFG_EV_BITS, VirtioInput.EV_LED));
    }

    @Test
    void everyOtherProbeQueryHasSizeZero() {
        assertEquals(0, cfgSelect(VirtioInput.VIRTIO_INPUT_CFG_PROP_BITS, 0));
        // EV_REP, EV_REL, EV_ABS, EV_MSC, EV_SW, EV_SND, and EV_SYN, which Linux never asks.
        for (int type : new int[] {0x14, 0x02, 0x03, 0x04, 0x05, 0x12, VirtioInput.EV_SYN}) {
            assertEquals(0, cfgSelect(VirtioInput.VIRTIO_INPUT_CFG_EV_BITS, type), "EV type " + type);
        }
        assertEquals(0, cfgSelect(VirtioInput.VIRTIO_INPUT_CFG_ABS_INFO, 0));
        assertEquals(0, cfgSelect(VirtioInput.VIRTIO_INPUT_CFG_UNSET, 0));
    }

    @Test
    void sendCtrlAltDelBeforeDriverIsActiveIsRefused() {
        assertFalse(keyboard.sendCtrlAltDel());
        assertEquals(0, keyboard.pendingEvents());
    }

    @Test
    void ctrlAltDelIsDeliveredPressReportReleaseReportWithInterrupt() {
        assertTrue(driver.initialize(64));
        postEventBuffers(64);
        driver.notify(EVENTQ);
        driver.ackInterrupt();

        assertTrue(keyboard.sendCtrlAltDel());

        assertEquals(List.of(
                new Event(1, 29, 1), new Event(1, 56, 1), new Event(1, 111, 1), new Event(0, 0, 0),
                new Event(1, 111, 0), new Event(1, 56, 0), new Event(1, 29, 0), new Event(0, 0, 0)), takeEvents());
        assertTrue(driver.irqAsserted());
        assertEquals(0, keyboard.pendingEvents());
        assertEquals(8, keyboard.metrics().events.sum());
    }

    @Test
    void eventsBeyondTheBuffersWaitAndFollowWhenTheDriverNotifies() {
        assertTrue(driver.initialize(16));
        postEventBuffers(3);

        assertTrue(keyboard.sendCtrlAltDel());
        List<Event> got = new ArrayList<>(takeEvents());
        assertEquals(CTRL_ALT_DEL.subList(0, 3), got);
        assertEquals(5, keyboard.pendingEvents());

        postEventBuffers(8);
        driver.notify(EVENTQ);
        got.addAll(takeEvents());
        assertEquals(CTRL_ALT_DEL, got);
        assertEquals(0, keyboard.pendingEvents());
        assertTrue(driver.takeUsed(EVENTQ).isEmpty(), "spare buffers stay with the device");
    }

    @Test
    void withNoBuffersTheDeviceAsksForTheNextOneByEventIndex() {
        assertTrue(driver.initialize(16));
        assertTrue(keyboard.sendCtrlAltDel());
        assertEquals(8, keyboard.pendingEvents());
        // avail_event (§2.7.10) = the next entry the device takes, so the driver's next post kicks.
        assertEquals(0, driver.memory().readU16(driver.usedGpa(EVENTQ) + 4 + 8L * driver.queueSize(EVENTQ)));
        assertTrue(driver.takeUsed(EVENTQ).isEmpty());
    }

    @Test
    void indirectEventBufferIsFilled() {
        assertTrue(driver.initialize(16));
        long gpa = driver.alloc(8);
        int head = driver.postIndirect(EVENTQ, Buffer.out(gpa, 8));

        assertTrue(keyboard.sendCtrlAltDel());

        assertEquals(List.of(new Used(head, 8)), driver.takeUsed(EVENTQ));
        assertEquals(CTRL_ALT_DEL.get(0), Event.decode(driver.memory().read(gpa, 8)));
    }

    @Test
    void pendingQueueIsBoundedAndRefusesWholeSequences() {
        assertTrue(driver.initialize(16));
        int sequences = VirtioInput.MAX_PENDING_EVENTS / CTRL_ALT_DEL.size();
        for (int i = 0; i < sequences; i++) {
            assertTrue(keyboard.sendCtrlAltDel());
        }

        assertFalse(keyboard.sendCtrlAltDel());
        assertEquals(VirtioInput.MAX_PENDING_EVENTS, keyboard.pendingEvents());
        assertEquals(1, keyboard.metrics().droppedSequences.sum());
    }

    @Test
    void resetDropsPendingEventsSoTheNextDriverNeverSeesThem() {
        assertTrue(driver.initialize(16));
        assertTrue(keyboard.sendCtrlAltDel());

        driver.reg(0x070, 0);
        assertEquals(0, keyboard.pendingEvents());
        assertFalse(keyboard.sendCtrlAltDel());
        assertTrue(driver.initialize(16));
        eventBuffers.clear();
        postEventBuffers(8);
        driver.notify(EVENTQ);
        assertTrue(driver.takeUsed(EVENTQ).isEmpty());
    }

    @Test
    void ledStatusEventsAreAcceptedReturnedAndKept() {
        assertTrue(driver.initialize(16));
        int caps = postStatus(new Event(VirtioInput.EV_LED, VirtioInput.LED_CAPSL, 1));
        int num = postStatus(new Event(VirtioInput.EV_LED, VirtioInput.LED_NUML, 1));
        assertEquals(List.of(new Used(caps, 0), new Used(num, 0)), driver.takeUsed(STATUSQ));
        assertEquals(0b011, keyboard.leds());
        assertTrue(driver.irqAsserted());

        postStatus(new Event(VirtioInput.EV_LED, VirtioInput.LED_CAPSL, 0));
        assertEquals(0b001, keyboard.leds());
        assertEquals(3, keyboard.metrics().statusEvents.sum());
    }

    @Test
    void unknownStatusEventsAreCountedAndIgnored() {
        assertTrue(driver.initialize(16));
        int snd = postStatus(new Event(0x12, 1, 1));          // EV_SND: no such output here
        int led = postStatus(new Event(VirtioInput.EV_LED, 9, 1)); // LED beyond those offered
        assertEquals(List.of(new Used(snd, 0), new Used(led, 0)), driver.takeUsed(STATUSQ));
        assertEquals(0, keyboard.leds());
        assertEquals(2, keyboard.metrics().statusEvents.sum());
    }

    @Test
    void shortStatusBufferIsReturnedAndCounted() {
        assertTrue(driver.initialize(16));
        long gpa = driver.allocWith(new byte[] {0x11, 0, 1, 0});
        int head = driver.post(STATUSQ, Buffer.in(gpa, 4));
        driver.notify(STATUSQ);

        assertEquals(List.of(new Used(head, 0)), driver.takeUsed(STATUSQ));
        assertEquals(1, keyboard.metrics().badBuffers.sum());
        assertEquals(0, keyboard.leds());
    }

    @Test
    void shortOrReadOnlyEventBuffersAreReturnedEmptyAndTheEventWaitsForTheNext() {
        assertTrue(driver.initialize(16));
        int shortHead = driver.post(EVENTQ, Buffer.out(driver.alloc(4), 4));
        int readOnly = driver.post(EVENTQ, Buffer.in(driver.alloc(8), 8));
        long gpa = driver.alloc(8);
        int good = driver.post(EVENTQ, Buffer.out(gpa, 8));

        assertTrue(keyboard.sendCtrlAltDel());

        assertEquals(List.of(new Used(shortHead, 0), new Used(readOnly, 0), new Used(good, 8)), driver.takeUsed(EVENTQ));
        assertEquals(CTRL_ALT_DEL.get(0), Event.decode(driver.memory().read(gpa, 8)));
        assertEquals(2, keyboard.metrics().badBuffers.sum());
        assertEquals(7, keyboard.pendingEvents());
    }

    @Test
    void eventqRuleBreakingFoundBySendMarksDeviceNeedsReset() {
        assertTrue(driver.initialize(16));
        driver.setAvailIdx(EVENTQ, 1000);   // runs far more than the ring's size ahead

        assertTrue(keyboard.sendCtrlAltDel());

        assertTrue(driver.needsReset());
        assertFalse(keyboard.sendCtrlAltDel(), "a failed device is inactive");
        assertEquals(0, keyboard.pendingEvents());
    }

    @Test
    void loopingStatusChainMarksDeviceNeedsReset() {
        assertTrue(driver.initialize(16));
        driver.writeDescriptor(STATUSQ, 0, driver.alloc(8), 8, 1 /* NEXT */, 0);
        driver.publish(STATUSQ, 0);
        driver.notify(STATUSQ);

        assertTrue(driver.needsReset());
    }

    @Test
    void unknownSelectOrNonZeroSubselReadsSizeZeroAndZeros() {
        assertEquals(0, cfgSelect(0xFF, 0));
        assertEquals(0L, driver.transport().read(CONFIG + 8, 8));
        assertEquals(0, cfgSelect(VirtioInput.VIRTIO_INPUT_CFG_ID_NAME, 1));
        assertEquals(0L, driver.transport().read(CONFIG + 8, 8));
        assertEquals(0, cfgSelect(VirtioInput.VIRTIO_INPUT_CFG_EV_BITS, 0xFF));
    }

    @Test
    void readsBeyondTheConfigSpaceOrOfBadWidthReadZero() {
        cfgSelect(VirtioInput.VIRTIO_INPUT_CFG_ID_NAME, 0);
        assertEquals(0L, driver.transport().read(CONFIG + VirtioInput.CONFIG_BYTES, 4));
        assertEquals(0L, driver.transport().read(CONFIG + 0xEF0, 8));
        assertEquals(0L, keyboard.readConfig(-1, 4));
        assertEquals(0L, keyboard.readConfig(Integer.MIN_VALUE, 1));
        assertEquals(0L, keyboard.readConfig(VirtioInput.CONFIG_UNION, 0));
        assertEquals(0L, keyboard.readConfig(VirtioInput.CONFIG_UNION, 16));
        // The last union byte read 8 wide: only byte 135 is inside, and it is zero for a name.
        assertEquals(0L, keyboard.readConfig(VirtioInput.CONFIG_BYTES - 1, 8));
    }

    @Test
    void wideReadsReturnLittleEndianBytes() {
        cfgSelect(VirtioInput.VIRTIO_INPUT_CFG_ID_NAME, 0);
        long firstEight = ByteBuffer.wrap("Ember ke".getBytes(StandardCharsets.US_ASCII))
                .order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(firstEight, driver.transport().read(CONFIG + 8, 8));
        // select | subsel << 8 | size << 16 in one 32-bit read.
        assertEquals(0x0E_00_01L, driver.transport().read(CONFIG, 4));
    }

    @Test
    void onlySelectAndSubselAreWritable() {
        cfgSelect(VirtioInput.VIRTIO_INPUT_CFG_ID_NAME, 0);
        driver.transport().write(CONFIG + VirtioInput.CONFIG_SIZE, 1, 0x7F);
        driver.transport().write(CONFIG + 8, 8, -1L);
        driver.transport().write(CONFIG + 0x800, 4, 0x11);
        keyboard.writeConfig(-1, 4, -1L);
        keyboard.writeConfig(0, 0, -1L);
        keyboard.writeConfig(0, 9, -1L);

        assertEquals(14, driver.transport().read(CONFIG + VirtioInput.CONFIG_SIZE, 1));
        assertEquals("Ember keyboard", new String(cfgBytes(14), StandardCharsets.US_ASCII));
    }

    @Test
    void wideWriteAtOffsetZeroSetsSelectAndSubselFromTheirBytes() {
        driver.transport().write(CONFIG, 4, 0xABCD_0000L | VirtioInput.EV_KEY << 8 | VirtioInput.VIRTIO_INPUT_CFG_EV_BITS);

        assertEquals(VirtioInput.VIRTIO_INPUT_CFG_EV_BITS, driver.transport().read(CONFIG, 1));
        assertEquals(VirtioInput.EV_KEY, driver.transport().read(CONFIG + 1, 1));
        assertEquals(14, driver.transport().read(CONFIG + 2, 1));   // KEY_DELETE (111) is in byte 13
    }

    @Test
    void eventEncodingIsLittleEndian() {
        Event e = new Event(0x0102, 0x0304, 0x0506_0708);
        assertEquals(List.of(2, 1, 4, 3, 8, 7, 6, 5), toList(e.encode()));
        assertEquals(e, Event.decode(e.encode()));
        assertEquals(new Event(1, 2, -1), Event.decode(new Event(1, 2, -1).encode()));
    }

    private static List<Integer> toList(byte[] b) {
        List<Integer> out = new ArrayList<>();
        for (byte x : b) {
            out.add(x & 0xFF);
        }
        return out;
    }
}
