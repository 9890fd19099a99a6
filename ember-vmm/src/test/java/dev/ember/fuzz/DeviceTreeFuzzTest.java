package dev.ember.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ember.firmware.DeviceTree;
import dev.ember.firmware.fdt.FdtDecoder;
import java.util.ArrayList;
import java.util.List;

/**
 * The device-tree writer ({@code dev.ember.firmware}) given the inputs a user controls: the
 * kernel command line, the memory size, the vCPU count, the initrd's place, the virtio slots
 * in use.
 *
 * <p>Invariants: a {@link DeviceTree.Board} is either refused at construction with an
 * {@link IllegalArgumentException} or turned into a blob that parses back (an independent
 * reader, {@link FdtDecoder}, checks header, blocks and tokens) and says what the board said:
 * the command line byte for byte, the memory range, one CPU node per hart.
 */
class DeviceTreeFuzzTest {

    @FuzzTest(maxDuration = "15s")
    void board(FuzzedDataProvider data) {
        int harts = data.consumeBoolean() ? data.consumeInt(1, 8) : data.consumeInt();
        long ramSize = data.consumeBoolean() ? (long) data.consumeInt(1, 1 << 16) << 20 : data.consumeLong();
        long initrdStart = data.consumeBoolean() ? 0 : DeviceTree.DRAM_BASE + data.consumeLong(0, 1L << 32);
        long initrdEnd = initrdStart == 0 ? 0 : initrdStart + data.consumeLong(-1, 1L << 30);
        List<DeviceTree.VirtioSlot> slots = new ArrayList<>();
        for (int i = 0; i < DeviceTree.VIRTIO_COUNT; i++) {
            if (data.consumeBoolean()) {
                slots.add(DeviceTree.VirtioSlot.standard(i));
            }
        }
        String bootargs = data.consumeRemainingAsString();
        DeviceTree.Board board;
        try {
            board = new DeviceTree.Board(harts, DeviceTree.DRAM_BASE, ramSize, bootargs, initrdStart, initrdEnd,
                    "rv64imafdc_zicntr_zicsr_zifencei_sstc", "riscv,sv57", 10_000_000, slots);
        } catch (IllegalArgumentException e) {
            return;   // documented: the board is refused
        }
        FdtDecoder fdt = new FdtDecoder(DeviceTree.build(board));
        if (!bootargs.isEmpty()) {
            assertEquals(List.of(bootargs), fdt.node("/chosen").strings("bootargs"));
        }
        String memory = "/memory@" + Long.toHexString(DeviceTree.DRAM_BASE);
        assertArrayEquals(new int[] {0, (int) DeviceTree.DRAM_BASE, (int) (ramSize >>> 32), (int) ramSize},
                fdt.node(memory).u32s("reg"));
        for (int hart = 0; hart < harts; hart++) {
            fdt.node("/cpus/cpu@" + hart);
        }
    }
}
