package dev.ember.devices.virtio.queue;

import dev.ember.memory.GuestMemory;
import java.lang.invoke.VarHandle;

/**
 * The device side of one split virtqueue (VIRTIO 1.2 §2.7), with indirect descriptors
 * (§2.7.5.3) and event-index notification suppression (§2.7.7, §2.7.10).
 *
 * <pre>
 *   descriptor table  16 B x size   addr:le64 | len:le32 | flags:le16 | next:le16
 *   available ring    flags:le16 | idx:le16 | ring[size]:le16 | used_event:le16
 *   used ring         flags:le16 | idx:le16 | ring[size]:{id:le32, len:le32} | avail_event:le16
 * </pre>
 *
 * <p>A device drains a queue with
 * <pre>{@code
 *   do {
 *       for (DescriptorChain c; (c = queue.pop()) != null; ) { ...; queue.addUsed(c.head(), n); }
 *   } while (queue.enableNotification());
 *   if (queue.needsInterrupt()) interrupt.usedBuffer();
 * }</pre>
 *
 * <p><b>Guest-controlled.</b> Every ring and descriptor field is written by the driver and may be
 * hostile. {@link #pop} bounds every walk: a chain may hold at most {@code size} descriptors
 * (§2.7.5.2: the driver must not make a longer one, so a longer walk is a loop), indices must lie
 * in the table, an indirect table must be a non-empty multiple of 16 bytes, hold at most
 * {@value #MAX_INDIRECT} entries, sit in RAM and not itself point to an indirect table
 * (§2.7.5.3.1), a readable buffer may not follow a writable one (§2.7.4.2), the chain's total
 * length stays below 2^32, every buffer lies in guest RAM, and the available index may not run
 * more than {@code size} entries ahead of the device. A breach throws
 * {@link VirtqueueViolation}; nothing is written to the used ring for it.
 *
 * <p>Threads: used under its device's lock, by whichever thread serves the device.
 */
public final class Virtqueue {

    /** §2.7.5: descriptor flags. */
    public static final int VIRTQ_DESC_F_NEXT = 1;
    public static final int VIRTQ_DESC_F_WRITE = 2;
    public static final int VIRTQ_DESC_F_INDIRECT = 4;
    /** §2.7.6: the driver asks for no interrupts (without EVENT_IDX). */
    public static final int VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
    /** Largest indirect table accepted; Linux never builds one larger than the ring. */
    public static final int MAX_INDIRECT = 1024;
    private static final long MAX_CHAIN_BYTES = 0xFFFF_FFFFL;

    private final GuestMemory memory;
    private final int size;
    private final long descGpa;
    private final long availGpa;
    private final long usedGpa;
    private final boolean eventIdx;
    private final boolean indirect;

    private int lastAvail;      // free-running 16-bit: next available-ring entry to take
    private int usedIdx;        // free-running 16-bit: next used-ring entry to write
    private int signalledUsed;  // used index when needsInterrupt last looked
    private boolean signalledValid;

    /**
     * A queue the driver has made ready (QueueReady = 1).
     *
     * @throws VirtqueueViolation if the rings are misaligned or not wholly in guest RAM
     */
    public Virtqueue(GuestMemory memory, int size, long descGpa, long availGpa, long usedGpa,
                     boolean eventIdx, boolean indirect) throws VirtqueueViolation {
        if (size < 1 || size > 32768 || Integer.bitCount(size) != 1) {
            throw new VirtqueueViolation("queue size " + size + " is not a power of 2 in 1..32768");
        }
        // §2.7: alignment 16 for the table, 2 for the available ring, 4 for the used ring.
        if ((descGpa & 15) != 0 || (availGpa & 1) != 0 || (usedGpa & 3) != 0) {
            throw new VirtqueueViolation("misaligned ring address");
        }
        if (!memory.contains(descGpa, 16L * size) || !memory.contains(availGpa, 6 + 2L * size)
                || !memory.contains(usedGpa, 6 + 8L * size)) {
            throw new VirtqueueViolation("ring outside guest RAM");
        }
        this.memory = memory;
        this.size = size;
        this.descGpa = descGpa;
        this.availGpa = availGpa;
        this.usedGpa = usedGpa;
        this.eventIdx = eventIdx;
        this.indirect = indirect;
        // Both indices start at 0 when a queue is made ready (§2.7.8, §2.7.6).
        this.usedIdx = 0;
        this.lastAvail = 0;
    }

