package dev.ember.riscv.cpu;

import static dev.ember.riscv.testing.HartFixture.enter;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import dev.ember.riscv.isa.TrapCause;
import dev.ember.riscv.testing.HartFixture;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Zicsr instructions (unprivileged ISA chapter 6) and the CSRs of the privileged ISA
 * (chapters 2 to 4, Sstc): read/modify/write semantics, which accesses write, access
 * control by privilege and by the counter and Sstc enables, and each register's WARL view.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(HartFixture.Engine.class)
class CsrTest {

    @Parameter
    HartFixture.Engine engine;


    private static final String S = enter(Privilege.SUPERVISOR);
    private static final String U = enter(Privilege.USER);

    private static long bit(char extension) {
        return 1L << (extension - 'A');
    }

    static Stream<Arguments> values() {
        return Stream.of(
            //        name                                          program                                                    reg   expected
            arguments("csrrw returns the old value",             "li t0, 5\n csrw mscratch, t0\n li t1, 7\n csrrw a0, mscratch, t1",  "a0", 5L),
            arguments("csrrw writes rs1",                        "li t1, 7\n csrrw a0, mscratch, t1\n csrr a1, mscratch",          "a1", 7L),
            arguments("csrrs returns the old value",             "li t0, 0xa\n csrw mscratch, t0\n li t1, 5\n csrrs a0, mscratch, t1", "a0", 0xAL),
            arguments("csrrs sets the bits of rs1",              "li t0, 0xa\n csrw mscratch, t0\n li t1, 5\n csrs mscratch, t1\n csrr a1, mscratch", "a1", 0xFL),
            arguments("csrrc clears the bits of rs1",            "li t0, 0xf\n csrw mscratch, t0\n li t1, 5\n csrc mscratch, t1\n csrr a1, mscratch", "a1", 0xAL),
            arguments("csrrwi writes the zero-extended uimm",    "li t0, -1\n csrw mscratch, t0\n csrwi mscratch, 31\n csrr a1, mscratch", "a1", 31L),
            arguments("csrrsi sets uimm bits",                   "li t0, 0x100\n csrw mscratch, t0\n csrsi mscratch, 3\n csrr a1, mscratch", "a1", 0x103L),
            arguments("csrrci clears uimm bits",                 "li t0, 0xff\n csrw mscratch, t0\n csrci mscratch, 0x11\n csrr a1, mscratch", "a1", 0xEEL),
            arguments("csrrw with rd = x0 still writes",         "li t0, 9\n csrrw zero, mscratch, t0\n csrr a1, mscratch",        "a1", 9L),
            arguments("mscratch holds all 64 bits",              "li t0, 0x8000000000000001\n csrw mscratch, t0\n csrr a1, mscratch", "a1", 0x8000_0000_0000_0001L),
            // §3.1.6 and §4.1.1: sstatus is a restricted view of mstatus.
            arguments("sstatus shows SIE but not MIE",           "csrsi mstatus, 0xa\n csrr a0, sstatus\n andi a0, a0, 0xa",       "a0", 2L),
            arguments("sstatus cannot set MIE",                  "csrsi sstatus, 8\n csrr a0, mstatus\n andi a0, a0, 8",           "a0", 0L),
            arguments("sstatus writes reach mstatus.SUM",        "li t0, 1 << 18\n csrs sstatus, t0\n csrr a0, mstatus\n srli a0, a0, 18\n andi a0, a0, 1", "a0", 1L),
            arguments("sstatus hides MPP",                       "li t0, 0x1800\n csrs mstatus, t0\n csrr a0, sstatus\n srli a0, a0, 11\n andi a0, a0, 3", "a0", 0L),
            arguments("mstatus UXL and SXL read as 64-bit",      "csrr a0, mstatus\n srli a0, a0, 32\n andi a0, a0, 0xf",          "a0", 0xAL),
            arguments("mstatus UXL and SXL ignore writes",       "li t0, 0xf << 32\n csrc mstatus, t0\n csrr a0, mstatus\n srli a0, a0, 32\n andi a0, a0, 0xf", "a0", 0xAL),
            arguments("sstatus UXL reads as 64-bit",             "csrr a0, sstatus\n srli a0, a0, 32\n andi a0, a0, 3",            "a0", 2L),
            arguments("mstatus.MPP never holds the reserved 2",
                    "li t0, 0x1800\n csrc mstatus, t0\n li t0, 0x1000\n csrs mstatus, t0\n csrr a0, mstatus\n srli a0, a0, 11\n andi a0, a0, 3\n addi a0, a0, -2\n snez a0, a0", "a0", 1L),
            arguments("mstatus.MPP holds S",                     "li t0, 0x800\n csrs mstatus, t0\n csrr a0, mstatus\n srli a0, a0, 11\n andi a0, a0, 3", "a0", 1L),
            // §3.1.1: MXL = 2 and the extension bits of RV64GC with S and U.
            arguments("misa is RV64 IMAFDC with S and U",        "csrr a0, misa",                                                  "a0",
                    (2L << 62) | bit('I') | bit('M') | bit('A') | bit('F') | bit('D') | bit('C') | bit('S') | bit('U')),
            arguments("misa ignores writes",                     "csrw misa, zero\n csrr a0, misa\n srli a0, a0, 62",              "a0", 2L),
            arguments("mhartid of hart 0",                       "csrr a0, mhartid",                                               "a0", 0L),
            arguments("csrrs x0 source reads a read-only CSR",   "csrrs a0, mhartid, zero",                                        "a0", 0L),
            arguments("csrrsi 0 reads a read-only CSR",          "csrrsi a0, mimpid, 0",                                           "a0", 0L),
            arguments("csrrci 0 reads a read-only CSR",          "li a0, 5\n csrrci a0, mvendorid, 0",                             "a0", 0L),
            // Zicntr: time is the platform clock; the fixture's clock starts at 1000 here.
            arguments("rdtime reads the machine clock",          "rdtime a0",                                                      "a0", 1000L),
            arguments("rdinstret counts retired instructions",   "rdinstret a0\n nop\n nop\n rdinstret a1\n sub a2, a1, a0",       "a2", 3L),
            arguments("rdcycle advances",                        "rdcycle a0\n nop\n rdcycle a1\n sltu a2, a0, a1",                "a2", 1L),
            // Zicsr §6.1 (CSR access ordering): "a value written to instret by one instruction
            // will be the value read by the following instruction".
            arguments("minstret reads back the value just written", "li t0, 1000\n csrw minstret, t0\n csrr a0, minstret",         "a0", 1000L),
            // Zicntr: instret counts retired instructions; an ecall raises an exception and does not retire.
            arguments("a trapping ecall does not retire",        "la t0, 1f\n csrw mtvec, t0\n csrr a0, minstret\n ecall\n1: csrr a1, minstret\n sub a0, a1, a0", "a0", 1L),
            // §3.1.12: mip.SSIP is writable by M-mode software; mip.MTIP is not.
            arguments("mip.SSIP is writable",                    "csrsi mip, 2\n csrr a0, mip\n andi a0, a0, 2",                   "a0", 2L),
            arguments("mip.MTIP ignores writes",                 "li t0, 0x80\n csrs mip, t0\n csrr a0, mip\n andi a0, a0, 0x80",  "a0", 0L),
            arguments("medeleg cannot delegate ecall from M",    "li t0, -1\n csrw medeleg, t0\n csrr a0, medeleg\n srli a0, a0, 11\n andi a0, a0, 1", "a0", 0L),
            arguments("mideleg holds only S-level interrupts",   "li t0, -1\n csrw mideleg, t0\n csrr a0, mideleg",                "a0", 0x222L),
            arguments("sie is mie masked by mideleg",            "li t0, 0x222\n csrw mideleg, t0\n li t0, 0xaaa\n csrw mie, t0\n csrr a0, sie", "a0", 0x222L),
            arguments("mepc clears bit 0",                       "li t0, 0x80000003\n csrw mepc, t0\n csrr a0, mepc",              "a0", 0x8000_0002L),
            // §4.1.11: a write with an unsupported MODE has no effect at all.
            arguments("satp ignores an unsupported mode",
                    "li t0, (8 << 60) | 0x80123\n csrw satp, t0\n li t1, (11 << 60) | 0x80456\n csrw satp, t1\n csrr a0, satp", "a0", (8L << 60) | 0x80123),
            arguments("satp ignores Sv32's mode on RV64",        "li t1, (1 << 60) | 0x80456\n csrw satp, t1\n csrr a0, satp",     "a0", 0L),
            arguments("satp accepts Sv39",                       "li t0, (8 << 60) | 0x80123\n csrw satp, t0\n csrr a0, satp",     "a0", (8L << 60) | 0x80123),
            arguments("satp accepts Sv48",                       "li t0, (9 << 60) | 0x80123\n csrw satp, t0\n csrr a0, satp",     "a0", (9L << 60) | 0x80123),
            arguments("satp accepts Sv57",                       "li t0, (10 << 60) | 0x80123\n csrw satp, t0\n csrr a0, satp",    "a0", (10L << 60) | 0x80123),
            arguments("satp accepts Bare",
                    "li t0, (8 << 60) | 0x80123\n csrw satp, t0\n csrw satp, zero\n csrr a0, satp",                           "a0", 0L),
            arguments("stimecmp is accessible in M-mode",        "li t0, 12345\n csrw stimecmp, t0\n csrr a0, stimecmp",           "a0", 12345L),
            arguments("stimecmp is accessible in S-mode with STCE and TM",
                    "li t0, 1 << 63\n csrw menvcfg, t0\n csrwi mcounteren, 2\n" + S + "li t0, 777\n csrw stimecmp, t0\n csrr a0, stimecmp", "a0", 777L));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("values")
    void readsAndWritesLikeTheSpec(String name, String asm, String reg, long expected) {
        HartFixture hart = HartFixture.load(engine, asm).time(1000).runToDone();
        assertEquals(expected, hart.x(reg), name);
    }

    /** Accesses that must complete without a trap. */
    static Stream<Arguments> allowed() {
        return Stream.of(
            arguments("S reads cycle with mcounteren.CY",        "csrwi mcounteren, 1\n" + S + "rdcycle a0"),
            arguments("S reads time with mcounteren.TM",         "csrwi mcounteren, 2\n" + S + "rdtime a0"),
            arguments("U reads instret with both enables",       "csrwi mcounteren, 4\n csrwi scounteren, 4\n" + U + "rdinstret a0"),
            arguments("U reads time with both enables",          "csrwi mcounteren, 2\n csrwi scounteren, 2\n" + U + "rdtime a0"),
            arguments("S reads hpmcounter3 with mcounteren.HPM3", "csrwi mcounteren, 8\n" + S + "csrr a0, hpmcounter3"),
            arguments("S reads and writes sscratch",             S + "csrw sscratch, t0\n csrr a0, sscratch"),
            arguments("S writes satp without TVM",               S + "csrw satp, zero"),
            arguments("U reads cycle with both enables",         "csrwi mcounteren, 1\n csrwi scounteren, 1\n" + U + "rdcycle a0"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("allowed")
    void accessCompletes(String name, String asm) {
        HartFixture.run(engine, asm);
    }

    /** Accesses that raise illegal-instruction; the program labels the access {@code fault}. */
    static Stream<Arguments> illegal() {
        return Stream.of(
            // §2.1: CSR address bits [11:10] = 11 are read-only.
            arguments("csrw to mhartid",                           "fault: csrw mhartid, t0"),
            arguments("csrrs with rs1 != x0 holding 0 to mvendorid", "li t0, 0\n fault: csrrs a0, mvendorid, t0"),
            arguments("csrrwi 0 to cycle",                         "fault: csrrwi a0, cycle, 0"),
            arguments("csrw to time in M-mode",                    "fault: csrw time, zero"),
            arguments("csrrc with rs1 != x0 to instret",           "li t0, 1\n fault: csrrc a0, instret, t0"),
            arguments("a CSR that does not exist (hstatus)",       "fault: csrr a0, 0x600"),
            // §2.1: CSR address bits [9:8] give the lowest privilege that may access it.
            arguments("S reads mstatus",                           S + "fault: csrr a0, mstatus"),
            arguments("S reads mscratch",                          S + "fault: csrr a0, mscratch"),
            arguments("S writes mepc",                             S + "fault: csrw mepc, zero"),
            arguments("U reads sstatus",                           U + "fault: csrr a0, sstatus"),
            arguments("U writes sscratch",                         U + "fault: csrw sscratch, zero"),
            // §3.1.11 and §4.1.5: counter enables.
            arguments("S reads cycle without mcounteren.CY",       S + "fault: rdcycle a0"),
            arguments("S reads time without mcounteren.TM",        "csrwi mcounteren, 5\n" + S + "fault: rdtime a0"),
            arguments("U reads time without scounteren.TM",        "csrwi mcounteren, 2\n" + U + "fault: rdtime a0"),
            arguments("U reads instret without mcounteren.IR",     "csrwi scounteren, 4\n" + U + "fault: rdinstret a0"),
            arguments("S reads hpmcounter3 without mcounteren.HPM3", "csrwi mcounteren, 7\n" + S + "fault: csrr a0, hpmcounter3"),
            // Sstc §2.1: stimecmp needs menvcfg.STCE and, below M, mcounteren.TM.
            arguments("S reads stimecmp without menvcfg.STCE",     "csrwi mcounteren, 2\n" + S + "fault: csrr a0, stimecmp"),
            arguments("S writes stimecmp without mcounteren.TM",   "li t0, 1 << 63\n csrw menvcfg, t0\n" + S + "fault: csrw stimecmp, zero"),
            // §3.1.6.5: mstatus.TVM traps satp accesses from S-mode.
            arguments("S reads satp under TVM",                    "li t0, 1 << 20\n csrs mstatus, t0\n" + S + "fault: csrr a0, satp"),
            // §3.1.6.6: FP CSRs need mstatus.FS != Off.
            arguments("fcsr with FS off",                          "fault: csrr a0, fcsr"),
            arguments("frm write with FS off",                     "fault: csrwi frm, 1"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("illegal")
    void illegalAccessTrapsWithTheInstructionInMtval(String name, String asm) {
        HartFixture hart = HartFixture.runToTrap(engine, asm);
        assertEquals(TrapCause.ILLEGAL_INSTRUCTION, hart.csr("mcause"), name + ": mcause");
        assertEquals(hart.symbol("fault"), hart.csr("mepc"), name + ": mepc");
        assertEquals(hart.readU32(hart.symbol("fault")), hart.csr("mtval"), name + ": mtval");
    }

    @Test
    void failedCsrWriteLeavesRdUnchanged() {
        HartFixture hart = HartFixture.runToTrap(engine, "li a0, 42\n csrrw a0, mhartid, zero");
        assertEquals(42L, hart.x("a0"));
    }

    @Test
    void secondHartReadsItsOwnHartId() {
        List<HartFixture> harts = HartFixture.sharing(engine, 2, "csrr a0, mhartid");
        assertEquals(1L, harts.get(1).runToDone().x("a0"));
    }

    // ---- the FP CSRs and mstatus.FS (unprivileged ISA §20.2, privileged ISA §3.1.6.6) ----

    private static final String FS_INITIAL = "li t0, 1 << 13\n csrs mstatus, t0\n";

    static Stream<Arguments> floatingPointCsrs() {
        return Stream.of(
            arguments("fcsr packs frm above fflags",   FS_INITIAL + "csrwi frm, 3\n csrwi fflags, 0x15\n csrr a0, fcsr",   "a0", (3L << 5) | 0x15),
            arguments("fflags keeps 5 bits",           FS_INITIAL + "li t1, -1\n csrw fflags, t1\n csrr a0, fflags",         "a0", 0x1FL),
            arguments("frm keeps 3 bits",              FS_INITIAL + "li t1, -1\n csrw frm, t1\n csrr a0, frm",               "a0", 7L),
            arguments("fcsr keeps 8 bits",             FS_INITIAL + "li t1, -1\n csrw fcsr, t1\n csrr a0, fcsr",             "a0", 0xFFL),
            arguments("fcsr write splits into frm",    FS_INITIAL + "li t1, 0x4a\n csrw fcsr, t1\n csrr a0, frm",            "a0", 2L),
            arguments("FP CSR write makes FS dirty",   FS_INITIAL + "csrwi fflags, 1\n csrr a0, mstatus\n srli a0, a0, 13\n andi a0, a0, 3", "a0", 3L),
            arguments("FS dirty sets mstatus.SD",      FS_INITIAL + "csrwi fflags, 1\n csrr a0, mstatus\n srli a0, a0, 63", "a0", 1L),
            arguments("FS initial leaves SD clear",    FS_INITIAL + "csrr a0, mstatus\n srli a0, a0, 63",                  "a0", 0L),
            arguments("sstatus.SD follows FS dirty",   FS_INITIAL + "csrwi frm, 1\n csrr a0, sstatus\n srli a0, a0, 63",   "a0", 1L),
            arguments("mstatus.SD ignores writes",     "li t0, 1 << 63\n csrs mstatus, t0\n csrr a0, mstatus\n srli a0, a0, 63", "a0", 0L));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("floatingPointCsrs")
    void floatingPointCsrsBehaveLikeTheSpec(String name, String asm, String reg, long expected) {
        assertEquals(expected, HartFixture.run(engine, asm).x(reg), name);
    }
}
