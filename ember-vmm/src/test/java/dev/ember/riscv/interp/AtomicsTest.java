package dev.ember.riscv.interp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import dev.ember.riscv.isa.TrapCause;
import dev.ember.riscv.testing.HartFixture;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The A extension (unprivileged ISA chapter 14): AMO results and memory effects, LR/SC
 * success and failure, misaligned atomics, and atomicity across harts on real host threads.
 *
 * <p>Every program finds {@code a0} pointing at {@code mem}, an 8-aligned pair of doublewords
 * initialised to {@code 0x8000000000000005} and {@code 0x1111111111111111}.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(HartFixture.Engine.class)
class AtomicsTest {

    @Parameter
    HartFixture.Engine engine;


    private static final String PROLOGUE = "la a0, mem\n";
    private static final String DATA = """

            j done
            .data
            .balign 8
            mem: .dword 0x8000000000000005, 0x1111111111111111
            """;

    static Stream<Arguments> amos() {
        return Stream.of(
            //        name                                        program (a1 = rs2)                                        reg   expected
            arguments("amoswap.d returns the old value",          "li a1, 42\n amoswap.d a2, a1, (a0)",                      "a2", 0x8000_0000_0000_0005L),
            arguments("amoswap.d stores rs2",                     "li a1, 42\n amoswap.d a2, a1, (a0)\n ld a3, 0(a0)",       "a3", 42L),
            arguments("amoswap.w returns the old word sign-extended", "li a1, 42\n amoswap.w a2, a1, (a0)\n",                "a2", 5L),
            arguments("amoswap.w leaves the upper word alone",    "li a1, -1\n amoswap.w a2, a1, (a0)\n ld a3, 0(a0)",       "a3", 0x8000_0000_FFFF_FFFFL),
            arguments("amoswap.w of the upper word sign-extends", "addi a4, a0, 4\n li a1, 0\n amoswap.w a2, a1, (a4)",                      "a2", 0xFFFF_FFFF_8000_0000L),
            arguments("amoadd.d adds",                            "li a1, 10\n amoadd.d a2, a1, (a0)\n ld a3, 0(a0)",        "a3", 0x8000_0000_0000_000FL),
            arguments("amoadd.w wraps at 32 bits without carry",  "li a1, -6\n amoadd.w a2, a1, (a0)\n ld a3, 0(a0)",        "a3", 0x8000_0000_FFFF_FFFFL),
            arguments("amoadd.w with rd = x0 still writes",       "li a1, 1\n amoadd.w zero, a1, (a0)\n lw a3, 0(a0)",       "a3", 6L),
            arguments("amoxor.d",                                 "li a1, -1\n amoxor.d a2, a1, (a0)\n ld a3, 0(a0)",        "a3", 0x7FFF_FFFF_FFFF_FFFAL),
            arguments("amoand.d",                                 "li a1, 0xff\n amoand.d a2, a1, (a0)\n ld a3, 0(a0)",      "a3", 5L),
            arguments("amoor.d",                                  "li a1, 0x30\n amoor.d a2, a1, (a0)\n ld a3, 0(a0)",       "a3", 0x8000_0000_0000_0035L),
            arguments("amoxor.w",                                 "li a1, 0xf\n amoxor.w a2, a1, (a0)\n lw a3, 0(a0)",       "a3", 0xAL),
            arguments("amoand.w",                                 "li a1, 4\n amoand.w a2, a1, (a0)\n lw a3, 0(a0)",         "a3", 4L),
            arguments("amoor.w",                                  "li a1, 0x80000000\n amoor.w a2, a1, (a0)\n lw a3, 0(a0)", "a3", 0xFFFF_FFFF_8000_0005L),
            arguments("amomin.d is signed",                       "li a1, 1\n amomin.d a2, a1, (a0)\n ld a3, 0(a0)",         "a3", 0x8000_0000_0000_0005L),
            arguments("amomax.d is signed",                       "li a1, 1\n amomax.d a2, a1, (a0)\n ld a3, 0(a0)",         "a3", 1L),
            arguments("amominu.d is unsigned",                    "li a1, 1\n amominu.d a2, a1, (a0)\n ld a3, 0(a0)",        "a3", 1L),
            arguments("amomaxu.d is unsigned",                    "li a1, 1\n amomaxu.d a2, a1, (a0)\n ld a3, 0(a0)",        "a3", 0x8000_0000_0000_0005L),
            arguments("amomin.w compares signed words",           "li a1, -1\n amomin.w a2, a1, (a0)\n lw a3, 0(a0)",        "a3", -1L),
            arguments("amomax.w compares signed words",           "li a1, -1\n amomax.w a2, a1, (a0)\n lw a3, 0(a0)",        "a3", 5L),
            arguments("amominu.w compares unsigned words",        "li a1, -1\n amominu.w a2, a1, (a0)\n lw a3, 0(a0)",       "a3", 5L),
            arguments("amomaxu.w compares unsigned words",        "li a1, -1\n amomaxu.w a2, a1, (a0)\n lw a3, 0(a0)",       "a3", -1L),
            arguments("amominu.w uses only the low word of rs2",  "li a1, 0x100000001\n amominu.w a2, a1, (a0)\n ld a3, 0(a0)", "a3", 0x8000_0000_0000_0001L),
            arguments("amomax.w on the negative upper word",      "addi a4, a0, 4\n li a1, 7\n amomax.w a2, a1, (a4)\n ld a3, 0(a0)",        "a3", 0x0000_0007_0000_0005L));
    }

