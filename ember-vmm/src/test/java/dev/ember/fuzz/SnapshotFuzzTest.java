package dev.ember.fuzz;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ember.log.LogSink;
import dev.ember.boot.BootException;
import dev.ember.config.DriveConfig;
import dev.ember.config.NetworkInterfaceConfig;
import dev.ember.config.ShareConfig;
import dev.ember.config.VsockConfig;
import dev.ember.snapshot.SnapshotException;
import dev.ember.snapshot.SnapshotFile;
import dev.ember.snapshot.SnapshotPair;
import dev.ember.vmm.VirtualMachine;
import dev.ember.vmm.VmConfig;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * Snapshot files ({@code dev.ember.snapshot}) as a user might hand them to {@code --restore}:
 * corrupted, truncated, of another machine, or made up. {@link #stateFile} gives arbitrary bytes
 * to the envelope reader; {@link #restore} wraps arbitrary payloads in a valid envelope (so the
 * checksum does not stop them) and restores a machine from them, next to a valid memory file of
 * 16 MiB with the id {@code 000...0}.
 *
 * <p>The contract: {@link SnapshotException} (or {@link BootException} for a host resource the
 * configuration names) with a message, never another exception, never an allocation the file
 * sizes; and a machine that is restored is closed with every thread it started.
 */
class SnapshotFuzzTest {

    private static final long RAM = 16L << 20;
    private static final Path DIR = createDir();
    private static final Path MEMORY = DIR.resolve("fuzz.mem");
    private static final Path DISK = DIR.resolve("disk.img");
    private static final Path SHARE = DIR.resolve("share");
    private static final LogSink QUIET = LogSink.discard();

    private static Path createDir() {
        try {
            Path dir = FuzzFiles.tempDir("ember-fuzz-snapshot");
            Files.write(dir.resolve("disk.img"), new byte[16 << 10]);
            Files.createDirectories(dir.resolve("share"));
            try (Arena arena = Arena.ofConfined()) {
                SnapshotPair.write(dir.resolve("unused.state"), dir.resolve("fuzz.mem"), new byte[16], new byte[0],
                        arena.allocate(RAM), null);
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest
    void stateFile(byte[] bytes) throws IOException {
        Path file = Files.write(DIR.resolve("raw.state"), bytes);
        try {
            assertNotNull(SnapshotFile.read(file));
        } catch (SnapshotException e) {
            assertMessage(e);
        }
    }

    @FuzzTest
    void restore(byte[] payload) throws Exception {
        Path state = DIR.resolve("fuzz.state");
        SnapshotFile.write(state, payload);
        Set<Thread> before = FuzzInvariants.threads();
        try (VirtualMachine vm = VirtualMachine.restore(state, MEMORY, SnapshotFuzzTest::onThisHost,
                OutputStream.nullOutputStream(), QUIET, null)) {
            assertTrue(vm.isRestored());
        } catch (SnapshotException | BootException e) {
            assertMessage(e);
        } finally {
            Files.deleteIfExists(DIR.resolve("v.sock"));
        }
        FuzzInvariants.assertNoNewThreads(before);
    }

    /** The host resources a snapshot names, moved to this test's own: as the API's overrides do. */
    private static VmConfig onThisHost(VmConfig config) {
        if (config.devices() == null) {
            return config;
        }
        return config.withDevices(config.devices().map(d -> switch (d) {
            case DriveConfig drive -> new DriveConfig(drive.driveId(), DISK, drive.isRootDevice(), drive.isReadOnly(),
                    drive.rateLimiter(), null);
            case NetworkInterfaceConfig net -> new NetworkInterfaceConfig(net.ifaceId(), net.guestMac(), null, java.util.List.of(),
                    net.rxRateLimiter(), net.txRateLimiter());
            case VsockConfig vsock -> new VsockConfig(vsock.guestCid(), DIR.resolve("v.sock"));
            case ShareConfig share -> new ShareConfig(share.tag(), SHARE, share.readOnly());
            default -> d;
        }));
    }

    private static void assertMessage(Exception e) {
        assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), "a message for " + e);
    }
}
