/**
 * One record per device resource, named and shaped after Firecracker's API objects
 * ({@code Drive}, {@code NetworkInterface}, {@code Vsock}, {@code Balloon}, {@code EntropyDevice}),
 * with their validation. The command line builds these today; the REST API and
 * {@code --config-file} will build the same records, so the three cannot drift apart.
 *
 * <p>May use: the JDK only. Imports no device: {@code vmm} turns records into devices.
 *
 * <p>Package map: uses nothing.
 */
package dev.ember.config;
