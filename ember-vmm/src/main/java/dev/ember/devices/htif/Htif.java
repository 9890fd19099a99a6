package dev.ember.devices.htif;

import dev.ember.memory.GuestMemory;
import java.util.function.IntConsumer;

/**
 * The Berkeley host-target interface (HTIF) that Spike and the RISC-V ISA test suites use: the
 * program writes a command to its {@code tohost} word and reads replies from {@code fromhost}.
 *
 * <p>A command is {@code device:8 | cmd:8 | payload:48}. Device 0 is the system-call proxy:
 * a payload with bit 0 set ends the run with exit code {@code payload >> 1} (0 is a pass,
 * and riscv-tests report the failing test number {@code n} as {@code n}); an even payload
 * points to an 8-doubleword "magic memory" block holding a system call, of which {@code write}
 * (64) to stdout/stderr and {@code exit} (93) are served. Device 1 command 1 writes the payload's
 * low byte to the console and is acknowledged through {@code fromhost}.
 *
 * <p>There is no MMIO here: the words are ordinary RAM, {@link #poll}ed by the vCPU loop
 * between slices, which is how Spike sees them too.
 *
 * <p><b>Guest-controlled.</b> The magic-memory pointer and the write buffer are checked against
 * RAM; a bad one ends the run with a failure code rather than reaching outside guest memory.
 *
 * <p>Owned by the vCPU thread of hart 0.
 */
public final class Htif {

    private static final int SYS_WRITE = 64;
    private static final int SYS_EXIT = 93;
    private static final long MAX_WRITE = 1 << 16;

    private final GuestMemory ram;
    private final long tohost;
    private final long fromhost;
    private final IntConsumer console;
    private Integer exitCode;

    /** @param tohost the gpa of the {@code tohost} symbol; {@code fromhost} is 0 if absent */
    public Htif(GuestMemory ram, long tohost, long fromhost, IntConsumer console) {
        this.ram = ram;
        this.tohost = tohost;
        this.fromhost = fromhost;
        this.console = console;
    }

    /** {@return the exit code once the program has finished, or null} */
    public Integer exitCode() {
        return exitCode;
    }

    /** Services a pending command, if any. */
    public void poll() {
        long cmd = ram.readU64(tohost);
        if (cmd == 0) {
            return;
        }
        ram.write64(tohost, 0);
        int device = (int) (cmd >>> 56);
        int command = (int) (cmd >>> 48) & 0xFF;
        long payload = cmd & 0xFFFF_FFFF_FFFFL;
        switch (device) {
            case 0 -> {
                if ((payload & 1) != 0) {
                    exitCode = (int) (payload >>> 1);
                } else {
                    syscall(payload);
                }
            }
            case 1 -> {
                if (command == 1) {
                    console.accept((int) (payload & 0xFF));
                }
                if (fromhost != 0) {
                    ram.write64(fromhost, (1L << 56) | ((long) command << 48));
                }
            }
            default -> { }
        }
    }

    private void syscall(long magic) {
        if (!ram.contains(magic, 64)) {
            exitCode = 0xBAD;
            return;
        }
        long number = ram.readU64(magic);
        long a0 = ram.readU64(magic + 8);
        long a1 = ram.readU64(magic + 16);
        long a2 = ram.readU64(magic + 24);
        long result = -1;
        if (number == SYS_EXIT) {
            exitCode = (int) a0;
            return;
        }
        if (number == SYS_WRITE && (a0 == 1 || a0 == 2) && a2 >= 0) {
            long length = Math.min(a2, MAX_WRITE);   // a short write, as write(2) may return
            if (ram.contains(a1, length)) {
                for (long i = 0; i < length; i++) {
                    console.accept(ram.readU8(a1 + i));
                }
                result = length;
            }
        }
        ram.write64(magic, result);
        if (fromhost != 0) {
            ram.write64(fromhost, 1);
        }
    }
}
