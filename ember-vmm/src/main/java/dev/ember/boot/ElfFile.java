package dev.ember.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A parsed 64-bit little-endian RISC-V ELF file: its loadable segments, entry point and symbol
 * table (System V ABI, ELF-64 Object File Format; RISC-V ELF psABI for {@code EM_RISCV}).
 *
 * <p><b>Untrusted input.</b> Every offset and size read from the file is checked against the
 * file's length before use; a malformed file is a {@link BootException} naming the problem.
 */
public final class ElfFile {

    public static final int EM_RISCV = 243;
    private static final int PT_LOAD = 1;
    private static final int SHT_SYMTAB = 2;

    /** One {@code PT_LOAD} segment. */
    public record Segment(long vaddr, long paddr, long fileOffset, long fileSize, long memSize) {}

    private final byte[] bytes;
    private final String name;
    private final long entry;
    private final List<Segment> segments;
    private final Map<String, Long> symbols;

    private ElfFile(byte[] bytes, String name, long entry, List<Segment> segments, Map<String, Long> symbols) {
        this.bytes = bytes;
        this.name = name;
        this.entry = entry;
        this.segments = segments;
        this.symbols = symbols;
    }

    /** {@return whether {@code bytes} starts with the ELF magic} */
    public static boolean isElf(byte[] bytes) {
        return bytes.length >= 4 && bytes[0] == 0x7F && bytes[1] == 'E' && bytes[2] == 'L' && bytes[3] == 'F';
    }

    /**
     * Parses an ELF file.
     *
     * @param name the file's name, for messages
     * @throws BootException if it is not a 64-bit little-endian RISC-V ELF or is truncated
     */
    public static ElfFile parse(byte[] bytes, String name) throws BootException {
        if (!isElf(bytes)) {
            throw new BootException(name + " is not an ELF file");
        }
        if (bytes.length < 64) {
            throw new BootException(name + " is truncated: " + bytes.length + " bytes is shorter than an ELF header");
        }
        if (bytes[4] != 2) {
            throw new BootException(name + " is a 32-bit ELF; Ember runs 64-bit RISC-V (RV64) code");
        }
        if (bytes[5] != 1) {
            throw new BootException(name + " is a big-endian ELF; RISC-V is little-endian");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int machine = b.getShort(18) & 0xFFFF;
        if (machine != EM_RISCV) {
            throw new BootException(name + " is an ELF for machine " + machineName(machine) + ", not RISC-V");
        }
        long entry = b.getLong(24);
        long phoff = b.getLong(32);
        long shoff = b.getLong(40);
        int phentsize = b.getShort(54) & 0xFFFF;
        int phnum = b.getShort(56) & 0xFFFF;
        int shentsize = b.getShort(58) & 0xFFFF;
        int shnum = b.getShort(60) & 0xFFFF;
        List<Segment> segments = new ArrayList<>();
        for (int i = 0; i < phnum; i++) {
            long at = phoff + (long) i * phentsize;
            requireRange(bytes, at, 56, name, "program header " + i);
            int p = (int) at;
            if (b.getInt(p) != PT_LOAD) {
                continue;
            }
            Segment s = new Segment(b.getLong(p + 16), b.getLong(p + 24), b.getLong(p + 8), b.getLong(p + 32),
                    b.getLong(p + 40));
            requireRange(bytes, s.fileOffset(), s.fileSize(), name, "segment " + i);
            if (s.fileSize() > s.memSize()) {
                throw new BootException(name + ": segment " + i + " has more file bytes than memory bytes");
            }
            segments.add(s);
        }
        if (segments.isEmpty()) {
            throw new BootException(name + " has no loadable segments");
        }
        Map<String, Long> symbols = new HashMap<>();
        if (shoff != 0 && shentsize >= 64) {
            readSymbols(bytes, b, shoff, shentsize, shnum, name, symbols);
        }
        return new ElfFile(bytes, name, entry, List.copyOf(segments), symbols);
    }

    private static void readSymbols(byte[] bytes, ByteBuffer b, long shoff, int shentsize, int shnum, String name,
            Map<String, Long> out) throws BootException {
        for (int i = 0; i < shnum; i++) {
            long at = shoff + (long) i * shentsize;
            requireRange(bytes, at, 64, name, "section header " + i);
            int s = (int) at;
            if (b.getInt(s + 4) != SHT_SYMTAB) {
                continue;
            }
            long symOff = b.getLong(s + 24);
            long symSize = b.getLong(s + 32);
            int link = b.getInt(s + 40);
            long strAt = shoff + (long) link * shentsize;
            requireRange(bytes, strAt, 64, name, "string table header");
            long strOff = b.getLong((int) strAt + 24);
            long strSize = b.getLong((int) strAt + 32);
            requireRange(bytes, symOff, symSize, name, "symbol table");
            requireRange(bytes, strOff, strSize, name, "string table");
            for (long e = symOff; e + 24 <= symOff + symSize; e += 24) {
                int nameOff = b.getInt((int) e);
                if (nameOff <= 0 || nameOff >= strSize) {
                    continue;
                }
                int start = (int) (strOff + nameOff);
                int end = start;
                while (end < strOff + strSize && bytes[end] != 0) {
                    end++;
                }
                out.putIfAbsent(new String(bytes, start, end - start, StandardCharsets.UTF_8), b.getLong((int) e + 8));
            }
        }
    }

    private static void requireRange(byte[] bytes, long offset, long length, String name, String what)
            throws BootException {
        if (offset < 0 || length < 0 || offset > bytes.length - length) {
            throw new BootException(name + " is truncated: its " + what + " lies beyond the end of the file");
        }
    }

    private static String machineName(int machine) {
        return switch (machine) {
            case 3 -> "x86 (EM_386)";
            case 62 -> "x86-64 (EM_X86_64)";
            case 40 -> "ARM (EM_ARM)";
            case 183 -> "AArch64 (EM_AARCH64)";
            default -> String.valueOf(machine);
        };
    }

    public long entry() { return entry; }
    public List<Segment> segments() { return segments; }
    public Map<String, Long> symbols() { return symbols; }
    public String name() { return name; }

    /** {@return a copy of the file bytes of {@code s}} */
    public byte[] contents(Segment s) {
        byte[] out = new byte[(int) s.fileSize()];
        System.arraycopy(bytes, (int) s.fileOffset(), out, 0, out.length);
        return out;
    }
}
