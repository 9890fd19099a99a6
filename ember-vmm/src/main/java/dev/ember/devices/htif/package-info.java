/**
 * The Berkeley host-target interface ({@code tohost}/{@code fromhost}) used by bare-metal test
 * programs, as on Spike.
 *
 * <p>May use: {@code memory}.
 *
 * <p>Package map: uses memory, log.
 */
package dev.ember.devices.htif;
