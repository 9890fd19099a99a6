package dev.ember.riscv.interp;

import dev.ember.memory.CodePages;
import dev.ember.memory.GuestMemory;

/**
 * Decoded instructions by physical code page, shared by the harts of one machine: the
 * interpreter decodes an instruction the first time it runs it and reads the decoded form on
 * every later run, as TinyEMU fetches through a pointer into the current code page.
 *
 * <p>A page is an array of {@link dev.ember.riscv.isa.Insn}s with one slot per halfword
 * (compressed instructions start at any even address), 0 where nothing has been decoded yet.
 * Pages are found through a two-level directory indexed by RAM page number, so a lookup is two
 * array loads and the directory costs nothing for RAM that never holds code. A page's array
 * is made when the page is first executed, after the page is marked in {@link CodePages}; a
 * write to the page drops the array ({@link #codeWritten}), and the next execution starts a
 * new one. A 32-bit instruction that straddles two pages is never stored: it is
 * decoded on every execution.
 *
 * <p>Bounded: at most {@link #MAX_PAGES} arrays (16 KiB each) live at a time; making one more
 * drops them all, and they are rebuilt from memory as the code runs again.
 *
 * <p>Threads: every vCPU thread reads and fills slots without locks. Slots race benignly: two
 * harts decoding the same bytes store the same value; a hart that decodes bytes while another
 * rewrites them may keep the old instruction until its next FENCE.I, which the ISA allows
 * (and which {@link CodePages} settles). Making arrays synchronises on this object.
 */
public final class DecodedPages implements CodePages.Listener {

    /** Halfword slots per 4 KiB page. */
    public static final int SLOTS = 2048;
    /** The most decoded pages kept at once: 32 MiB of arrays. */
    public static final int MAX_PAGES = 2048;

    private static final int CHUNK_BITS = 9;   // 512 pages (2 MiB of RAM) per directory chunk

    private final CodePages codePages;
    private final long[][][] directory;
    private int live;
    private long made;

    public DecodedPages(GuestMemory ram) {
        this.codePages = ram.codePages();
        long pages = codePages.pageCount();
        this.directory = new long[(int) ((pages + (1 << CHUNK_BITS) - 1) >>> CHUNK_BITS)][][];
        codePages.addListener(this);
    }

    /**
     * {@return the decoded instructions of RAM page {@code pageIndex}, made and marked as code
     * when there are none}
     *
     * @param self the calling hart's store TLB, so that marking does not count its own entries
     *             as a race (see {@link CodePages#markCode})
     */
    public long[] page(long pageIndex, CodePages.WriteCache self) {
        long[][] chunk = directory[(int) (pageIndex >>> CHUNK_BITS)];
        if (chunk != null) {
            long[] page = chunk[(int) pageIndex & ((1 << CHUNK_BITS) - 1)];
            if (page != null) {
                return page;
            }
        }
        return make(pageIndex, self);
    }

    /** {@return the decoded instructions of RAM page {@code pageIndex}, or null if there are none; makes nothing} */
    public long[] peek(long pageIndex) {
        long[][] chunk = directory[(int) (pageIndex >>> CHUNK_BITS)];
        return chunk == null ? null : chunk[(int) pageIndex & ((1 << CHUNK_BITS) - 1)];
    }

    /**
     * Flags the decoded instruction at RAM offset {@code hostOffset} as the entry of translated
     * code ({@link dev.ember.riscv.isa.Insn#REGION_ENTRY}), or clears the flag, so the
     * interpreter hands over to the translator there. Does nothing if it is not decoded.
     */
    public void flagRegionEntry(long hostOffset, boolean entry) {
        long[] page = peek(hostOffset >>> 12);
        if (page != null) {
            int slot = (int) (hostOffset & 0xFFF) >>> 1;
            long insn = page[slot];
            if (insn != 0) {
                page[slot] = entry ? insn | dev.ember.riscv.isa.Insn.REGION_ENTRY
                                   : insn & ~dev.ember.riscv.isa.Insn.REGION_ENTRY;
            }
        }
    }

    private synchronized long[] make(long pageIndex, CodePages.WriteCache self) {
        int c = (int) (pageIndex >>> CHUNK_BITS);
        int i = (int) pageIndex & ((1 << CHUNK_BITS) - 1);
        if (directory[c] != null && directory[c][i] != null) {
            return directory[c][i];
        }
        if (live >= MAX_PAGES) {
            java.util.Arrays.fill(directory, null);
            live = 0;
        }
        // Ordering: marked before the caller reads the page's bytes (see CodePages).
        codePages.markCode(pageIndex, self);
        if (directory[c] == null) {
            directory[c] = new long[1 << CHUNK_BITS][];
        }
        long[] page = new long[SLOTS];
        directory[c][i] = page;
        live++;
        made++;
        // A write to the page may have found no code here a moment ago and left it unmarked.
        codePages.markCode(pageIndex, self);
        return page;
    }

    /**
     * Forgets the page's decoded instructions, since bytes {@code [from, to)} of it were written:
     * the whole page, because re-decoding is cheap, while a page that keeps an array keeps every
     * store to it on the MMU's slow path (a page of code that has become data, say). A hart
     * still running from the old array sees instructions whose bytes are unchanged, and stops at
     * once when the write changed one it holds, since then this returns true and the store ends
     * its slice: self-modifying code is exact even inside a slice.
     *
     * @return whether an instruction decoded from the written bytes was forgotten
     */
    @Override
    public boolean codeWritten(long pageIndex, int from, int to) {
        long[] page;
        synchronized (this) {
            page = peek(pageIndex);
            if (page == null) {
                return false;
            }
            directory[(int) (pageIndex >>> CHUNK_BITS)][(int) pageIndex & ((1 << CHUNK_BITS) - 1)] = null;
            live--;
        }
        // A slot holds an instruction of up to 4 bytes, so the slot before the range counts too.
        for (int slot = Math.max(0, (from - 2) >> 1); slot < SLOTS && slot << 1 < to; slot++) {
            if (page[slot] != 0) {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean holdsCode(long pageIndex) {
        return peek(pageIndex) != null;
    }

    /** {@return how many decoded pages are held now} */
    public synchronized int livePages() {
        return live;
    }

    /** {@return how many decoded pages have been made since the machine was built} */
    public synchronized long pagesMade() {
        return made;
    }
}
