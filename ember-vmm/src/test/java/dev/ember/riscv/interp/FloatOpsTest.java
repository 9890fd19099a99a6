package dev.ember.riscv.interp;

import static dev.ember.riscv.interp.FpVectors.FORMS;
import static dev.ember.riscv.interp.FpVectors.encode;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import dev.ember.riscv.cpu.fpu.Fpu;

/**
 * {@link FloatOps}: every QEMU reference vector replayed through the instruction encoding,
 * then the instruction-level rules by hand: NaN boxing, sign extension, rounding-mode
 * selection and illegal encodings.
 */
class FloatOpsTest {

    private static final Map<String, List<FpVectors.Vector>> BY_MNEMONIC = groupVectors();

    private static Map<String, List<FpVectors.Vector>> groupVectors() {
        Map<String, List<FpVectors.Vector>> m = new LinkedHashMap<>();
        for (FpVectors.Vector v : FpVectors.load()) {
            m.computeIfAbsent(v.form().mnemonic(), k -> new ArrayList<>()).add(v);
        }
        return m;
    }

    static Stream<String> mnemonics() {
        return BY_MNEMONIC.keySet().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("mnemonics")
    void matchesQemuOnEveryReferenceVector(String mnemonic) {
        List<FpVectors.Vector> vectors = BY_MNEMONIC.get(mnemonic);
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < vectors.size(); i++) {
            String failure = FpVectors.replay(vectors.get(i), i);
            if (failure != null) {
                failures.add(failure);
            }
        }
        assertEquals(List.of(), failures.subList(0, Math.min(20, failures.size())),
                failures.size() + " of " + vectors.size() + " vectors differ");
    }

    @Test
    void referenceVectorsCoverEveryOperationRoundingModeAndFlag() {
        assertEquals(FORMS.keySet().stream().filter(m -> !m.startsWith("fmv")).sorted().toList(),
                BY_MNEMONIC.keySet().stream().sorted().toList());
        BitSet modes = new BitSet();
        int flags = 0;
        for (List<FpVectors.Vector> vs : BY_MNEMONIC.values()) {
            for (FpVectors.Vector v : vs) {
                modes.set(v.rm());
                flags |= v.flags();
            }
        }
        assertEquals(0b11111, modes.toLongArray()[0]);
        assertEquals(0b11111, flags);
    }

    // ---------------------------------------------------------------- NaN boxing

    private static final long BOX = 0xFFFF_FFFF_0000_0000L;
    private static final long ONE_S = BOX | 0x3F80_0000L;
    private static final long ONE_D = 0x3FF0_0000_0000_0000L;
    private static final long CANONICAL_S = BOX | 0x7FC0_0000L;

    /** A machine with f1 = 1.0f (boxed), f2 = 1.0f stored without its box, f3 = 1.0 (double). */
    private static final class Machine {
        final long[] x = new long[32];
        final long[] f = new long[32];
        final Fpu fpu = new Fpu();
        int frm = Fpu.RNE;

        Machine() {
            f[1] = ONE_S;
            f[2] = 0x3F80_0000L;
            f[3] = ONE_D;
        }

        boolean run(String mnemonic, int rd, int rs1, int rs2, int rs3, int rm) {
            return FloatOps.execute(encode(FORMS.get(mnemonic), rd, rs1, rs2, rs3, rm), x, f, fpu, frm);
        }
    }

    @Test
    void unboxedSingleOperandReadsAsCanonicalNaN() {
        Machine m = new Machine();
        assertTrue(m.run("fadd.s", 10, 2, 1, 0, Fpu.RNE));
        assertEquals(CANONICAL_S, m.f[10]);
        assertEquals(0, m.fpu.flags);              // the canonical NaN is quiet
    }

    @Test
    void singleResultIsNaNBoxed() {
        Machine m = new Machine();
        assertTrue(m.run("fadd.s", 10, 1, 1, 0, Fpu.RNE));
        assertEquals(BOX | 0x4000_0000L, m.f[10]);
    }

    @Test
    void signInjectionOfUnboxedValueStartsFromCanonicalNaN() {
        // fneg.s = fsgnjn.s rd, rs, rs: the canonical NaN with its sign flipped.
        Machine m = new Machine();
        assertTrue(m.run("fsgnjn.s", 10, 2, 2, 0, 0));
        assertEquals(BOX | 0xFFC0_0000L, m.f[10]);
    }

