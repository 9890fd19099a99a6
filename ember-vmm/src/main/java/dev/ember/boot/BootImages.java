package dev.ember.boot;

import dev.ember.memory.GuestMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Loads what the VMM boots into guest RAM: a Linux kernel (RISC-V {@code Image} or ELF
 * {@code vmlinux}), an initrd, M-mode firmware, or a bare-metal ELF program.
 *
 * <p>The RISC-V {@code Image} header is described in the kernel's
 * {@code Documentation/riscv/boot-image-header.rst}: 64 bytes holding {@code text_offset} (the
 * load offset from the start of RAM), {@code image_size} (the footprint including BSS) and the
 * magic {@code "RSC\x05"} at byte 56 (older kernels: {@code "RISCV\0\0\0"} at byte 48).
 *
 * <p><b>Untrusted input.</b> Files are checked before anything is written to guest memory: a
 * missing, truncated, foreign or oversized file is a {@link BootException}.
 */
public final class BootImages {

    private BootImages() {}

    /** Where and how large a loaded image is. {@code entry} is a guest-physical address. */
    public record Loaded(long start, long end, long entry) {}

    /** Reads a file, turning I/O failures into one-line {@link BootException}s. */
    public static byte[] read(Path path, String what) throws BootException {
        try {
            if (Files.isDirectory(path)) {
                throw new BootException(what + " " + path + " is a directory, not a file");
            }
            return Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw new BootException(what + " " + path + " does not exist");
        } catch (AccessDeniedException e) {
            throw new BootException(what + " " + path + " cannot be read: permission denied");
        } catch (IOException e) {
            throw new BootException(what + " " + path + " cannot be read: " + e.getMessage());
        } catch (OutOfMemoryError e) {
            throw new BootException(what + " " + path + " is too large to load");
        }
    }

