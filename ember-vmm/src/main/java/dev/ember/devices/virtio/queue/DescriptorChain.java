package dev.ember.devices.virtio.queue;

import dev.ember.memory.GuestMemory;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * One request: the buffers of a descriptor chain, walked once and checked when it was popped
 * (VIRTIO 1.2 §2.7.5). Device-readable buffers come first, then device-writable ones.
 *
 * <p>Because the walk happened at pop time, a driver that rewrites its descriptors while the
 * device works cannot change the buffers the device uses (no double fetch). The buffers
 * themselves are guest RAM, which the guest can still write; devices copy what they validate.
 *
 * <p>Threads: used by the thread that popped it, under the device's lock.
 */
public final class DescriptorChain {

    private final GuestMemory memory;
    private final int head;
    private final long[] gpas;
    private final int[] lengths;
    private final int count;
    private final int readableCount;
    private final long readableBytes;
    private final long writableBytes;

    DescriptorChain(GuestMemory memory, int head, long[] gpas, int[] lengths, int count, int readableCount) {
        this.memory = memory;
        this.head = head;
        this.gpas = gpas;
        this.lengths = lengths;
        this.count = count;
        this.readableCount = readableCount;
        long r = 0;
        long w = 0;
        for (int i = 0; i < count; i++) {
            if (i < readableCount) {
                r += lengths[i] & 0xFFFF_FFFFL;
            } else {
                w += lengths[i] & 0xFFFF_FFFFL;
            }
        }
        this.readableBytes = r;
        this.writableBytes = w;
    }

    /** {@return the head descriptor's index, which goes back in the used ring} */
    public int head() {
        return head;
    }

    /** {@return the number of buffers} */
    public int count() {
        return count;
    }

    /** {@return how many of the buffers, from the first, the device may only read} */
    public int readableCount() {
        return readableCount;
    }

    /** {@return the guest-physical address of buffer {@code i}} */
    public long gpa(int i) {
        return gpas[i];
    }

    /** {@return the length in bytes of buffer {@code i}: unsigned, so read lengths of 2 GiB or more with {@link Integer#toUnsignedLong}} */
    public int length(int i) {
        return lengths[i];
    }

    /** {@return whether buffer {@code i} is device-writable} */
    public boolean writable(int i) {
        return i >= readableCount;
    }

    /** {@return the total bytes the device may read} */
    public long readableBytes() {
        return readableBytes;
    }

    /** {@return the total bytes the device may write} */
    public long writableBytes() {
        return writableBytes;
    }

    /**
     * {@return buffer {@code i} as a segment of guest RAM} A device that writes into it reports
     * the bytes it wrote with {@link #written}.
     */
    public MemorySegment segment(int i) {
        return memory.segment().asSlice(gpas[i] - memory.base(), lengths[i] & 0xFFFF_FFFFL);
    }

    /**
     * Reports that the device wrote {@code length} bytes into buffer {@code i}, starting
     * {@code offset} bytes into it, through {@link #segment} or {@link #byteBuffer}: code the
     * harts decoded from those bytes must be dropped (see {@code CodePages}).
     */
    public void written(int i, long offset, long length) {
        memory.written(gpas[i] + offset, length);
    }

    /**
     * {@return buffer {@code i} as a direct byte buffer over guest RAM, for channel I/O}
     *
     * @throws UnsupportedOperationException for a buffer of 2 GiB or more, which a byte buffer
     *         cannot span; devices that accept such lengths slice {@link #segment} instead
     */
    public ByteBuffer byteBuffer(int i) {
        return segment(i).asByteBuffer();
    }

    /**
     * Copies readable bytes, starting {@code offset} bytes into the readable part, to {@code dst}.
     *
     * @return the number of bytes copied, less than {@code length} when the readable part ends
     */
    public int read(long offset, byte[] dst, int dstOffset, int length) {
        int done = 0;
        long skip = offset;
        for (int i = 0; i < readableCount && done < length; i++) {
            long len = lengths[i] & 0xFFFF_FFFFL;
            if (skip >= len) {
                skip -= len;
                continue;
            }
            int n = (int) Math.min(len - skip, length - done);
            MemorySegment.copy(memory.segment(), GuestMemory.U8, gpas[i] - memory.base() + skip, dst, dstOffset + done, n);
            done += n;
            skip = 0;
        }
        return done;
    }

    /** {@return all readable bytes, at most {@code limit} of them} */
    public byte[] readAll(int limit) {
        byte[] out = new byte[(int) Math.min(readableBytes, limit)];
        read(0, out, 0, out.length);
        return out;
    }

    /**
     * Copies {@code src} into the writable part, starting {@code offset} bytes into it.
     *
     * @return the number of bytes copied, less than {@code length} when the writable part ends
     */
    public int write(long offset, byte[] src, int srcOffset, int length) {
        int done = 0;
        long skip = offset;
        for (int i = readableCount; i < count && done < length; i++) {
            long len = lengths[i] & 0xFFFF_FFFFL;
            if (skip >= len) {
                skip -= len;
                continue;
            }
            int n = (int) Math.min(len - skip, length - done);
            MemorySegment.copy(src, srcOffset + done, memory.segment(), GuestMemory.U8, gpas[i] - memory.base() + skip, n);
            memory.written(gpas[i] + skip, n);
            done += n;
            skip = 0;
        }
        return done;
    }
}