    @Test
    void signInjectionIsABitOperationWithoutFlags() {
        Machine m = new Machine();
        m.f[4] = 0x7FF0_0000_0000_0001L;           // sNaN: copied, not quieted, no NV
        m.f[5] = 0x8000_0000_0000_0000L;
        assertTrue(m.run("fsgnj.d", 10, 4, 5, 0, 0));
        assertTrue(m.run("fsgnjx.d", 11, 5, 5, 0, 0));
        assertEquals(0xFFF0_0000_0000_0001L, m.f[10]);
        assertEquals(0L, m.f[11]);
        assertEquals(0, m.fpu.flags);
    }

    @Test
    void classifyOfUnboxedValueIsQuietNaN() {
        Machine m = new Machine();
        assertTrue(m.run("fclass.s", 10, 2, 0, 0, 0));
        assertEquals(1 << 9, m.x[10]);
    }

    @Test
    void moveToIntegerIgnoresBoxAndSignExtends() {
        Machine m = new Machine();
        m.f[4] = 0x1234_5678_8765_4321L;
        assertTrue(m.run("fmv.x.w", 10, 4, 0, 0, 0));
        assertEquals(0xFFFF_FFFF_8765_4321L, m.x[10]);
    }

    @Test
    void moveFromIntegerBoxesLow32Bits() {
        Machine m = new Machine();
        m.x[5] = 0xDEAD_BEEF_7F80_0001L;           // an sNaN pattern: moved, not quieted
        assertTrue(m.run("fmv.w.x", 10, 5, 0, 0, 0));
        assertEquals(BOX | 0x7F80_0001L, m.f[10]);
        assertEquals(0, m.fpu.flags);
    }

    @Test
    void doubleMovesCopyAllBits() {
        Machine m = new Machine();
        m.x[5] = 0x7FF0_0000_0000_0001L;
        assertTrue(m.run("fmv.d.x", 10, 5, 0, 0, 0));
        assertTrue(m.run("fmv.x.d", 6, 10, 0, 0, 0));
        assertEquals(0x7FF0_0000_0000_0001L, m.f[10]);
        assertEquals(0x7FF0_0000_0000_0001L, m.x[6]);
    }

    // ---------------------------------------------------------------- integer results

    @Test
    void unsignedWordResultIsSignExtended() {
        // fcvt.wu.d of 2^32-1 writes 0xFFFFFFFF, sign-extended to 64 bits.
        Machine m = new Machine();
        m.f[4] = Double.doubleToRawLongBits(4294967295.0);
        assertTrue(m.run("fcvt.wu.d", 10, 4, 0, 0, Fpu.RTZ));
        assertEquals(-1L, m.x[10]);
    }

    @Test
    void integerSourceUsesOnlyLow32BitsForWordConversions() {
        Machine m = new Machine();
        m.x[5] = 0x1234_5678_0000_0002L;
        assertTrue(m.run("fcvt.d.w", 10, 5, 0, 0, Fpu.RNE));
        assertEquals(Double.doubleToRawLongBits(2.0), m.f[10]);
    }

    @Test
    void writesToX0AreDiscardedButFlagsAccrue() {
        Machine m = new Machine();
        m.f[4] = 0x7FF0_0000_0000_0001L;           // sNaN
        assertTrue(m.run("feq.d", 0, 4, 3, 0, 0));
        assertTrue(m.run("fclass.d", 0, 3, 0, 0, 0));
        assertTrue(m.run("fcvt.l.d", 0, 3, 0, 0, Fpu.RNE));
        assertEquals(0, m.x[0]);
        assertEquals(Fpu.NV, m.fpu.flags);
    }

    // ---------------------------------------------------------------- rounding-mode selection

    @Test
    void dynamicRoundingModeComesFromFrm() {
        // 1 + 2^-53 is a tie: RNE gives 1, RUP gives 1 + 2^-52.
        Machine m = new Machine();
        m.f[4] = Double.doubleToRawLongBits(0x1p-53);
        m.frm = Fpu.RUP;
        assertTrue(m.run("fadd.d", 10, 3, 4, 0, 7));
        assertEquals(Double.doubleToRawLongBits(1 + 0x1p-52), m.f[10]);
        assertEquals(Fpu.NX, m.fpu.flags);
    }

