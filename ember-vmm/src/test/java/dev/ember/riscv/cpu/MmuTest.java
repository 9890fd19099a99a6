package dev.ember.riscv.cpu;

import static dev.ember.riscv.testing.HartFixture.enter;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import dev.ember.riscv.isa.TrapCause;
import dev.ember.riscv.testing.Assembler;
import dev.ember.riscv.testing.HartFixture;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Sv39, Sv48 and Sv57 translation (privileged ISA §4.3 to §4.6), run from S-mode.
 *
 * <p>Each case builds page tables from Java, then runs a program that turns on {@code satp}
 * in M-mode and drops to S-mode, where a 1 GiB identity mapping of RAM (RWX, A and D set)
 * keeps the code, the page tables and the data frames reachable. Test mappings live at
 * {@link #VA}. Faults are not delegated, so they end the run in M-mode with {@code mcause}
 * and {@code mtval}.
 *
 * <p>RAM layout: code at 0x8000_0000, page tables from {@link #PT_BASE}, 4 KiB data frames
 * from {@link #FRAMES} (frame {@code n}'s first doubleword holds {@link #marker}{@code (n)}),
 * a 2 MiB-aligned superpage frame at {@link #SUPERPAGE}, and nothing at {@link #NO_MEMORY}.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(HartFixture.Engine.class)
class MmuTest {

    @Parameter
    HartFixture.Engine engine;


    private static final long PT_BASE = 0x8010_0000L;
    private static final long SCRATCH = 0x8017_F000L;
    private static final long FRAMES = 0x8018_0000L;
    private static final long SUPERPAGE = 0x8020_0000L;
    private static final long NO_MEMORY = 0x1000_0000L;
    private static final long VA = 0x4000_0000L;

    static final long V = 1, R = 2, W = 4, X = 8, U = 16, A = 64, D = 128;

    static long frame(int n) {
        return FRAMES + 0x1000L * n;
    }

    static long marker(int n) {
        return 0x5A5A_0000_0000_0000L | n;
    }

    /** Page tables in the fixture's RAM, allocated upwards from {@link #PT_BASE}. */
    static final class PageTables {
        private final HartFixture hart;
        private final int levels;
        private long next = PT_BASE + 0x1000;

        PageTables(HartFixture hart, int levels) {
            this.hart = hart;
            this.levels = levels;
            map(0x8000_0000L, 0x8000_0000L, R | W | X | A | D, 2);
        }

        /** Maps the page of {@code gva} at level {@code leafLevel} (0: 4 KiB, 1: 2 MiB, 2: 1 GiB). */
        void map(long gva, long gpa, long flags, int leafLevel) {
            hart.write64(pteAddress(gva, leafLevel), ((gpa >>> 12) << 10) | V | flags);
        }

        /** Writes a raw PTE at {@code level} for {@code gva}, creating the tables above it. */
        void setPte(long gva, int level, long pte) {
            hart.write64(pteAddress(gva, level), pte);
        }

        /** {@return the address of the PTE for {@code gva} at {@code level}, creating the tables above it} */
        long pteAddress(long gva, int level) {
            long table = PT_BASE;
            for (int l = levels - 1; l > level; l--) {
                long slot = table + vpn(gva, l) * 8;
                long pte = hart.readU64(slot);
                if ((pte & V) == 0) {
                    pte = ((next >>> 12) << 10) | V;
                    next += 0x1000;
                    hart.write64(slot, pte);
                }
                table = (pte >>> 10) << 12;
            }
            return table + vpn(gva, level) * 8;
        }

        long pte(long gva, int level) {
            return hart.readU64(pteAddress(gva, level));
        }

        private static long vpn(long gva, int level) {
            return (gva >>> (12 + 9 * level)) & 511;
        }
    }

    static long satp(int levels) {
        return ((long) (levels + 5) << 60) | (PT_BASE >>> 12);
    }

    /** Loads {@code body} behind a prologue that enables translation and enters S-mode; {@code mSetup} runs in M first. */
    HartFixture load(int levels, String mSetup, String body, Consumer<PageTables> mappings) {
        String asm = "li t0, " + satp(levels) + "\n csrw satp, t0\n sfence.vma\n li a1, " + VA + "\n"
                + mSetup + enter(Privilege.SUPERVISOR) + body;
        HartFixture hart = HartFixture.load(engine, asm);
        for (int n = 0; n < 8; n++) {
            hart.write64(frame(n), marker(n));
        }
        mappings.accept(new PageTables(hart, levels));
        return hart;
    }

    private static final String SUM = "li t0, 1 << 18\n csrs mstatus, t0\n";
    private static final String MXR = "li t0, 1 << 19\n csrs mstatus, t0\n";

    // ---- translations that succeed ------------------------------------------------------

    static Stream<Arguments> loads() {
        return Stream.of(
            //        name                                       levels  M setup  body (a1 = VA)          mappings                                                       expected a0
            arguments("Sv39 load through a 4 KiB page",          3, "",   "ld a0, 0(a1)",              map(VA, frame(1), R | W | A | D, 0),                           marker(1)),
            arguments("Sv48 load through a 4 KiB page",          4, "",   "ld a0, 0(a1)",              map(VA, frame(1), R | W | A | D, 0),                           marker(1)),
            arguments("Sv57 load through a 4 KiB page",          5, "",   "ld a0, 0(a1)",              map(VA, frame(1), R | W | A | D, 0),                           marker(1)),
            arguments("Sv39 load through a 1 GiB page",          3, "",   "li a1, " + frame(2) + "\n ld a0, 0(a1)", NOTHING,                                  marker(2)),
            arguments("Sv39 load through a 2 MiB superpage",     3, "",   "li t0, 0x212340\n add a1, a1, t0\n ld a0, 0(a1)",
                    map(VA + 0x20_0000, SUPERPAGE, R | A, 1),                                                                                        0x5EEDL),
            arguments("Sv48 reaches an address beyond Sv39",     4, "",   "li a1, 0x100000000000\n ld a0, 0(a1)",
                    map(0x1000_0000_0000L, frame(3), R | A, 0),                                                                                      marker(3)),
            arguments("Sv57 reaches an address beyond Sv48",     5, "",   "li a1, 0x10000000000000\n ld a0, 0(a1)",
                    map(0x10_0000_0000_0000L, frame(4), R | A, 0),                                                                                   marker(4)),
            arguments("Sv39 maps the top of the address space",  3, "",   "li a1, -4096\n ld a0, 0(a1)",
                    map(-4096L, frame(5), R | A, 0),                                                                                                 marker(5)),
            arguments("a store through a mapping reaches its frame", 3, "", "li t0, 77\n sd t0, 8(a1)\n li t1, " + frame(1) + "\n ld a0, 8(t1)",
                    map(VA, frame(1), R | W | A | D, 0),                                                                                             77L),
            arguments("a misaligned load spans two mapped frames", 3, "", "li t0, 0xffc\n add a1, a1, t0\n ld a0, 0(a1)",
                    with(pt -> { pt.map(VA, frame(1), R | A, 0); pt.map(VA + 0x1000, frame(3), R | A, 0); }),                                            (3L << 32) | 0xCAFE_F00DL),
            // §4.3.1 and §3.1.6.3: SUM lets S-mode read and write user pages.
            arguments("SUM lets S-mode load from a U page",      3, SUM,  "ld a0, 0(a1)",              map(VA, frame(1), R | W | U | A | D, 0),                       marker(1)),
            // §3.1.6.3: MXR makes execute-only pages readable.
            arguments("MXR makes an execute-only page readable", 3, MXR,  "ld a0, 0(a1)",              map(VA, frame(1), X | A, 0),                                   marker(1)),
            // §3.1.6.3: MPRV translates M-mode loads with MPP's privilege.
            arguments("MPRV translates M-mode loads",            3, "li t0, (1 << 17) | (1 << 11)\n csrs mstatus, t0\n ld a0, 0(a1)\n j done\n", "",
                    map(VA, frame(1), R | A, 0),                                                                                                     marker(1)));
    }

    private static final Consumer<PageTables> NOTHING = pt -> { };

    private static Consumer<PageTables> map(long gva, long gpa, long flags, int level) {
        return pt -> pt.map(gva, gpa, flags, level);
    }

    private static Consumer<PageTables> with(Consumer<PageTables> mappings) {
        return mappings;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("loads")
    void translatedAccessReachesTheMappedFrame(String name, int levels, String mSetup, String body,
            Consumer<PageTables> mappings, long expected) {
        HartFixture hart = load(levels, mSetup, body, mappings);
        hart.write64(SUPERPAGE + 0x12340, 0x5EED);
        hart.write64(frame(1) + 0xFF8, 0xCAFE_F00D_0000_0000L);
        assertEquals(expected, hart.runToDone().x("a0"), name);
    }

    // ---- faults -------------------------------------------------------------------------

    static Stream<Arguments> faults() {
        return Stream.of(
            //        name                                        levels M setup  body (a1 = VA)     mappings                                  cause                                tval
            arguments("store to a read-only page",               3, "",  "sd zero, 0(a1)",     map(VA, frame(1), R | A, 0),              TrapCause.STORE_PAGE_FAULT,          VA),
            arguments("amoadd to a read-only page",              3, "",  "amoadd.d a0, a0, (a1)", map(VA, frame(1), R | A, 0),           TrapCause.STORE_PAGE_FAULT,          VA),
            arguments("fetch from a non-executable page",        3, "",  "jr a1",              map(VA, frame(1), R | W | A | D, 0),      TrapCause.INSTRUCTION_PAGE_FAULT,    VA),
            arguments("load from a U page without SUM",          3, "",  "ld a0, 8(a1)",       map(VA, frame(1), R | W | U | A | D, 0),  TrapCause.LOAD_PAGE_FAULT,           VA + 8),
            arguments("fetch from a U page in S-mode, even with SUM", 3, SUM, "jr a1",        map(VA, frame(1), R | X | U | A, 0),      TrapCause.INSTRUCTION_PAGE_FAULT,    VA),
            arguments("load from an execute-only page without MXR", 3, "", "ld a0, 0(a1)",     map(VA, frame(1), X | A, 0),              TrapCause.LOAD_PAGE_FAULT,           VA),
            arguments("load through an invalid PTE",             3, "",  "ld a0, 0(a1)",       NOTHING,                                TrapCause.LOAD_PAGE_FAULT,           VA),
            arguments("store through an invalid PTE",            3, "",  "sd a0, 0(a1)",       NOTHING,                                TrapCause.STORE_PAGE_FAULT,          VA),
            // §4.3.2 step 3: W without R is reserved.
            arguments("load through a write-only PTE",           3, "",  "ld a0, 0(a1)",       map(VA, frame(1), W | A | D, 0),          TrapCause.LOAD_PAGE_FAULT,           VA),
            // §4.3.2 step 6: a superpage whose PPN is not aligned to its size.
            arguments("load through a misaligned 2 MiB superpage", 3, "", "ld a0, 0(a1)",      map(VA, frame(1), R | A, 1),              TrapCause.LOAD_PAGE_FAULT,           VA),
            arguments("load through a misaligned 1 GiB page",    3, "",  "ld a0, 0(a1)",       map(VA, SUPERPAGE, R | A, 2),             TrapCause.LOAD_PAGE_FAULT,           VA),
            // §4.4.1: bits 63..39 must equal bit 38 (Sv39), 63..48 bit 47 (Sv48), 63..57 bit 56 (Sv57).
            arguments("Sv39 load from a non-canonical address",  3, "",  "li a1, 0x8000000000\n ld a0, 0(a1)", NOTHING,            TrapCause.LOAD_PAGE_FAULT,           0x80_0000_0000L),
            arguments("Sv39 store to a non-canonical address",   3, "",  "li a1, 0x8000000000\n sd a0, 0(a1)", NOTHING,            TrapCause.STORE_PAGE_FAULT,          0x80_0000_0000L),
            arguments("Sv48 load from a non-canonical address",  4, "",  "li a1, 0x800000000000\n ld a0, 0(a1)", NOTHING,          TrapCause.LOAD_PAGE_FAULT,           0x8000_0000_0000L),
            arguments("Sv57 load from a non-canonical address",  5, "",  "li a1, 0x100000000000000\n ld a0, 0(a1)", NOTHING,        TrapCause.LOAD_PAGE_FAULT,           0x100_0000_0000_0000L),
            // §4.3.2 step 2: a PTE access that fails a PMA check is an access fault of the original type.
            arguments("load through a page table outside RAM",   3, "",  "ld a0, 0(a1)",
                    with(pt -> pt.setPte(VA, 2, ((NO_MEMORY >>> 12) << 10) | V)),                                                  TrapCause.LOAD_ACCESS_FAULT,         VA),
            arguments("store through a page table outside RAM",  3, "",  "sd a0, 0(a1)",
                    with(pt -> pt.setPte(VA, 2, ((NO_MEMORY >>> 12) << 10) | V)),                                                  TrapCause.STORE_ACCESS_FAULT,        VA),
            arguments("load from a page mapped to no memory",    3, "",  "ld a0, 0(a1)",       map(VA, NO_MEMORY, R | A, 0),             TrapCause.LOAD_ACCESS_FAULT,         VA),
            arguments("store to a page mapped to no memory",     3, "",  "sd a0, 0(a1)",       map(VA, NO_MEMORY, R | W | A | D, 0),     TrapCause.STORE_ACCESS_FAULT,        VA),
            arguments("fetch from a page mapped to no memory",   3, "",  "jr a1",              map(VA, NO_MEMORY, R | X | A, 0),         TrapCause.INSTRUCTION_ACCESS_FAULT,  VA),
            // A misaligned access reports the address of the part that faults.
            arguments("misaligned load whose second page is unmapped", 3, "", "li t0, 0xffc\n add a1, a1, t0\n ld a0, 0(a1)", map(VA, frame(1), R | A, 0),       TrapCause.LOAD_PAGE_FAULT,           VA + 0x1000));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("faults")
    void faultingAccessReportsCauseAndAddress(String name, int levels, String mSetup, String body,
            Consumer<PageTables> mappings, int cause, long tval) {
        HartFixture hart = load(levels, mSetup, body, mappings).run();
        assertEquals(HartFixture.Outcome.TRAP, hart.outcome(), name + ": outcome");
        assertEquals(cause, hart.csr("mcause"), name + ": mcause");
        assertEquals(tval, hart.csr("mtval"), name + ": mtval");
    }

    /** §3.1.16: mepc of an instruction page fault is the faulting target, the address that could not be fetched. */
    @Test
    void instructionPageFaultRecordsTheTargetInMepc() {
        HartFixture hart = load(3, "", "jr a1", map(VA, frame(1), R | A, 0)).run();
        assertEquals(VA, hart.csr("mepc"));
    }

    /**
     * §3.1.16: when an instruction's second half lies on a page that faults, mtval holds the
     * address of that half and mepc the start of the instruction.
     */
    @Test
    void instructionStraddlingIntoAnUnmappedPageFaultsAtTheSecondHalf() {
        HartFixture hart = load(3, "", "li t0, " + (VA + 0xFFE) + "\n jr t0", map(VA, frame(1), R | X | A, 0));
        hart.memory().write16(frame(1) + 0xFFE, 0x0513);   // the low half of addi a0, zero, 7
        hart.run();
        assertEquals(TrapCause.INSTRUCTION_PAGE_FAULT, hart.csr("mcause"), "mcause");
        assertEquals(VA + 0x1000, hart.csr("mtval"), "mtval");
        assertEquals(VA + 0xFFE, hart.csr("mepc"), "mepc");
    }

    @Test
    void compressedInstructionAtTheEndOfAPageRunsWithoutTouchingTheNext() {
        HartFixture hart = load(3, "", "li t0, " + (VA + 0xFFE) + "\n jr t0", map(VA, frame(1), R | X | A, 0));
        hart.memory().write16(frame(1) + 0xFFE, 0x4515);   // c.li a0, 5
        hart.run();
        assertEquals(5L, hart.x("a0"), "a0");
        assertEquals(VA + 0x1000, hart.csr("mepc"), "the next fetch faults");
    }

    // ---- physical accesses with nothing behind them (M-mode, no translation) -----------

    static Stream<Arguments> physicalFaults() {
        return Stream.of(
            arguments("load from no memory",  "li a1, 0x10000000\n ld a0, 0(a1)",  TrapCause.LOAD_ACCESS_FAULT),
            arguments("store to no memory",   "li a1, 0x10000000\n sd a0, 0(a1)",  TrapCause.STORE_ACCESS_FAULT),
            arguments("fetch from no memory", "li a1, 0x10000000\n jr a1",         TrapCause.INSTRUCTION_ACCESS_FAULT),
            arguments("load just past RAM",   "li a1, 0x80400000\n lw a0, 0(a1)",  TrapCause.LOAD_ACCESS_FAULT));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("physicalFaults")
    void physicalAccessToNothingIsAnAccessFault(String name, String asm, int cause) {
        HartFixture hart = HartFixture.runToTrap(engine, asm);
        assertEquals(cause, hart.csr("mcause"), name + ": mcause");
        assertEquals(hart.x("a1"), hart.csr("mtval"), name + ": mtval");
    }

    // ---- accessed and dirty bits (§4.3.1, hardware update) ------------------------------

    static Stream<Arguments> accessedAndDirty() {
        return Stream.of(
            //        name                                   body (a1 = VA)                          initial flags  expected flags
            arguments("a load sets A only",                 "ld a0, 0(a1)",                         R | W,         V | R | W | A),
            arguments("a store sets A and D",               "sd a0, 0(a1)",                         R | W,         V | R | W | A | D),
            arguments("a store to an accessed page sets D", "sd a0, 0(a1)",                         R | W | A,     V | R | W | A | D),
            arguments("an AMO sets A and D",                "amoadd.d a0, a0, (a1)",                R | W,         V | R | W | A | D),
            arguments("a fetch sets A",                     "jalr ra, 0(a1)",                       R | X,         V | R | X | A),
            arguments("a faulting store leaves the PTE alone", "sd a0, 0(a1)",                      R,             V | R),
            arguments("a load after a store keeps D",       "sd a0, 0(a1)\n ld a0, 0(a1)",          R | W,         V | R | W | A | D));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("accessedAndDirty")
    void hardwareUpdatesAccessedAndDirtyBits(String name, String body, long flags, long expected) {
        HartFixture hart = load(3, "", body, map(VA, frame(1), flags, 0));
        hart.write64(frame(1), 0x0000_8067L);   // jalr zero, 0(ra): the fetch case returns at once
        hart.run();
        assertEquals(expected, new PageTables(hart, 3).pte(VA, 0) & 0x3FF, name);
    }

    // ---- SFENCE.VMA ---------------------------------------------------------------------

    /** §4.2.1: after SFENCE.VMA, a translation sees the PTE as stored. Scratch holds the PTE's address and its new value. */
    private static final String REMAP = """
            ld a0, 0(a1)
            li t1, %d
            ld t2, 0(t1)
            ld t3, 8(t1)
            sd t3, 0(t2)
            %s
            ld a0, 0(a1)
            """.formatted(SCRATCH, "%s");

    static Stream<Arguments> fences() {
        return Stream.of(
            arguments("sfence.vma makes a remapped page visible",            "sfence.vma"),
            arguments("sfence.vma with an address makes it visible",       "sfence.vma a1"),
            arguments("sfence.vma with an address and ASID makes it visible", "sfence.vma a1, zero"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fences")
    void sfenceVmaMakesAChangedPteVisible(String name, String fence) {
        HartFixture hart = load(3, "", REMAP.formatted(fence), map(VA, frame(1), R | A, 0));
        PageTables tables = new PageTables(hart, 3);
        hart.write64(SCRATCH, tables.pteAddress(VA, 0));
        hart.write64(SCRATCH + 8, ((frame(2) >>> 12) << 10) | V | R | A);
        assertEquals(marker(2), hart.runToDone().x("a0"), name);
    }

    /**
     * §4.2.1 for instruction fetches, in one interpreter slice as the vCPU loop runs it: code
     * that remaps its own page and executes SFENCE.VMA fetches its next instruction through the
     * new mapping. The page at VA holds the same four instructions in frames 1 and 2 except
     * for the value loaded into a0, so a0 tells which frame the last fetches came from.
     */
    @Test
    void sfenceVmaMakesARemappedCodePageVisibleWithinASlice() {
        HartFixture hart = load(3, "", "li t0, " + VA + "\n jalr ra, 0(t0)\n", map(VA, frame(1), R | X | A, 0));
        PageTables tables = new PageTables(hart, 3);
        long pteGpa = tables.pteAddress(VA, 0);
        long remapped = ((frame(2) >>> 12) << 10) | V | R | X | A;
        String prologue = "li t2, " + pteGpa + "\n li t3, " + remapped + "\n";
        for (int frame = 1; frame <= 2; frame++) {
            byte[] code = Assembler.assemble(prologue + "sd t3, 0(t2)\n sfence.vma\n li a0, " + frame + "\n jr ra\n");
            for (int off = 0; off < code.length; off++) {
                long gpa = frame(frame) + off;
                long word = hart.readU64(gpa & ~7L);
                int shift = (int) (gpa & 7) * 8;
                hart.write64(gpa & ~7L, (word & ~(0xFFL << shift)) | ((code[off] & 0xFFL) << shift));
            }
        }
        // Slices as the vCPU loop runs them (xRET ends one); the fence must end its own slice.
        var interpreter = new dev.ember.riscv.interp.Interpreter(hart.hart());
        for (int slice = 0; slice < 50; slice++) {
            interpreter.run(4096);
        }
        assertEquals(2L, hart.x("a0"));
    }

    @Test
    void writingSatpSwitchesAddressSpaces() {
        // Two Sv39 roots map VA to different frames; S-mode switches from one to the other.
        long secondRoot = PT_BASE + 0x4_0000;
        HartFixture hart = load(3, "", "ld a0, 0(a1)\n li t0, " + (satp(3) - (PT_BASE >>> 12) + (secondRoot >>> 12))
                + "\n csrw satp, t0\n sfence.vma\n ld a0, 0(a1)", map(VA, frame(1), R | A, 0));
        // The second root: a copy of the first whose VA slot leads, through its own level-1
        // and level-0 tables, to frame 6. VA has VPN[1] = VPN[0] = 0.
        for (int i = 0; i < 512; i++) {
            hart.write64(secondRoot + 8L * i, hart.readU64(PT_BASE + 8L * i));
        }
        long level1 = secondRoot + 0x1000;
        long level0 = secondRoot + 0x2000;
        hart.write64(secondRoot + 8 * ((VA >>> 30) & 511), ((level1 >>> 12) << 10) | V);
        hart.write64(level1, ((level0 >>> 12) << 10) | V);
        hart.write64(level0, ((frame(6) >>> 12) << 10) | V | R | A);
        assertEquals(marker(6), hart.runToDone().x("a0"));
    }
}
