package dev.ember.riscv.cpu;

import static dev.ember.riscv.testing.HartFixture.enter;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import dev.ember.riscv.isa.TrapCause;
import dev.ember.riscv.testing.HartFixture;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Traps, trap return, interrupts and the virtualisation traps (privileged ISA chapter 3 and
 * §4.1, Sstc). Unhandled traps land on the fixture's {@code trap} label, which is where
 * {@code mtvec} and {@code stvec} point unless a program installs its own handler.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(HartFixture.Engine.class)
class PrivilegedTest {

    @Parameter
    HartFixture.Engine engine;


    private static final String S = enter(Privilege.SUPERVISOR);
    private static final String U = enter(Privilege.USER);
    /** From S-mode: sret to the next instruction, in the mode sstatus.SPP names. */
    private static final String SRET = "la t0, 1f\n csrw sepc, t0\n sret\n1:\n";
    private static final long INTERRUPT = TrapCause.INTERRUPT;

    // ---- synchronous exceptions ---------------------------------------------------------

    static Stream<Arguments> exceptions() {
        return Stream.of(
            //        name                            program (the faulting instruction is at fault)   mcause
            arguments("ecall from M",                 "fault: ecall",                                   TrapCause.ECALL_FROM_M),
            arguments("ecall from S",                 S + "fault: ecall",                               TrapCause.ECALL_FROM_S),
            arguments("ecall from U",                 U + "fault: ecall",                               TrapCause.ECALL_FROM_U),
            arguments("ebreak",                       "fault: ebreak",                                  TrapCause.BREAKPOINT),
            arguments("an undelegated U ecall goes to M", "li t0, 1 << 9\n csrw medeleg, t0\n" + U + "fault: ecall", TrapCause.ECALL_FROM_U),
            arguments("a delegated cause raised in M stays in M",
                    "li t0, 1 << 2\n csrw medeleg, t0\n fault: .word 0x0000000b",                                  TrapCause.ILLEGAL_INSTRUCTION));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("exceptions")
    void exceptionTrapsToMachineModeWithItsCause(String name, String asm, int cause) {
        HartFixture hart = HartFixture.runToTrap(engine, asm);
        assertEquals(cause, hart.csr("mcause"), name + ": mcause");
        assertEquals(hart.symbol("fault"), hart.csr("mepc"), name + ": mepc");
        assertEquals(Privilege.MACHINE, hart.privilege(), name + ": privilege");
    }

    /** §3.1.8: medeleg sends a trap from S or U to S-mode. */
    static Stream<Arguments> delegated() {
        return Stream.of(
            arguments("ecall from U delegated",       "li t0, 1 << 8\n csrw medeleg, t0\n" + U + "fault: ecall",  TrapCause.ECALL_FROM_U),
            arguments("ecall from S delegated",       "li t0, 1 << 9\n csrw medeleg, t0\n" + S + "fault: ecall",  TrapCause.ECALL_FROM_S),
            arguments("illegal instruction from S delegated",
                    "li t0, 1 << 2\n csrw medeleg, t0\n" + S + "fault: .word 0x0000000b",                         TrapCause.ILLEGAL_INSTRUCTION),
            arguments("breakpoint from U delegated",  "li t0, 1 << 3\n csrw medeleg, t0\n" + U + "fault: ebreak", TrapCause.BREAKPOINT));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("delegated")
    void delegatedExceptionTrapsToSupervisorMode(String name, String asm, int cause) {
        HartFixture hart = HartFixture.runToTrap(engine, asm);
        assertEquals(cause, hart.csr("scause"), name + ": scause");
        assertEquals(hart.symbol("fault"), hart.csr("sepc"), name + ": sepc");
        assertEquals(Privilege.SUPERVISOR, hart.privilege(), name + ": privilege");
        assertEquals(0L, hart.csr("mcause"), name + ": M-mode saw nothing");
    }

    /** §3.1.16: an illegal-instruction trap writes the faulting instruction to mtval. */
    static Stream<Arguments> illegal() {
        return Stream.of(
            arguments("an unused opcode (custom-0)",  "fault: .word 0x1234500b"),
            arguments("mret in S-mode",               S + "fault: mret"),
            arguments("mret in U-mode",               U + "fault: mret"),
            arguments("sret in U-mode",               U + "fault: sret"),
            arguments("sfence.vma in U-mode",         U + "fault: sfence.vma"),
            // §3.1.6.5: TSR, TW and TVM trap S-mode's sret, wfi and satp/sfence.vma.
            arguments("sret in S-mode with TSR",      "li t0, 1 << 22\n csrs mstatus, t0\n" + S + "fault: sret"),
            arguments("wfi in S-mode with TW",        "li t0, 1 << 21\n csrs mstatus, t0\n" + S + "fault: wfi"),
            arguments("sfence.vma in S-mode with TVM", "li t0, 1 << 20\n csrs mstatus, t0\n" + S + "fault: sfence.vma"),
            arguments("csrw satp in S-mode with TVM", "li t0, 1 << 20\n csrs mstatus, t0\n" + S + "fault: csrw satp, zero"),
            // §3.3.3: WFI in U-mode may trap; this hart traps at once.
            arguments("wfi in U-mode",                U + "fault: wfi"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("illegal")
    void illegalInstructionReportsItsBitsInMtval(String name, String asm) {
        HartFixture hart = HartFixture.runToTrap(engine, asm);
        assertEquals(TrapCause.ILLEGAL_INSTRUCTION, hart.csr("mcause"), name + ": mcause");
        assertEquals(hart.readU32(hart.symbol("fault")), hart.csr("mtval"), name + ": mtval");
    }

    @Test
    void tsrDoesNotAffectSretInMachineMode() {
        HartFixture hart = HartFixture.run(engine, "li t0, (1 << 22) | (1 << 8)\n csrs mstatus, t0\n la t0, 1f\n csrw sepc, t0\n sret\n1:");
        assertEquals(Privilege.SUPERVISOR, hart.privilege());
    }

    // ---- trap entry and return: the mstatus stack ---------------------------------------

    /** The field of mstatus a case checks: its shift and width. */
    private enum Field {
        SIE(1, 1), MIE(3, 1), SPIE(5, 1), MPIE(7, 1), SPP(8, 1), MPP(11, 2), MPRV(17, 1);

        final int shift;
        final long mask;

        Field(int shift, int width) {
            this.shift = shift;
            this.mask = (1L << width) - 1;
        }
    }

    static Stream<Arguments> statusStack() {
        String mpie = "li t0, 1 << 7\n csrs mstatus, t0\n";
        String sie = "csrsi mstatus, 2\n";
        return Stream.of(
            // §3.1.6.1 and §3.3.2: MRET.
            arguments("mret copies MPIE into MIE",          mpie + S,                                   Field.MIE,  1L),
            arguments("mret sets MPIE",                     S,                                          Field.MPIE, 1L),
            arguments("mret sets MPP to U",                 S,                                          Field.MPP,  0L),
            arguments("mret to S clears MPRV",              "li t0, 1 << 17\n csrs mstatus, t0\n" + S,  Field.MPRV, 0L),
            arguments("mret to M keeps MPRV",
                    "li t0, (1 << 17) | 0x1800\n csrs mstatus, t0\n la t0, 1f\n csrw mepc, t0\n mret\n1:", Field.MPRV, 1L),
            // SRET.
            arguments("sret copies SPIE into SIE",          "li t0, 1 << 5\n csrs mstatus, t0\n" + S + SRET,         Field.SIE,  1L),
            arguments("sret sets SPIE",                     S + SRET,                                   Field.SPIE, 1L),
            arguments("sret sets SPP to U",                 "li t0, 1 << 8\n csrs mstatus, t0\n" + S + SRET, Field.SPP, 0L),
            // Trap entry into M-mode.
            arguments("trap to M saves MIE in MPIE",        mpie + S + "ecall",                         Field.MPIE, 1L),
            arguments("trap to M clears MIE",               mpie + S + "ecall",                         Field.MIE,  0L),
            arguments("trap to M from S records S in MPP",  S + "ecall",                                Field.MPP,  1L),
            arguments("trap to M from U records U in MPP",  U + "ecall",                                Field.MPP,  0L),
            arguments("trap to M from M records M in MPP",  "ecall",                                    Field.MPP,  3L),
            // Trap entry into S-mode.
            arguments("trap to S saves SIE in SPIE",        "li t0, 1 << 8\n csrw medeleg, t0\n" + sie + U + "ecall", Field.SPIE, 1L),
            arguments("trap to S clears SIE",               "li t0, 1 << 8\n csrw medeleg, t0\n" + sie + U + "ecall", Field.SIE,  0L),
            arguments("trap to S from U records U in SPP",  "li t0, 1 << 8\n csrw medeleg, t0\n" + U + "ecall",       Field.SPP,  0L),
            arguments("trap to S from S records S in SPP",  "li t0, 1 << 9\n csrw medeleg, t0\n" + S + "ecall",       Field.SPP,  1L),
            arguments("trap to S leaves MPP alone",
                    "li t0, 1 << 9\n csrw medeleg, t0\n" + S + "ecall",                                               Field.MPP,  0L));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("statusStack")
    void trapEntryAndReturnUpdateMstatus(String name, String asm, Field field, long expected) {
        HartFixture hart = HartFixture.load(engine, asm).run();
        assertEquals(expected, (hart.csr("mstatus") >>> field.shift) & field.mask, name + ": " + field);
    }

    static Stream<Arguments> privilegeAfterReturn() {
        return Stream.of(
            arguments("mret enters the mode in MPP (S)",    S,                                          Privilege.SUPERVISOR),
            arguments("mret enters the mode in MPP (U)",    U,                                          Privilege.USER),
            arguments("sret with SPP = U enters U",         S + SRET,                                   Privilege.USER),
            arguments("sret with SPP = S enters S",         "li t0, 1 << 8\n csrs mstatus, t0\n" + S + SRET, Privilege.SUPERVISOR));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("privilegeAfterReturn")
    void trapReturnEntersThePreviousPrivilege(String name, String asm, int privilege) {
        assertEquals(privilege, HartFixture.run(engine, asm).privilege(), name);
    }

    // ---- interrupts ---------------------------------------------------------------------

    private static final String ENABLE_ALL_IN_M = "li t0, 0xaaa\n csrw mie, t0\n csrsi mstatus, 8\n1: j 1b\n";

    @Test
    void softwareInterruptTrapsWithItsCause() {
        HartFixture hart = HartFixture.load(engine, "li t0, 8\n csrw mie, t0\n csrsi mstatus, 8\n1: j 1b");
        hart.hart().setPending(TrapCause.MSI, true);
        assertEquals(INTERRUPT | TrapCause.MSI, hart.run().csr("mcause"));
    }

    /** §3.1.7: mepc of an interrupt is the first instruction not executed. */
    @Test
    void interruptRecordsTheNextInstructionInMepc() {
        HartFixture hart = HartFixture.load(engine, "li t0, 8\n csrw mie, t0\n csrsi mstatus, 8\n next: j next");
        hart.hart().setPending(TrapCause.MSI, true);
        assertEquals(hart.symbol("next"), hart.run().csr("mepc"));
    }

    /** §3.1.7: in vectored mode interrupts go to BASE + 4 * cause; exceptions go to BASE. */
    private static final String VECTORED = """
            la t0, vec
            ori t0, t0, 1
            csrw mtvec, t0
            li t0, 0xaaa
            csrw mie, t0
            csrsi mstatus, 8
            %s
            1: j 1b
            .balign 256
            vec:
            j v0
            j v1
            j v2
            j v3
            j v4
            j v5
            j v6
            j v7
            v0: li a0, 0
            j done
            v1: li a0, 1
            j done
            v2: li a0, 2
            j done
            v3: li a0, 3
            j done
            v4: li a0, 4
            j done
            v5: li a0, 5
            j done
            v6: li a0, 6
            j done
            v7: li a0, 7
            j done
            """;

    @Test
    void vectoredModeSendsAnInterruptToItsEntry() {
        HartFixture hart = HartFixture.load(engine, VECTORED.formatted(""));
        hart.hart().setPending(TrapCause.MSI, true);
        assertEquals(3L, hart.runToDone().x("a0"));
    }

    @Test
    void vectoredModeSendsAnExceptionToBase() {
        assertEquals(0L, HartFixture.load(engine, VECTORED.formatted("ecall")).runToDone().x("a0"));
    }

    @Test
    void directModeSendsAnInterruptToBase() {
        HartFixture hart = HartFixture.load(engine, "la t0, handler\n csrw mtvec, t0\n li t0, 8\n csrw mie, t0\n csrsi mstatus, 8\n"
                + "1: j 1b\n.balign 4\n handler: li a0, 42");
        hart.hart().setPending(TrapCause.MSI, true);
        assertEquals(42L, hart.runToDone().x("a0"));
    }

    @Test
    void machineTimerFiresWhenTimeReachesMtimecmp() {
        HartFixture hart = HartFixture.load(engine, "li t0, 1 << 7\n csrw mie, t0\n csrsi mstatus, 8\n1: j 1b");
        hart.hart().mtimecmp = 50;
        hart.run();
        assertEquals(INTERRUPT | TrapCause.MTI, hart.csr("mcause"));
    }

    @Test
    void machineTimerDoesNotFireBeforeMtimecmp() {
        HartFixture hart = HartFixture.load(engine, "li t0, 1 << 7\n csrw mie, t0\n csrsi mstatus, 8\n li t0, 20\n1: addi t0, t0, -1\n bnez t0, 1b");
        hart.hart().mtimecmp = 1000;
        assertEquals(HartFixture.Outcome.DONE, hart.run().outcome());
    }

    @Test
    void machineTimerPendingShowsInMip() {
        HartFixture hart = HartFixture.load(engine, "nop\n csrr a0, mip\n andi a0, a0, 0x80");
        hart.hart().mtimecmp = 1;
        hart.time(1);   // due already: translated code reads the clock only between slices
        assertEquals(0x80L, hart.runToDone().x("a0"));
    }

    private static final String SSTC_SETUP = """
            li t0, 1 << 63
            csrw menvcfg, t0
            li t0, 1 << 5
            csrw mideleg, t0
            csrwi mcounteren, 2
            """;

    /** Sstc §2.1: STIP is raised while time >= stimecmp, and interrupts S-mode when enabled. */
    @Test
    void supervisorTimerFiresFromStimecmp() {
        HartFixture hart = HartFixture.load(engine, SSTC_SETUP + S + """
                rdtime t0
                addi t0, t0, 20
                csrw stimecmp, t0
                li t0, 1 << 5
                csrs sie, t0
                csrsi sstatus, 2
                1: j 1b
                """).run();
        assertEquals(INTERRUPT | TrapCause.STI, hart.csr("scause"));
    }

    @Test
    void stimecmpInThePastRaisesSipStip() {
        HartFixture hart = HartFixture.run(engine, SSTC_SETUP + S + "csrw stimecmp, zero\n csrr a0, sip\n andi a0, a0, 32");
        assertEquals(32L, hart.x("a0"));
    }

    @Test
    void stimecmpInTheFutureClearsSipStip() {
        HartFixture hart = HartFixture.run(engine, SSTC_SETUP + S + "csrw stimecmp, zero\n li t0, -1\n csrw stimecmp, t0\n csrr a0, sip\n andi a0, a0, 32");
        assertEquals(0L, hart.x("a0"));
    }

    /** Sstc §2.1: with STCE, mip.STIP is read-only to M-mode software. */
    @Test
    void stipIsNotWritableWhileStceIsSet() {
        HartFixture hart = HartFixture.run(engine, SSTC_SETUP + "li t0, 32\n csrs mip, t0\n csrr a0, mip\n andi a0, a0, 32");
        assertEquals(0L, hart.x("a0"));
    }

    /**
     * §3.1.9: mip.SEIP reads as the OR of the software-writable bit and the interrupt
     * controller's line; software writes (and the read-modify-write of csrs/csrc) touch only
     * the software bit, so clearing it cannot hide a pending external interrupt.
     */
    @Test
    void clearingSoftwareSeipLeavesThePlicLinePending() {
        HartFixture hart = HartFixture.load(engine, "li t0, 512\n csrc mip, t0\n csrr a0, mip\n andi a0, a0, 512");
        hart.hart().setPending(TrapCause.SEI, true);
        assertEquals(512L, hart.run().x("a0"));
    }

    @Test
    void softwareSeipStaysSetWhenThePlicLineDrops() {
        HartFixture hart = HartFixture.run(engine, "li t0, 512\n csrs mip, t0\n csrr a0, mip\n andi a0, a0, 512");
        hart.hart().setPending(TrapCause.SEI, false);
        assertEquals(512L, hart.x("a0"));
        assertEquals(512L, hart.csr("mip") & 512);
    }

    @Test
    void setBitsOfOtherFieldsDoNotLatchTheLineIntoSoftwareSeip() {
        // csrs mip, SSIP with the line high must not copy the line's SEIP into the software bit.
        HartFixture hart = HartFixture.load(engine, "li t0, 2\n csrs mip, t0\n");
        hart.hart().setPending(TrapCause.SEI, true);
        hart.run();
        hart.hart().setPending(TrapCause.SEI, false);
        assertEquals(0L, hart.csr("mip") & 512);
    }

    /** §3.1.9: MEI > MSI > MTI > SEI > SSI > STI when several are pending and enabled. */
    static Stream<Arguments> priorities() {
        return Stream.of(
            arguments("MEI over MSI and MTI", new int[] {TrapCause.MSI, TrapCause.MTI, TrapCause.MEI}, TrapCause.MEI),
            arguments("MSI over MTI",         new int[] {TrapCause.MTI, TrapCause.MSI},                TrapCause.MSI),
            arguments("MTI over SEI",         new int[] {TrapCause.SEI, TrapCause.MTI},                TrapCause.MTI),
            arguments("SEI over SSI",         new int[] {TrapCause.SSI, TrapCause.SEI},                TrapCause.SEI),
            arguments("SSI over STI",         new int[] {TrapCause.STI, TrapCause.SSI},                TrapCause.SSI),
            arguments("MEI over everything",  new int[] {1, 3, 5, 7, 9, 11},                           TrapCause.MEI));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("priorities")
    void highestPriorityInterruptIsTakenFirst(String name, int[] pending, int expected) {
        HartFixture hart = HartFixture.load(engine, ENABLE_ALL_IN_M);
        for (int bit : pending) {
            hart.hart().setPending(bit, true);
        }
        assertEquals(INTERRUPT | expected, hart.run().csr("mcause"), name);
    }

    /**
     * §3.1.6.1 and §3.1.9: whether a pending, individually enabled interrupt is taken depends
     * on the privilege, the global enable of its target mode, and mideleg. Each program ends
     * at done unless the interrupt is taken; SSIP (bit 1) is pending throughout.
     */
    static Stream<Arguments> globalEnables() {
        String mie = "li t0, 2\n csrw mie, t0\n";
        String deleg = "li t0, 2\n csrw mideleg, t0\n";
        String wait = "nop\n nop\n nop\n";
        return Stream.of(
            //        name                                                   program                                        outcome               privilege after
            arguments("M-level interrupt in M with MIE = 0 waits",          mie + wait,                                     HartFixture.Outcome.DONE, Privilege.MACHINE),
            arguments("M-level interrupt in M with MIE = 1 is taken",       mie + "csrsi mstatus, 8\n" + wait,              HartFixture.Outcome.TRAP, Privilege.MACHINE),
            arguments("M-level interrupt in S is taken even with MIE = 0",  mie + S + wait,                                 HartFixture.Outcome.TRAP, Privilege.MACHINE),
            arguments("M-level interrupt in U is taken even with MIE = 0",  mie + U + wait,                                 HartFixture.Outcome.TRAP, Privilege.MACHINE),
            arguments("delegated interrupt in M is never taken",            mie + deleg + "csrsi mstatus, 0xa\n" + wait,    HartFixture.Outcome.DONE, Privilege.MACHINE),
            arguments("delegated interrupt in S with SIE = 0 waits",        mie + deleg + S + wait,                         HartFixture.Outcome.DONE, Privilege.SUPERVISOR),
            arguments("delegated interrupt in S with SIE = 1 goes to S",    mie + deleg + S + "csrsi sstatus, 2\n" + wait,  HartFixture.Outcome.TRAP, Privilege.SUPERVISOR),
            arguments("delegated interrupt in U goes to S even with SIE = 0", mie + deleg + U + wait,                       HartFixture.Outcome.TRAP, Privilege.SUPERVISOR),
            arguments("an interrupt disabled in mie is never taken",        "csrsi mstatus, 8\n" + wait,                    HartFixture.Outcome.DONE, Privilege.MACHINE));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("globalEnables")
    void interruptIsTakenOnlyWhenEnabledForItsTarget(String name, String asm, HartFixture.Outcome outcome, int privilege) {
        HartFixture hart = HartFixture.load(engine, asm);
        hart.hart().setPending(TrapCause.SSI, true);
        hart.run();
        assertEquals(outcome, hart.outcome(), name + ": outcome");
        assertEquals(privilege, hart.privilege(), name + ": privilege");
    }

    @Test
    void delegatedInterruptWritesScause() {
        HartFixture hart = HartFixture.load(engine, "li t0, 2\n csrw mie, t0\n csrw mideleg, t0\n" + U + "1: j 1b");
        hart.hart().setPending(TrapCause.SSI, true);
        assertEquals(INTERRUPT | TrapCause.SSI, hart.run().csr("scause"));
    }

    @Test
    void supervisorSoftwareInterruptCanBeRaisedThroughSip() {
        HartFixture hart = HartFixture.load(engine, "li t0, 2\n csrw mie, t0\n csrw mideleg, t0\n" + S
                + "csrsi sstatus, 2\n csrsi sip, 2\n1: j 1b\n").run();
        assertEquals(INTERRUPT | TrapCause.SSI, hart.csr("scause"));
    }

    // ---- WFI ----------------------------------------------------------------------------

    @Test
    void wfiWithNothingPendingWaits() {
        HartFixture hart = HartFixture.load(engine, "wfi").run();
        assertEquals(HartFixture.Outcome.WAITING, hart.outcome());
        assertTrue(hart.hart().waitingForInterrupt);
    }

    /** §3.3.3: WFI resumes on a locally enabled pending interrupt even when globally disabled. */
    @Test
    void wfiResumesOnAnEnabledInterruptWithInterruptsGloballyOff() {
        HartFixture hart = HartFixture.load(engine, "li t0, 1 << 7\n csrw mie, t0\n wfi\n li a0, 1");
        hart.hart().mtimecmp = 500;
        assertEquals(1L, hart.runToDone().x("a0"));
    }

    @Test
    void interruptThatEndsWfiTrapsAtTheFollowingInstruction() {
        HartFixture hart = HartFixture.load(engine, "li t0, 1 << 7\n csrw mie, t0\n csrsi mstatus, 8\n wfi\n after: nop");
        hart.hart().mtimecmp = 500;
        assertEquals(hart.symbol("after"), hart.run().csr("mepc"));
    }

    /** §3.1.6.5: TW affects only modes below M. */
    @Test
    void wfiInMachineModeIgnoresTw() {
        assertEquals(HartFixture.Outcome.WAITING, HartFixture.load(engine, "li t0, 1 << 21\n csrs mstatus, t0\n wfi").run().outcome());
    }

    @Test
    void wfiInSupervisorModeWithoutTwWaits() {
        assertEquals(HartFixture.Outcome.WAITING, HartFixture.load(engine, S + "wfi").run().outcome());
    }

    // ---- the SBI hook -------------------------------------------------------------------

    @Test
    void supervisorEcallWithAnSbiHookReturnsToTheNextInstruction() {
        HartFixture hart = HartFixture.load(engine, S + "li a0, 1\n ecall\n addi a1, a0, 1");
        hart.hart().sbi = h -> h.x[10] = 42;
        assertEquals(43L, hart.runToDone().x("a1"));
    }

    @Test
    void userEcallBypassesTheSbiHook() {
        HartFixture hart = HartFixture.load(engine, U + "ecall");
        hart.hart().sbi = h -> h.x[10] = 42;
        assertEquals(TrapCause.ECALL_FROM_U, hart.run().csr("mcause"));
    }
}
