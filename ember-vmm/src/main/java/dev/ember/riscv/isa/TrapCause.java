package dev.ember.riscv.isa;

/**
 * Exception and interrupt codes of {@code mcause}/{@code scause} (privileged ISA §3.1.15,
 * table 3.6). Interrupt codes double as their {@code mip}/{@code mie} bit numbers.
 */
public final class TrapCause {

    private TrapCause() {}

    public static final long INTERRUPT = 1L << 63;

    public static final int INSTRUCTION_MISALIGNED = 0;
    public static final int INSTRUCTION_ACCESS_FAULT = 1;
    public static final int ILLEGAL_INSTRUCTION = 2;
    public static final int BREAKPOINT = 3;
    public static final int LOAD_MISALIGNED = 4;
    public static final int LOAD_ACCESS_FAULT = 5;
    public static final int STORE_MISALIGNED = 6;
    public static final int STORE_ACCESS_FAULT = 7;
    public static final int ECALL_FROM_U = 8;
    public static final int ECALL_FROM_S = 9;
    /** Environment call from VS-mode (H extension). */
    public static final int ECALL_FROM_VS = 10;
    public static final int ECALL_FROM_M = 11;
    public static final int INSTRUCTION_PAGE_FAULT = 12;
    public static final int LOAD_PAGE_FAULT = 13;
    public static final int STORE_PAGE_FAULT = 15;
    /** Guest-page faults and the virtual-instruction exception (H extension, table 8.7). */
    public static final int INSTRUCTION_GUEST_PAGE_FAULT = 20;
    public static final int LOAD_GUEST_PAGE_FAULT = 21;
    public static final int VIRTUAL_INSTRUCTION = 22;
    public static final int STORE_GUEST_PAGE_FAULT = 23;

    public static final int SSI = 1;
    public static final int MSI = 3;
    public static final int STI = 5;
    public static final int MTI = 7;
    public static final int SEI = 9;
    public static final int MEI = 11;
    /** VS-level interrupts (H extension): what hvip and the VS timer raise. */
    public static final int VSSI = 2;
    public static final int VSTI = 6;
    public static final int VSEI = 10;
}
