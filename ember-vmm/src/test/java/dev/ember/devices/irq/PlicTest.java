package dev.ember.devices.irq;

import static dev.ember.devices.irq.HartInterruptInputs.MEIP;
import static dev.ember.devices.irq.HartInterruptInputs.SEIP;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import dev.ember.devices.irq.RecordingHarts.Call;

class PlicTest {

    private static final int HARTS = 2;

    private RecordingHarts harts;
    private Plic plic;

    @BeforeEach
    void setUp() {
        harts = new RecordingHarts(HARTS);
        plic = new Plic(HARTS, harts);
    }

    // A fake driver: the register accesses Linux's irq-sifive-plic.c makes.

    private void setPriority(int src, int priority) {
        plic.write(4L * src, 4, priority);
    }

    private void enable(int ctx, int src) {
        long off = 0x2000 + 0x80L * ctx + 4L * (src / 32);
        plic.write(off, 4, plic.read(off, 4) | (1L << (src % 32)));
    }

    private void disable(int ctx, int src) {
        long off = 0x2000 + 0x80L * ctx + 4L * (src / 32);
        plic.write(off, 4, plic.read(off, 4) & ~(1L << (src % 32)));
    }

    private void setThreshold(int ctx, int threshold) {
        plic.write(0x20_0000 + 0x1000L * ctx, 4, threshold);
    }

    private int claim(int ctx) {
        return (int) plic.read(0x20_0004 + 0x1000L * ctx, 4);
    }

    private void complete(int ctx, long src) {
        plic.write(0x20_0004 + 0x1000L * ctx, 4, src);
    }

    private boolean pendingBit(int src) {
        return (plic.read(0x1000 + 4L * (src / 32), 4) & (1L << (src % 32))) != 0;
    }

    @Test
    void claimReturnsRaisedSourceAndDropsMeip() {
        setPriority(10, 1);
        enable(0, 10);
        plic.source(10).set(true);
        assertEquals(List.of(new Call(0, MEIP, true)), harts.takeCalls());

        assertEquals(10, claim(0));
        assertEquals(List.of(new Call(0, MEIP, false)), harts.takeCalls());
        assertFalse(pendingBit(10));
    }

    static Stream<Arguments> contexts() {
        return Stream.of(
            // ctx  hart  mip bit
            arguments(0, 0, MEIP),
            arguments(1, 0, SEIP),
            arguments(2, 1, MEIP),
            arguments(3, 1, SEIP));
    }

    @ParameterizedTest(name = "context {0} drives hart {1} bit {2}")
    @MethodSource("contexts")
    void contextDrivesItsHartAndMode(int ctx, int hart, int mipBit) {
        setPriority(1, 1);
        enable(ctx, 1);
        plic.source(1).set(true);
        assertEquals(List.of(new Call(hart, mipBit, true)), harts.takeCalls());
        assertEquals(1, claim(ctx));
    }

