/**
 * The host side of Ember's guest agent: a client for {@code ember-agent}, the small program in
 * the guest ({@code guest/agent/ember-agent.c}) that runs processes, mounts file systems and
 * powers the guest off on the host's request, over virtio-vsock port {@value
 * dev.ember.agent.AgentProtocol#PORT}. The wire format is {@code guest/agent/PROTOCOL.md}.
 *
 * <p>{@link dev.ember.agent.GuestAgent} is the client (one Unix-socket connection per request,
 * through the vsock device's {@code CONNECT} handshake); {@link dev.ember.agent.GuestProcess} a
 * running guest process with its streams; {@link dev.ember.agent.ProcessSpec} and {@link
 * dev.ember.agent.MountSpec} what the host asks for; {@link dev.ember.agent.AgentProtocol} the
 * frame and field codec.
 *
 * <p>May use: {@code java.nio.channels} only. Knows nothing of the VMM or of devices: it talks
 * to the vsock device's Unix socket as any host process could.
 *
 * <p>Package map: uses log.
 */
package dev.ember.agent;
