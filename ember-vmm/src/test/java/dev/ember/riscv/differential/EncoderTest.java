package dev.ember.riscv.differential;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ember.riscv.interp.FloatOps;
import dev.ember.riscv.isa.Decoder;
import dev.ember.riscv.isa.Insn;
import dev.ember.riscv.isa.Op;
import dev.ember.riscv.isa.Rvc;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The encoder is the decoder's inverse: what it encodes decodes to the same op and operands. */
class EncoderTest {

    @Test
    void everyOpDecodesToItselfWithItsOperands() {
        SplittableRandom r = new SplittableRandom(1);
        for (Op op : Op.values()) {
            if (op == Op.ILLEGAL) {
                continue;
            }
            for (int k = 0; k < 50; k++) {
                int rd = r.nextInt(32), rs1 = r.nextInt(32), rs2 = r.nextInt(32), rs3 = r.nextInt(32), rm = r.nextInt(8);
                int imm = r.nextInt(-2048, 2048);
                int word = switch (op.format()) {
                    case R, FRNR, FCMP -> Encoder.r(op, rd, rs1, rs2);
                    case FR, FR1, F2X, F2X_NR, X2F, X2F_NR -> Encoder.fp(op, rd, rs1, rs2, rm);
                    case R4 -> Encoder.r4(op, rd, rs1, rs2, rs3, rm);
                    case I, LOAD, FLOAD -> Encoder.i(op, rd, rs1, imm);
                    case SHIFT -> Encoder.shift(op, rd, rs1, r.nextInt(op.name().endsWith("W") ? 32 : 64));
                    case S, FSTORE -> Encoder.s(op, rs2, rs1, imm);
                    case B -> Encoder.b(op, rs1, rs2, 2 * imm);
                    case U -> Encoder.u(op, rd, imm & 0xF_FFFF);
                    case J -> Encoder.jal(rd, 2 * imm);
                    case CSR, CSRI -> Encoder.csr(op, rd, imm & 0xFFF, rs1);
                    case LR, AMO -> op.name().startsWith("HLV")   // the hypervisor loads have no aq/rl bits
                            ? Encoder.r(op, rd, rs1, 0)
                            : Encoder.amo(op, rd, rs1, op.format() == Op.Format.LR ? 0 : rs2, r.nextBoolean(), r.nextBoolean());
                    case HSV -> Encoder.r(op, 0, rs1, rs2);
                    case NONE, SFENCE -> Encoder.sys(op, op.format() == Op.Format.SFENCE ? rs1 : 0, op.format() == Op.Format.SFENCE ? rs2 : 0);
                };
                long insn = Decoder.decode(word);
                assertEquals(op, Insn.op(insn), Integer.toHexString(word));
                switch (op.format()) {
                    case R, FRNR, FCMP, FR, AMO -> {
                        assertEquals(rd, Insn.rd(insn), op.name());
                        assertEquals(rs1, Insn.rs1(insn), op.name());
                        assertEquals(rs2, Insn.rs2(insn), op.name());
                    }
                    case I, LOAD, FLOAD -> assertEquals(imm, Insn.imm(insn), op.name());
                    case S, FSTORE -> assertEquals(imm, Insn.imm(insn), op.name());
                    case B, J -> assertEquals(2L * imm, Insn.imm(insn), op.name());
                    case R4 -> assertEquals(rs3, Insn.rs3(insn), op.name());
                    default -> { }
                }
                if (FloatOps.usesRoundingMode(op)) {
                    assertEquals(rm, Insn.rm(insn), op.name());
                }
            }
        }
    }

    @Test
    void everyCompressibleWordCompressesToAHalfwordWithTheSameExpansion() {
        int[] table = Rvc.buildTable();
        for (int h = 0; h < 1 << 16; h++) {
            if ((h & 3) != 3 && table[h] != Rvc.ILLEGAL) {
                int c = Encoder.compress(table[h]);
                assertEquals(table[h], table[c], "halfword 0x" + Integer.toHexString(h));
            }
        }
    }

    @Test
    void liSetsEveryValue() {
        // Checked by decoding and evaluating the sequence: LUI, ADDI(W), SLLI, ORI only.
        SplittableRandom r = new SplittableRandom(2);
        for (int k = 0; k < 1000; k++) {
            long value = k < 30 ? Values.integer(new SplittableRandom(k)) : r.nextLong();
            long x = 0;
            for (int word : Generator.li64(5, value)) {
                long insn = Decoder.decode(word);
                long imm = Insn.imm(insn);
                x = switch (Insn.op(insn)) {
                    case LUI -> imm;
                    case ADDI -> (Insn.rs1(insn) == 0 ? 0 : x) + imm;
                    case ADDIW -> (int) (x + imm);
                    case SLLI -> x << imm;
                    case ORI -> x | imm;
                    default -> throw new AssertionError(Insn.op(insn));
                };
            }
            assertEquals(value, x, Long.toHexString(value));
        }
    }
}
