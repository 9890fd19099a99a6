package dev.ember.memory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * The guest-physical address space: RAM plus device register windows.
 *
 * <p>RAM accesses normally never reach this class: the MMU caches a host offset for every RAM
 * page it translates and goes straight to {@link GuestMemory#segment()}. What arrives here is
 * the slow path: MMIO, page-table walks and accesses that straddle a page.
 *
 * <p>Devices are registered while the machine is built and the table is frozen before any vCPU
 * runs, so lookups need no lock. A guest access to an address with nothing behind it is
 * reported by {@link #isMapped} so the CPU can raise an access fault.
 *
 * <p>Device accesses are counted ({@link #mmioReads}, {@link #mmioWrites}): they are what a KVM
 * VMM sees as MMIO exits, Firecracker's {@code vcpu.exit_mmio_read} and {@code exit_mmio_write}.
 */
public final class PhysicalBus {

    private record Window(long base, long end, MmioDevice device) {}

    private final GuestMemory ram;
    private final List<Window> building = new ArrayList<>();
    private Window[] windows = new Window[0];
    private final LongAdder mmioReads = new LongAdder();
    private final LongAdder mmioWrites = new LongAdder();

    public PhysicalBus(GuestMemory ram) {
        this.ram = ram;
    }

    /** {@return the RAM block} */
    public GuestMemory ram() {
        return ram;
    }

    /**
     * Maps {@code device} at guest-physical {@code base}.
     *
     * @throws IllegalArgumentException if the window overlaps RAM or another device
     */
    public void map(long base, MmioDevice device) {
        long end = base + device.size();
        if (base < ram.base() + ram.size() && ram.base() < end) {
            throw new IllegalArgumentException("device window 0x%x overlaps RAM".formatted(base));
        }
        for (Window w : building) {
            if (base < w.end && w.base < end) {
                throw new IllegalArgumentException("device windows overlap at 0x%x".formatted(base));
            }
        }
        building.add(new Window(base, end, device));
        building.sort(Comparator.comparingLong(Window::base));
        windows = building.toArray(Window[]::new);
    }

    /** {@return the device window containing {@code gpa}, or null} */
    private Window find(long gpa) {
        for (Window w : windows) {
            if (gpa >= w.base && gpa < w.end) {
                return w;
            }
        }
        return null;
    }

    /** {@return whether an access of {@code width} bytes at {@code gpa} reaches RAM or a device} */
    public boolean isMapped(long gpa, int width) {
        if (ram.contains(gpa, width)) {
            return true;
        }
        Window w = find(gpa);
        return w != null && gpa + width <= w.end;
    }

    /** Reads {@code width} bytes at {@code gpa}; unmapped addresses read as zero. */
    public long read(long gpa, int width) {
        if (ram.contains(gpa, width)) {
            return switch (width) {
                case 1 -> ram.readU8(gpa);
                case 2 -> ram.readU16(gpa);
                case 4 -> ram.readU32(gpa);
                default -> ram.readU64(gpa);
            };
        }
        Window w = find(gpa);
        if (w == null) {
            return 0;
        }
        mmioReads.increment();
        return w.device.read(gpa - w.base, width);
    }

    /** Writes {@code width} bytes at {@code gpa}; writes to unmapped addresses are dropped. */
    public void write(long gpa, int width, long value) {
        if (ram.contains(gpa, width)) {
            switch (width) {
                case 1 -> ram.write8(gpa, (int) value);
                case 2 -> ram.write16(gpa, (int) value);
                case 4 -> ram.write32(gpa, (int) value);
                default -> ram.write64(gpa, value);
            }
            return;
        }
        Window w = find(gpa);
        if (w != null) {
            mmioWrites.increment();
            w.device.write(gpa - w.base, width, value);
        }
    }

    /** {@return device-register reads since the bus was built, from every vCPU} */
    public long mmioReads() {
        return mmioReads.sum();
    }

    /** {@return device-register writes since the bus was built, from every vCPU} */
    public long mmioWrites() {
        return mmioWrites.sum();
    }
}
