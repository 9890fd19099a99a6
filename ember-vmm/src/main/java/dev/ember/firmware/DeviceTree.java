package dev.ember.firmware;

import java.util.List;
import java.util.Objects;

import dev.ember.devices.irq.Aclint;
import dev.ember.devices.irq.HartInterruptInputs;
import dev.ember.devices.irq.Plic;
import dev.ember.devices.power.SifiveTest;
import dev.ember.devices.serial.Uart16550;
import dev.ember.firmware.fdt.FdtBuilder;

/**
 * The device tree of Ember's board, a subset of QEMU 7.2's {@code virt} machine (QEMU
 * {@code hw/riscv/virt.c}, {@code create_fdt} and its helpers), so that Linux, OpenSBI and
 * the built-in SBI find the devices where they look on {@code virt}.
 *
 * <pre>
 *   device             base          size       PLIC source   node
 *   sifive,test1       0x0010_0000   0x1000     -             /soc/test@100000
 *   CLINT              0x0200_0000   0x10000    -             /soc/clint@2000000
 *   PLIC               0x0C00_0000   0x600000   -             /soc/plic@c000000
 *   ns16550a           0x1000_0000   0x100      10            /soc/serial@10000000
 *   virtio-mmio i      0x1000_1000   0x1000     1 + i         /soc/virtio_mmio@...  (i = 0..7)
 *   RAM                ramBase       ramSize    -             /memory@...
 * </pre>
 *
 * <p>Nodes, properties and phandles come out in the order QEMU's blob has them. libfdt's
 * {@code fdt_add_subnode} and {@code fdt_setprop} insert in front of the existing siblings,
 * so QEMU's blob lists nodes and properties in the reverse of the order in which
 * {@code create_fdt} makes them; the code below writes them in blob order. Phandles are
 * handed out in making order: for each hart from the last down, the cpu node then its
 * interrupt controller, then the PLIC, then the test device. {@code clint} and {@code plic} list their {@code interrupts-extended}
 * targets hart by hart, M-mode before S-mode (MSIP 3 then MTIP 7; MEIP 11 then SEIP 9),
 * which is also the PLIC's context numbering. Omitted from QEMU's tree: PCIe, RTC, flash,
 * fw_cfg, the PMU node, and {@code /chosen/rng-seed}, so the blob is a pure function of the
 * {@link Board}.
 *
 * <p>Threads: pure; any thread.
 */
public final class DeviceTree {

    public static final long TEST_BASE = 0x0010_0000L;
    public static final long CLINT_BASE = 0x0200_0000L;
    public static final long PLIC_BASE = 0x0C00_0000L;
    public static final long UART0_BASE = 0x1000_0000L;
    public static final int UART0_IRQ = 10;
    public static final long VIRTIO_BASE = 0x1000_1000L;
    public static final long VIRTIO_STRIDE = 0x1000L;
    public static final int VIRTIO_IRQ = 1;
    public static final int VIRTIO_COUNT = 8;
    public static final long DRAM_BASE = 0x8000_0000L;

    /** The UART's input clock, 1.8432 MHz * 2, as QEMU declares it. */
    public static final int UART0_CLOCK_FREQUENCY = 3_686_400;

    private DeviceTree() {}

    /**
     * One virtio-mmio transport slot: its register window and PLIC source.
     *
     * @param base gpa of the register window
     * @param size bytes of the register window
     * @param irq  PLIC source, 1..{@link Plic#NDEV}
     */
    public record VirtioSlot(long base, long size, int irq) {
        /** @throws IllegalArgumentException if {@code irq} is not a PLIC source or {@code size} is not positive */
        public VirtioSlot {
            if (irq < 1 || irq > Plic.NDEV || size <= 0) {
                throw new IllegalArgumentException("bad virtio slot " + Long.toHexString(base) + "/" + irq);
            }
        }

        /** {@return QEMU {@code virt}'s slot {@code i}}: base {@code 0x1000_1000 + 0x1000*i}, source {@code 1 + i} */
        public static VirtioSlot standard(int i) {
            if (i < 0 || i >= VIRTIO_COUNT) {
                throw new IllegalArgumentException("virtio slot " + i + " not in 0.." + (VIRTIO_COUNT - 1));
            }
            return new VirtioSlot(VIRTIO_BASE + VIRTIO_STRIDE * i, VIRTIO_STRIDE, VIRTIO_IRQ + i);
        }
    }

