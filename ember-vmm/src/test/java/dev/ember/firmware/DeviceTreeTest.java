package dev.ember.firmware;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import dev.ember.firmware.DeviceTree.Board;
import dev.ember.firmware.DeviceTree.VirtioSlot;
import dev.ember.firmware.fdt.Dtc;
import dev.ember.firmware.fdt.FdtDecoder;

class DeviceTreeTest {

    private static final String ISA = "rv64imafdc_zicntr_zicsr_zifencei_sstc";

    private static Board board(int harts, long initrdStart, long initrdEnd, List<VirtioSlot> slots) {
        return new Board(harts, 0x8000_0000L, 128L << 20, "console=ttyS0 earlycon", initrdStart, initrdEnd,
                ISA, "riscv,sv57", 10_000_000L, slots);
    }

    private static final Board TWO_HARTS = board(2, 0x8800_0000L, 0x8810_0000L,
            List.of(VirtioSlot.standard(0), VirtioSlot.standard(1)));

    static Stream<Arguments> expectedDts() {
        return Stream.of(
            // what                  DTS text from dtc -I dtb -O dts
            arguments("root compatible", "compatible = \"riscv-virtio\";"),
            arguments("root model",   "model = \"riscv-virtio,qemu\";"),
            arguments("root cells",   "#address-cells = <0x02>;\n\t#size-cells = <0x02>;"),
            arguments("bootargs",     "bootargs = \"console=ttyS0 earlycon\";"),
            arguments("stdout-path",  "stdout-path = \"/soc/serial@10000000\";"),
            arguments("initrd start", "linux,initrd-start = <0x00 0x88000000>;"),
            arguments("initrd end",   "linux,initrd-end = <0x00 0x88100000>;"),
            arguments("memory",       "memory@80000000 {\n\t\tdevice_type = \"memory\";\n\t\treg = <0x00 0x80000000 0x00 0x8000000>;"),
            arguments("timebase",     "timebase-frequency = <0x989680>;"),
            arguments("cpus cells",   "#address-cells = <0x01>;\n\t\t#size-cells = <0x00>;"),
            arguments("cpu@1 first phandle", "cpu@1 {\n\t\t\tphandle = <0x01>;"),
            arguments("isa",          "riscv,isa = \"" + ISA + "\";"),
            arguments("mmu",          "mmu-type = \"riscv,sv57\";"),
            arguments("cpu status",   "status = \"okay\";"),
            arguments("cpu intc",     "compatible = \"riscv,cpu-intc\";"),
            arguments("cpu-map",      "core1 {\n\t\t\t\t\tcpu = <0x01>;"),
            arguments("soc",          "compatible = \"simple-bus\";\n\t\tranges;"),
            arguments("clint",        "clint@2000000 {\n\t\t\tinterrupts-extended = <0x04 0x03 0x04 0x07 0x02 0x03 0x02 0x07>;"),
            arguments("clint compat", "compatible = \"sifive,clint0\\0riscv,clint0\";"),
            arguments("plic targets", "interrupts-extended = <0x04 0x0b 0x04 0x09 0x02 0x0b 0x02 0x09>;"),
            arguments("plic compat",  "compatible = \"sifive,plic-1.0.0\\0riscv,plic0\";"),
            arguments("plic ndev",    "riscv,ndev = <0x5f>;"),
            arguments("plic reg",     "reg = <0x00 0xc000000 0x00 0x600000>;"),
            arguments("plic phandle", "plic@c000000 {\n\t\t\tphandle = <0x05>;"),
            arguments("serial",       "serial@10000000 {\n\t\t\tinterrupts = <0x0a>;\n\t\t\tinterrupt-parent = <0x05>;"),
            arguments("serial compat", "compatible = \"ns16550a\";"),
            arguments("test",         "test@100000 {\n\t\t\tphandle = <0x06>;"),
            arguments("test compat",  "compatible = \"sifive,test1\\0sifive,test0\\0syscon\";"),
            arguments("poweroff",     "poweroff {\n\t\tvalue = <0x5555>;\n\t\toffset = <0x00>;\n\t\tregmap = <0x06>;\n\t\tcompatible = \"syscon-poweroff\";"),
            arguments("reboot",       "reboot {\n\t\tvalue = <0x7777>;\n\t\toffset = <0x00>;\n\t\tregmap = <0x06>;\n\t\tcompatible = \"syscon-reboot\";"),
            arguments("virtio 0",     "virtio_mmio@10001000 {\n\t\t\tinterrupts = <0x01>;\n\t\t\tinterrupt-parent = <0x05>;\n\t\t\treg = <0x00 0x10001000 0x00 0x1000>;\n\t\t\tcompatible = \"virtio,mmio\";"),
            arguments("virtio 1",     "virtio_mmio@10002000 {\n\t\t\tinterrupts = <0x02>;"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("expectedDts")
    void dtcDecompilesTheBoardToQemuVirtNodes(String what, String expected) throws Exception {
        String dts = Dtc.decompile(DeviceTree.build(TWO_HARTS)).dts();
        assertTrue(dts.contains(expected), () -> what + ": missing\n" + expected + "\nin\n" + dts);
    }

    @Test
    void dtcSeesNodesInQemuOrder() throws Exception {
        String dts = Dtc.decompile(DeviceTree.build(TWO_HARTS)).dts();
        List<String> order = List.of("chosen {", "poweroff {", "reboot {", "memory@80000000 {", "cpus {",
                "cpu@0 {", "cpu@1 {", "cpu-map {", "soc {", "serial@10000000 {", "test@100000 {",
                "virtio_mmio@10002000 {", "virtio_mmio@10001000 {", "plic@c000000 {", "clint@2000000 {");
        int last = -1;
        for (String node : order) {
            int at = dts.indexOf(node);
            assertTrue(at > last, () -> node + " out of order in\n" + dts);
            last = at;
        }
    }

    @Test
    void blobHeaderIsVersion17() {
        byte[] blob = DeviceTree.build(TWO_HARTS);
        FdtDecoder d = new FdtDecoder(blob);
        assertEquals(blob.length, d.totalSize);
        assertEquals(17, d.version);
        assertEquals(16, d.lastCompVersion);
        assertEquals(0, d.bootCpuidPhys);
        assertEquals(List.of(), d.reservations);
    }

    @Test
    void uartClockIs3686400() {
        FdtDecoder d = new FdtDecoder(DeviceTree.build(TWO_HARTS));
        assertArrayEquals(new int[] {3_686_400}, d.node("/soc/serial@10000000").u32s("clock-frequency"));
    }

    @Test
    void interruptsExtendedPointAtEachHartsIntc() {
        int harts = 4;
        FdtDecoder d = new FdtDecoder(DeviceTree.build(board(harts, 0, 0, List.of())));
        int[] plic = d.node("/soc/plic@c000000").u32s("interrupts-extended");
        int[] clint = d.node("/soc/clint@2000000").u32s("interrupts-extended");
        for (int hart = 0; hart < harts; hart++) {
            int intc = d.node("/cpus/cpu@" + hart + "/interrupt-controller").u32s("phandle")[0];
            assertArrayEquals(new int[] {intc, 11, intc, 9}, Arrays.copyOfRange(plic, 4 * hart, 4 * hart + 4));
            assertArrayEquals(new int[] {intc, 3, intc, 7}, Arrays.copyOfRange(clint, 4 * hart, 4 * hart + 4));
            int cpu = d.node("/cpus/cpu@" + hart).u32s("phandle")[0];
            assertEquals(cpu, d.node("/cpus/cpu-map/cluster0/core" + hart).u32s("cpu")[0]);
        }
    }

    @Test
    void noInitrdMeansNoInitrdProperties() {
        FdtDecoder d = new FdtDecoder(DeviceTree.build(board(1, 0, 0, List.of())));
        assertFalse(d.node("/chosen").properties().containsKey("linux,initrd-start"));
        assertFalse(d.node("/chosen").properties().containsKey("linux,initrd-end"));
    }

    @Test
    void emptyBootargsAreLeftOut() {
        Board b = new Board(1, 0x8000_0000L, 1 << 20, null, 0, 0, ISA, "riscv,sv57", 10_000_000L);
        FdtDecoder d = new FdtDecoder(DeviceTree.build(b));
        assertFalse(d.node("/chosen").properties().containsKey("bootargs"));
        assertEquals(List.of(), b.virtioSlots());
    }

    @Test
    void noVirtioSlotsMeansNoVirtioNodes() {
        FdtDecoder d = new FdtDecoder(DeviceTree.build(board(1, 0, 0, List.of())));
        assertTrue(d.node("/soc").children().stream().noneMatch(n -> n.startsWith("virtio_mmio")));
    }

    @Test
    void buildIsDeterministic() {
        assertArrayEquals(DeviceTree.build(TWO_HARTS), DeviceTree.build(TWO_HARTS));
    }

    @Test
    void standardSlotsFollowQemuVirt() {
        assertEquals(new VirtioSlot(0x1000_1000L, 0x1000, 1), VirtioSlot.standard(0));
        assertEquals(new VirtioSlot(0x1000_8000L, 0x1000, 8), VirtioSlot.standard(7));
        assertThrows(IllegalArgumentException.class, () -> VirtioSlot.standard(8));
    }

    @Test
    void invalidBoardsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> board(0, 0, 0, List.of()));
        assertThrows(IllegalArgumentException.class, () -> board(513, 0, 0, List.of()));
        assertThrows(IllegalArgumentException.class, () -> board(1, 0x9000_0000L, 0x8000_0000L, List.of()));
        assertThrows(IllegalArgumentException.class, () -> new VirtioSlot(0x1000_1000L, 0x1000, 96));
    }
}
