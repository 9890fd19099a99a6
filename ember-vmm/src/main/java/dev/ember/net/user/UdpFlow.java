package dev.ember.net.user;

import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;

/**
 * One guest UDP source port mapped to one host {@link DatagramChannel}: datagrams the guest
 * sends from that port to any address leave through the channel, and whatever the channel
 * receives returns to the guest as coming from its sender (the host's 127.0.0.1 shown as the
 * gateway), like slirp's {@code udp.c} and a full-cone NAT. Closed after
 * {@link UserNetwork#UDP_IDLE_NANOS} without traffic either way.
 *
 * <p>Owned by the stack thread.
 */
final class UdpFlow {

    final long key;
    final int guestIp;
    final int guestPort;
    final DatagramChannel channel;
    SelectionKey selectionKey;
    long lastActiveNanos;

    UdpFlow(long key, int guestIp, int guestPort, DatagramChannel channel, long now) {
        this.key = key;
        this.guestIp = guestIp;
        this.guestPort = guestPort;
        this.channel = channel;
        this.lastActiveNanos = now;
    }
}
