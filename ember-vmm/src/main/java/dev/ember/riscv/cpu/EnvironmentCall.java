package dev.ember.riscv.cpu;

/**
 * Handles {@code ecall} from S-mode in place of M-mode firmware: the hook through which the
 * VMM's built-in SBI implementation (the paravirtual interface, like KVM's) receives calls.
 *
 * <p>When a hart has no handler, {@code ecall} traps to M-mode as on hardware, and firmware
 * such as OpenSBI answers it.
 */
@FunctionalInterface
public interface EnvironmentCall {

    /**
     * Services the SBI call in the hart's {@code a0..a7}. The caller advances the {@code pc}
     * past the {@code ecall} afterwards.
     */
    void supervisorCall(Hart hart);
}