    @Test
    void staticRoundingModeOverridesFrm() {
        Machine m = new Machine();
        m.f[4] = Double.doubleToRawLongBits(0x1p-53);
        m.frm = Fpu.RUP;
        assertTrue(m.run("fadd.d", 10, 3, 4, 0, Fpu.RTZ));
        assertEquals(ONE_D, m.f[10]);
    }

    @Test
    void reservedFrmDoesNotMatterWithStaticRoundingMode() {
        Machine m = new Machine();
        m.frm = 7;
        assertTrue(m.run("fmul.d", 10, 3, 3, 0, Fpu.RMM));
        assertEquals(ONE_D, m.f[10]);
    }

    // ---------------------------------------------------------------- illegal encodings

    static Stream<Arguments> illegal() {
        int addD = encode(FORMS.get("fadd.d"), 10, 3, 3, 0, 0);
        int fmaddD = encode(FORMS.get("fmadd.d"), 10, 3, 3, 3, 0);
        return Stream.of(
            arguments("fmt H", addD & ~(3 << 25) | 2 << 25, 0),
            arguments("fmt Q", addD | 3 << 25, 0),
            arguments("fmadd fmt Q", fmaddD | 3 << 25, 0),
            arguments("rm 5", addD | 5 << 12, 0),
            arguments("rm 6", addD | 6 << 12, 0),
            arguments("DYN, frm 5", addD | 7 << 12, 5),
            arguments("DYN, frm 6", addD | 7 << 12, 6),
            arguments("DYN, frm 7", addD | 7 << 12, 7),
            arguments("fmadd rm 5", fmaddD | 5 << 12, 0),
            arguments("fmadd DYN, frm 7", fmaddD | 7 << 12, 7),
            arguments("fsqrt rs2 != 0", encode(FORMS.get("fsqrt.d"), 10, 3, 0, 0, 0) | 1 << 20, 0),
            arguments("fsgnj funct3 3", encode(FORMS.get("fsgnj.d"), 10, 3, 3, 0, 0) | 3 << 12, 0),
            arguments("fmin funct3 2", encode(FORMS.get("fmin.d"), 10, 3, 3, 0, 0) | 2 << 12, 0),
            arguments("compare funct3 3", encode(FORMS.get("fle.d"), 10, 3, 3, 0, 0) | 3 << 12, 0),
            arguments("fcvt.d.d", FpVectors.opFp(0b01000, 1, 1, 0) | 10 << 7 | 3 << 15, 0),
            arguments("fcvt.s.s", FpVectors.opFp(0b01000, 0, 0, 0) | 10 << 7 | 1 << 15, 0),
            arguments("fcvt.d.s rm 5", encode(FORMS.get("fcvt.d.s"), 10, 1, 0, 0, 5), 0),
            arguments("fcvt.d.w rm 6", encode(FORMS.get("fcvt.d.w"), 10, 5, 0, 0, 6), 0),
            arguments("fcvt.w.d rs2 4", FpVectors.opFp(0b11000, 1, 4, 0) | 10 << 7 | 3 << 15, 0),
            arguments("fcvt.d.w rs2 5", FpVectors.opFp(0b11010, 1, 5, 0) | 10 << 7 | 5 << 15, 0),
            arguments("fmv.x.d funct3 2", FpVectors.opFp(0b11100, 1, 0, 2) | 10 << 7 | 3 << 15, 0),
            arguments("fclass rs2 != 0", FpVectors.opFp(0b11100, 1, 1, 1) | 10 << 7 | 3 << 15, 0),
            arguments("fmv.d.x funct3 1", FpVectors.opFp(0b11110, 1, 0, 1) | 10 << 7 | 5 << 15, 0),
            arguments("unknown funct5", FpVectors.opFp(0b00110, 1, 0, 0), 0),
            arguments("not an FP opcode", 0x0000_0033, 0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("illegal")
    void illegalEncodingChangesNothing(String what, int insn, int frm) {
        Machine m = new Machine();
        m.x[5] = 7;
        m.fpu.flags = Fpu.UF;
        long[] x = m.x.clone();
        long[] f = m.f.clone();
        assertFalse(FloatOps.execute(insn, m.x, m.f, m.fpu, frm));
        assertArrayEquals(x, m.x);
        assertArrayEquals(f, m.f);
        assertEquals(Fpu.UF, m.fpu.flags);
    }
}
