package dev.ember.devices.power;

import java.util.Objects;

import dev.ember.memory.MmioDevice;

/**
 * The SiFive test finisher ({@code sifive,test1}) at {@code 0x10_0000} on QEMU's {@code virt}
 * board, through which the guest powers off or resets the machine (QEMU
 * {@code hw/misc/sifive_test.c}; Linux reaches it through the {@code syscon-poweroff} and
 * {@code syscon-reboot} nodes that point at it).
 *
 * <p>A write at offset 0 carries a status in bits 15:0 and a code in bits 31:16:
 * <pre>
 *   status 0x5555  FINISHER_PASS    power off, exit status 0
 *   status 0x3333  FINISHER_FAIL    power off, exit status = code
 *   status 0x7777  FINISHER_RESET   reset
 * </pre>
 *
 * <p><b>Guest-controlled.</b> Only 32-bit and 16-bit writes at offset 0 are decoded (QEMU
 * accepts those two widths); other statuses, offsets and widths are ignored, and every read
 * returns zero. The guest chooses the exit status of a failing poweroff, 0..65535.
 *
 * <p>Threads: stateless; the listener is called on the writing vCPU thread.
 */
public final class SifiveTest implements MmioDevice {

    /** Size of the register window. */
    public static final long SIZE = 0x1000;

    public static final int FINISHER_FAIL = 0x3333;
    public static final int FINISHER_PASS = 0x5555;
    public static final int FINISHER_RESET = 0x7777;

    private final PowerListener listener;

    public SifiveTest(PowerListener listener) {
        this.listener = Objects.requireNonNull(listener, "listener");
    }

    @Override
    public long size() {
        return SIZE;
    }

    @Override
    public long read(long offset, int width) {
        return 0;
    }

    @Override
    public void write(long offset, int width, long value) {
        if (offset != 0 || (width != 4 && width != 2)) {
            return;
        }
        int status = (int) value & 0xFFFF;
        int code = width == 4 ? (int) (value >>> 16) & 0xFFFF : 0;
        switch (status) {
            case FINISHER_PASS -> listener.powerOff(0);
            case FINISHER_FAIL -> listener.powerOff(code);
            case FINISHER_RESET -> listener.reset();
            default -> { }
        }
    }
}
