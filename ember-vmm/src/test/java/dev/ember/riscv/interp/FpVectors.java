package dev.ember.riscv.interp;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.ember.riscv.cpu.fpu.Fpu;

/**
 * Replays the reference vectors in {@code fpu/vectors.txt} (made by {@code gen-vectors.c} on
 * QEMU; see the README beside it) through {@link FloatOps#execute}: builds the instruction
 * word for each mnemonic, loads the operands, and compares the destination register and the
 * flags with what the reference machine produced.
 */
final class FpVectors {

    private FpVectors() {}

    static final String RESOURCE = "/fpu/vectors.txt";

    /** Operand and result kinds: binary32 (NaN-boxed in f), binary64 (f), integer (x). */
    enum Kind { S, D, X, NONE }

    /**
     * How one mnemonic is encoded and what it reads and writes. {@code word} holds the fixed
     * fields (opcode, funct5, fmt, and rs2 or funct3 where they select the operation);
     * {@code rounds} says whether funct3 is a rounding mode.
     */
    record Form(String mnemonic, int word, boolean rounds, Kind rs1, Kind rs2, Kind rs3, Kind rd) {}

    /** One vector: operands, expected result and expected flags. */
    record Vector(Form form, int rm, long a, long b, long c, long result, int flags, String line) {}

    static final int OP_FP = 0x53;

    static final Map<String, Form> FORMS = forms();

    private static Map<String, Form> forms() {
        Map<String, Form> m = new LinkedHashMap<>();
        for (int fmt = 0; fmt < 2; fmt++) {
            String sfx = fmt == 0 ? ".s" : ".d";
            Kind k = fmt == 0 ? Kind.S : Kind.D;
            add(m, "fadd" + sfx, opFp(0b00000, fmt, 0, 0), true, k, k, Kind.NONE, k);
            add(m, "fsub" + sfx, opFp(0b00001, fmt, 0, 0), true, k, k, Kind.NONE, k);
            add(m, "fmul" + sfx, opFp(0b00010, fmt, 0, 0), true, k, k, Kind.NONE, k);
            add(m, "fdiv" + sfx, opFp(0b00011, fmt, 0, 0), true, k, k, Kind.NONE, k);
            add(m, "fsqrt" + sfx, opFp(0b01011, fmt, 0, 0), true, k, Kind.NONE, Kind.NONE, k);
            add(m, "fsgnj" + sfx, opFp(0b00100, fmt, 0, 0), false, k, k, Kind.NONE, k);
            add(m, "fsgnjn" + sfx, opFp(0b00100, fmt, 0, 1), false, k, k, Kind.NONE, k);
            add(m, "fsgnjx" + sfx, opFp(0b00100, fmt, 0, 2), false, k, k, Kind.NONE, k);
            add(m, "fmin" + sfx, opFp(0b00101, fmt, 0, 0), false, k, k, Kind.NONE, k);
            add(m, "fmax" + sfx, opFp(0b00101, fmt, 0, 1), false, k, k, Kind.NONE, k);
            add(m, "fle" + sfx, opFp(0b10100, fmt, 0, 0), false, k, k, Kind.NONE, Kind.X);
            add(m, "flt" + sfx, opFp(0b10100, fmt, 0, 1), false, k, k, Kind.NONE, Kind.X);
            add(m, "feq" + sfx, opFp(0b10100, fmt, 0, 2), false, k, k, Kind.NONE, Kind.X);
            add(m, "fclass" + sfx, opFp(0b11100, fmt, 0, 1), false, k, Kind.NONE, Kind.NONE, Kind.X);
            add(m, "fmv.x" + (fmt == 0 ? ".w" : ".d"), opFp(0b11100, fmt, 0, 0), false, k, Kind.NONE, Kind.NONE, Kind.X);
            add(m, "fmv" + (fmt == 0 ? ".w" : ".d") + ".x", opFp(0b11110, fmt, 0, 0), false, Kind.X, Kind.NONE, Kind.NONE, k);
            String[] ints = {"w", "wu", "l", "lu"};
            for (int t = 0; t < 4; t++) {
                add(m, "fcvt." + ints[t] + sfx, opFp(0b11000, fmt, t, 0), true, k, Kind.NONE, Kind.NONE, Kind.X);
                add(m, "fcvt" + sfx + "." + ints[t], opFp(0b11010, fmt, t, 0), true, Kind.X, Kind.NONE, Kind.NONE, k);
            }
            int[] fused = {0x43, 0x47, 0x4B, 0x4F};
            String[] names = {"fmadd", "fmsub", "fnmsub", "fnmadd"};
            for (int i = 0; i < 4; i++) {
                add(m, names[i] + sfx, fused[i] | fmt << 25, true, k, k, k, k);
            }
        }
        add(m, "fcvt.s.d", opFp(0b01000, 0, 1, 0), true, Kind.D, Kind.NONE, Kind.NONE, Kind.S);
        add(m, "fcvt.d.s", opFp(0b01000, 1, 0, 0), true, Kind.S, Kind.NONE, Kind.NONE, Kind.D);
        return m;
    }