    /**
     * What the tree describes.
     *
     * @param hartCount         harts 0..hartCount-1, 1..{@link Plic#MAX_HARTS}
     * @param ramBase           gpa of RAM, normally {@link #DRAM_BASE}
     * @param ramSize           bytes of RAM
     * @param bootargs          the kernel command line; {@code null} or empty for none; no NUL
     *                          character, since {@code bootargs} is a {@code <string>} (Devicetree
     *                          Specification v0.4 §2.2.4)
     * @param initrdStart       gpa of the initrd's first byte; 0 together with {@code initrdEnd} for none
     * @param initrdEnd         gpa one past the initrd's last byte
     * @param isa               {@code riscv,isa} of every hart, e.g. {@code "rv64imafdc_zicntr_zicsr_zifencei_sstc"}
     * @param mmuType           {@code mmu-type} of every hart, e.g. {@code "riscv,sv57"}
     * @param timebaseFrequency the {@code mtime} tick rate in Hz, e.g. 10_000_000
     * @param virtioSlots       virtio-mmio transports, in any order; may be empty. Later
     *                          virtio devices are attached here, normally at
     *                          {@link VirtioSlot#standard}.
     */
    public record Board(int hartCount, long ramBase, long ramSize, String bootargs,
                        long initrdStart, long initrdEnd, String isa, String mmuType,
                        long timebaseFrequency, List<VirtioSlot> virtioSlots) {

        public Board {
            if (hartCount < 1 || hartCount > Plic.MAX_HARTS) {
                throw new IllegalArgumentException("hartCount " + hartCount);
            }
            if (ramSize <= 0) {
                throw new IllegalArgumentException("ramSize " + ramSize);
            }
            if (!(initrdStart == 0 && initrdEnd == 0) && Long.compareUnsigned(initrdStart, initrdEnd) >= 0) {
                throw new IllegalArgumentException("initrd [%x, %x) is empty".formatted(initrdStart, initrdEnd));
            }
            if (timebaseFrequency <= 0 || timebaseFrequency > 0xFFFF_FFFFL) {
                throw new IllegalArgumentException("timebaseFrequency " + timebaseFrequency + " must fit one cell");
            }
            bootargs = Objects.requireNonNullElse(bootargs, "");
            if (bootargs.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("bootargs contain a NUL character");
            }
            Objects.requireNonNull(isa, "isa");
            Objects.requireNonNull(mmuType, "mmuType");
            virtioSlots = List.copyOf(virtioSlots);
        }

        /** A board with no virtio slots. */
        public Board(int hartCount, long ramBase, long ramSize, String bootargs,
                     long initrdStart, long initrdEnd, String isa, String mmuType,
                     long timebaseFrequency) {
            this(hartCount, ramBase, ramSize, bootargs, initrdStart, initrdEnd, isa, mmuType,
                    timebaseFrequency, List.of());
        }

        /** {@return whether an initrd is described} */
        public boolean hasInitrd() {
            return initrdStart != 0 || initrdEnd != 0;
        }
    }

    /** {@return the flattened device tree of {@code board}} */
    public static byte[] build(Board board) {
        int harts = board.hartCount();
        FdtBuilder fdt = new FdtBuilder();

        // Phandles in QEMU's allocation order (see the class comment).
        int[] cpuPhandle = new int[harts];
        int[] intcPhandle = new int[harts];
        for (int hart = harts - 1; hart >= 0; hart--) {
            cpuPhandle[hart] = fdt.allocatePhandle();
            intcPhandle[hart] = fdt.allocatePhandle();
        }
        int plicPhandle = fdt.allocatePhandle();
        int testPhandle = fdt.allocatePhandle();

        fdt.beginNode("")
                .propertyU32("#address-cells", 2)
                .propertyU32("#size-cells", 2)
                .propertyString("compatible", "riscv-virtio")
                .propertyString("model", "riscv-virtio,qemu");

        chosen(fdt, board);
        syscon(fdt, "poweroff", "syscon-poweroff", testPhandle, SifiveTest.FINISHER_PASS);
        syscon(fdt, "reboot", "syscon-reboot", testPhandle, SifiveTest.FINISHER_RESET);

        fdt.beginNode("memory@" + Long.toHexString(board.ramBase()))
                .propertyString("device_type", "memory")
                .propertyU64("reg", board.ramBase(), board.ramSize())
                .endNode();

        cpus(fdt, board, cpuPhandle, intcPhandle);
        soc(fdt, board, intcPhandle, plicPhandle, testPhandle);

        fdt.endNode();
        return fdt.finish();
    }

    private static void chosen(FdtBuilder fdt, Board board) {
        fdt.beginNode("chosen");
        if (board.hasInitrd()) {
            fdt.propertyU64("linux,initrd-end", board.initrdEnd())
                    .propertyU64("linux,initrd-start", board.initrdStart());
        }
        if (!board.bootargs().isEmpty()) {
            fdt.propertyString("bootargs", board.bootargs());
        }
        fdt.propertyString("stdout-path", "/soc/serial@" + Long.toHexString(UART0_BASE))
                .endNode();
    }

    private static void syscon(FdtBuilder fdt, String name, String compatible, int regmap, int value) {
        fdt.beginNode(name)
                .propertyU32("value", value)
                .propertyU32("offset", 0)
                .propertyU32("regmap", regmap)
                .propertyString("compatible", compatible)
                .endNode();
    }

