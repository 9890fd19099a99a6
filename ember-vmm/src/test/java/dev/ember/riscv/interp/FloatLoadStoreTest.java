package dev.ember.riscv.interp;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
 * FLW, FLD, FSW, FSD (unprivileged ISA §20.5, §21.3) and the {@code mstatus.FS} gate on every
 * FP instruction (privileged ISA §3.1.6.6). The FP arithmetic has its own tests.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(HartFixture.Engine.class)
class FloatLoadStoreTest {

    @Parameter
    HartFixture.Engine engine;


    /** FS = Initial, a0 = buf. */
    private static final String FS_ON = "li t0, 1 << 13\n csrs mstatus, t0\n la a0, buf\n";
    private static final String DATA = """

            j done
            .data
            .balign 8
            buf: .dword 0x1122334455667788, 0x99aabbccddeeff00, 0
            """;

    static Stream<Arguments> transfers() {
        return Stream.of(
            //        name                                   program                                           expected a1
            arguments("fld then fsd copies a doubleword",   "fld ft0, 0(a0)\n fsd ft0, 16(a0)\n ld a1, 16(a0)",   0x1122_3344_5566_7788L),
            arguments("fsw stores only the low word",       "fld ft0, 0(a0)\n fsw ft0, 8(a0)\n ld a1, 8(a0)",     0x99AA_BBCC_5566_7788L),
            arguments("flw then fsw copies a word",         "flw ft1, 4(a0)\n fsw ft1, 16(a0)\n ld a1, 16(a0)",   0x1122_3344L),
            arguments("misaligned fld",                     "fld ft0, 4(a0)\n fsd ft0, 16(a0)\n ld a1, 16(a0)",   0xDDEE_FF00_1122_3344L),
            arguments("misaligned fsd",                     "fld ft0, 8(a0)\n fsd ft0, 3(a0)\n ld a1, 3(a0)",     0x99AA_BBCC_DDEE_FF00L));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("transfers")
    void transfersBitsUnchanged(String name, String body, long expected) {
        assertEquals(expected, HartFixture.run(engine, FS_ON + body + DATA).x("a1"), name);
    }

    /** §21.2: a single-precision value in a 64-bit FP register is NaN-boxed (upper 32 bits all ones). */
    @Test
    void flwNanBoxesTheWord() {
        HartFixture hart = HartFixture.run(engine, FS_ON + "flw fa0, 0(a0)" + DATA);
        assertEquals(0xFFFF_FFFF_5566_7788L, hart.f("fa0"));
    }

    static Stream<Arguments> withFsOff() {
        return Stream.of(
            arguments("flw", "flw ft0, 0(a0)"),
            arguments("fld", "fld ft0, 0(a0)"),
            arguments("fsw", "fsw ft0, 0(a0)"),
            arguments("fsd", "fsd ft0, 0(a0)"),
            arguments("fmv.d.x", "fmv.d.x ft0, a0"),
            arguments("fmv.x.d", "fmv.x.d a1, ft0"),
            arguments("fadd.d", "fadd.d ft0, ft1, ft2"));
    }

    @ParameterizedTest(name = "{0} with mstatus.FS = Off traps illegal")
    @MethodSource("withFsOff")
    void floatingPointInstructionWithFsOffIsIllegal(String name, String instruction) {
        HartFixture hart = HartFixture.runToTrap(engine, "la a0, buf\n fault: " + instruction + DATA);
        assertEquals(TrapCause.ILLEGAL_INSTRUCTION, hart.csr("mcause"), "mcause");
        assertEquals(hart.readU32(hart.symbol("fault")), hart.csr("mtval"), "mtval");
    }

    static Stream<Arguments> dirtying() {
        return Stream.of(
            arguments("fld", "fld ft0, 0(a0)"),
            arguments("flw", "flw ft0, 0(a0)"),
            arguments("fmv.d.x", "fmv.d.x ft0, a0"));
    }

    @ParameterizedTest(name = "{0} makes mstatus.FS Dirty")
    @MethodSource("dirtying")
    void writingAnFpRegisterMakesFsDirty(String name, String instruction) {
        HartFixture hart = HartFixture.run(engine, FS_ON + instruction + DATA);
        assertEquals(3L, (hart.csr("mstatus") >>> 13) & 3, "mstatus.FS");
    }

    @Test
    void fsDirtySetsSdInMstatus() {
        HartFixture hart = HartFixture.run(engine, FS_ON + "fld ft0, 0(a0)" + DATA);
        assertEquals(1L, hart.csr("mstatus") >>> 63);
    }
}