    /**
     * LR/SC (§14.2). An SC fails outside the reservation set of the most recent LR; this hart's
     * reservation set is exactly the bytes the LR read (the spec allows larger sets), so an SC
     * to the next doubleword fails.
     */
    static Stream<Arguments> loadReservedStoreConditional() {
        return Stream.of(
            arguments("lr.d loads the doubleword",                "lr.d a2, (a0)",                                            "a2", 0x8000_0000_0000_0005L),
            arguments("lr.w sign-extends",                        "addi a4, a0, 4\n lr.w a2, (a4)",                                           "a2", 0xFFFF_FFFF_8000_0000L),
            arguments("sc.d after lr.d succeeds with 0",          "lr.d a2, (a0)\n addi a2, a2, 1\n sc.d a3, a2, (a0)",       "a3", 0L),
            arguments("sc.d after lr.d stores",                   "lr.d a2, (a0)\n addi a2, a2, 1\n sc.d a3, a2, (a0)\n ld a4, 0(a0)", "a4", 0x8000_0000_0000_0006L),
            arguments("sc.w after lr.w stores the low word",      "lr.w a2, (a0)\n li a2, -1\n sc.w a3, a2, (a0)\n ld a4, 0(a0)", "a4", 0x8000_0000_FFFF_FFFFL),
            arguments("sc.d without a reservation fails with 1",  "li a2, 9\n sc.d a3, a2, (a0)",                             "a3", 1L),
            arguments("sc.d without a reservation does not store", "li a2, 9\n sc.d a3, a2, (a0)\n ld a4, 0(a0)",             "a4", 0x8000_0000_0000_0005L),
            arguments("sc.d to another address fails",            "addi a4, a0, 8\n lr.d a2, (a0)\n sc.d a3, a2, (a4)",                       "a3", 1L),
            arguments("sc.d to another address does not store",   "addi a4, a0, 8\n lr.d a2, (a0)\n sc.d a3, a2, (a4)\n ld a4, 8(a0)",        "a4", 0x1111_1111_1111_1111L),
            arguments("a second sc.d fails: the first consumed the reservation",
                    "lr.d a2, (a0)\n sc.d a3, a2, (a0)\n sc.d a3, a2, (a0)",                                                  "a3", 1L));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource({"amos", "loadReservedStoreConditional"})
    void executesLikeTheSpec(String name, String body, String reg, long expected) {
        HartFixture hart = HartFixture.run(engine, PROLOGUE + body + DATA);
        assertEquals(expected, hart.x(reg), name);
    }

    /**
     * Misaligned atomics raise an address-misaligned or an access-fault exception (§14.4,
     * "Misaligned atomicity"); this hart raises address-misaligned: the load form for LR,
     * the store/AMO form for SC and AMOs. Nothing in RAM or in a device answers at
     * 0x1000_0000, so atomics there raise an access fault.
     */
    static Stream<Arguments> faults() {
        return Stream.of(
            arguments("misaligned amoadd.w",      "amoadd.w a2, a1, (a0)",  "addi a0, a0, 2", TrapCause.STORE_MISALIGNED),
            arguments("misaligned amoswap.d",     "amoswap.d a2, a1, (a0)", "addi a0, a0, 4", TrapCause.STORE_MISALIGNED),
            arguments("misaligned lr.d",          "lr.d a2, (a0)",          "addi a0, a0, 4", TrapCause.LOAD_MISALIGNED),
            arguments("misaligned lr.w",          "lr.w a2, (a0)",          "addi a0, a0, 1", TrapCause.LOAD_MISALIGNED),
            arguments("misaligned sc.w",          "sc.w a2, a1, (a0)",      "addi a0, a0, 2", TrapCause.STORE_MISALIGNED),
            arguments("amoadd.d with no memory",  "amoadd.d a2, a1, (a0)",  "li a0, 0x10000000", TrapCause.STORE_ACCESS_FAULT),
            arguments("lr.w with no memory",      "lr.w a2, (a0)",          "li a0, 0x10000000", TrapCause.LOAD_ACCESS_FAULT));
    }

    @ParameterizedTest(name = "{0} traps with its address in mtval")
    @MethodSource("faults")
    void faultingAtomicTrapsWithTheAddress(String name, String atomic, String setup, int cause) {
        HartFixture hart = HartFixture.runToTrap(engine, PROLOGUE + setup + "\n mv s0, a0\n fault: " + atomic + DATA);
        assertEquals(cause, hart.csr("mcause"), name + ": mcause");
        assertEquals(hart.x("s0"), hart.csr("mtval"), name + ": mtval");
        assertEquals(hart.symbol("fault"), hart.csr("mepc"), name + ": mepc");
    }

    @Test
    void faultingAmoLeavesRdUnchanged() {
        HartFixture hart = HartFixture.runToTrap(engine, PROLOGUE + "addi a0, a0, 2\n li a2, 77\n amoadd.w a2, a1, (a0)" + DATA);
        assertEquals(77L, hart.x("a2"));
    }

    // ---- atomicity across host threads --------------------------------------------------

    private static final int HARTS = 4;
    private static final int ROUNDS = 20_000;

    /** Each hart adds 1 to each counter ROUNDS times: with amoadd.d, with lr.d/sc.d and with lr.w/sc.w. */
    private static final String COUNTING = """
            la a0, amo_counter
            la a1, lrsc_counter
            la a2, lrsc_word_counter
            li t0, %d
            li t1, 1
            1:
            amoadd.d zero, t1, (a0)
            2:
            lr.d t2, (a1)
            addi t2, t2, 1
            sc.d t3, t2, (a1)
            bnez t3, 2b
            3:
            lr.w t2, (a2)
            addi t2, t2, 1
            sc.w t3, t2, (a2)
            bnez t3, 3b
            addi t0, t0, -1
            bnez t0, 1b
            j done
            .data
            .balign 64
            amo_counter: .dword 0
            lrsc_counter: .dword 0
            lrsc_word_counter: .word 0
            """.formatted(ROUNDS);

    @Test
    void countersIncrementedConcurrentlyByFourHartsAreExact() throws Exception {
        List<HartFixture> harts = HartFixture.sharing(engine, HARTS, COUNTING);
        CyclicBarrier start = new CyclicBarrier(HARTS);
        try (ExecutorService threads = Executors.newFixedThreadPool(HARTS)) {
            List<Future<HartFixture>> runs = harts.stream().map(hart -> threads.submit(() -> {
                start.await(10, TimeUnit.SECONDS);
                return hart.budget(100L * ROUNDS).runToDone();
            })).toList();
            for (Future<HartFixture> run : runs) {
                run.get(120, TimeUnit.SECONDS);
            }
        }
        HartFixture any = harts.getFirst();
        assertEquals((long) HARTS * ROUNDS, any.readU64(any.symbol("amo_counter")), "amoadd.d counter");
        assertEquals((long) HARTS * ROUNDS, any.readU64(any.symbol("lrsc_counter")), "lr.d/sc.d counter");
        assertEquals((long) HARTS * ROUNDS, any.readU32(any.symbol("lrsc_word_counter")), "lr.w/sc.w counter");
    }
}
