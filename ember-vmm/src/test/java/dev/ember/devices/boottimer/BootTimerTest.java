package dev.ember.devices.boottimer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The boot timer logs once, on the magic byte at offset 0, the time since {@link BootTimer#start}. */
class BootTimerTest {

    private long wall;
    private long cpu;
    private final List<String> log = new ArrayList<>();

    private BootTimer timer(boolean enabled) {
        return new BootTimer(enabled, e -> log.add(e.level() + " " + e.message()), () -> wall, () -> cpu);
    }

    @Test
    void magicByteLogsWallAndCpuTimeSinceStartOnce() {
        BootTimer t = timer(true);
        wall = 1_000_000_000L;
        cpu = 500_000_000L;
        t.start();
        wall += 1_234_567_000L;
        cpu += 2_000_000_000L;
        t.write(0, 1, 123);
        t.write(0, 1, 123);
        assertEquals(List.of("INFO Guest-boot-time = 1234567 us 1234 ms, 2000000 CPU us 2000 CPU ms"), log);
    }

    @Test
    void otherValuesOffsetsAndADisabledTimerLogNothing() {
        BootTimer t = timer(true);
        t.start();
        t.write(0, 1, 122);
        t.write(4, 1, 123);
        timer(false).write(0, 1, 123);
        assertEquals(List.of(), log);
        assertEquals(0, t.read(0, 4));
    }

    @Test
    void restartArmsTheTimerAgainForAReboot() {
        BootTimer t = timer(true);
        t.start();
        t.write(0, 1, 123);
        t.start();
        t.write(0, 1, 123);
        assertEquals(2, log.size());
    }
}