    /**
     * Loads a Linux kernel at its preferred offset from the start of RAM.
     *
     * @throws BootException if the file is neither a RISC-V Image nor a RISC-V ELF, or does not fit
     */
    public static Loaded loadKernel(GuestMemory ram, byte[] bytes, String name) throws BootException {
        if (ElfFile.isElf(bytes)) {
            return loadElfKernel(ram, ElfFile.parse(bytes, name));
        }
        if (bytes.length < 64) {
            throw new BootException("kernel " + name + " is truncated: " + bytes.length
                    + " bytes is shorter than a RISC-V Image header");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        boolean magic2 = b.getInt(56) == 0x05435352;                 // "RSC\x05"
        boolean magic1 = b.getLong(48) == 0x5643534952L;            // "RISCV\0\0\0"
        if (!magic2 && !magic1) {
            throw new BootException("kernel " + name + " is not a RISC-V Linux Image or ELF (no RSC\\x05 magic"
                    + describeForeign(bytes) + ")");
        }
        long textOffset = b.getLong(8);
        long imageSize = b.getLong(16);
        if (imageSize < bytes.length) {
            imageSize = bytes.length;
        }
        if (textOffset < 0 || (textOffset & 0xFFF) != 0 || textOffset > ram.size()) {
            throw new BootException("kernel " + name + " has an invalid text_offset 0x" + Long.toHexString(textOffset));
        }
        if (imageSize > ram.size() - textOffset) {
            throw new BootException("kernel " + name + " needs " + mib(textOffset + imageSize)
                    + " but the guest has only " + mib(ram.size()) + " of memory");
        }
        long start = ram.base() + textOffset;
        ram.write(start, bytes);
        return new Loaded(start, start + imageSize, start);
    }

    private static String describeForeign(byte[] bytes) {
        if (bytes.length >= 0x40 && bytes[0x38] == 'A' && bytes[0x39] == 'R' && bytes[0x3A] == 'M') {
            return "; it looks like an arm64 Image";
        }
        if (bytes.length >= 0x206 && bytes[0x202] == 'H' && bytes[0x203] == 'd' && bytes[0x204] == 'r'
                && bytes[0x205] == 'S') {
            return "; it looks like an x86 bzImage";
        }
        return "";
    }

    /**
     * Loads a vmlinux ELF. Its segments are linked at kernel virtual addresses; like QEMU, place
     * them at 2 MiB into RAM, preserving their relative layout, unless their physical addresses
     * already lie in RAM.
     */
    private static Loaded loadElfKernel(GuestMemory ram, ElfFile elf) throws BootException {
        long lowest = Long.MAX_VALUE;
        long highest = Long.MIN_VALUE;
        boolean physicalInRam = true;
        for (ElfFile.Segment s : elf.segments()) {
            lowest = Math.min(lowest, s.paddr());
            highest = Math.max(highest, s.paddr() + s.memSize());
            physicalInRam &= ram.contains(s.paddr(), s.memSize());
        }
        long shift = physicalInRam ? 0 : ram.base() + 0x20_0000 - lowest;
        return loadSegments(ram, elf, shift, "kernel");
    }

    /** Loads every segment of {@code elf} at {@code paddr + shift}. */
    private static Loaded loadSegments(GuestMemory ram, ElfFile elf, long shift, String what) throws BootException {
        long start = Long.MAX_VALUE;
        long end = 0;
        for (ElfFile.Segment s : elf.segments()) {
            long gpa = s.paddr() + shift;
            if (!ram.contains(gpa, s.memSize())) {
                throw new BootException(what + " " + elf.name() + ": segment at 0x" + Long.toHexString(s.paddr())
                        + " (" + mib(s.memSize()) + ") does not fit in guest RAM 0x" + Long.toHexString(ram.base())
                        + "-0x" + Long.toHexString(ram.base() + ram.size()));
            }
            start = Math.min(start, gpa);
            end = Math.max(end, gpa + s.memSize());
        }
        for (ElfFile.Segment s : elf.segments()) {
            ram.write(s.paddr() + shift, elf.contents(s));
        }
        // The entry is a virtual address: translate it through the segment that holds it.
        long entry = elf.entry() + shift;
        for (ElfFile.Segment s : elf.segments()) {
            if (Long.compareUnsigned(elf.entry() - s.vaddr(), s.memSize()) < 0) {
                entry = elf.entry() - s.vaddr() + s.paddr() + shift;
                break;
            }
        }
        return new Loaded(start, end, entry);
    }

    /**
     * Loads a bare-metal program at its physical addresses, for conformance suites.
     *
     * @throws BootException if it is not a RISC-V ELF or a segment lies outside RAM
     */
    public static Loaded loadBareMetal(GuestMemory ram, ElfFile elf) throws BootException {
        return loadSegments(ram, elf, 0, "program");
    }

    /** Loads M-mode firmware at the start of RAM: a raw binary, or an ELF at its addresses. */
    public static Loaded loadFirmware(GuestMemory ram, byte[] bytes, String name) throws BootException {
        if (ElfFile.isElf(bytes)) {
            return loadSegments(ram, ElfFile.parse(bytes, name), 0, "firmware");
        }
        if (bytes.length == 0) {
            throw new BootException("firmware " + name + " is empty");
        }
        if (bytes.length > 0x20_0000) {
            throw new BootException("firmware " + name + " is " + mib(bytes.length)
                    + "; it must fit in the 2 MiB below the kernel");
        }
        ram.write(ram.base(), bytes);
        return new Loaded(ram.base(), ram.base() + bytes.length, ram.base());
    }

    /** Copies the initrd to {@code gpa} after checking that it fits below {@code limit}. */
    public static Loaded loadInitrd(GuestMemory ram, byte[] bytes, String name, long gpa, long limit)
            throws BootException {
        if (gpa + bytes.length > limit) {
            throw new BootException("initrd " + name + " (" + mib(bytes.length) + ") does not fit in "
                    + mib(ram.size()) + " of guest memory next to the kernel; give the guest more memory with --memory");
        }
        ram.write(gpa, bytes);
        return new Loaded(gpa, gpa + bytes.length, gpa);
    }

    static String mib(long bytes) {
        return bytes >= 1 << 20 ? (bytes + (1 << 20) - 1) / (1 << 20) + " MiB" : bytes + " bytes";
    }
}
