/**
 * The TAP network backend: {@link dev.ember.net.tap.TapBackend} attaches to an existing Linux
 * TAP interface through {@code /dev/net/tun} (java.lang.foreign calls into libc) and moves
 * Ethernet frames between it and a virtio-net device.
 *
 * <p>May use: {@code net} (the backend contract) and the JDK. Linux only.
 *
 * <p>Package map: uses net, log.
 */
package dev.ember.net.tap;
