/**
 * {@code ember-oci}, an OCI runtime with runc's command line (OCI Runtime Specification,
 * {@code runtime.md}): {@link dev.ember.server.oci.OciCommand} the commands,
 * {@link dev.ember.server.oci.Bundle} and {@link dev.ember.server.oci.OciSpec} the bundle and its
 * {@code config.json}, {@link dev.ember.server.oci.ContainerStore} the containers' records, and
 * {@link dev.ember.server.oci.ContainerVm} the microVM each container runs in, reached through
 * the guest agent.
 *
 * <p>May use: {@code vmm} (the embedding API), {@code config}, {@code agent}, Jackson and
 * picocli; never a device or a hart.
 *
 * <p>Package map: uses vmm, config, agent, log; libraries com.fasterxml.jackson, picocli.
 */
package dev.ember.server.oci;
