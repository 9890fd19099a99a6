package dev.ember.devices.power;

/**
 * What the VMM does when the guest asks to power off or reset the machine.
 *
 * <p>Threads: called on the vCPU thread whose store made the request. An implementation
 * should record the request and let the VMM stop or reset the harts; it must not wait for the
 * calling hart to stop, because that hart is the caller.
 */
public interface PowerListener {

    /**
     * The guest powered off.
     *
     * @param exitStatus 0 for a pass (and for a plain poweroff), else the guest's failure code
     */
    void powerOff(int exitStatus);

    /** The guest asked for a system reset. */
    void reset();
}
