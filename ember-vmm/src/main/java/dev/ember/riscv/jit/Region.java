package dev.ember.riscv.jit;

/**
 * Translated code: one region of guest instructions from a single physical page, compiled to
 * the {@link #run} method of a hidden class that extends this one ({@link RegionCompiler}).
 *
 * <p>A region starts at one instruction (its entry) and holds the basic blocks reachable from
 * it inside its page that the guest has been seen to execute; branches between them are JVM
 * branches, so a loop inside the region is a JVM loop. It is keyed by the RAM offset of its
 * entry and by the {@linkplain TranslationCache#mode mode} it was translated for, never by a
 * virtual address: its code computes every pc from the virtual pc it is entered at, so the
 * same translation serves every mapping of the page.
 *
 * <p>A region's direct exits to other instructions of its page can be linked ({@link #links})
 * to the regions there, so that control passes from region to region by a call whose receiver
 * is always the same class, never through a shared dispatch site. A region stops being
 * {@link #valid} when its page is written or the cache evicts it; links to it are then not
 * followed, and its class is unloaded once nothing refers to it.
 *
 * <p>Threads: run by any hart's vCPU thread; {@link #valid} and {@link #links} are written by
 * others, racily and monotonically (a link is only ever set to a region of the same page and
 * mode, and {@code valid} only ever goes from true to false).
 */
public abstract class Region {

    /** What the compiler knows about a region when it makes one. */
    record Meta(long hostOffset, int mode, int exits, int guestInstructions, int blocks, int classBytes,
                int[] ranges) {}

    /** The most chained calls on the stack before a region returns to the dispatcher. */
    static final int MAX_CHAIN_DEPTH = 24;

    final long hostOffset;
    final int mode;
    final int guestInstructions;
    final int blocks;
    /** The size of its class file. */
    final int classBytes;
    /** The page offsets its code occupies, as {@code [start, end)} pairs, one per block. */
    final int[] ranges;
    /** Chain targets, one slot per direct exit within the page; null until the dispatcher links it. */
    final Region[] links;
    /** False once the page was written or the region evicted. */
    volatile boolean valid = true;

    protected Region(Meta meta) {
        this.hostOffset = meta.hostOffset();
        this.mode = meta.mode();
        this.guestInstructions = meta.guestInstructions();
        this.blocks = meta.blocks();
        this.classBytes = meta.classBytes();
        this.ranges = meta.ranges();
        this.links = new Region[meta.exits()];
    }

    /**
     * Runs the region from its entry, which is at virtual address {@code hart.pc}, until it
     * leaves it, and possibly on through linked regions.
     *
     * @param budget instructions the caller still allows; loops inside the region leave it when
     *               they have used it up
     * @param depth  chained calls below this one on the stack
     * @return instructions attempted, including one that trapped
     */
    abstract int run(JitContext c, int budget, int depth);

    /** {@return whether bytes {@code [from, to)} of its page overlap its code} */
    boolean overlaps(int from, int to) {
        for (int i = 0; i < ranges.length; i += 2) {
            if (from < ranges[i + 1] && ranges[i] < to) {
                return true;
            }
        }
        return false;
    }

    /** {@return the RAM offset of the entry instruction} */
    public long hostOffset() {
        return hostOffset;
    }

    @Override
    public String toString() {
        return "Region[0x%x mode %d, %d instructions in %d blocks, a class of %d bytes]"
                .formatted(hostOffset, mode, guestInstructions, blocks, classBytes);
    }
}
