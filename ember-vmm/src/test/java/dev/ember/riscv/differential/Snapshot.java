package dev.ember.riscv.differential;

import dev.ember.memory.GuestMemory;
import dev.ember.memory.PhysicalBus;
import dev.ember.riscv.cpu.Hart;
import dev.ember.riscv.cpu.Mstatus;
import dev.ember.riscv.cpu.Privilege;
import dev.ember.riscv.cpu.Trap;
import dev.ember.riscv.isa.Disassembler;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A hart's complete architectural state and its RAM, taken at the end of a run, and the
 * differences between two of them.
 *
 * <p>CSRs are read as M-mode software reads them, through {@link Hart#csrAccess}, for every CSR
 * number that exists (found once by probing a fresh hart); one that cannot be read in the
 * current state (the FP CSRs while {@code mstatus.FS} is Off) is recorded as illegal.
 *
 * @param csrs        values in the order of {@link #CSR_NUMBERS}; {@link #ILLEGAL} where the read trapped
 * @param reservationOffset the LR reservation's RAM offset, -1 for none
 * @param reservationValue  the value LR loaded, 0 when no reservation is held
 */
record Snapshot(long[] x, long[] f, long pc, int priv, long instret, int frm, int fflags, long[] csrs,
                long reservationOffset, long reservationValue, byte[] ram) {

    /** Marks a CSR whose read trapped; no readable CSR holds it in these programs. */
    static final long ILLEGAL = 0xBAD_C5B0_BAD_C5B0L;

    /** Every CSR number an M-mode read accepts. */
    static final int[] CSR_NUMBERS = probeCsrs();

    private static int[] probeCsrs() {
        try (GuestMemory ram = GuestMemory.allocate(Layout.RAM_BASE, 4096)) {
            Hart h = new Hart(0, new PhysicalBus(ram), () -> 0);
            h.reset(Layout.RAM_BASE, Privilege.MACHINE);
            h.mstatus |= Mstatus.FS_DIRTY;
            int[] found = new int[4096];
            int n = 0;
            for (int csr = 0; csr < 4096; csr++) {
                try {
                    h.csrAccess(csr, 0, 0, false);
                    found[n++] = csr;
                } catch (Trap t) {
                    // does not exist
                }
            }
            return Arrays.copyOf(found, n);
        }
    }

    static Snapshot of(Hart h, GuestMemory ram) {
        long[] csrs = new long[CSR_NUMBERS.length];
        int priv = h.priv;
        h.priv = Privilege.MACHINE;   // not setPrivilege: the MMU's keys stay as the program left them
        try {
            for (int k = 0; k < csrs.length; k++) {
                try {
                    csrs[k] = h.csrAccess(CSR_NUMBERS[k], 0, 0, false);
                } catch (Trap t) {
                    csrs[k] = ILLEGAL;
                }
            }
        } finally {
            h.priv = priv;
        }
        // The value loaded by LR means something only while the reservation is held.
        long reservationValue = h.reservationOffset == -1 ? 0 : h.reservationValue;
        return new Snapshot(h.x.clone(), h.f.clone(), h.pc, priv, h.instret, h.frm, h.fpu.flags, csrs,
                h.reservationOffset, reservationValue, ram.read(Layout.RAM_BASE, Layout.RAM_SIZE));
    }

    /** {@return one line per difference, "field: this value vs that value"; memory as its first eight differing doublewords} */
    List<String> diff(Snapshot that, String thisName, String thatName) {
        List<String> out = new ArrayList<>();
        String vs = " vs " + thatName + " ";
        for (int r = 1; r < 32; r++) {
            field(out, "x%d (%s)".formatted(r, Disassembler.xName(r)), x[r], that.x[r], thisName, vs);
        }
        for (int r = 0; r < 32; r++) {
            field(out, "f%d (%s)".formatted(r, Disassembler.fName(r)), f[r], that.f[r], thisName, vs);
        }
        field(out, "pc", pc, that.pc, thisName, vs);
        if (priv != that.priv) {
            out.add("privilege: %s %s%s%s".formatted(thisName, Privilege.name(priv), vs, Privilege.name(that.priv)));
        }
        field(out, "instret", instret, that.instret, thisName, vs);
        field(out, "frm", frm, that.frm, thisName, vs);
        field(out, "fflags", fflags, that.fflags, thisName, vs);
        field(out, "reservation offset", reservationOffset, that.reservationOffset, thisName, vs);
        field(out, "reservation value", reservationValue, that.reservationValue, thisName, vs);
        for (int k = 0; k < csrs.length; k++) {
            if (csrs[k] != that.csrs[k]) {
                out.add("csr %s: %s %s%s%s".formatted(Disassembler.csrName(CSR_NUMBERS[k]), thisName,
                        csrValue(csrs[k]), vs, csrValue(that.csrs[k])));
            }
        }
        memory(out, that, thisName, vs);
        return out;
    }

    private static String csrValue(long v) {
        return v == ILLEGAL ? "(illegal)" : "0x" + Long.toHexString(v);
    }

    private static void field(List<String> out, String name, long a, long b, String thisName, String vs) {
        if (a != b) {
            out.add("%s: %s 0x%x%s0x%x".formatted(name, thisName, a, vs, b));
        }
    }

    private void memory(List<String> out, Snapshot that, String thisName, String vs) {
        ByteBuffer a = ByteBuffer.wrap(ram).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer b = ByteBuffer.wrap(that.ram).order(ByteOrder.LITTLE_ENDIAN);
        int shown = 0;
        int differing = 0;
        for (int offset = 0; offset < ram.length; offset += 8) {
            long va = a.getLong(offset);
            long vb = b.getLong(offset);
            if (va != vb) {
                differing++;
                if (shown++ < 8) {
                    out.add("memory 0x%x: %s 0x%016x%s0x%016x".formatted(Layout.RAM_BASE + offset, thisName, va, vs, vb));
                }
            }
        }
        if (shown > 8) {
            out.add("... and %d more differing doublewords of memory".formatted(differing - 8));
        }
    }

    /** {@return whether the two states are the same} */
    boolean sameAs(Snapshot that) {
        return Arrays.equals(x, that.x) && Arrays.equals(f, that.f) && pc == that.pc && priv == that.priv
                && instret == that.instret && frm == that.frm && fflags == that.fflags
                && reservationOffset == that.reservationOffset && reservationValue == that.reservationValue
                && Arrays.equals(csrs, that.csrs) && Arrays.equals(ram, that.ram);
    }
}
