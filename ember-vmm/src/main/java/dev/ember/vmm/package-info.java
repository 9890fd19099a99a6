/**
 * The virtual machine: where a {@link dev.ember.vmm.VmConfig} becomes RAM, devices and harts
 * ({@link dev.ember.vmm.VirtualMachine}), the vCPU threads that run them, and the console.
 *
 * <p>Threads: the caller of {@code VirtualMachine.run} (the VMM thread), one platform thread
 * per vCPU ({@code ember-vcpu-N}), a console input thread and a console flusher.
 *
 * <p>May use: every other package; nothing else may use this one but applications and the
 * command line.
 */
package dev.ember.vmm;
