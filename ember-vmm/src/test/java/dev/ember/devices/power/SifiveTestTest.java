package dev.ember.devices.power;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SifiveTestTest {

    private final List<String> events = new ArrayList<>();
    private final SifiveTest finisher = new SifiveTest(new PowerListener() {
        @Override
        public void powerOff(int exitStatus) {
            events.add("powerOff(" + exitStatus + ")");
        }

        @Override
        public void reset() {
            events.add("reset");
        }
    });

    static Stream<Arguments> writes() {
        return Stream.of(
            // name                 offset width  value          event
            arguments("pass",         0L, 4, 0x5555L,         "powerOff(0)"),
            arguments("pass ignores code", 0L, 4, 0x0007_5555L, "powerOff(0)"),
            arguments("fail code 1",  0L, 4, 0x0001_3333L,    "powerOff(1)"),
            arguments("fail code max", 0L, 4, 0xFFFF_3333L,   "powerOff(65535)"),
            arguments("fail 64-bit value", 0L, 4, 0xAB_0002_3333L, "powerOff(2)"),
            arguments("reset",        0L, 4, 0x7777L,         "reset"),
            arguments("16-bit pass",  0L, 2, 0x5555L,         "powerOff(0)"),
            arguments("16-bit fail",  0L, 2, 0x3333L,         "powerOff(0)"),
            arguments("unknown status", 0L, 4, 0x1234L,       null),
            arguments("other offset", 4L, 4, 0x5555L,         null),
            arguments("byte width",   0L, 1, 0x55L,           null),
            arguments("64-bit width", 0L, 8, 0x5555L,         null));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("writes")
    void writeAtOffsetZeroFinishes(String name, long offset, int width, long value, String event) {
        finisher.write(offset, width, value);
        assertEquals(event == null ? List.of() : List.of(event), events, name);
    }

    @Test
    void readsAreZero() {
        assertEquals(0, finisher.read(0, 4));
        assertEquals(0, finisher.read(0xFFC, 4));
    }

    @Test
    void hostileAccessesNeverThrow() {
        for (long off : new long[] {-1, Long.MIN_VALUE, Long.MAX_VALUE, 0, 2, 0xFFF, 0x1000}) {
            for (int w : new int[] {0, 1, 2, 3, 4, 8, -1}) {
                assertDoesNotThrow(() -> {
                    finisher.write(off, w, 0x1111);
                    finisher.read(off, w);
                });
            }
        }
    }
}
