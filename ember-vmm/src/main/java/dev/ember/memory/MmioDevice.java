package dev.ember.memory;

/**
 * A device register window on the physical bus.
 *
 * <p>Offsets are relative to the window's base. Accesses are 1, 2, 4 or 8 bytes wide and
 * little-endian; reads return the value zero-extended to 64 bits. A device decides for itself
 * which widths and offsets are meaningful: an access it does not understand reads as zero and
 * is otherwise ignored, the way real buses treat unmapped register holes.
 *
 * <p><b>Guest-controlled.</b> Offset, width and value all come from guest stores. An
 * implementation must never throw for any of them.
 *
 * <p>Threads: any vCPU thread may call in, concurrently with the device's own host threads;
 * each implementation states how it synchronises.
 */
public interface MmioDevice {

    /** {@return the size of the register window in bytes} */
    long size();

    /** {@return the value read at {@code offset}, zero-extended} */
    long read(long offset, int width);

    /** Writes the low {@code width} bytes of {@code value} at {@code offset}. */
    void write(long offset, int width, long value);
}
