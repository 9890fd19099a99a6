/**
 * Ember's one way to report: a {@link dev.ember.log.Log} per component, levelled
 * {@link dev.ember.log.LogEvent}s with their cause, and the {@link dev.ember.log.LogSink} a VM
 * is given that decides where they go.
 *
 * <p>Where reports go: {@code ember run} gives its VM {@link dev.ember.log.LogSink#stderr()};
 * the API server gives its VM a sink in Firecracker's log-file format (in
 * {@code dev.ember.server.api}); an application that embeds {@code dev.ember.vmm.MicroVm} gets
 * {@link dev.ember.log.LogSink#systemLogger()} unless it chooses, so its own logging framework
 * (SLF4J, Log4j, JUL through {@link java.lang.System.Logger}) receives Ember's events under the
 * reporting class's name. A sink filters by level ({@link dev.ember.log.LogSink#atLeast}).
 *
 * <p>Why not {@link java.lang.System.Logger} itself as the facade: its backend is one per JVM,
 * found by {@code LoggerFinder}, while Ember routes per VM (two VMs in one JVM, one served by
 * the API and logging to its file, one embedded); and the API's file needs the reporting thread
 * and the event's level as data, not as text. The JDK's logger stays one of the sinks.
 *
 * <p>Guest console output (serial, virtio-console) is not logging and never goes through here.
 *
 * <p>May use: the JDK only. Every package may use this one but the pure ones ({@code riscv.isa},
 * {@code riscv.cpu.fpu}, {@code firmware.fdt}, {@code config}), whose map lines leave it out.
 *
 * <p>Package map: uses nothing.
 */
package dev.ember.log;
