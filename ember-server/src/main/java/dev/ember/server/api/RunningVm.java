package dev.ember.server.api;

import dev.ember.config.RateLimiterConfig;
import dev.ember.devices.virtio.balloon.VirtioBalloon;
import dev.ember.vmm.VmMetrics;

/**
 * What the controller needs from a started microVM: the post-boot actions of Firecracker's
 * {@code RuntimeApiController}. {@link VirtualMachineAdapter} implements it over
 * {@link dev.ember.vmm.VirtualMachine}; tests can fake it.
 *
 * <p>Called on the API thread with the controller's lock held.
 */
interface RunningVm {

    /** Stops the vCPUs; returns once they are stopped. */
    void pause() throws InterruptedException;

    /** Lets paused vCPUs run again. */
    void resume();

    /** {@return the balloon, or null when none is attached} */
    VirtioBalloon balloon();

    /** {@return the machine's counters, totals under Firecracker's names; any thread} */
    VmMetrics metrics();

    /** Asks the guest to shut down (SendCtrlAltDel); false if the guest cannot receive it yet. */
    boolean requestShutdown();

    /**
     * Updates a drive's rate limiter: buckets given replace, null buckets are kept, disabled ones
     * removed.
     *
     * @throws IllegalArgumentException if no drive has that id
     */
    void updateDriveRateLimiter(String driveId, RateLimiterConfig limiter);

    /**
     * Updates a network interface's rate limiters as {@link #updateDriveRateLimiter}; a null
     * direction is unchanged.
     *
     * @throws IllegalArgumentException if no interface has that id
     */
    void updateNetworkRateLimiters(String ifaceId, RateLimiterConfig rx, RateLimiterConfig tx);

    /**
     * Writes a Full snapshot of the paused machine, or with {@code diff} a Diff snapshot.
     *
     * @throws IllegalStateException if it is not paused
     * @throws java.io.IOException   if a file cannot be written; earlier files are intact
     */
    void snapshot(java.nio.file.Path stateFile, java.nio.file.Path memoryFile, boolean diff) throws java.io.IOException;

    /** Runs the machine on the calling thread until the guest powers off; returns its status. */
    int run() throws InterruptedException;

    /** Releases the machine. */
    void close();
}
