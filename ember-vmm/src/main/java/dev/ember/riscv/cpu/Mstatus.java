package dev.ember.riscv.cpu;

/** Field masks of {@code mstatus} and {@code sstatus} for RV64 (privileged ISA §3.1.6). */
public final class Mstatus {

    private Mstatus() {}

    public static final long SIE = 1L << 1;
    public static final long MIE = 1L << 3;
    public static final long SPIE = 1L << 5;
    public static final long UBE = 1L << 6;
    public static final long MPIE = 1L << 7;
    public static final long SPP = 1L << 8;
    public static final long VS = 3L << 9;
    public static final int MPP_SHIFT = 11;
    public static final long MPP = 3L << MPP_SHIFT;
    public static final long FS = 3L << 13;
    public static final long FS_DIRTY = 3L << 13;
    public static final long XS = 3L << 15;
    public static final long MPRV = 1L << 17;
    public static final long SUM = 1L << 18;
    public static final long MXR = 1L << 19;
    public static final long TVM = 1L << 20;
    public static final long TW = 1L << 21;
    public static final long TSR = 1L << 22;
    public static final long UXL = 3L << 32;
    public static final long SXL = 3L << 34;
    /** H extension: the last trap to M-mode wrote a guest virtual address to {@code mtval}. */
    public static final long GVA = 1L << 38;
    /** H extension: the virtualization mode V before the last trap to M-mode. */
    public static final long MPV = 1L << 39;
    public static final long SD = 1L << 63;

    /** UXL = SXL = 2: 64-bit U and S modes, read-only. */
    public static final long XLEN64 = (2L << 32) | (2L << 34);

    /** The bits an {@code mstatus} write may change. */
    public static final long WRITABLE = SIE | MIE | SPIE | MPIE | SPP | MPP | FS | MPRV | SUM | MXR | TVM | TW | TSR;

    /** The {@code mstatus} bits visible through {@code sstatus} (§4.1.1). */
    public static final long SSTATUS_VISIBLE = SIE | SPIE | UBE | SPP | VS | FS | XS | SUM | MXR | UXL | SD;

    /** The bits an {@code sstatus} write may change. */
    public static final long SSTATUS_WRITABLE = SIE | SPIE | SPP | FS | SUM | MXR;
}
