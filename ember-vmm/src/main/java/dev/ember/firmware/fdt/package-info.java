/**
 * Flattened device-tree blobs (Devicetree Specification v0.4, chapter 5): a writer that
 * produces only well-formed version-17 blobs.
 *
 * <p>Knows nothing of any board; {@link dev.ember.firmware.DeviceTree} describes the board
 * with it. Depends on the JDK only.
 *
 * <p>Package map: uses nothing.
 */
package dev.ember.firmware.fdt;