    /** {@return the number of entries in each ring} */
    public int size() {
        return size;
    }

    /** {@return whether the driver has made chains available that the device has not taken} */
    public boolean hasAvailable() throws VirtqueueViolation {
        return pending() != 0;
    }

    private int pending() throws VirtqueueViolation {
        int availIdx = memory.readU16(availGpa + 2);
        int pending = (availIdx - lastAvail) & 0xFFFF;
        if (pending > size) {
            throw new VirtqueueViolation("available index " + availIdx + " runs " + pending
                    + " entries ahead of the device in a ring of " + size);
        }
        return pending;
    }

    /**
     * Takes the next chain the driver made available.
     *
     * @return the chain, or null if none is available
     * @throws VirtqueueViolation if the driver broke the rules listed on this class
     */
    public DescriptorChain pop() throws VirtqueueViolation {
        if (pending() == 0) {
            return null;
        }
        // Ordering: read the ring entry and descriptors only after observing idx; pairs with the
        // driver's write barrier before it publishes idx (§2.7.13).
        VarHandle.acquireFence();
        int head = memory.readU16(availGpa + 4 + 2L * (lastAvail % size));
        lastAvail = (lastAvail + 1) & 0xFFFF;
        return walk(head);
    }

    /** Gives back the last chain popped, e.g. when the device has no room for it yet. */
    public void undoPop() {
        lastAvail = (lastAvail - 1) & 0xFFFF;
    }

    private DescriptorChain walk(int head) throws VirtqueueViolation {
        if (head >= size) {
            throw new VirtqueueViolation("head index " + head + " outside a table of " + size);
        }
        long[] gpas = new long[8];
        int[] lengths = new int[8];
        int count = 0;
        int readable = 0;
        long total = 0;
        boolean sawWritable = false;

        long table = descGpa;
        int tableSize = size;
        boolean inIndirect = false;
        int index = head;
        int budget = size;
        while (true) {
            if (budget-- == 0) {
                throw new VirtqueueViolation("chain at head " + head + " is longer than " + size + " descriptors (a loop?)");
            }
            if (index >= tableSize) {
                throw new VirtqueueViolation("next index " + index + " outside a table of " + tableSize);
            }
            long d = table + 16L * index;
            long gpa = memory.readU64(d);
            long len = memory.readU32(d + 8);
            int flags = memory.readU16(d + 12);
            int next = memory.readU16(d + 14);
            if ((flags & VIRTQ_DESC_F_INDIRECT) != 0) {
                if (!indirect || inIndirect || (flags & VIRTQ_DESC_F_NEXT) != 0) {
                    throw new VirtqueueViolation("indirect descriptor not allowed here (head " + head + ")");
                }
                if (len == 0 || (len & 15) != 0 || len / 16 > MAX_INDIRECT || !memory.contains(gpa, len)) {
                    throw new VirtqueueViolation("bad indirect table of " + len + " bytes at 0x" + Long.toHexString(gpa));
                }
                table = gpa;
                tableSize = (int) (len / 16);
                inIndirect = true;
                index = 0;
                budget = tableSize;
                continue;
            }
            if (!memory.contains(gpa, len)) {
                throw new VirtqueueViolation("buffer 0x" + Long.toHexString(gpa) + "+" + len + " outside guest RAM");
            }
            total += len;
            if (total > MAX_CHAIN_BYTES) {
                throw new VirtqueueViolation("chain at head " + head + " is longer than 2^32 bytes");
            }
            boolean writable = (flags & VIRTQ_DESC_F_WRITE) != 0;
            if (writable) {
                sawWritable = true;
            } else if (sawWritable) {
                throw new VirtqueueViolation("readable buffer after a writable one (head " + head + ")");
            } else {
                readable++;
            }
            if (count == gpas.length) {
                gpas = java.util.Arrays.copyOf(gpas, count * 2);
                lengths = java.util.Arrays.copyOf(lengths, count * 2);
            }
            gpas[count] = gpa;
            lengths[count] = (int) len;
            count++;
            if ((flags & VIRTQ_DESC_F_NEXT) == 0) {
                return new DescriptorChain(memory, head, gpas, lengths, count, readable);
            }
            index = next;
        }
    }

