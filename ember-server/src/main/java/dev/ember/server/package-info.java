/**
 * The {@code ember} command line (picocli): {@code ember run} boots a VM with its console on
 * the terminal. Later, the Firecracker-compatible API server.
 *
 * <p>May use: {@code dev.ember.vmm} and its configuration records; never a device or a hart.
 */
package dev.ember.server;