    private static void add(Map<String, Form> m, String name, int word, boolean rounds,
                            Kind rs1, Kind rs2, Kind rs3, Kind rd) {
        m.put(name, new Form(name, word, rounds, rs1, rs2, rs3, rd));
    }

    static int opFp(int funct5, int fmt, int rs2, int funct3) {
        return funct5 << 27 | fmt << 25 | rs2 << 20 | funct3 << 12 | OP_FP;
    }

    /** {@return the instruction word for form with the given registers and funct3/rm field} */
    static int encode(Form form, int rd, int rs1, int rs2, int rs3, int rm) {
        int w = form.word() | rd << 7 | rs1 << 15;
        if (form.rs2() != Kind.NONE) {
            w |= rs2 << 20;
        }
        if (form.rs3() != Kind.NONE) {
            w |= rs3 << 27;
        }
        if (form.rounds()) {
            w |= rm << 12;
        }
        return w;
    }

    static List<Vector> load() {
        try (InputStream in = FpVectors.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " not on the test class path");
            }
            return parse(new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Vector> parse(BufferedReader r) throws IOException {
        List<Vector> out = new ArrayList<>();
        for (String line; (line = r.readLine()) != null; ) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            String[] t = line.trim().split(" ");
            Form form = FORMS.get(t[0]);
            if (form == null || t.length != 7) {
                throw new IllegalArgumentException("bad vector: " + line);
            }
            out.add(new Vector(form, Integer.parseInt(t[1]), Long.parseUnsignedLong(t[2], 16),
                    Long.parseUnsignedLong(t[3], 16), Long.parseUnsignedLong(t[4], 16),
                    Long.parseUnsignedLong(t[5], 16), Integer.parseInt(t[6], 16), line));
        }
        return out;
    }

    /**
     * Runs one vector. Even-numbered vectors put the rounding mode in the instruction (with a
     * different, valid frm); odd ones use DYN with frm set to it.
     *
     * @return null if the outcome matches, else a description of the difference
     */
    static String replay(Vector v, int index) {
        long[] x = new long[32];
        long[] f = new long[32];
        Fpu fpu = new Fpu();
        int rd = 1 + index % 31;
        int rs1 = 10;
        int rs2 = 11;
        int rs3 = 12;
        load(x, f, rs1, v.form().rs1(), v.a());
        load(x, f, rs2, v.form().rs2(), v.b());
        load(x, f, rs3, v.form().rs3(), v.c());
        boolean dynamic = (index & 1) != 0;
        int rm = v.form().rounds() ? (dynamic ? 7 : v.rm()) : 0;
        int frm = dynamic ? v.rm() : (v.rm() + 1) % 5;
        int insn = encode(v.form(), rd, rs1, rs2, rs3, rm);
        if (!FloatOps.execute(insn, x, f, fpu, frm)) {
            return v.line() + ": rejected as illegal";
        }
        long actual = v.form().rd() == Kind.X ? x[rd] : f[rd];
        long expected = v.form().rd() == Kind.S ? 0xFFFF_FFFF_0000_0000L | v.result() : v.result();
        if (actual != expected || fpu.flags != v.flags()) {
            return "%s: got %x flags %x".formatted(v.line(), v.form().rd() == Kind.S ? (int) actual : actual, fpu.flags);
        }
        return null;
    }

    private static void load(long[] x, long[] f, int reg, Kind kind, long value) {
        switch (kind) {
            case S -> f[reg] = 0xFFFF_FFFF_0000_0000L | value;
            case D -> f[reg] = value;
            case X -> x[reg] = value;
            case NONE -> { }
        }
    }
}
