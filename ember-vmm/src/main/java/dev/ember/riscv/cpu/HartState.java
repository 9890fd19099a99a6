package dev.ember.riscv.cpu;

/** A hart's run state, as the SBI HSM extension (SBI v2.0 §9, table 25) names it. */
public enum HartState {
    STARTED,
    STOPPED,
    START_PENDING,
    STOP_PENDING,
    SUSPENDED
}
