package dev.ember.devices.irq;

/**
 * The per-hart interrupt inputs that the PLIC and the ACLINT drive: the pending bits of
 * {@code mip} they own, and the machine timer compare register.
 *
 * <p>The VMM implements this over the harts, so the devices never see a CPU class.
 * Bit numbers are the {@code mip} bit positions of the privileged spec (§3.1.9):
 * {@link #MSIP} 3, {@link #MTIP} 7, {@link #SEIP} 9, {@link #MEIP} 11.
 *
 * <p>Threads: callable from any thread.
 */
public interface HartInterruptInputs {

    int SSIP = 1;
    int MSIP = 3;
    int STIP = 5;
    int MTIP = 7;
    int SEIP = 9;
    int MEIP = 11;

    /** {@return the number of harts} */
    int hartCount();

    /** Sets or clears pending bit {@code mipBit} of hart {@code hartId}, and wakes it if set. */
    void setPending(int hartId, int mipBit, boolean level);

    /** {@return the hart's machine timer compare value ({@code mtimecmp})} */
    long timerCompare(int hartId);

    /** Sets the hart's {@code mtimecmp}; the hart raises MTIP itself once {@code mtime} reaches it. */
    void setTimerCompare(int hartId, long mtimecmp);
}
