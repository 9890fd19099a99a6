/**
 * The microVM metadata service (MMDS), as Firecracker's (docs/mmds/mmds-user-guide.md,
 * docs/mmds/mmds-design.md, src/vmm/src/mmds): a JSON document the host sets through the API
 * and the guest reads over HTTP at a link-local address (169.254.169.254 by default) through
 * one of its network interfaces.
 *
 * <ul>
 *   <li>{@link dev.ember.mmds.Mmds}: the data store (put, RFC 7396 merge patch, size limit), the
 *       version (V1, V2) and the V2 session tokens. Shared by the API and every interface.
 *   <li>{@link dev.ember.mmds.MmdsHttp}: the guest-facing HTTP/1.x parser and responder, with
 *       Firecracker's status codes and texts; JSON or IMDS plain text by the Accept header.
 *   <li>{@link dev.ember.mmds.MmdsNetworkStack}: answers ARP and TCP port 80 for the MMDS
 *       address on one virtio-net interface, between the device and its backend, like
 *       Firecracker's dumbo.
 *   <li>{@link dev.ember.mmds.MmdsNetBackend}: puts a stack in front of an interface's backend,
 *       so the device itself needs no change.
 * </ul>
 *
 * <p>Threads: the API thread writes the store; the stack runs on the vCPU thread that
 * transmits, plus one shared daemon timer thread for retransmission.
 *
 * <p>May use: the JDK, {@code dev.ember.config} (MmdsConfig), {@code dev.ember.net} (the
 * FrameSink contract only) and Jackson databind. Jackson is ember-vmm's first runtime
 * dependency: MMDS data is arbitrary JSON that must be parsed, merged, measured, addressed by
 * JSON pointer and printed back byte-for-byte as Firecracker's serde_json does, and a
 * hand-written JSON library in a VMM would be more guest-reachable code to get wrong. Never
 * imports a device or the VMM.
 *
 * <p>Package map: uses config, net, log; libraries com.fasterxml.jackson.
 */
package dev.ember.mmds;
