package dev.ember.devices.irq;

import static dev.ember.devices.irq.HartInterruptInputs.MSIP;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import dev.ember.devices.irq.RecordingHarts.Call;

class AclintTest {

    private static final int HARTS = 3;

    private RecordingHarts harts;
    private final AtomicLong clock = new AtomicLong(0x1234_5678_9ABC_DEF0L);
    private Aclint clint;

    @BeforeEach
    void setUp() {
        harts = new RecordingHarts(HARTS);
        clint = new Aclint(HARTS, harts, clock::get);
    }

    @Test
    void msipBitZeroDrivesMsip() {
        clint.write(4 * 2, 4, 1);
        assertEquals(List.of(new Call(2, MSIP, true)), harts.takeCalls());
        assertEquals(1, clint.read(4 * 2, 4));

        clint.write(4 * 2, 4, 0xFFFF_FFFEL);
        assertEquals(List.of(new Call(2, MSIP, false)), harts.takeCalls());
        assertEquals(0, clint.read(4 * 2, 4));
    }

    @Test
    void msipRewriteOfSameLevelCallsNothing() {
        clint.write(0, 4, 1);
        clint.write(0, 4, 3);
        assertEquals(List.of(new Call(0, MSIP, true)), harts.takeCalls());
    }

    static Stream<Arguments> ignoredMsipAccesses() {
        return Stream.of(
            // name              offset      width
            arguments("byte",     0L,         1),
            arguments("halfword", 0L,         2),
            arguments("doubleword", 0L,       8),
            arguments("misaligned", 1L,       4),
            arguments("no such hart", 4L * HARTS, 4),
            arguments("end of MSWI", 0x3FFCL, 4));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ignoredMsipAccesses")
    void msipOnlyDecodesAlignedWordsOfRealHarts(String name, long offset, int width) {
        clint.write(offset, width, 1);
        assertEquals(List.of(), harts.takeCalls(), name);
        assertEquals(0, clint.read(offset, width), name);
    }

    static Stream<Arguments> mtimecmpWrites() {
        return Stream.of(
            // name         offset within mtimecmp[1]  width  value          result from -1
            arguments("64-bit",      0L, 8, 0x0011_2233_4455_6677L, 0x0011_2233_4455_6677L),
            arguments("low half",    0L, 4, 0x4455_6677L,           0xFFFF_FFFF_4455_6677L),
            arguments("high half",   4L, 4, 0x0011_2233L,           0x0011_2233_FFFF_FFFFL),
            arguments("low ignores upper value bits", 0L, 4, 0xAAAA_AAAA_0000_0001L, 0xFFFF_FFFF_0000_0001L),
            arguments("byte ignored", 0L, 1, 0L,                    -1L),
            arguments("misaligned 64", 4L, 8, 0L,                   -1L),
            arguments("misaligned 32", 2L, 4, 0L,                   -1L));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("mtimecmpWrites")
    void mtimecmpWritesMergeIntoTheHartsCompare(String name, long at, int width, long value, long expected) {
        clint.write(0x4000 + 8 + at, width, value);
        assertEquals(expected, harts.timerCompare(1), name);
        assertEquals(-1L, harts.timerCompare(0), name);
        assertEquals(-1L, harts.timerCompare(2), name);
    }

    @Test
    void mtimecmpReadsWholeOrHalves() {
        harts.setTimerCompare(2, 0x0102_0304_0506_0708L);
        assertEquals(0x0102_0304_0506_0708L, clint.read(0x4000 + 16, 8));
        assertEquals(0x0506_0708L, clint.read(0x4000 + 16, 4));
        assertEquals(0x0102_0304L, clint.read(0x4000 + 20, 4));
    }

    @Test
    void mtimecmpOfMissingHartIsIgnored() {
        clint.write(0x4000 + 8L * HARTS, 8, 5);
        assertEquals(0, clint.read(0x4000 + 8L * HARTS, 8));
    }

    @Test
    void mtimeReadsTheClockWholeOrHalves() {
        assertEquals(0x1234_5678_9ABC_DEF0L, clint.read(0xBFF8, 8));
        assertEquals(0x9ABC_DEF0L, clint.read(0xBFF8, 4));
        assertEquals(0x1234_5678L, clint.read(0xBFFC, 4));
        clock.set(42);
        assertEquals(42, clint.read(0xBFF8, 8));
    }

    @Test
    void mtimeWritesAreIgnored() {
        clint.write(0xBFF8, 8, 0);
        clint.write(0xBFFC, 4, 0);
        assertEquals(0x1234_5678_9ABC_DEF0L, clint.read(0xBFF8, 8));
        assertEquals(List.of(), harts.takeCalls());
    }

    @Test
    void tooManyHartsForTheWindowIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> new Aclint(0, harts, clock::get));
        assertThrows(IllegalArgumentException.class, () -> new Aclint(4096, harts, clock::get));
    }

    @Test
    void hostileAccessesNeverThrow() {
        long[] offsets = {-1, -8, Long.MIN_VALUE, Long.MAX_VALUE, 0, 2, 4L * HARTS, 0x3FFC, 0x4000, 0x4004,
            0x4000 + 8L * HARTS, 0xBFF0, 0xBFF4, 0xBFF8, 0xBFFA, 0xBFFC, 0xC000, 0xFFFF, 0x1_0000, 0x1_0000_0000L};
        int[] widths = {0, 1, 2, 3, 4, 8, 16, -1};
        long[] values = {0, 1, -1, Long.MIN_VALUE};
        for (long off : offsets) {
            for (int w : widths) {
                for (long v : values) {
                    assertDoesNotThrow(() -> {
                        clint.write(off, w, v);
                        clint.read(off, w);
                    }, () -> "offset " + Long.toHexString(off) + " width " + w);
                }
            }
        }
    }
}
