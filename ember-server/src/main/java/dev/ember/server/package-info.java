/**
 * The {@code ember} command line (picocli): {@code ember run} boots a VM with its console on
 * the terminal; {@code ember --api-sock} starts the Firecracker-compatible API server
 * ({@code api}); {@code ember-oci} is the OCI runtime ({@code oci}).
 *
 * <p>May use: {@code dev.ember.vmm} and its configuration records, the errors and files of
 * {@code boot}, {@code snapshot} and {@code mmds} it reports on, and its own {@code api} and
 * {@code oci}; never a device or a hart.
 *
 * <p>Package map: uses vmm, config, boot, mmds, snapshot, server.api, server.oci, server.jailer, log; libraries picocli.
 */
package dev.ember.server;
