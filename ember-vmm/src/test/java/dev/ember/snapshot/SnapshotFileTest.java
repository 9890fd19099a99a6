package dev.ember.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The state file's envelope refuses every damaged or foreign file, and the memory file is sparse. */
class SnapshotFileTest {

    @TempDir
    Path tmp;

    private static final byte[] PAYLOAD = "{\"harts\":[1,2,3]}".getBytes(StandardCharsets.UTF_8);

    @Test
    void crc64IsTheXzVariant() {
        byte[] check = "123456789".getBytes(StandardCharsets.US_ASCII);
        assertThat(Crc64.of(check, 0, check.length)).isEqualTo(0x995DC9BBDF1939FAL);
    }

    @Test
    void aWrittenFileReadsBackAndDescribesItsVersion() throws Exception {
        Path f = tmp.resolve("s");
        SnapshotFile.write(f, PAYLOAD);
        assertThat(SnapshotFile.read(f)).isEqualTo(PAYLOAD);
        assertThat(SnapshotFile.describe(f)).isEqualTo(new SnapshotFile.Header(SnapshotFile.VERSION, PAYLOAD.length));
        assertThat(Files.list(tmp)).containsExactly(f);   // no temporary file left behind
    }

    @Test
    void aWriteRemovesTheTemporaryFilesOfKilledWritersOnly() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        long deadPid = gone.pid();
        long livePid = ProcessHandle.current().pid();
        Path killed = Files.write(tmp.resolve(".s." + deadPid + ".123.tmp"), new byte[4096]);      // a writer SIGKILLed
        Path writing = Files.write(tmp.resolve(".s." + livePid + ".456.tmp"), new byte[16]);        // a writer at work
        Path otherTarget = Files.write(tmp.resolve(".s.1." + deadPid + ".789.tmp"), new byte[16]);  // for "s.1", not "s"
        Path notOurs = Files.write(tmp.resolve(".s.notes.tmp"), new byte[16]);

        Path f = tmp.resolve("s");
        SnapshotFile.write(f, PAYLOAD);