    static Stream<Arguments> claimOrders() {
        return Stream.of(
            // name                    {source, priority}...              claims in order
            arguments("higher first",  new int[][] {{5, 2}, {3, 5}},        new int[] {3, 5}),
            arguments("ties lowest id", new int[][] {{7, 4}, {4, 4}, {40, 4}}, new int[] {4, 7, 40}),
            arguments("mixed words",   new int[][] {{95, 7}, {1, 1}, {33, 7}}, new int[] {33, 95, 1}),
            arguments("priority 0 never", new int[][] {{2, 0}, {9, 1}},     new int[] {9, 0}));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("claimOrders")
    void claimsByPriorityThenLowestId(String name, int[][] sources, int[] expectedClaims) {
        for (int[] s : sources) {
            setPriority(s[0], s[1]);
            enable(1, s[0]);
            plic.source(s[0]).set(true);
        }
        for (int expected : expectedClaims) {
            assertEquals(expected, claim(1), name);
        }
    }

    static Stream<Arguments> thresholds() {
        return Stream.of(
            // priority  threshold  interrupts
            arguments(3, 0, true),
            arguments(3, 2, true),
            arguments(3, 3, false),
            arguments(3, 7, false),
            arguments(7, 6, true));
    }

    @ParameterizedTest(name = "priority {0} threshold {1} -> {2}")
    @MethodSource("thresholds")
    void interruptsOnlyAboveThreshold(int priority, int threshold, boolean interrupts) {
        setPriority(12, priority);
        setThreshold(0, threshold);
        enable(0, 12);
        plic.source(12).set(true);
        assertEquals(interrupts, harts.pending(0, MEIP));
        assertEquals(interrupts ? 12 : 0, claim(0));
    }

    @Test
    void loweringThresholdRaisesWaitingInterrupt() {
        setPriority(12, 2);
        setThreshold(0, 5);
        enable(0, 12);
        plic.source(12).set(true);
        assertFalse(harts.pending(0, MEIP));
        setThreshold(0, 1);
        assertTrue(harts.pending(0, MEIP));
    }

    @Test
    void disabledSourceIsPendingButNotSignalled() {
        setPriority(20, 1);
        plic.source(20).set(true);
        assertTrue(pendingBit(20));
        assertEquals(List.of(), harts.takeCalls());
        assertEquals(0, claim(0));

        enable(0, 20);
        assertTrue(harts.pending(0, MEIP));
    }

    @Test
    void enablingInOneContextLeavesOthersQuiet() {
        setPriority(20, 1);
        enable(3, 20);
        plic.source(20).set(true);
        assertEquals(List.of(new Call(1, SEIP, true)), harts.takeCalls());
        assertEquals(0, claim(0));
        assertEquals(0, claim(1));
    }

    @Test
    void completionRepandsWhileLineStaysHigh() {
        setPriority(10, 1);
        enable(1, 10);
        plic.source(10).set(true);
        assertEquals(10, claim(1));
        assertFalse(harts.pending(0, SEIP));

        complete(1, 10);
        assertTrue(pendingBit(10));
        assertTrue(harts.pending(0, SEIP));
        assertEquals(10, claim(1));
    }

    @Test
    void completionAfterLineDroppedLeavesSourceIdle() {
        setPriority(10, 1);
        enable(1, 10);
        plic.source(10).set(true);
        assertEquals(10, claim(1));
        plic.source(10).set(false);

        complete(1, 10);
        assertFalse(pendingBit(10));
        assertFalse(harts.pending(0, SEIP));
        assertEquals(0, claim(1));
    }

    @Test
    void lineRaisedWhileClaimedWaitsForCompletion() {
        setPriority(10, 1);
        enable(1, 10);
        plic.source(10).set(true);
        assertEquals(10, claim(1));
        plic.source(10).set(false);
        plic.source(10).set(true);
        assertFalse(pendingBit(10));
        assertEquals(0, claim(1));

        complete(1, 10);
        assertEquals(10, claim(1));
    }

    @Test
    void lineDroppedBeforeClaimWithdrawsRequest() {
        setPriority(10, 1);
        enable(0, 10);
        plic.source(10).set(true);
        plic.source(10).set(false);
        assertFalse(pendingBit(10));
        assertFalse(harts.pending(0, MEIP));
        assertEquals(0, claim(0));
    }

    @Test
    void completionFromContextWithSourceDisabledIsIgnored() {
        setPriority(10, 1);
        enable(1, 10);
        plic.source(10).set(true);
        assertEquals(10, claim(1));

        complete(0, 10);
        assertEquals(0, claim(1));

        // Linux's plic_irq_eoi for a disabled IRQ: enable, complete, disable.
        disable(1, 10);
        complete(1, 10);
        assertEquals(0, claim(1));
        enable(1, 10);
        complete(1, 10);
        disable(1, 10);
        enable(1, 10);
        assertEquals(10, claim(1));
    }

    @Test
    void repeatedLevelsCallHartsOnlyOnChange() {
        setPriority(1, 1);
        setPriority(2, 1);
        enable(0, 1);
        enable(0, 2);
        plic.source(1).set(true);
        plic.source(1).set(true);
        plic.source(2).set(true);
        assertEquals(List.of(new Call(0, MEIP, true)), harts.takeCalls());

        assertEquals(1, claim(0));
        assertEquals(List.of(), harts.takeCalls());   // source 2 still holds the output high
        assertEquals(2, claim(0));
        assertEquals(List.of(new Call(0, MEIP, false)), harts.takeCalls());
    }

    static Stream<Arguments> registerMasks() {
        return Stream.of(
            // name                       offset         written       read back
            arguments("priority WARL",    4L * 5,        0xFFFF_FFFFL, 7L),
            arguments("source 0 priority", 0L,           7L,           0L),
            arguments("priority past 95", 4L * 96,       7L,           0L),
            arguments("enable bit 0",     0x2000L,       0xFFFF_FFFFL, 0xFFFF_FFFEL),
            arguments("enable word 2",    0x2008L,       0xFFFF_FFFFL, 0xFFFF_FFFFL),
            arguments("enable word 3",    0x200CL,       0xFFFF_FFFFL, 0L),
            arguments("no context 4",     0x2000L + 0x80 * 4, 1L,      0L),
            arguments("threshold WARL",   0x20_0000L,    0xFFL,        7L),
            arguments("pending read-only", 0x1000L,      0xFFFF_FFFFL, 0L));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("registerMasks")
    void registersKeepOnlyLegalBits(String name, long offset, long written, long expected) {
        plic.write(offset, 4, written);
        assertEquals(expected, plic.read(offset, 4), name);
    }

    @Test
    void completingBogusIdsChangesNothing() {
        setPriority(10, 1);
        enable(0, 10);
        plic.source(10).set(true);
        assertEquals(10, claim(0));
        for (long id : new long[] {0, 96, 1000, 0xFFFF_FFFFL, -1L, 11}) {
            complete(0, id);
        }
        assertEquals(0, claim(0));
        complete(0, 10);
        assertEquals(10, claim(0));
    }

    @Test
    void sourceNumberOutsideRangeIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> plic.source(0));
        assertThrows(IllegalArgumentException.class, () -> plic.source(96));
        assertThrows(IllegalArgumentException.class, () -> new Plic(0, harts));
        assertThrows(IllegalArgumentException.class, () -> new Plic(513, harts));
    }

