/**
 * {@code ember jailer}: confines an {@code ember --api-sock} process as Firecracker's jailer
 * confines Firecracker. {@link dev.ember.server.jailer.JailerCommand} checks the flags and
 * prepares; {@link dev.ember.server.jailer.Jail} lays out the chroot and the bubblewrap and
 * setpriv command line; {@link dev.ember.server.jailer.Cgroups} makes the cgroup (v1 or v2);
 * {@link dev.ember.server.jailer.SeccompFilter} compiles the system call deny-list;
 * {@code Posix} sets resource limits through {@code java.lang.foreign}. The {@code ember}
 * launcher execs the plan this package prints.
 *
 * <p>May use: the JDK and picocli; names {@code dev.ember.server.EmberCommand} only as the main
 * class the jail starts. Never the VMM library: the jailer runs no VM.
 *
 * <p>Package map: uses server; libraries picocli.
 */
package dev.ember.server.jailer;