    private static void cpus(FdtBuilder fdt, Board board, int[] cpuPhandle, int[] intcPhandle) {
        fdt.beginNode("cpus")
                .propertyU32("#address-cells", 1)
                .propertyU32("#size-cells", 0)
                .propertyU32("timebase-frequency", (int) board.timebaseFrequency());
        for (int hart = 0; hart < board.hartCount(); hart++) {
            fdt.beginNode("cpu@" + hart)
                    .propertyU32("phandle", cpuPhandle[hart])
                    .propertyString("device_type", "cpu")
                    .propertyU32("reg", hart)
                    .propertyString("status", "okay")
                    .propertyString("compatible", "riscv")
                    .propertyString("riscv,isa", board.isa())
                    .propertyString("mmu-type", board.mmuType());
            fdt.beginNode("interrupt-controller")
                    .propertyU32("#interrupt-cells", 1)
                    .propertyEmpty("interrupt-controller")
                    .propertyString("compatible", "riscv,cpu-intc")
                    .propertyU32("phandle", intcPhandle[hart])
                    .endNode();
            fdt.endNode();
        }
        fdt.beginNode("cpu-map").beginNode("cluster0");
        for (int hart = 0; hart < board.hartCount(); hart++) {
            fdt.beginNode("core" + hart).propertyU32("cpu", cpuPhandle[hart]).endNode();
        }
        fdt.endNode().endNode();
        fdt.endNode();
    }

    private static void soc(FdtBuilder fdt, Board board, int[] intcPhandle, int plicPhandle, int testPhandle) {
        int harts = board.hartCount();
        fdt.beginNode("soc")
                .propertyU32("#address-cells", 2)
                .propertyU32("#size-cells", 2)
                .propertyString("compatible", "simple-bus")
                .propertyEmpty("ranges");

        fdt.beginNode("serial@" + Long.toHexString(UART0_BASE))
                .propertyU32("interrupts", UART0_IRQ)
                .propertyU32("interrupt-parent", plicPhandle)
                .propertyU32("clock-frequency", UART0_CLOCK_FREQUENCY)
                .propertyU64("reg", UART0_BASE, Uart16550.SIZE)
                .propertyString("compatible", "ns16550a")
                .endNode();

        fdt.beginNode("test@" + Long.toHexString(TEST_BASE))
                .propertyU32("phandle", testPhandle)
                .propertyU64("reg", TEST_BASE, SifiveTest.SIZE)
                .propertyString("compatible", "sifive,test1", "sifive,test0", "syscon")
                .endNode();

        // QEMU makes slots in ascending order, so its blob lists them descending.
        List<VirtioSlot> slots = board.virtioSlots().stream()
                .sorted((a, b) -> Long.compareUnsigned(b.base(), a.base()))
                .toList();
        for (VirtioSlot slot : slots) {
            fdt.beginNode("virtio_mmio@" + Long.toHexString(slot.base()))
                    .propertyU32("interrupts", slot.irq())
                    .propertyU32("interrupt-parent", plicPhandle)
                    .propertyU64("reg", slot.base(), slot.size())
                    .propertyString("compatible", "virtio,mmio")
                    .endNode();
        }

        int[] plicTargets = new int[4 * harts];
        int[] clintTargets = new int[4 * harts];
        for (int hart = 0; hart < harts; hart++) {
            plicTargets[4 * hart] = intcPhandle[hart];
            plicTargets[4 * hart + 1] = HartInterruptInputs.MEIP;   // context 2*hart
            plicTargets[4 * hart + 2] = intcPhandle[hart];
            plicTargets[4 * hart + 3] = HartInterruptInputs.SEIP;   // context 2*hart+1
            clintTargets[4 * hart] = intcPhandle[hart];
            clintTargets[4 * hart + 1] = HartInterruptInputs.MSIP;
            clintTargets[4 * hart + 2] = intcPhandle[hart];
            clintTargets[4 * hart + 3] = HartInterruptInputs.MTIP;
        }

        fdt.beginNode("plic@" + Long.toHexString(PLIC_BASE))
                .propertyU32("phandle", plicPhandle)
                .propertyU32("riscv,ndev", Plic.NDEV)
                .propertyU64("reg", PLIC_BASE, Plic.SIZE)
                .propertyU32("interrupts-extended", plicTargets)
                .propertyEmpty("interrupt-controller")
                .propertyString("compatible", "sifive,plic-1.0.0", "riscv,plic0")
                .propertyU32("#address-cells", 0)
                .propertyU32("#interrupt-cells", 1)
                .endNode();

        fdt.beginNode("clint@" + Long.toHexString(CLINT_BASE))
                .propertyU32("interrupts-extended", clintTargets)
                .propertyU64("reg", CLINT_BASE, Aclint.SIZE)
                .propertyString("compatible", "sifive,clint0", "riscv,clint0")
                .endNode();

        fdt.endNode();
    }
}
