/**
 * Guest-physical memory: RAM on a lazily mapped {@link java.lang.foreign.MemorySegment}
 * ({@link dev.ember.memory.GuestMemory}) and the bus that routes everything else to device
 * register windows ({@link dev.ember.memory.PhysicalBus}, {@link dev.ember.memory.MmioDevice}),
 * and the pages that hold code an execution engine decoded, with the protocol that keeps that
 * code in step with every write ({@link dev.ember.memory.CodePages}).
 *
 * <p>May use: the JDK only. Used by the CPU (through the MMU), the devices and the loaders.
 *
 * <p>Package map: uses log.
 */
package dev.ember.memory;
