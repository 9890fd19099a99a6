package dev.ember.riscv.cpu;

/** Privilege level encodings (privileged ISA §1.2, table 1.1). */
public final class Privilege {

    private Privilege() {}

    public static final int USER = 0;
    public static final int SUPERVISOR = 1;
    public static final int MACHINE = 3;

    /** {@return the single-letter name used in logs} */
    public static String name(int level) {
        return switch (level) {
            case USER -> "U";
            case SUPERVISOR -> "S";
            case MACHINE -> "M";
            default -> "?" + level;
        };
    }
}
