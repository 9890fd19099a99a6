package dev.ember.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import dev.ember.memory.GuestMemory;
import dev.ember.memory.PhysicalBus;
import dev.ember.riscv.cpu.Hart;
import dev.ember.riscv.cpu.Mstatus;
import dev.ember.riscv.cpu.Privilege;
import dev.ember.riscv.cpu.Trap;
import dev.ember.riscv.interp.Interpreter;
import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * One RV64GC hart on the interpreter, the reference engine, under arbitrary code: instruction
 * words (32-bit and compressed) and CSR accesses of any number, value and mask, from an arbitrary
 * starting state (registers, privilege mode, trap vectors, translation, delegation), on a hart
 * with or without the H extension (then also in VS or VU mode, with the hypervisor CSRs and
 * two-stage translation in the state's reach).
 *
 * <p>What the guest may see is architectural: a result, or a trap taken to the right mode
 * (RISC-V privileged ISA §3.1.6, §3.3). What it must never cause is a Java exception escaping the
 * engine, or a hart in no defined state: the privilege is U, S or M, the pc is 2-byte aligned
 * (IALIGN=16 with C), {@code x0} is zero, mstatus still says XLEN 64 in SXL and UXL, and V is
 * 1 only on a hart with H, below M-mode.
 */
class CpuFuzzTest {

    private static final long RAM_BASE = 0x8000_0000L;
    private static final long RAM_BYTES = 64 << 10;
    /** Instructions per execution: enough for traps, returns and loops, bounded. */
    private static final int BUDGET = 2000;
    /**
     * Trap handlers at the top of RAM, for M and S: {@code csrr x31, xepc; addi x31, x31, 2;
     * csrw xepc, x31; xret}. They resume 2 bytes past what trapped, so that one illegal word
     * does not trap forever and the rest of the input runs too (from mid-instruction at times:
     * arbitrary code either way).
     */
    private static final int[] M_HANDLER = {0x34102FF3, 0x002F8F93, 0x341F9073, 0x30200073};
    private static final int[] S_HANDLER = {0x14102FF3, 0x002F8F93, 0x141F9073, 0x10200073};
    private static final long M_HANDLER_GPA = RAM_BASE + RAM_BYTES - 64, S_HANDLER_GPA = RAM_BASE + RAM_BYTES - 32;
    private static final int[] PRIVILEGES = {Privilege.USER, Privilege.SUPERVISOR, Privilege.MACHINE};
    /** CSRs a trap handler and a kernel set up, so that arbitrary states reach them often. */
    private static final int[] CSRS = {0x300, 0x302, 0x303, 0x304, 0x305, 0x306, 0x30a, 0x340, 0x341, 0x342, 0x343,
            0x344, 0x100, 0x104, 0x105, 0x106, 0x10a, 0x140, 0x141, 0x142, 0x143, 0x144, 0x180, 0x14d, 0x003, 0x001,
            0x002, 0xc00, 0xc01, 0xc02, 0x3a0, 0x3b0, 0xf14, 0x301, 0x7b0,
            // the H extension's: hstatus, hedeleg, hideleg, hie, htimedelta, hcounteren, henvcfg, hvip,
            // hgatp, vsstatus, vsie, vstvec, vsepc, vsip, vstimecmp, vsatp, mtval2, mtinst
            0x600, 0x602, 0x603, 0x604, 0x605, 0x606, 0x60a, 0x645, 0x680, 0x200, 0x204, 0x205, 0x241, 0x244,
            0x24d, 0x280, 0x34b, 0x34a};

    @FuzzTest
    void instructions(FuzzedDataProvider data) {
        try (GuestMemory ram = GuestMemory.allocate(RAM_BASE, RAM_BYTES)) {
            long[] time = {0};
            Hart hart = new Hart(0, new PhysicalBus(ram), () -> time[0], data.consumeBoolean());
            // Mostly the stepping handlers; sometimes vectors anywhere in RAM, into the input's code.
            boolean handlers = data.consumeInt(0, 3) != 0;
            hart.mtvec = handlers ? M_HANDLER_GPA : RAM_BASE + data.consumeInt(0, (int) RAM_BYTES - 1);
            hart.stvec = handlers ? S_HANDLER_GPA : RAM_BASE + data.consumeInt(0, (int) RAM_BYTES - 1);
            hart.vstvec = hart.stvec;   // the S handler serves VS-mode too: sepc and sret reach vsepc and VS's sret
            writeCsrs(hart, data, data.consumeInt(0, 12));
            for (int r = 1; r < 32; r++) {
                hart.x[r] = data.consumeBoolean() ? RAM_BASE + data.consumeInt(0, (int) RAM_BYTES) : data.consumeLong();
            }
            setMode(hart, data);
            hart.pc = RAM_BASE + 2L * data.consumeInt(0, 64);
            byte[] code = data.consumeBytes((int) RAM_BYTES);
            ram.write(RAM_BASE, code);
            for (int k = 0; k < 4; k++) {
                ram.write32(M_HANDLER_GPA + 4L * k, M_HANDLER[k]);
                ram.write32(S_HANDLER_GPA + 4L * k, S_HANDLER[k]);
            }
            Interpreter interpreter = new Interpreter(hart);
            int done = 0;
            while (done < BUDGET) {
                hart.checkInterrupts();
                int ran = interpreter.run(Math.min(64, BUDGET - done));
                time[0] += ran + 1;
                done += ran + 1;   // a WFI or a slice that ends at once still counts
            }
            assertDefined(hart);
        }
    }

    @FuzzTest
    void csrs(FuzzedDataProvider data) {
        try (GuestMemory ram = GuestMemory.allocate(RAM_BASE, 4096)) {
            Hart hart = new Hart(0, new PhysicalBus(ram), () -> 0L, data.consumeBoolean());
            while (data.remainingBytes() > 0) {
                setMode(hart, data);
                writeCsrs(hart, data, 1);
                assertDefined(hart);
            }
            // every CSR number reads back as a value or an illegal-instruction trap, in M-mode
            hart.setPrivilege(Privilege.MACHINE);
            for (int csr = 0; csr < 4096; csr++) {
                try {
                    hart.csrAccess(csr, 0, 0, false);
                } catch (Trap t) {
                    assertEquals(2, t.cause(), "CSR 0x" + Integer.toHexString(csr) + " traps as an illegal instruction");
                }
            }
        }
    }

    /** Puts the hart in U, S or M mode, and with the H extension in VU or VS mode at times. */
    private static void setMode(Hart hart, FuzzedDataProvider data) {
        int priv = data.pickValue(PRIVILEGES);
        hart.setMode(priv, hart.hExtension && priv != Privilege.MACHINE && data.consumeBoolean());
    }

    /**
     * Accesses {@code n} CSRs, as CSRRW/CSRRS/CSRRC do, with the hart's current privilege: an
     * access traps as an illegal instruction if at all, or with V=1 as a virtual instruction.
     */
    private static void writeCsrs(Hart hart, FuzzedDataProvider data, int n) {
        for (int k = 0; k < n; k++) {
            int csr = data.consumeBoolean() ? data.pickValue(CSRS) : data.consumeInt(0, 0xFFF);
            long value = data.consumeLong();
            long mask = data.consumeBoolean() ? -1L : data.consumeLong();
            try {
                hart.csrAccess(csr, value, mask, data.consumeBoolean());
            } catch (Trap t) {
                assertTrue(t.cause() == 2 || (hart.virt && t.cause() == 22),
                        "a CSR access traps as an illegal or (V=1) virtual instruction, if at all: cause " + t.cause());
            }
        }
    }

    private static void assertDefined(Hart hart) {
        assertTrue(hart.priv == Privilege.USER || hart.priv == Privilege.SUPERVISOR || hart.priv == Privilege.MACHINE,
                "privilege " + hart.priv);
        assertEquals(0, hart.pc & 1, "pc 0x" + Long.toHexString(hart.pc) + " is 2-byte aligned");
        assertEquals(0, hart.x[0], "x0");
        assertEquals(Mstatus.XLEN64, hart.mstatus & Mstatus.XLEN64, "mstatus SXL and UXL");
        assertTrue(!hart.virt || (hart.hExtension && hart.priv != Privilege.MACHINE), "V=1 only below M, with H");
    }
}
