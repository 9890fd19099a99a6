package dev.ember.riscv.cpu;

/**
 * Field masks of {@code hstatus} for RV64 (privileged ISA, "H" extension, § Hypervisor Status
 * Register): the hypervisor's view of the virtual machine it runs.
 */
public final class Hstatus {

    private Hstatus() {}

    /** A trap to HS-mode wrote a guest virtual address to {@code stval}. */
    public static final long GVA = 1L << 6;
    /** The virtualization mode V before the last trap to HS-mode; SRET returns to it. */
    public static final long SPV = 1L << 7;
    /** The nominal privilege (1 VS, 0 VU) of the last trap from V=1, and of HLV/HSV. */
    public static final long SPVP = 1L << 8;
    /** HLV, HLVX and HSV are allowed in U-mode. */
    public static final long HU = 1L << 9;
    /** SFENCE.VMA and {@code satp} accesses in VS-mode raise a virtual-instruction exception. */
    public static final long VTVM = 1L << 20;
    /** WFI in VS-mode raises a virtual-instruction exception. */
    public static final long VTW = 1L << 21;
    /** SRET in VS-mode raises a virtual-instruction exception. */
    public static final long VTSR = 1L << 22;
    /** VSXL = 2: VS-mode is 64-bit, read-only. */
    public static final long VSXL64 = 2L << 32;

    /** The bits an {@code hstatus} write may change (VGEIN is zero: GEILEN is 0). */
    public static final long WRITABLE = GVA | SPV | SPVP | HU | VTVM | VTW | VTSR;

    /** The {@code vsstatus} bits a write may change (§ Virtual Supervisor Status Register). */
    public static final long VSSTATUS_WRITABLE = Mstatus.SIE | Mstatus.SPIE | Mstatus.SPP | Mstatus.FS | Mstatus.SUM
            | Mstatus.MXR;
    /** UXL = 2 in {@code vsstatus}: VU-mode is 64-bit, read-only. */
    public static final long VSSTATUS_UXL64 = 2L << 32;
}