    /**
     * Returns a chain to the driver: {@code written} bytes were written into its writable part.
     */
    public void addUsed(int head, int written) {
        long elem = usedGpa + 4 + 8L * (usedIdx % size);
        memory.write32(elem, head);
        memory.write32(elem + 4, written);
        usedIdx = (usedIdx + 1) & 0xFFFF;
        // Ordering: the element must be visible before the index that publishes it (§2.7.8).
        VarHandle.releaseFence();
        memory.write16(usedGpa + 2, usedIdx);
    }

    /**
     * Asks the driver to notify when it adds more chains, then checks whether it already has.
     * With EVENT_IDX this publishes avail_event = the next entry the device will take.
     *
     * @return true if chains arrived meanwhile, so the caller must drain again
     */
    public boolean enableNotification() throws VirtqueueViolation {
        if (eventIdx) {
            memory.write16(usedGpa + 4 + 8L * size, lastAvail);
        }
        // Ordering: publish avail_event before re-reading idx, or a chain added in between would
        // get neither a notification nor a look (store-load; §2.7.10).
        VarHandle.fullFence();
        return pending() != 0;
    }

    /**
     * {@return whether the driver wants an interrupt for the entries added since the last one}:
     * with EVENT_IDX, whether used_event lies in that range (§2.7.10's vring_need_event); without
     * it, whether the driver left VIRTQ_AVAIL_F_NO_INTERRUPT clear.
     */
    public boolean needsInterrupt() {
        // Ordering: the used index must be visible before the driver's suppression field is read.
        VarHandle.fullFence();
        int newIdx = usedIdx;
        int oldIdx = signalledUsed;
        boolean valid = signalledValid;
        signalledUsed = newIdx;
        signalledValid = true;
        if (valid && newIdx == oldIdx) {
            return false;   // nothing added since the last interrupt
        }
        if (!eventIdx) {
            return (memory.readU16(availGpa) & VIRTQ_AVAIL_F_NO_INTERRUPT) == 0;
        }
        if (!valid) {
            return true;
        }
        int usedEvent = memory.readU16(availGpa + 4 + 2L * size);
        return ((newIdx - usedEvent - 1) & 0xFFFF) < ((newIdx - oldIdx) & 0xFFFF);
    }

    /**
     * The device's side of the queue, for snapshots: where the rings are (§4.2.2, the
     * QueueDesc/Driver/Device registers), the ring features, and the device's indices
     * ({@code last_avail_idx} and {@code next_used} in Firecracker's terms). Everything else
     * lives in guest RAM.
     */
    public record State(int size, long desc, long avail, long used, boolean eventIdx, boolean indirect,
                        int lastAvail, int usedIdx, int signalledUsed, boolean signalledValid) { }

    /** {@return the state, for a snapshot} */
    public State saveState() {
        return new State(size, descGpa, availGpa, usedGpa, eventIdx, indirect, lastAvail, usedIdx, signalledUsed,
                signalledValid);
    }

    /**
     * A queue as it was when {@code s} was saved.
     *
     * @throws VirtqueueViolation if the saved rings are misaligned or outside {@code memory}
     */
    public static Virtqueue restore(GuestMemory memory, State s) throws VirtqueueViolation {
        Virtqueue q = new Virtqueue(memory, s.size(), s.desc(), s.avail(), s.used(), s.eventIdx(), s.indirect());
        q.lastAvail = s.lastAvail() & 0xFFFF;
        q.usedIdx = s.usedIdx() & 0xFFFF;
        q.signalledUsed = s.signalledUsed() & 0xFFFF;
        q.signalledValid = s.signalledValid();
        return q;
    }
}
