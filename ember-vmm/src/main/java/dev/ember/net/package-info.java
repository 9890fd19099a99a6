/**
 * Network backends: the host side of a virtio-net interface. {@link dev.ember.net.NetBackend}
 * is the contract; {@code net.user} is the unprivileged user-mode NAT stack (DHCP, DNS, TCP
 * and UDP to host sockets, port forwarding), {@code net.tap} a Linux TAP device.
 *
 * <p>May use: the JDK only. Never imports a device or the VMM.
 *
 * <p>Package map: uses log.
 */
package dev.ember.net;
