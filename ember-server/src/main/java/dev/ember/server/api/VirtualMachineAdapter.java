package dev.ember.server.api;

import dev.ember.config.RateLimiterConfig;
import dev.ember.devices.virtio.balloon.VirtioBalloon;
import dev.ember.vmm.VirtualMachine;
import dev.ember.vmm.VmMetrics;

/** {@link RunningVm} over Ember's {@link VirtualMachine}. */
final class VirtualMachineAdapter implements RunningVm {

    private final VirtualMachine vm;

    VirtualMachineAdapter(VirtualMachine vm) {
        this.vm = vm;
    }

    @Override
    public void pause() throws InterruptedException {
        vm.pause();
    }

    @Override
    public void resume() {
        vm.resume();
    }

    @Override
    public VirtioBalloon balloon() {
        return vm.balloon();
    }

    @Override
    public VmMetrics metrics() {
        return vm.metrics();
    }

    @Override
    public boolean requestShutdown() {
        return vm.sendCtrlAltDel();
    }

    @Override
    public void updateDriveRateLimiter(String driveId, RateLimiterConfig limiter) {
        vm.updateDriveRateLimiter(driveId, limiter);
    }

    @Override
    public void updateNetworkRateLimiters(String ifaceId, RateLimiterConfig rx, RateLimiterConfig tx) {
        vm.updateNetworkRateLimiters(ifaceId, rx, tx);
    }

    @Override
    public void snapshot(java.nio.file.Path stateFile, java.nio.file.Path memoryFile, boolean diff) throws java.io.IOException {
        vm.snapshot(stateFile, memoryFile, diff);
    }

    @Override
    public int run() throws InterruptedException {
        return vm.run();
    }

    @Override
    public void close() {
        vm.close();
    }
}
