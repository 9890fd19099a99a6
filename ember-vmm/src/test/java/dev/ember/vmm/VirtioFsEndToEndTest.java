package dev.ember.vmm;

import dev.ember.log.LogSink;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.config.BootSourceConfig;
import dev.ember.config.MachineConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * virtio-fs in the default guest: busybox tools work on a share mounted with
 * {@code mount -t virtiofs}, and the host sees what they did; a read-only share refuses writes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VirtioFsEndToEndTest {

    private static final Path GUEST = Path.of(System.getProperty("ember.guest.dir", "guest/out"));
    private static final Duration RUN = Duration.ofSeconds(120);

    private Path rw;
    private Path ro;
    private MicroVm vm;
    private byte[] big;

    @BeforeAll
    void boot(@TempDir Path temp) throws Exception {
        rw = Files.createDirectory(temp.resolve("rw"));
        ro = Files.createDirectory(temp.resolve("ro"));
        Files.writeString(ro.resolve("readme"), "read only\n");
        Files.writeString(rw.resolve("from-host"), "written by the host\n");
        big = new byte[6 << 20];
        new Random(42).nextBytes(big);
        Files.write(rw.resolve("big"), big);
        vm = MicroVm.builder()
                .name("virtiofs")
                .bootSource(new BootSourceConfig(GUEST.resolve("Image"), GUEST.resolve("initramfs.cpio"), null))
                .machineConfig(new MachineConfig(1, 128, false, false))
                .share("work", rw, false)
                .share("docs", ro, true)
                .log(LogSink.discard())
                .build();
        vm.start();
        assertEquals(0, sh("mkdir -p /mnt/rw /mnt/ro && mount -t virtiofs work /mnt/rw && mount -t virtiofs docs /mnt/ro")
                .exitCode());
    }

    @AfterAll
    void close() {
        vm.close();
    }

    private GuestCommandResult sh(String command) throws Exception {
        return vm.exec(command, RUN);
    }

    @Test
    void filesWrittenInTheGuestAppearOnTheHostAndBack() throws Exception {
        assertEquals(new GuestCommandResult("written by the host", 0), sh("cat /mnt/rw/from-host"));
        assertEquals(0, sh("mkdir /mnt/rw/dir && echo hello from the guest > /mnt/rw/dir/greeting").exitCode());
        assertEquals("hello from the guest\n", Files.readString(rw.resolve("dir/greeting")));
        assertThat(sh("ls -l /mnt/rw/dir").output()).contains("greeting");
    }

    @Test
    void aLargeFileCopiedInTheGuestKeepsItsChecksum() throws Exception {
        String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(big));
        GuestCommandResult r = sh("cp /mnt/rw/big /mnt/rw/big.copy && sha256sum /mnt/rw/big.copy");
        assertEquals(0, r.exitCode());
        assertThat(r.output()).startsWith(expected);
        assertArrayEquals(big, Files.readAllBytes(rw.resolve("big.copy")));
    }

    @Test
    void renameLinksChmodTouchAndRemoveReachTheHost() throws Exception {
        assertEquals(0, sh("cd /mnt/rw && echo data > f && mv f g && ln -s g sl && ln g hard && chmod 600 g"
                + " && touch stamp && cat sl").exitCode());
        assertFalse(Files.exists(rw.resolve("f")));
        assertEquals("data\n", Files.readString(rw.resolve("g")));
        assertEquals("g", Files.readSymbolicLink(rw.resolve("sl")).toString());
        assertEquals(2, (int) Files.getAttribute(rw.resolve("g"), "unix:nlink"));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(rw.resolve("g"))));
        assertTrue(Files.exists(rw.resolve("stamp")));
        assertEquals(0, sh("rm /mnt/rw/hard /mnt/rw/sl").exitCode());
        assertFalse(Files.exists(rw.resolve("hard")));
        assertEquals(1, (int) Files.getAttribute(rw.resolve("g"), "unix:nlink"));
    }

    @Test
    void dfReportsTheShare() throws Exception {
        GuestCommandResult r = sh("df /mnt/rw");
        assertEquals(0, r.exitCode());
        assertThat(r.output()).contains("work");
    }

    @Test
    void aReadOnlyShareRefusesWritesAndServesReads() throws Exception {
        assertEquals(new GuestCommandResult("read only", 0), sh("cat /mnt/ro/readme"));
        for (String write : new String[] {"echo x > /mnt/ro/new", "echo x >> /mnt/ro/readme", "mkdir /mnt/ro/d",
                "rm /mnt/ro/readme", "touch /mnt/ro/readme", "mv /mnt/ro/readme /mnt/ro/other", "ln -s x /mnt/ro/l",
                "chmod 777 /mnt/ro/readme"}) {
            assertNotEquals(0, sh(write + " 2>/dev/null").exitCode(), write);
        }
        assertEquals("read only\n", Files.readString(ro.resolve("readme")));
        try (var s = Files.list(ro)) {
            assertEquals(1, s.count());
        }
    }

    @Test
    void theDeviceCountsItsRequests() throws Exception {
        sh("ls /mnt/rw > /dev/null");
        assertThat(vm.metrics().get("fs", "requests")).isPositive();
    }
}
