/**
 * The virtual machine: where a {@link dev.ember.vmm.VmConfig} becomes RAM, devices and harts
 * ({@link dev.ember.vmm.VirtualMachine}), the vCPU threads that run them, the console, the
 * machine's counters under Firecracker's metric names ({@link dev.ember.vmm.VmMetrics}), and
 * the embedding API ({@link dev.ember.vmm.MicroVm}).
 *
 * <p>Threads: the caller of {@code VirtualMachine.run} (the VMM thread), one platform thread
 * per vCPU ({@code ember-vcpu-N}), a console input thread and a console flusher; a named VM's
 * threads end in {@code @NAME}.
 *
 * <p>May use: every other package and Jackson (the state file's JSON); nothing else may use this one but applications and the
 * command line.
 *
 * <p>Package map: uses every package; libraries com.fasterxml.jackson.
 */
package dev.ember.vmm;
