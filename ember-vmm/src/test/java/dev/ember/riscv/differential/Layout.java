package dev.ember.riscv.differential;

/**
 * The memory map every generated program runs in: one small RAM at {@link #RAM_BASE}, holding
 * the trap handlers, the program, a trap log, a data area and Sv39 page tables.
 *
 * <pre>
 *   0x8000_0000  M-mode trap handler (mtvec)
 *   0x8000_0200  S-mode trap handler (stvec)
 *   0x8000_0400+ the program, then "end: wfi; j end", then its subroutines; the program starts
 *                at a random offset in its first page so that code crosses page boundaries
 *   0x8000_3000  trap log: a count, then (cause, tval) pairs in a ring of 64
 *   0x8000_4FF0  satp values of page tables A and B, at sp - 16 and sp - 8
 *   0x8000_5000  data: {@link #DATA_PAGES} pages of random bytes; sp points here
 *   0x8000_9000  nothing: accesses across the end of the data land here
 *   0x8000_A000  page tables: roots A and B, their level-1 and level-0 tables
 *   0x8001_0000  end of RAM: anything above is unmapped (an access fault)
 * </pre>
 *
 * <p>Virtual memory (both roots): RAM is identity-mapped by a 1 GiB gigapage (RWX); virtual
 * {@link #ALIAS_BASE} has {@link #ALIAS_PAGES} level-0 entries whose kinds are drawn per
 * program (aliases of the data pages with limited permissions, invalid or reserved entries;
 * gp points here); {@link #CODE_ALIAS} maps the first 2 MiB of RAM again as a megapage, so the
 * same code runs at two virtual addresses, and {@link #USER_CODE_ALIAS} a third time for
 * U-mode; every other address faults.
 */
final class Layout {

    private Layout() {}

    static final long RAM_BASE = 0x8000_0000L;
    static final int RAM_SIZE = 0x1_0000;
    static final long RAM_END = RAM_BASE + RAM_SIZE;

    static final long M_HANDLER = RAM_BASE;
    static final long S_HANDLER = RAM_BASE + 0x200;
    static final long PROGRAM_MIN = RAM_BASE + 0x400;
    /** Code must end below the trap log. */
    static final long CODE_LIMIT = RAM_BASE + 0x3000;

    static final long LOG = RAM_BASE + 0x3000;
    static final int LOG_ENTRIES = 64;

    static final long DATA = RAM_BASE + 0x5000;
    static final int DATA_PAGES = 4;
    static final long SATP_A_SLOT = DATA - 16;
    static final long SATP_B_SLOT = DATA - 8;

    static final long ROOT_A = RAM_BASE + 0xA000;
    static final long ROOT_B = RAM_BASE + 0xB000;
    static final long L1_A = RAM_BASE + 0xC000;
    static final long L1_B = RAM_BASE + 0xD000;
    static final long L0_A = RAM_BASE + 0xE000;
    static final long L0_B = RAM_BASE + 0xF000;

    static final long SATP_SV39 = 8L << 60;
    static final long SATP_A = SATP_SV39 | ROOT_A >>> 12;
    static final long SATP_B = SATP_SV39 | ROOT_B >>> 12;

    /** Virtual base of the level-0 alias pages: root entry 1, level-1 entry 0. */
    static final long ALIAS_BASE = 0x4000_0000L;
    static final int ALIAS_PAGES = 16;
    /** Virtual alias of the code: root entry 1, level-1 entry 1, a 2 MiB megapage onto RAM_BASE. */
    static final long CODE_ALIAS = 0x4020_0000L;
    /** The same for U-mode, which may only run code on user pages: level-1 entry 2. */
    static final long USER_CODE_ALIAS = 0x4040_0000L;

    // Sv39 PTE bits (privileged ISA §4.3.1, §4.4.1).
    static final long V = 1, R = 2, W = 4, X = 8, U = 16, G = 32, A = 64, D = 128;

    /** {@return a PTE mapping guest-physical {@code gpa} with {@code flags}} */
    static long pte(long gpa, long flags) {
        return (gpa >>> 12) << 10 | flags;
    }
}
