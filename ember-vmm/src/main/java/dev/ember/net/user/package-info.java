/**
 * The unprivileged user-mode network: a NAT stack in the VMM process, in the manner of QEMU's
 * slirp and passt. {@link dev.ember.net.user.UserNetwork} is the backend and its Javadoc the
 * tour; {@link dev.ember.net.user.UserNetworkConfig} is its one config record (QEMU's layout
 * by default), {@link dev.ember.net.user.HostForward} one port-forwarding rule and
 * {@link dev.ember.net.user.UserNetworkMetrics} its counters.
 *
 * <p>Inside, one class per protocol the stack terminates: {@code DhcpServer}, {@code DnsQuery},
 * {@code TcpFlow} (the guest-facing TCP of one connection), {@code UdpFlow}, and
 * {@code Packets} for wire formats and checksums. All of them are owned by the network's one
 * stack thread; only {@code UserNetwork.transmit} and the resolver threads hand work to it, through
 * queues.
 *
 * <p>May use: the JDK ({@code java.nio} channels and selectors) and {@link dev.ember.net}.
 * Never imports a device or the VMM.
 *
 * <p>Package map: uses net, log.
 */
package dev.ember.net.user;
