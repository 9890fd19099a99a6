package dev.ember.riscv.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class AssemblerTest {

    @Test
    void addiAssemblesToItsBaseEncoding() {
        // addi a0, zero, 5: imm = 5, rs1 = x0, funct3 = 000, rd = x10, opcode OP-IMM
        assertArrayEquals(new byte[] {0x13, 0x05, 0x50, 0x00}, Assembler.assemble("addi a0, zero, 5"));
    }

    @Test
    void labelsResolveToAddressesAtRamBase() {
        var symbols = Assembler.symbols("_start: nop\nsecond: nop\n");
        assertEquals(Assembler.RAM_BASE, symbols.get("_start"));
        assertEquals(Assembler.RAM_BASE + 4, symbols.get("second"));   // nop is 32-bit: addi, never c.nop
    }

    @Test
    void elfStartsWithTheElfMagic() {
        byte[] elf = Assembler.assembleElf("nop");
        assertArrayEquals(new byte[] {0x7F, 'E', 'L', 'F'}, java.util.Arrays.copyOf(elf, 4));
    }

    @Test
    void rejectedSourceReportsTheAssemblersError() {
        var e = assertThrows(Assembler.AssemblyFailedException.class, () -> Assembler.assemble("frobnicate a0"));
        assertTrue(e.getMessage().contains("frobnicate"), e::getMessage);
    }
}
