package dev.ember.riscv.cpu;

import static dev.ember.riscv.cpu.Privilege.*;

import dev.ember.memory.CodePages;
import dev.ember.memory.GuestMemory;
import dev.ember.memory.PhysicalBus;
import java.lang.invoke.VarHandle;
import dev.ember.riscv.isa.TrapCause;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One hart's address translation: Sv39, Sv48 and Sv57 page-table walks (privileged ISA §4.3
 * to §4.6) behind three software TLBs, for loads, stores and instruction fetches.
 *
 * <p>A TLB entry maps one 4 KiB virtual page to a host offset in guest RAM: on a hit a guest
 * access is one compare and one {@link MemorySegment} access at {@code gva + addend}, as
 * QEMU's soft-MMU does. Entries are tagged with the page address and a key of the
 * effective privilege, {@code mstatus.SUM} and {@code mstatus.MXR}, so privilege changes and
 * SUM toggles never flush anything; a {@code satp} write or {@code SFENCE.VMA} flushes all
 * (with the H extension, all of the hypervisor's).
 * Only RAM pages enter the TLB; MMIO always takes the slow path to the bus.
 *
 * <p>With the H extension, accesses made with V=1 go through two stages (VS-stage over
 * {@code vsatp}, G-stage over {@code hgatp}); their TLB entries hold the whole guest-virtual to
 * host translation and carry V and a guest-context slot in their key, so the hypervisor's and
 * each guest's entries live side by side (see {@link #updateKeys}, {@link #guestContextChanged}).
 *
 * <p>Accessed and dirty bits are set by the walker with a compare-and-swap on the PTE
 * (the hardware-update scheme of §4.3.1), so a store never goes through an entry whose PTE
 * is not dirty.
 *
 * <p><b>Guest-controlled.</b> Page tables are guest data: every PTE address is checked against
 * RAM (an access fault otherwise), reserved bits and misaligned superpages fault, and walks are
 * bounded by the mode's level count.
 *
 * <p>Owned by its hart's vCPU thread; TLB flush requests from other harts arrive through
 * {@link Hart#requestFence}.
 */
public final class Mmu implements CodePages.WriteCache {

    public static final long SATP_SV39 = 8;
    public static final long SATP_SV48 = 9;
    public static final long SATP_SV57 = 10;
    public static final long PPN_MASK = (1L << 44) - 1;

    /** {@return whether an {@code satp}, {@code vsatp} or {@code hgatp} MODE is one Ember has: Bare, Sv39(x4), Sv48(x4), Sv57(x4)} */
    static boolean supportedMode(long mode) {
        return mode == 0 || mode == SATP_SV39 || mode == SATP_SV48 || mode == SATP_SV57;
    }

    static final int ACCESS_READ = 0;
    static final int ACCESS_WRITE = 1;
    static final int ACCESS_FETCH = 2;
    /** HLVX: a load that needs execute permission instead of read, at both stages; it faults as a load. */
    static final int ACCESS_READ_EXECUTABLE = 3;

    /** Key bit of entries made with V=1: the guest's translations (H extension). */
    private static final long KEY_VIRT = 1 << 5;
    /** Key bit of {@code vsstatus.MXR}, which only matters with V=1. */
    private static final long KEY_VS_MXR = 1 << 6;
    /** Key bits 7-10 of entries made with V=1: the guest address-space slot (1-15) they belong to. */
    private static final int SLOT_SHIFT = 7;
    private static final int SLOTS = 16;
    private static final long KEY_SLOT = (long) (SLOTS - 1) << SLOT_SHIFT;

    /** The (hgatp, vsatp) combination of each guest slot, and when it was last used. */
    private final long[] slotHgatp = new long[SLOTS];
    private final long[] slotVsatp = new long[SLOTS];
    private final long[] slotUsed = new long[SLOTS];
    private final boolean[] slotLive = new boolean[SLOTS];
    private long slotClock;
    /** The current guest's slot, 1 to 15; part of every V=1 key. */
    private int slot = 1;

    /** The pseudoinstructions {@code htinst} gets for a fault of an implicit VS-stage PTE access (§ Transformed Instruction). */
    static final long TINST_PTE_READ = 0x3000, TINST_PTE_WRITE = 0x3020;

    private static final long PTE_V = 1, PTE_R = 2, PTE_W = 4, PTE_X = 8, PTE_U = 16, PTE_A = 64, PTE_D = 128;
    private static final long PAGE_MASK = ~0xFFFL;

    public static final int TLB_SIZE = 1024;
    private static final int TLB_MASK = TLB_SIZE - 1;

    private final Hart hart;
    private final PhysicalBus bus;
    private final GuestMemory ram;
    public final MemorySegment seg;
    private final long ramBase;

    public final long[] readTag = new long[TLB_SIZE];
    public final long[] readAddend = new long[TLB_SIZE];
    public final long[] writeTag = new long[TLB_SIZE];
    public final long[] writeAddend = new long[TLB_SIZE];
    public final long[] fetchTag = new long[TLB_SIZE];
    public final long[] fetchAddend = new long[TLB_SIZE];

    /** Tag key of data accesses: effective privilege, SUM and MXR. */
    public long dataKey;
    /** Tag key of instruction fetches: the privilege level. */
    public long fetchKey;
    /**
     * How many times the TLBs have been flushed; engines that cache lookups by virtual address
     * (the translator's jump cache) drop them when it changes. Owner thread only.
     */
    public long flushCount;

    private final CodePages codePages;

    Mmu(Hart hart, PhysicalBus bus) {
        this.hart = hart;
        this.bus = bus;
        this.ram = bus.ram();
        this.seg = ram.segment();
        this.ramBase = ram.base();
        this.codePages = ram.codePages();
        codePages.addWriteCache(this);
        flush();
    }

    /** Drops every TLB entry (SFENCE.VMA, satp writes, remote fences). */
    public void flush() {
        hart.sliceEnd = true;   // the engines hold the current code page's entry for a slice
        flushCount++;
        Arrays.fill(readTag, -1);
        Arrays.fill(writeTag, -1);
        Arrays.fill(fetchTag, -1);
        forgetGuestSlots();
    }

    /**
     * Drops the entries made with V=0 and keeps the guests' (H extension: an HS-mode
     * {@code satp} write or SFENCE.VMA concerns only HS-level translations). Without the
     * extension there are no guest entries, and the whole TLB goes at once.
     */
    public void flushHost() {
        if (hart.hExtension) {
            drop(0, KEY_VIRT);
        } else {
            flush();
        }
    }

    /** Drops every entry made with V=1, of every guest (HFENCE.VVMA, HFENCE.GVMA). */
    public void flushGuest() {
        drop(KEY_VIRT, KEY_VIRT);
        forgetGuestSlots();
    }

    /**
     * SFENCE.VMA in VS-mode: drops the current virtual machine's entries, those of every slot
     * with the current VMID, and keeps other guests' (H extension § Hypervisor Instructions:
     * SFENCE.VMA with V=1 concerns the current VMID only).
     */
    public void flushCurrentGuest() {
        long vmid = hart.hgatp & Hart.HGATP_VMID;
        for (int s = 1; s < SLOTS; s++) {
            if (slotLive[s] && (slotHgatp[s] & Hart.HGATP_VMID) == vmid) {
                drop(KEY_VIRT | (long) s << SLOT_SHIFT, KEY_VIRT | KEY_SLOT);
                if (s != slot) {
                    slotLive[s] = false;
                }
            }
        }
    }

    /**
     * The guest's address space changed ({@code vsatp} or {@code hgatp} took a new value).
     * Each combination of the two the hart has run recently keeps a slot, numbered in the tag key,
     * so switching between virtual machines, or back to one, finds its entries still there; a new
     * combination takes a free slot or the least recently used one, whose entries go. Nothing else
     * is flushed: without a fence a guest may not expect a changed page table to be seen.
     */
    void guestContextChanged() {
        long hgatp = hart.hgatp, vsatp = hart.vsatp;
        int found = 0, victim = 0;
        for (int s = 1; s < SLOTS && found == 0; s++) {
            if (slotLive[s] && slotHgatp[s] == hgatp && slotVsatp[s] == vsatp) {
                found = s;
            } else if (victim == 0 || (slotLive[victim] && (!slotLive[s] || slotUsed[s] < slotUsed[victim]))) {
                victim = s;
            }
        }
        if (found == 0) {
            found = victim;
            drop(KEY_VIRT | (long) found << SLOT_SHIFT, KEY_VIRT | KEY_SLOT);
            slotLive[found] = true;
            slotHgatp[found] = hgatp;
            slotVsatp[found] = vsatp;
        }
        slot = found;
        slotUsed[found] = ++slotClock;
        hart.sliceEnd = true;
        flushCount++;   // the translator's jump cache maps virtual pcs: drop it
        updateKeys();
    }

    /** After a flush of every guest entry: only the current context keeps a slot, the one it had. */
    private void forgetGuestSlots() {
        Arrays.fill(slotLive, false);
        slotLive[slot] = true;
        slotHgatp[slot] = hart.hgatp;
        slotVsatp[slot] = hart.vsatp;
    }

    /** Drops the entries whose tag has {@code value} in the bits of {@code mask}. */
    private void drop(long value, long mask) {
        hart.sliceEnd = true;
        flushCount++;
        dropTagged(readTag, value, mask);
        dropTagged(writeTag, value, mask);
        dropTagged(fetchTag, value, mask);
    }

    private static void dropTagged(long[] tags, long value, long mask) {
        for (int i = 0; i < TLB_SIZE; i++) {
            long t = tags[i];
            if (t != -1 && (t & mask) == value) {
                tags[i] = -1;
            }
        }
    }

    /**
     * Drops the store-TLB entries that map RAM page {@code pageIndex}, so that stores to it take
     * the slow path while it holds code. Called by any thread marking the page (see
     * {@link CodePages}); the racy writes to another hart's tags are benign, because a tag of
     * -1 only ever sends that hart to the slow path.
     */
    @Override
    public boolean evictWritable(long pageIndex) {
        boolean found = false;
        for (int i = 0; i < TLB_SIZE; i++) {
            long tag = writeTag[i];
            if (tag != -1 && ((tag & PAGE_MASK) + writeAddend[i]) >>> 12 == pageIndex) {
                writeTag[i] = -1;
                found = true;
            }
        }
        return found;
    }

    /** {@return guest RAM, which this MMU translates to} */
    public GuestMemory ram() {
        return ram;
    }

    /** {@return the RAM page index of guest-physical {@code gpa}} */
    private long ramPage(long gpa) {
        return (gpa - ramBase) >>> 12;
    }

    /**
     * Recomputes the tag keys after a change of privilege, of V, of {@code mstatus} or of
     * {@code vsstatus}. Bits: 0 valid, 1-2 the effective privilege, 3 SUM in force (that of
     * {@code vsstatus} with V=1), 4 {@code mstatus.MXR}, 5 V, 6 {@code vsstatus.MXR} with V=1,
     * 7-10 the guest slot with V=1 ({@link #guestContextChanged}).
     */
    void updateKeys() {
        long s = hart.mstatus;
        int effective = effectiveDataPrivilege();
        boolean virt = effectiveDataVirt();
        long sum = (virt ? hart.vsstatus : s) & Mstatus.SUM;
        dataKey = 1 | (effective << 1) | (sum != 0 ? 8 : 0) | ((s & Mstatus.MXR) != 0 ? 16 : 0)
                | (virt ? KEY_VIRT | (long) slot << SLOT_SHIFT | ((hart.vsstatus & Mstatus.MXR) != 0 ? KEY_VS_MXR : 0) : 0);
        fetchKey = 1 | (hart.priv << 1) | (hart.virt ? KEY_VIRT | (long) slot << SLOT_SHIFT : 0);
    }

    // ---- loads -------------------------------------------------------------------------

    public int loadU8(long gva) {
        int i = (int) (gva >>> 12) & TLB_MASK;
        if (readTag[i] == ((gva & PAGE_MASK) | dataKey)) {
            return seg.get(GuestMemory.U8, gva + readAddend[i]) & 0xFF;
        }
        return (int) loadSlow(gva, 1);
    }

    public int loadU16(long gva) {
        int i = (int) (gva >>> 12) & TLB_MASK;
        if (readTag[i] == ((gva & PAGE_MASK) | dataKey) && (gva & 0xFFF) <= 0xFFE) {
            return seg.get(GuestMemory.U16, gva + readAddend[i]) & 0xFFFF;
        }
        return (int) loadSlow(gva, 2);
    }

    /** {@return the 32-bit value at {@code gva}, sign-extended} */
    public int load32(long gva) {
        int i = (int) (gva >>> 12) & TLB_MASK;
        if (readTag[i] == ((gva & PAGE_MASK) | dataKey) && (gva & 0xFFF) <= 0xFFC) {
            return seg.get(GuestMemory.U32, gva + readAddend[i]);
        }
        return (int) loadSlow(gva, 4);
    }

    public long load64(long gva) {
        int i = (int) (gva >>> 12) & TLB_MASK;
        if (readTag[i] == ((gva & PAGE_MASK) | dataKey) && (gva & 0xFFF) <= 0xFF8) {
            return seg.get(GuestMemory.U64, gva + readAddend[i]);
        }
        return loadSlow(gva, 8);
    }

    /**
     * The load path after a TLB miss, for callers that did the TLB check themselves (translated
     * code): {@return the {@code width}-byte value at {@code gva}, zero-extended}
     *
     * @throws Trap a page fault or access fault
     */
    public long loadMiss(long gva, int width) {
        return loadSlow(gva, width);
    }

    private long loadSlow(long gva, int width) {
        if ((gva & 0xFFF) > 0x1000 - width) {
            // Misaligned across a page boundary: byte by byte, each byte translated.
            long v = 0;
            for (int b = 0; b < width; b++) {
                v |= (long) loadU8(gva + b) << (8 * b);
            }
            return v;
        }
        long gpa = translate(gva, ACCESS_READ);
        if (ram.contains(gpa, width)) {
            int i = (int) (gva >>> 12) & TLB_MASK;
            readTag[i] = (gva & PAGE_MASK) | dataKey;
            readAddend[i] = (gpa & PAGE_MASK) - ramBase - (gva & PAGE_MASK);
            return bus.read(gpa, width);
        }
        if (!bus.isMapped(gpa, width)) {
            throw hart.trap(TrapCause.LOAD_ACCESS_FAULT, gva);
        }
        return bus.read(gpa, width);
    }

    // ---- stores ------------------------------------------------------------------------

    public void store8(long gva, int value) {
        int i = (int) (gva >>> 12) & TLB_MASK;
        if (writeTag[i] == ((gva & PAGE_MASK) | dataKey)) {
            seg.set(GuestMemory.U8, gva + writeAddend[i], (byte) value);
            return;
        }
        storeSlow(gva, 1, value);
    }

    public void store16(long gva, int value) {
        int i = (int) (gva >>> 12) & TLB_MASK;
        if (writeTag[i] == ((gva & PAGE_MASK) | dataKey) && (gva & 0xFFF) <= 0xFFE) {
            seg.set(GuestMemory.U16, gva + writeAddend[i], (short) value);
            return;
        }
        storeSlow(gva, 2, value);
    }

    public void store32(long gva, int value) {
        int i = (int) (gva >>> 12) & TLB_MASK;
        if (writeTag[i] == ((gva & PAGE_MASK) | dataKey) && (gva & 0xFFF) <= 0xFFC) {
            seg.set(GuestMemory.U32, gva + writeAddend[i], value);
            return;
        }
        storeSlow(gva, 4, value);
    }

    public void store64(long gva, long value) {
        int i = (int) (gva >>> 12) & TLB_MASK;
        if (writeTag[i] == ((gva & PAGE_MASK) | dataKey) && (gva & 0xFFF) <= 0xFF8) {
            seg.set(GuestMemory.U64, gva + writeAddend[i], value);
            return;
        }
        storeSlow(gva, 8, value);
    }

    /**
     * The store path after a TLB miss, for callers that did the TLB check themselves (translated
     * code): stores the low {@code width} bytes of {@code value} at {@code gva}.
     *
     * @throws Trap a page fault or access fault
     */
    public void storeMiss(long gva, int width, long value) {
        storeSlow(gva, width, value);
    }

    private void storeSlow(long gva, int width, long value) {
        if ((gva & 0xFFF) > 0x1000 - width) {
            // Translate both pages before writing, so a fault on the second leaves memory unchanged.
            // A fault on the second reports its first byte, the start of the portion that faulted
            // (privileged ISA §3.1.16), as the byte-wise load path does.
            translate(gva, ACCESS_WRITE);
            translate((gva + width - 1) & PAGE_MASK, ACCESS_WRITE);
            for (int b = 0; b < width; b++) {
                store8(gva + b, (int) (value >>> (8 * b)));
            }
            return;
        }
        long gpa = translate(gva, ACCESS_WRITE);
        if (ram.contains(gpa, width)) {
            int i = (int) (gva >>> 12) & TLB_MASK;
            writeTag[i] = (gva & PAGE_MASK) | dataKey;
            writeAddend[i] = (gpa & PAGE_MASK) - ramBase - (gva & PAGE_MASK);
            // Ordering: the entry is visible before the code bit is read (see CodePages).
            VarHandle.fullFence();
            if (codePages.isCode(ramPage(gpa))) {
                writeTag[i] = -1;          // stores to a page of code keep taking this path
            }
            writeRam(gpa - ramBase, width, value);
            return;
        }
        if (!bus.isMapped(gpa, width)) {
            throw hart.trap(TrapCause.STORE_ACCESS_FAULT, gva);
        }
        bus.write(gpa, width, value);
    }

    /**
     * Translates an atomic memory operation's address for reading and writing, as AMOs, LR and
     * SC need, and returns the RAM offset to use with {@link GuestMemory#ATOMIC_U64}.
     *
     * @throws Trap address-misaligned for unaligned addresses, access fault for anything but
     *         RAM (atomics on MMIO are not supported), or a page fault
     */
    public long atomicOffset(long gva, int width, boolean write) {
        if ((gva & (width - 1)) != 0) {
            throw hart.trap(write ? TrapCause.STORE_MISALIGNED : TrapCause.LOAD_MISALIGNED, gva);
        }
        long gpa = translate(gva, write ? ACCESS_WRITE : ACCESS_READ);
        if (!ram.contains(gpa, width)) {
            throw hart.trap(write ? TrapCause.STORE_ACCESS_FAULT : TrapCause.LOAD_ACCESS_FAULT, gva);
        }
        return gpa - ramBase;
    }

    /**
     * Reports an atomic write at RAM offset {@code offset} (an AMO, a successful SC, an A/D
     * update), after it happened, so code decoded from those bytes is dropped. The atomic access
     * is itself a full fence, so no further fence is needed (see {@link CodePages}).
     */
    public void atomicWritten(long offset, int width) {
        if (codePages.writtenAtomically(offset, width)) {
            hart.sliceEnd = true;
        }
        ram.dirtied(offset, width);
    }

    /**
     * Empties the store TLB, so every page's next store takes the slow path, which logs it in
     * the dirty-page log. Call it on a hart that is not running (paused, or not yet started).
     */
    public void dropWritable() {
        Arrays.fill(writeTag, -1);
    }

    // ---- instruction fetch -------------------------------------------------------------

    /** {@return the RAM offset of the instruction at {@code pc}, filling the fetch TLB} */
    public long fetchOffset(long pc) {
        int i = (int) (pc >>> 12) & TLB_MASK;
        if (fetchTag[i] == ((pc & PAGE_MASK) | fetchKey)) {
            return pc + fetchAddend[i];
        }
        long gpa = translate(pc, ACCESS_FETCH);
        if (!ram.contains(gpa, 2)) {
            throw hart.trap(TrapCause.INSTRUCTION_ACCESS_FAULT, pc);
        }
        fetchTag[i] = (pc & PAGE_MASK) | fetchKey;
        fetchAddend[i] = (gpa & PAGE_MASK) - ramBase - (pc & PAGE_MASK);
        return gpa - ramBase;
    }

    /**
     * Fetches the instruction at {@code pc}, 16 or 32 bits, raw (not expanded).
     * Handles a 32-bit instruction that straddles two pages.
     */
    public int fetch(long pc) {
        long off = fetchOffset(pc);
        if ((pc & 0xFFF) <= 0xFFC) {
            return seg.get(GuestMemory.U32, off);
        }
        int low = seg.get(GuestMemory.U16, off) & 0xFFFF;
        if ((low & 3) != 3) {
            return low;
        }
        long off2 = fetchOffset(pc + 2);
        return low | (seg.get(GuestMemory.U16, off2) << 16);
    }

    /** {@return the instruction bits at {@code pc} for {@code mtval}, or 0 if they cannot be fetched} */
    long instructionBitsAt(long pc) {
        try {
            int w = fetch(pc);
            return (w & 3) == 3 ? w & 0xFFFF_FFFFL : w & 0xFFFF;
        } catch (Trap t) {
            return 0;
        }
    }

    // ---- the page-table walk -----------------------------------------------------------

    /**
     * Translates {@code gva} for one access (§4.3.2), updating A and D bits; with V=1 through
     * both stages ({@link #translateGuest}).
     *
     * @return the guest-physical address (with V=1, the supervisor-physical address)
     * @throws Trap a page fault, a guest-page fault, or an access fault when a page table lies
     *         outside RAM
     */
    long translate(long gva, int access) {
        int effective;
        boolean virt;
        if (access == ACCESS_FETCH) {
            effective = hart.priv;
            virt = hart.virt;
        } else {
            effective = effectiveDataPrivilege();
            virt = effectiveDataVirt();
        }
        if (virt) {
            long sum = hart.vsstatus & Mstatus.SUM;
            return translateGuest(gva, access, effective, sum != 0);
        }
        long mode = hart.satp >>> 60;
        if (effective == MACHINE || mode == 0) {
            return gva;
        }
        long s = hart.mstatus;
        return walk(gva, access, effective, hart.satp, (s & Mstatus.SUM) != 0, (s & Mstatus.MXR) != 0, false);
    }

    /**
     * The Sv39, Sv48 or Sv57 walk of {@code gva} over {@code atp} (§4.3.2): {@code satp} with
     * V=0, {@code vsatp} for the VS-stage, where every page-table address is a guest physical
     * address that the G-stage translates first ({@code guest}).
     *
     * @return the (guest) physical address
     */
    private long walk(long gva, int access, int effective, long atp, boolean sum, boolean mxr, boolean guest) {
        int levels = (int) ((atp >>> 60) - SATP_SV39) + 3;
        int vaBits = 12 + 9 * levels;
        if (((gva << (64 - vaBits)) >> (64 - vaBits)) != gva) {
            throw pageFault(gva, access);
        }
        while (true) {   // repeats only when another hart changed the PTE during the A/D update
            long table = (atp & PPN_MASK) << 12;
            boolean lostRace = false;
            for (int level = levels - 1; level >= 0; level--) {
                long pteGpa = table + ((gva >>> (12 + 9 * level)) & 511) * 8;
                long pteAddress = guest ? gstage(pteGpa, access, gva, true, false) : pteGpa;
                if (!ram.contains(pteAddress, 8)) {
                    throw accessFault(gva, access);
                }
                long pte = ram.readU64(pteAddress);
                if ((pte & PTE_V) == 0 || ((pte & PTE_R) == 0 && (pte & PTE_W) != 0) || (pte >>> 54) != 0) {
                    throw pageFault(gva, access);
                }
                long ppn = (pte >>> 10) & PPN_MASK;
                if ((pte & (PTE_R | PTE_X)) == 0) {
                    if ((pte & (PTE_A | PTE_D | PTE_U)) != 0) {
                        throw pageFault(gva, access);
                    }
                    table = ppn << 12;
                    continue;
                }
                if (!permitted(pte, effective, access, sum, mxr)) {
                    throw pageFault(gva, access);
                }
                if (level > 0 && (ppn & ((1L << (9 * level)) - 1)) != 0) {
                    throw pageFault(gva, access);   // misaligned superpage
                }
                long updated = pte | PTE_A | (access == ACCESS_WRITE ? PTE_D : 0);
                if (updated != pte) {
                    if (guest) {
                        gstage(pteGpa, access, gva, true, true);   // the A/D write is a G-stage store
                    }
                    // Hardware A/D update (§4.3.1): atomic with respect to other harts' walks.
                    long offset = pteAddress - ramBase;
                    if (!GuestMemory.ATOMIC_U64.compareAndSet(seg, offset, pte, updated)) {
                        lostRace = true;   // the PTE changed under us: walk again
                        break;
                    }
                    atomicWritten(offset, 8);
                }
                long pageMask = (1L << (12 + 9 * level)) - 1;
                return ((ppn << 12) & ~pageMask) | (gva & pageMask);
            }
            if (!lostRace) {
                throw pageFault(gva, access);   // a pointer PTE at the last level
            }
        }
    }

    private int effectiveDataPrivilege() {
        long s = hart.mstatus;
        return (s & Mstatus.MPRV) != 0 ? (int) ((s & Mstatus.MPP) >>> Mstatus.MPP_SHIFT) : hart.priv;
    }

    /** {@return V for data accesses: with MPRV, {@code mstatus.MPV} unless MPP is M (H extension § mstatus)} */
    private boolean effectiveDataVirt() {
        long s = hart.mstatus;
        if ((s & Mstatus.MPRV) != 0) {
            return (s & Mstatus.MPV) != 0 && (s & Mstatus.MPP) != Mstatus.MPP;
        }
        return hart.virt;
    }

    /** {@return whether a leaf PTE allows the access (§4.3.1, and the U-mode checks of §4.3.2 step 5)} */
    private static boolean permitted(long pte, int effective, int access, boolean sum, boolean mxr) {
        boolean userPage = (pte & PTE_U) != 0;
        if (effective == USER && !userPage) {
            return false;
        }
        if (effective == SUPERVISOR && userPage && (access == ACCESS_FETCH || !sum)) {
            return false;
        }
        return switch (access) {
            case ACCESS_FETCH, ACCESS_READ_EXECUTABLE -> (pte & PTE_X) != 0;
            case ACCESS_WRITE -> (pte & PTE_W) != 0;
            default -> (pte & PTE_R) != 0 || ((pte & PTE_X) != 0 && mxr);
        };
    }

    // ---- two-stage translation (H extension, § Two-Stage Address Translation) ----------

    /**
     * Translates a guest virtual address with V=1: the VS-stage over {@code vsatp} (Bare, Sv39,
     * Sv48, Sv57) turns it into a guest physical address, and the G-stage over {@code hgatp}
     * (Bare, Sv39x4, Sv48x4, Sv57x4) turns that, and every VS-stage page-table address, into a
     * supervisor physical address. A and D are set in both stages.
     *
     * @param effective the nominal privilege: SUPERVISOR for VS, USER for VU
     * @param sum       {@code vsstatus.SUM}
     */
    long translateGuest(long gva, int access, int effective, boolean sum) {
        long vsatp = hart.vsatp;
        if ((vsatp >>> 60) == 0) {
            return gstage(gva, access, gva, false, false);
        }
        boolean mxr = ((hart.mstatus | hart.vsstatus) & Mstatus.MXR) != 0;
        long gpa = walk(gva, access, effective, vsatp, sum, mxr, true);
        return gstage(gpa, access, gva, false, false);
    }

    /**
     * The G-stage (§ Guest Physical Address Translation): Sv39x4, Sv48x4 or Sv57x4 over
     * {@code hgatp}, a 16 KiB root table indexed by two more address bits, every leaf checked as
     * a U-mode access. A guest physical address wider than the mode's, an invalid or reserved
     * PTE, a missing permission or a misaligned superpage is a guest-page fault of the original
     * access's type, which reports {@code gva} in {@code stval} and the faulting guest physical
     * address (for an implicit access, that of the VS-stage PTE) in {@code htval}.
     *
     * @param access       the original access
     * @param implicit     this is a VS-stage page-table access, not the access itself
     * @param implicitWrite the implicit access writes (an A/D update)
     * @return the supervisor physical address
     */
    private long gstage(long gpa, int access, long gva, boolean implicit, boolean implicitWrite) {
        long hgatp = hart.hgatp;
        long mode = hgatp >>> 60;
        if (mode == 0) {
            return gpa;
        }
        int levels = (int) (mode - SATP_SV39) + 3;
        if ((gpa >>> (14 + 9 * levels)) != 0) {
            throw guestPageFault(gva, access, gpa, implicit, implicitWrite);
        }
        int needed = implicit ? (implicitWrite ? ACCESS_WRITE : ACCESS_READ) : access;
        boolean mxr = (hart.mstatus & Mstatus.MXR) != 0;
        while (true) {
            long table = (hgatp & PPN_MASK & ~3L) << 12;
            boolean lostRace = false;
            for (int level = levels - 1; level >= 0; level--) {
                long index = (gpa >>> (12 + 9 * level)) & (level == levels - 1 ? 2047 : 511);
                long pteAddr = table + index * 8;
                if (!ram.contains(pteAddr, 8)) {
                    throw accessFault(gva, access);
                }
                long pte = ram.readU64(pteAddr);
                if ((pte & PTE_V) == 0 || ((pte & PTE_R) == 0 && (pte & PTE_W) != 0) || (pte >>> 54) != 0) {
                    throw guestPageFault(gva, access, gpa, implicit, implicitWrite);
                }
                long ppn = (pte >>> 10) & PPN_MASK;
                if ((pte & (PTE_R | PTE_X)) == 0) {
                    if ((pte & (PTE_A | PTE_D | PTE_U)) != 0) {
                        throw guestPageFault(gva, access, gpa, implicit, implicitWrite);
                    }
                    table = ppn << 12;
                    continue;
                }
                if ((pte & PTE_U) == 0 || !permitted(pte, USER, needed, false, mxr)
                        || (level > 0 && (ppn & ((1L << (9 * level)) - 1)) != 0)) {
                    throw guestPageFault(gva, access, gpa, implicit, implicitWrite);
                }
                long updated = pte | PTE_A | (needed == ACCESS_WRITE ? PTE_D : 0);
                if (updated != pte) {
                    long offset = pteAddr - ramBase;
                    if (!GuestMemory.ATOMIC_U64.compareAndSet(seg, offset, pte, updated)) {
                        lostRace = true;
                        break;
                    }
                    atomicWritten(offset, 8);
                }
                long pageMask = (1L << (12 + 9 * level)) - 1;
                return ((ppn << 12) & ~pageMask) | (gpa & pageMask);
            }
            if (!lostRace) {
                throw guestPageFault(gva, access, gpa, implicit, implicitWrite);
            }
        }
    }

    private Trap guestPageFault(long gva, int access, long gpa, boolean implicit, boolean implicitWrite) {
        int cause = switch (access) {
            case ACCESS_FETCH -> TrapCause.INSTRUCTION_GUEST_PAGE_FAULT;
            case ACCESS_WRITE -> TrapCause.STORE_GUEST_PAGE_FAULT;
            default -> TrapCause.LOAD_GUEST_PAGE_FAULT;
        };
        long tinst = implicit ? (implicitWrite ? TINST_PTE_WRITE : TINST_PTE_READ) : 0;
        return hart.guestPageFault(cause, gva, gpa, tinst);
    }

    // ---- hypervisor loads and stores (H extension, § Hypervisor Virtual-Machine Load and Store Instructions)

    /**
     * HLV and HLVX: loads {@code width} bytes at guest virtual address {@code gva} as though
     * V=1 and the privilege were {@code hstatus.SPVP}, without the TLB.
     *
     * @param executable HLVX: the pages need execute permission instead of read
     * @return the value, zero-extended
     * @throws Trap a fault, with its trap value marked as a guest virtual address
     */
    public long hypervisorLoad(long gva, int width, boolean executable) {
        try {
            long v = 0;
            int access = executable ? ACCESS_READ_EXECUTABLE : ACCESS_READ;
            if ((gva & 0xFFF) > 0x1000 - width) {
                for (int b = 0; b < width; b++) {
                    v |= hypervisorRead(gva + b, 1, access) << (8 * b);
                }
                return v;
            }
            return hypervisorRead(gva, width, access);
        } catch (Trap t) {
            t.gva = true;
            throw t;
        }
    }

    private long hypervisorRead(long gva, int width, int access) {
        long spa = translateGuest(gva, access, hypervisorPrivilege(), (hart.vsstatus & Mstatus.SUM) != 0);
        if (!bus.isMapped(spa, width)) {
            throw hart.trap(TrapCause.LOAD_ACCESS_FAULT, gva);
        }
        return bus.read(spa, width);
    }

    /** HSV: stores the low {@code width} bytes of {@code value} at {@code gva}, as {@link #hypervisorLoad} loads. */
    public void hypervisorStore(long gva, int width, long value) {
        try {
            int priv = hypervisorPrivilege();
            boolean sum = (hart.vsstatus & Mstatus.SUM) != 0;
            long[] spa = new long[width];
            for (int b = 0; b < width; b++) {   // translate every byte's page first: a fault writes nothing
                spa[b] = b == 0 || ((gva + b) & 0xFFF) == 0 ? translateGuest(gva + b, ACCESS_WRITE, priv, sum) : spa[b - 1] + 1;
            }
            if ((gva & 0xFFF) <= 0x1000 - width && bus.isMapped(spa[0], width)) {
                writePhysical(spa[0], width, value);
                return;
            }
            for (int b = 0; b < width; b++) {
                if (!bus.isMapped(spa[b], 1)) {
                    throw hart.trap(TrapCause.STORE_ACCESS_FAULT, gva + b);
                }
            }
            for (int b = 0; b < width; b++) {
                writePhysical(spa[b], 1, value >>> (8 * b));
            }
        } catch (Trap t) {
            t.gva = true;
            throw t;
        }
    }

    private void writePhysical(long spa, int width, long value) {
        if (ram.contains(spa, width)) {
            writeRam(spa - ramBase, width, value);
        } else {
            bus.write(spa, width, value);
        }
    }

    /**
     * A store's write to RAM at {@code offset}, past the TLB: the bytes, then the code it
     * changed (the engines re-read it) and the dirty-page log (later stores to this page that
     * hit the TLB go unlogged).
     */
    private void writeRam(long offset, int width, long value) {
        switch (width) {
            case 1 -> seg.set(GuestMemory.U8, offset, (byte) value);
            case 2 -> seg.set(GuestMemory.U16, offset, (short) value);
            case 4 -> seg.set(GuestMemory.U32, offset, (int) value);
            default -> seg.set(GuestMemory.U64, offset, value);
        }
        if (codePages.written(offset, width)) {
            hart.sliceEnd = true;
        }
        ram.dirtied(offset, width);
    }

    private int hypervisorPrivilege() {
        return (hart.hstatus & Hstatus.SPVP) != 0 ? SUPERVISOR : USER;
    }

    private Trap pageFault(long gva, int access) {
        return hart.trap(switch (access) {
            case ACCESS_FETCH -> TrapCause.INSTRUCTION_PAGE_FAULT;
            case ACCESS_WRITE -> TrapCause.STORE_PAGE_FAULT;
            default -> TrapCause.LOAD_PAGE_FAULT;
        }, gva);
    }

    private Trap accessFault(long gva, int access) {
        return hart.trap(switch (access) {
            case ACCESS_FETCH -> TrapCause.INSTRUCTION_ACCESS_FAULT;
            case ACCESS_WRITE -> TrapCause.STORE_ACCESS_FAULT;
            default -> TrapCause.LOAD_ACCESS_FAULT;
        }, gva);
    }
}
