package dev.ember.memory;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Which 4 KiB pages of guest RAM were written since the last {@link #drain}: the dirty log
 * behind Diff snapshots, as KVM's dirty-page log is behind Firecracker's.
 *
 * <p>How writes reach it: a hart's store enters its store TLB only through the slow path, which
 * marks the page; device writes, loaders and atomics report through {@link GuestMemory#written}
 * and {@link GuestMemory#dirtied}. After a drain the harts' store TLBs must be emptied, so the
 * next store to each page takes the slow path and marks it again (KVM write-protects the pages
 * for the same reason). The cost is therefore one bit set per store-TLB fill and per device
 * write, plus the refills after each snapshot.
 *
 * <p>Thread-safe: any thread marks; draining happens with the VM paused and devices quiesced.
 */
public final class DirtyPages {

    private static final VarHandle WORD = MethodHandles.arrayElementVarHandle(long[].class);

    private final long[] bits;
    private final long pages;

    DirtyPages(long ramBytes) {
        this.pages = ramBytes >>> 12;
        this.bits = new long[(int) ((pages + 63) >>> 6)];
    }

    /** Marks the pages of RAM offsets {@code [offset, offset + length)}. */
    void mark(long offset, long length) {
        if (length <= 0) {
            return;
        }
        long first = offset >>> 12;
        long last = Math.min(pages - 1, (offset + length - 1) >>> 12);
        for (long p = first; p <= last; p++) {
            int word = (int) (p >>> 6);
            long bit = 1L << (p & 63);
            if (((long) WORD.getOpaque(bits, word) & bit) == 0) {
                WORD.getAndBitwiseOr(bits, word, bit);
            }
        }
    }

    /** {@return the pages marked so far, one bit per page (page {@code p} is bit {@code p % 64} of word {@code p / 64}), and clears them} */
    public long[] drain() {
        long[] out = new long[bits.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (long) WORD.getAndSet(bits, i, 0L);
        }
        return out;
    }

    /**
     * Marks again the pages a {@link #drain} returned, for a snapshot that failed to write them:
     * the next Diff must still hold them.
     */
    public void unDrain(long[] drained) {
        for (int i = 0; i < drained.length && i < bits.length; i++) {
            if (drained[i] != 0) {
                WORD.getAndBitwiseOr(bits, i, drained[i]);
            }
        }
    }

        /** {@return the number of pages tracked} */
    public long pages() {
        return pages;
    }
}
