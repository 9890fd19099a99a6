package dev.ember.vmm;

import dev.ember.riscv.cpu.ExecutionEngine;
import dev.ember.riscv.cpu.Hart;
import dev.ember.riscv.cpu.HartState;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The run loop of one vCPU thread: executes its hart in slices and, between slices, does what
 * hardware does asynchronously: takes interrupts, serves remote TLB fences, sleeps in WFI
 * until a timer or device wakes it, and waits while the hart is stopped (SBI HSM).
 *
 * <p>Owned by its own platform thread, named {@code ember-vcpu-N}, or {@code ember-vcpu-N@NAME} for a named VM.
 */
final class Vcpu implements Runnable {

    /** Instructions per slice: bounds interrupt latency to roughly 10 to 50 microseconds. */
    static final int SLICE = 4096;
    private static final long MAX_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private final VirtualMachine vm;
    private final Hart hart;
    private final MachineClock clock;
    private final ExecutionEngine engine;
    private final Runnable afterSlice;

    Vcpu(VirtualMachine vm, Hart hart, ExecutionEngine engine, MachineClock clock, Runnable afterSlice) {
        this.vm = vm;
        this.hart = hart;
        this.clock = clock;
        this.engine = engine;
        this.afterSlice = afterSlice;
    }

    @Override
    public void run() {
        hart.bindThread(Thread.currentThread());
        try {
            loop();
        } catch (Throwable t) {
            vm.vcpuFailed(hart, t);
        }
    }

    private void loop() {
        Hart h = hart;
        while (!h.exitRequested) {
            if (vm.pauseRequested()) {
                vm.parkWhilePaused(h);
                continue;
            }
            HartState state = h.state;
            if (state == HartState.STOPPED) {
                LockSupport.parkNanos(MAX_PARK_NANOS);
                continue;
            }
            if (state == HartState.START_PENDING) {
                h.state = HartState.STARTED;
            }
            h.serveFences();
            if (h.waitingForInterrupt) {
                if (!h.interruptPendingForWfi()) {
                    long deadline = h.nextTimerDeadline();
                    long nanos = deadline == -1 ? MAX_PARK_NANOS : Math.min(MAX_PARK_NANOS, clock.nanosUntil(deadline));
                    if (nanos > 0) {
                        LockSupport.parkNanos(nanos);
                    }
                    if (afterSlice != null) {
                        afterSlice.run();   // e.g. HTIF: another hart may have written tohost
                    }
                    continue;
                }
                h.waitingForInterrupt = false;
            }
            h.checkInterrupts();
            engine.run(SLICE);
            if (h.state == HartState.STOP_PENDING) {
                h.state = HartState.STOPPED;   // the SBI hart_stop call has fully returned
            }
            if (afterSlice != null) {
                afterSlice.run();
            }
        }
    }
}