        assertThat(SnapshotFile.read(f)).isEqualTo(PAYLOAD);
        assertThat(Files.list(tmp)).containsExactlyInAnyOrder(f, writing, otherTarget, notOurs);
        assertThat(killed).doesNotExist();
    }

    @Test
    void everySingleBitFlipIsDetected() throws Exception {
        Path f = tmp.resolve("s");
        SnapshotFile.write(f, PAYLOAD);
        byte[] good = Files.readAllBytes(f);
        for (int bit = 0; bit < good.length * 8; bit++) {
            byte[] bad = good.clone();
            bad[bit / 8] ^= (byte) (1 << (bit % 8));
            Files.write(f, bad);
            assertThatThrownBy(() -> SnapshotFile.read(f)).isInstanceOf(SnapshotException.class);
        }
    }

    @Test
    void truncatedFilesAreRefusedAtEveryLength() throws Exception {
        Path f = tmp.resolve("s");
        SnapshotFile.write(f, PAYLOAD);
        byte[] good = Files.readAllBytes(f);
        for (int len = 0; len < good.length; len++) {
            Files.write(f, java.util.Arrays.copyOf(good, len));
            assertThatThrownBy(() -> SnapshotFile.read(f)).isInstanceOf(SnapshotException.class);
        }
    }

    @Test
    void wrongMagicWrongVersionAndForeignFilesGiveOneLineReasons() throws Exception {
        Path f = tmp.resolve("s");
        SnapshotFile.write(f, PAYLOAD);
        byte[] good = Files.readAllBytes(f);

        byte[] magic = good.clone();
        magic[0] = 'X';
        Files.write(f, magic);
        assertThatThrownBy(() -> SnapshotFile.read(f)).hasMessageContaining("not an Ember snapshot");

        // A newer version with a correct checksum: refused for its version, not as corruption.
        byte[] newer = good.clone();
        ByteBuffer.wrap(newer).order(ByteOrder.LITTLE_ENDIAN).putInt(8, SnapshotFile.VERSION + 1);
        ByteBuffer.wrap(newer).order(ByteOrder.LITTLE_ENDIAN).putLong(newer.length - 8, Crc64.of(newer, 0, newer.length - 8));
        Files.write(f, newer);
        assertThatThrownBy(() -> SnapshotFile.read(f)).hasMessageContaining("format version " + (SnapshotFile.VERSION + 1));

        Files.writeString(f, "#!/bin/sh\necho this is a script, not a snapshot\n");
        assertThatThrownBy(() -> SnapshotFile.read(f)).hasMessageContaining("not an Ember snapshot");

        assertThatThrownBy(() -> SnapshotFile.read(tmp.resolve("missing"))).hasMessageContaining("does not exist");
    }

    @Test
    void rewritingASnapshotThatFailsLeavesTheEarlierOneIntact() throws Exception {
        Path f = tmp.resolve("s");
        SnapshotFile.write(f, PAYLOAD);
        Path dir = tmp.resolve("dir-in-the-way");
        Files.createDirectory(dir);
        Files.writeString(dir.resolve("x"), "keeps the directory non-empty");
        // Renaming a file over a non-empty directory fails after the content was written.
        assertThatThrownBy(() -> SnapshotFile.write(dir, PAYLOAD)).isInstanceOf(java.io.IOException.class);
        assertThat(SnapshotFile.read(f)).isEqualTo(PAYLOAD);
        assertThat(Files.list(tmp)).hasSize(2);   // no temporary file left behind
    }

    @Test
    void theMemoryFileHasTheRamSizeAndOnlyItsNonZeroPagesTakeSpace() throws Exception {
        long size = 64L << 20;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(size, 4096);
            ram.set(java.lang.foreign.ValueLayout.JAVA_LONG, 5 * 4096 + 8, 0x1234_5678_9abc_def0L);
            ram.set(java.lang.foreign.ValueLayout.JAVA_BYTE, size - 1, (byte) 7);
            Path f = tmp.resolve("mem");
            MemoryFile.Written w = MemoryFile.write(f, ram);
            assertThat(w.pagesWritten()).isEqualTo(2);
            assertThat(Files.size(f)).isEqualTo(size + MemoryFile.TRAILER);
            byte[] back = Files.readAllBytes(f);
            assertThat(MemorySegment.ofArray(back).asSlice(0, size).mismatch(ram)).isEqualTo(-1);
            assertThat(MemoryFile.readId(f, size)).hasSize(16);
            assertThatThrownBy(() -> MemoryFile.readId(f, size - 4096)).hasMessageContaining("bytes of memory");
            // Blocks actually allocated (st_blocks, 512 bytes each): two pages' worth, give or take.
            Process stat = new ProcessBuilder("stat", "-c", "%b", f.toString()).start();
            long blocks = Long.parseLong(new String(stat.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim());
            assertThat(blocks * 512).isLessThan(1L << 20);
        }
    }

    @Test
    void aStateFileIsOnlyPairedWithItsOwnMemoryFileAndACrashBetweenTheRenamesKeepsTheEarlierOne() throws Exception {
        long size = 1L << 20;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(size, 4096);
            Path state = tmp.resolve("vm.state");
            Path mem = tmp.resolve("vm.mem");
            byte[] first = SnapshotPair.newId();
            SnapshotPair.write(state, mem, first, PAYLOAD, ram, null);
            assertThat(SnapshotPair.memoryFor(mem, SnapshotPair.hex(first), size)).isEqualTo(mem);
            assertThat(Files.list(tmp)).containsExactlyInAnyOrder(state, mem);

            // What a crash between the two renames leaves: the new memory file in place, the
            // earlier state file, and the earlier memory file under its .prev link.
            Files.createLink(SnapshotPair.prevOf(mem), mem);
            byte[] second = SnapshotPair.newId();
            Path newMem = tmp.resolve("new.mem");
            MemoryFile.writeTo(Files.createFile(newMem), ram, null, second);
            Files.move(newMem, mem, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            assertThat(SnapshotPair.memoryFor(mem, SnapshotPair.hex(first), size)).isEqualTo(SnapshotPair.prevOf(mem));
            assertThat(SnapshotPair.memoryFor(mem, SnapshotPair.hex(second), size)).isEqualTo(mem);
            assertThatThrownBy(() -> SnapshotPair.memoryFor(mem, SnapshotPair.hex(SnapshotPair.newId()), size))
                    .hasMessageContaining("belongs to another snapshot");
        }
    }
}
