package dev.ember.memory;

import java.lang.invoke.VarHandle;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * The pages of guest RAM that hold code an execution engine has decoded or translated, and the
 * protocol that keeps that code in step with every write to those pages: from the hart itself,
 * from other harts, from devices writing guest RAM, from the balloon's discards and from a
 * reboot. This is QEMU's approach (write-protect pages that hold translations) built from the
 * software TLB instead of the host MMU.
 *
 * <p>The protocol, for a page {@code P} (an index of a 4 KiB page from the start of RAM):
 * <ul>
 *   <li><b>Marking.</b> An engine calls {@link #markCode} before it reads {@code P}'s bytes to
 *       decode or translate them. That sets {@code P}'s bit, then asks every hart's MMU to drop
 *       the store-TLB entries that map {@code P} ({@link WriteCache}). From then on no store
 *       reaches {@code P} without a slow path.
 *   <li><b>Stores from harts.</b> An MMU fills a store-TLB entry first and then reads the bit,
 *       dropping the entry again if it is set. Marking sets the bit first and then scans the
 *       entries. With a full fence on both sides (Dekker's pattern) one of the two always sees
 *       the other, so a store-TLB entry never maps a code page for longer than the scan takes.
 *   <li><b>Writes.</b> Every write that does not go through a store-TLB entry (the MMU's slow
 *       path, atomics, device DMA, discards) writes first and then calls {@link #written}. If the
 *       bit is set, every {@link Listener} drops the code that overlaps the written bytes, as
 *       QEMU's code bitmap does: a page that holds both code and data (a bare-metal program, a
 *       JIT in the guest) keeps its code when only its data is written, and its stores keep
 *       taking the slow path.
 *   <li><b>The race that is left.</b> A store by another hart that passed its TLB check just
 *       before the scan can land after the engine read the page. The ISA allows that code to be
 *       stale until the running hart executes FENCE.I (unprivileged ISA §6.1: another hart's
 *       stores are guaranteed visible to instruction fetch only after a FENCE.I, which the
 *       writer requests after its store). So a scan that finds another hart's entry records
 *       {@code P} as suspect, and {@link #fenceI} drops the code of every suspect page.
 * </ul>
 *
 * <p>Threads: called from every vCPU thread and from device threads; lock-free except for the
 * listeners, which synchronise themselves.
 */
public final class CodePages {

    /** Drops what an engine holds for a page: decoded instructions, translated regions. */
    public interface Listener {
        /**
         * Bytes {@code [from, to)} of the page at {@code pageIndex} were written or discarded;
         * forget the code that overlaps them.
         *
         * @return whether any code was forgotten
         */
        boolean codeWritten(long pageIndex, int from, int to);

        /** {@return whether this engine still holds code of the page at {@code pageIndex}} */
        boolean holdsCode(long pageIndex);
    }

    /** One hart's store TLB, seen from outside. */
    public interface WriteCache {
        /**
         * Drops every entry that maps RAM page {@code pageIndex} for stores.
         *
         * @return whether there was one
         */
        boolean evictWritable(long pageIndex);
    }

    private final long pageCount;
    private final AtomicLongArray bits;
    private final CopyOnWriteArrayList<Listener> listeners = new CopyOnWriteArrayList<>();
    private final CopyOnWriteArrayList<WriteCache> writeCaches = new CopyOnWriteArrayList<>();
    private final ConcurrentHashMap.KeySetView<Long, Boolean> suspects = ConcurrentHashMap.newKeySet();
    private final LongAdder invalidations = new LongAdder();

    CodePages(long ramBytes) {
        this.pageCount = ramBytes >>> 12;
        this.bits = new AtomicLongArray((int) ((pageCount + 63) >>> 6));
    }

    /** Registers an engine's per-page code, to be dropped when its page is written. */
    public void addListener(Listener listener) {
        listeners.add(listener);
    }

    /** Registers a hart's store TLB, scanned by {@link #markCode}. */
    public void addWriteCache(WriteCache cache) {
        writeCaches.add(cache);
    }

    /** {@return whether RAM page {@code pageIndex} holds code; an acquiring read} */
    public boolean isCode(long pageIndex) {
        return (bits.get((int) (pageIndex >>> 6)) & (1L << pageIndex)) != 0;
    }

    /**
     * Marks RAM page {@code pageIndex} as holding code, before its bytes are read for decoding.
     *
     * @param self the calling hart's own store TLB, whose entries are dropped without making the
     *             page suspect (its own stores cannot race with it); null for none
     */
    public void markCode(long pageIndex, WriteCache self) {
        int word = (int) (pageIndex >>> 6);
        long bit = 1L << pageIndex;
        if ((bits.get(word) & bit) != 0) {
            return;
        }
        bits.getAndAccumulate(word, bit, (a, b) -> a | b);
        // Ordering: the bit is visible before the scan reads any TLB entry (see the class comment).
        VarHandle.fullFence();
        for (WriteCache cache : writeCaches) {
            if (cache.evictWritable(pageIndex) && cache != self) {
                suspects.add(pageIndex);
            }
        }
    }

    /**
     * Reports a write to RAM offsets {@code [offset, offset + length)} that has already happened;
     * drops the code that overlaps it on every code page it touched. Offsets outside RAM are
     * ignored.
     *
     * @return whether any decoded or translated code was dropped
     */
    public boolean written(long offset, long length) {
        // Ordering: the write is visible before the bits are read (see the class comment).
        VarHandle.fullFence();
        return writtenAfterFence(offset, length);
    }

    /**
     * {@link #written} for a write that was itself a full fence (an atomic read-modify-write
     * or compare-and-swap), so no further fence is needed.
     */
    public boolean writtenAtomically(long offset, long length) {
        return writtenAfterFence(offset, length);
    }

    private boolean writtenAfterFence(long offset, long length) {
        if (length <= 0 || offset < 0 || offset >= pageCount << 12) {
            return false;
        }
        long end = Math.min(pageCount << 12, offset + length);
        boolean dropped = false;
        for (long page = offset >>> 12; page << 12 < end; page++) {
            int word = (int) (page >>> 6);
            long w = bits.get(word);
            if (w == 0) {
                page |= 63;   // skip the rest of an empty word
                continue;
            }
            if ((w & (1L << page)) != 0) {
                long pageStart = page << 12;
                int from = (int) (Math.max(offset, pageStart) - pageStart);
                int to = (int) (Math.min(end, pageStart + 4096) - pageStart);
                dropped |= invalidate(page, from, to);
            }
        }
        return dropped;
    }

    /**
     * Serves FENCE.I: drops the code of every page another hart might have stored to while it
     * was being read (see the class comment). Called by the hart executing FENCE.I, and by
     * harts serving a remote FENCE.I.
     */
    public void fenceI() {
        if (suspects.isEmpty()) {
            return;
        }
        for (Long page : suspects) {
            suspects.remove(page);
            invalidate(page, 0, 4096);
        }
    }

    /**
     * Drops the code of bytes {@code [from, to)} of {@code page}. The bit is cleared first and set
     * again (with a new scan of the store TLBs) if an engine still holds code there, so a
     * translation installed meanwhile, which marks the page after installing, is never left on
     * an unmarked page.
     */
    private boolean invalidate(long page, int from, int to) {
        long bit = 1L << page;
        long old = bits.getAndAccumulate((int) (page >>> 6), ~bit, (a, b) -> a & b);
        if ((old & bit) == 0) {
            return false;   // another writer got there first
        }
        boolean dropped = false;
        for (Listener l : listeners) {
            dropped |= l.codeWritten(page, from, to);
        }
        if (dropped) {
            invalidations.increment();
        }
        for (Listener l : listeners) {
            if (l.holdsCode(page)) {
                markCode(page, null);
                break;
            }
        }
        return dropped;
    }

    /** {@return how many writes have dropped code} */
    public long invalidations() {
        return invalidations.sum();
    }

    /** {@return the number of RAM pages} */
    public long pageCount() {
        return pageCount;
    }
}
