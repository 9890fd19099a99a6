package dev.ember.riscv.isa;

/**
 * CSR addresses, as listed in the privileged ISA manual's "Control and Status Registers"
 * tables (§2.2, tables 2.2 to 2.6), and the unprivileged manual's Zicntr and F chapters.
 */
public final class CsrNumbers {

    private CsrNumbers() {}

    // Unprivileged floating point and counters
    public static final int FFLAGS = 0x001;
    public static final int FRM = 0x002;
    public static final int FCSR = 0x003;
    public static final int CYCLE = 0xC00;
    public static final int TIME = 0xC01;
    public static final int INSTRET = 0xC02;
    public static final int HPMCOUNTER3 = 0xC03;
    public static final int HPMCOUNTER31 = 0xC1F;

    // Supervisor
    public static final int SSTATUS = 0x100;
    public static final int SIE = 0x104;
    public static final int STVEC = 0x105;
    public static final int SCOUNTEREN = 0x106;
    public static final int SENVCFG = 0x10A;
    public static final int SSCRATCH = 0x140;
    public static final int SEPC = 0x141;
    public static final int SCAUSE = 0x142;
    public static final int STVAL = 0x143;
    public static final int SIP = 0x144;
    public static final int STIMECMP = 0x14D;
    public static final int SATP = 0x180;

    // Hypervisor and virtual supervisor ("H" extension, tables 2.3 and 2.4)
    public static final int VSSTATUS = 0x200;
    public static final int VSIE = 0x204;
    public static final int VSTVEC = 0x205;
    public static final int VSSCRATCH = 0x240;
    public static final int VSEPC = 0x241;
    public static final int VSCAUSE = 0x242;
    public static final int VSTVAL = 0x243;
    public static final int VSIP = 0x244;
    public static final int VSTIMECMP = 0x24D;
    public static final int VSATP = 0x280;
    public static final int HSTATUS = 0x600;
    public static final int HEDELEG = 0x602;
    public static final int HIDELEG = 0x603;
    public static final int HIE = 0x604;
    public static final int HTIMEDELTA = 0x605;
    public static final int HCOUNTEREN = 0x606;
    public static final int HGEIE = 0x607;
    public static final int HENVCFG = 0x60A;
    public static final int HTVAL = 0x643;
    public static final int HIP = 0x644;
    public static final int HVIP = 0x645;
    public static final int HTINST = 0x64A;
    public static final int HGATP = 0x680;
    public static final int HGEIP = 0xE12;
    /** The VS CSR an S CSR number reaches while V=1 is the S number plus this (§ hypervisor CSRs). */
    public static final int VS_OFFSET = VSSTATUS - SSTATUS;

    // Machine information
    public static final int MVENDORID = 0xF11;
    public static final int MARCHID = 0xF12;
    public static final int MIMPID = 0xF13;
    public static final int MHARTID = 0xF14;
    public static final int MCONFIGPTR = 0xF15;

    // Machine trap setup and handling
    public static final int MSTATUS = 0x300;
    public static final int MISA = 0x301;
    public static final int MEDELEG = 0x302;
    public static final int MIDELEG = 0x303;
    public static final int MIE = 0x304;
    public static final int MTVEC = 0x305;
    public static final int MCOUNTEREN = 0x306;
    public static final int MENVCFG = 0x30A;
    public static final int MCOUNTINHIBIT = 0x320;
    public static final int MHPMEVENT3 = 0x323;
    public static final int MHPMEVENT31 = 0x33F;
    public static final int MSCRATCH = 0x340;
    public static final int MEPC = 0x341;
    public static final int MCAUSE = 0x342;
    public static final int MTVAL = 0x343;
    public static final int MIP = 0x344;
    public static final int MTINST = 0x34A;
    public static final int MTVAL2 = 0x34B;

    // Physical memory protection (RV64: only even pmpcfg registers exist)
    public static final int PMPCFG0 = 0x3A0;
    public static final int PMPCFG15 = 0x3AF;
    public static final int PMPADDR0 = 0x3B0;
    public static final int PMPADDR63 = 0x3EF;

    // Machine counters
    public static final int MCYCLE = 0xB00;
    public static final int MINSTRET = 0xB02;
    public static final int MHPMCOUNTER3 = 0xB03;
    public static final int MHPMCOUNTER31 = 0xB1F;

    // Debug/trace triggers: tselect reads back as "no triggers"
    public static final int TSELECT = 0x7A0;
    public static final int TDATA1 = 0x7A1;
}
