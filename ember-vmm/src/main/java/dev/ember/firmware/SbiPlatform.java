package dev.ember.firmware;

/** What the built-in SBI needs from the machine around it: the console and the power switch. */
public interface SbiPlatform {

    /** Writes one byte to the console. */
    void consoleWrite(int b);

    /** {@return the next console input byte, or -1 when none is waiting} */
    int consoleRead();

    /**
     * Handles an SRST system reset (SBI v2.0 §10).
     *
     * @param type 0 shutdown, 1 cold reboot, 2 warm reboot
     * @param reason 0 no reason, 1 system failure
     */
    void systemReset(int type, int reason);
}
