/**
 * Guest-physical memory: RAM on a lazily mapped {@link java.lang.foreign.MemorySegment}
 * ({@link dev.ember.memory.GuestMemory}) and the bus that routes everything else to device
 * register windows ({@link dev.ember.memory.PhysicalBus}, {@link dev.ember.memory.MmioDevice}).
 *
 * <p>May use: the JDK only. Used by the CPU (through the MMU), the devices and the loaders.
 */
package dev.ember.memory;