    @Test
    void nonWordAccessesReadZeroAndAreIgnored() {
        setPriority(10, 3);
        for (int width : new int[] {1, 2, 8}) {
            assertEquals(0, plic.read(4L * 10, width));
            plic.write(4L * 10, width, 5);
        }
        plic.write(4L * 10 + 2, 4, 5);
        assertEquals(3, plic.read(4L * 10, 4));
    }

    @Test
    void hostileAccessesNeverThrow() {
        long[] offsets = {-1, -4, Long.MIN_VALUE, Long.MAX_VALUE, 0, 1, 3, 0xFFC, 0x1000, 0x100C, 0x1FFC,
            0x2000, 0x2000 + 0x80 * 3 + 0x7C, 0x2000 + 0x80 * 4, 0x1F_FFFC, 0x20_0000, 0x20_0004,
            0x20_0008, 0x20_0FFC, 0x20_3004, 0x20_4000, 0x20_4004, 0x5F_FFFC, 0x60_0000, 0x1_0000_0000L};
        int[] widths = {0, 1, 2, 3, 4, 8, 16, -1};
        long[] values = {0, 1, -1, 0x8000_0000L, 95, 96, Long.MIN_VALUE};
        for (long off : offsets) {
            for (int w : widths) {
                for (long v : values) {
                    assertDoesNotThrow(() -> {
                        plic.write(off, w, v);
                        plic.read(off, w);
                    }, () -> "offset " + Long.toHexString(off) + " width " + w + " value " + v);
                }
            }
        }
    }
}
