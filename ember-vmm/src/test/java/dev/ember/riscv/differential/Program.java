package dev.ember.riscv.differential;

import dev.ember.riscv.isa.Op;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A generated program and the state it starts from: what {@link Generator} makes from a seed,
 * what the {@link Minimizer} shrinks, and what {@link #link} turns into a RAM image.
 *
 * @param seed   the seed it was generated from
 * @param init   the hart's registers and CSRs, the data and the page tables it starts with
 * @param start  where the main item list begins
 * @param main   the program
 * @param subs   subroutines, called by number
 * @param chunk  the budget of each {@code run} call the engines get: small chunks make
 *               translated code leave and re-enter often
 * @param stops  where the run stops to compare states and maybe raise an interrupt, in order;
 *               often none
 */
record Program(long seed, InitialState init, long start, List<Item> main, List<Item.Sub> subs, int chunk,
               List<Stop> stops) {

    /** {@return the same program with other items} */
    Program with(List<Item> main, List<Item.Sub> subs) {
        return new Program(seed, init, start, main, subs, chunk, stops);
    }

    /**
     * A point between two slices where the states of the engines are compared, and where an
     * interrupt may be raised from outside, as a device or another hart raises one: at the first
     * slice boundary of the engine under test at which {@code instret} has reached
     * {@code instret}. The reference engine is stopped at exactly the same point.
     *
     * @param interrupt the {@code mip} bit set there, or -1 for none
     */
    record Stop(long instret, int interrupt) {}

    /** {@return how many items the program has, nested ones and subroutines' included} */
    int count() {
        int n = Item.countOf(main);
        for (Item.Sub s : subs) {
            n += Item.countOf(s.body());
        }
        return n;
    }

    /**
     * The hart and memory a program starts with.
     *
     * @param x        integer registers (x0 ignored)
     * @param f        FP registers' raw bits
     * @param csrs     (CSR number, value) pairs written in M-mode, in order, before the run
     * @param frm      the dynamic rounding mode, 0..7
     * @param fflags   accrued exception flags
     * @param l0a      the level-0 entries of page table A at {@link Layout#ALIAS_BASE}
     * @param l0b      the same for page table B
     * @param dataSeed seeds the data area's contents
     */
    record InitialState(long[] x, long[] f, long[] csrs, int frm, int fflags, long[] l0a, long[] l0b, long dataSeed) {}

    /**
     * A linked program: RAM contents and the instructions' addresses.
     *
     * @param ram   the RAM image, {@link Layout#RAM_SIZE} bytes from {@link Layout#RAM_BASE}
     * @param lines every instruction, handlers included, by address
     * @param end   the address of {@code end: wfi}; a run is over when the hart waits there
     */
    record Image(byte[] ram, List<Code.Line> lines, long end) {}

    /** {@return the RAM image of this program and its initial memory} */
    Image link() {
        Code c = new Code(Layout.RAM_BASE);
        Handlers.emit(c);
        c.org(start);
        long[] subAddresses = new long[subs.size()];
        long at = start + Item.sizeOf(main) + 8;
        for (int k = 0; k < subs.size(); k++) {
            subAddresses[k] = at;
            at += subs.get(k).size();
        }
        Item.emitList(c, main, subAddresses);
        long end = c.pc();
        c.emit(Encoder.sys(Op.WFI, 0, 0));
        c.emit(Encoder.jal(0, -4));
        for (Item.Sub s : subs) {
            Item.emitList(c, s.body(), subAddresses);
            c.emit(s.compressedReturn() ? Item.compressed(Encoder.i(Op.JALR, 0, Regs.RA, 0)) : Encoder.i(Op.JALR, 0, Regs.RA, 0));
        }
        if (c.pc() > Layout.CODE_LIMIT) {
            throw new IllegalStateException("program too large: ends at 0x" + Long.toHexString(c.pc()));
        }
        List<Code.Line> lines = new ArrayList<>(c.lines());
        ByteBuffer ram = ByteBuffer.allocate(Layout.RAM_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        for (Code.Line l : lines) {
            int offset = (int) (l.pc() - Layout.RAM_BASE);
            if (l.length() == 4) {
                ram.putInt(offset, l.bits());
            } else {
                ram.putShort(offset, (short) l.bits());
            }
        }
        fillData(ram);
        ram.putLong(offset(Layout.SATP_A_SLOT), Layout.SATP_A);
        ram.putLong(offset(Layout.SATP_B_SLOT), Layout.SATP_B);
        pageTables(ram, Layout.ROOT_A, Layout.L1_A, Layout.L0_A, init.l0a());
        pageTables(ram, Layout.ROOT_B, Layout.L1_B, Layout.L0_B, init.l0b());
        return new Image(ram.array(), lines, end);
    }

    private static int offset(long gpa) {
        return (int) (gpa - Layout.RAM_BASE);
    }

    private void fillData(ByteBuffer ram) {
        SplittableRandom r = new SplittableRandom(init.dataSeed());
        int base = offset(Layout.DATA);
        for (int k = 0; k < Layout.DATA_PAGES * 4096; k += 8) {
            long v = r.nextInt(4) == 0 ? Values.fpBits(r) : r.nextInt(4) == 0 ? Values.integer(r) : r.nextLong();
            ram.putLong(base + k, v);
        }
    }

    private static void pageTables(ByteBuffer ram, long root, long l1, long l0, long[] leaves) {
        long rwx = Layout.V | Layout.R | Layout.W | Layout.X | Layout.A | Layout.D;
        ram.putLong(offset(root) + 8, Layout.pte(l1, Layout.V));
        ram.putLong(offset(root) + 16, Layout.pte(Layout.RAM_BASE, rwx));     // gigapage: identity
        ram.putLong(offset(l1), Layout.pte(l0, Layout.V));
        ram.putLong(offset(l1) + 8, Layout.pte(Layout.RAM_BASE, rwx));        // megapage: code alias
        ram.putLong(offset(l1) + 16, Layout.pte(Layout.RAM_BASE, rwx | Layout.U));   // and for U-mode
        for (int k = 0; k < leaves.length; k++) {
            ram.putLong(offset(l0) + 8 * k, leaves[k]);
        }
    }
}
