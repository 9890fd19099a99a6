package dev.ember.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ember.boot.BootException;
import dev.ember.boot.BootImages;
import dev.ember.boot.ElfFile;
import dev.ember.memory.GuestMemory;

/**
 * The kernel, firmware, initrd and ELF loaders ({@code dev.ember.boot}) given arbitrary files.
 *
 * <p>Invariants: a file is either loaded inside guest RAM, with its start, end and entry in RAM,
 * or refused with a {@link BootException}; nothing else escapes, and nothing is allocated
 * beyond a copy of the file (the fuzzer's heap bound catches more).
 */
class BootImagesFuzzTest {

    private static final long RAM_BASE = 0x8000_0000L;
    private static final long RAM_SIZE = 4 << 20;

    @FuzzTest(maxDuration = "15s")
    void kernel(byte[] file) {
        try (GuestMemory ram = GuestMemory.allocate(RAM_BASE, RAM_SIZE)) {
            assertInRam(ram, BootImages.loadKernel(ram, file, "fuzz-kernel"));
        } catch (BootException e) {
            assertClear(e);
        }
    }

    @FuzzTest(maxDuration = "15s")
    void elf(byte[] file) {
        byte[] elf = file.length >= 4 ? file.clone() : new byte[4];
        // Most of the input is about what follows the magic.
        elf[0] = 0x7F;
        elf[1] = 'E';
        elf[2] = 'L';
        elf[3] = 'F';
        try (GuestMemory ram = GuestMemory.allocate(RAM_BASE, RAM_SIZE)) {
            ElfFile parsed = ElfFile.parse(elf, "fuzz-elf");
            for (ElfFile.Segment s : parsed.segments()) {
                assertTrue(parsed.contents(s).length == s.fileSize());
            }
            try {
                assertInRam(ram, BootImages.loadBareMetal(ram, parsed));
            } catch (BootException e) {
                assertClear(e);
            }
            assertInRam(ram, BootImages.loadFirmware(ram, elf, "fuzz-firmware"));
        } catch (BootException e) {
            assertClear(e);
        }
    }

    @FuzzTest(maxDuration = "15s")
    void initrd(FuzzedDataProvider data) {
        long gpa = RAM_BASE + data.consumeLong(0, RAM_SIZE);
        long limit = RAM_BASE + data.consumeLong(0, RAM_SIZE);
        byte[] file = data.consumeRemainingAsBytes();
        try (GuestMemory ram = GuestMemory.allocate(RAM_BASE, RAM_SIZE)) {
            BootImages.Loaded loaded = BootImages.loadInitrd(ram, file, "fuzz-initrd", gpa, limit);
            assertTrue(loaded.end() <= limit, "the initrd ends below its limit");
            assertInRam(ram, loaded);
        } catch (BootException e) {
            assertClear(e);
        }
    }

    private static void assertInRam(GuestMemory ram, BootImages.Loaded loaded) {
        assertTrue(ram.contains(loaded.start(), loaded.end() - loaded.start()),
                () -> "loaded outside RAM: " + loaded);
    }

    private static void assertClear(BootException e) {
        String m = e.getMessage();
        assertTrue(m != null && !m.isBlank() && m.indexOf('\n') < 0, () -> "not a one-line message: " + m);
    }
}
