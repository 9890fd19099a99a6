package dev.ember.vmm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ember.config.BootSourceConfig;
import dev.ember.config.DriveConfig;
import dev.ember.config.MachineConfig;
import dev.ember.config.VsockConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sandbox pool: one booted guest is cloned ten times in this JVM. Every clone answers
 * {@code exec}, starts with what the original had in memory, takes its own vsock CID, and
 * diverges: what one clone writes in its memory no other clone or the original sees.
 */
class CloneEndToEndTest {

    private static final Duration T = Duration.ofSeconds(120);

    @TempDir
    Path tmp;

    private MicroVm original() throws Exception {
        Path dir = Path.of(System.getProperty("ember.guest.dir", "guest/out"));
        return MicroVm.builder()
                .name("pool")
                .bootSource(new BootSourceConfig(dir.resolve("Image"), dir.resolve("initramfs.cpio"), null))
                .machineConfig(new MachineConfig(1, 128, false, false))
                .vsock(new VsockConfig(3, tmp.resolve("v.sock")))
                .build();
    }

    @Test
    void tenClonesOfOneGuestEachHaveTheirOwnIdentityAndMemory() throws Exception {
        List<MicroVm> clones = new ArrayList<>();
        try (MicroVm vm = original()) {
            vm.start();
            assertThat(vm.exec("echo before-clone > /tmp/shared", T).exitCode()).isZero();
            clones.addAll(vm.clone(10, tmp));
            assertThat(vm.exec("echo original > /tmp/own; cat /tmp/own", T).output()).contains("original");
            for (int k = 0; k < clones.size(); k++) {
                MicroVm c = clones.get(k);
                assertThat(c.isRestored()).isTrue();
                assertThat(c.exec("cat /tmp/shared", T).output()).contains("before-clone");
                assertThat(c.exec("echo clone-" + k + " > /tmp/own", T).exitCode()).isZero();
            }
            for (int k = 0; k < clones.size(); k++) {
                MicroVm c = clones.get(k);
                assertThat(c.exec("cat /tmp/own", T).output().strip()).isEqualTo("clone-" + k);
                // Each clone listens for host connections on its own vsock socket.
                assertThat(tmp.resolve("v.sock-clone-" + (k + 1))).exists();
            }
            assertThat(vm.exec("cat /tmp/own", T).output().strip()).isEqualTo("original");
        } finally {
            clones.forEach(MicroVm::close);
        }
    }

    /** {@return the output without the kernel's console messages ("[ 5.88] sh (33): drop_caches: 3")} */
    private static String withoutKernelLines(String output) {
        return output.lines().filter(l -> !l.matches("\\[\\s*[0-9.]+\\].*")).reduce("", (a, b) -> a + b).strip();
    }

    @Test
    void clonesOfAVmWithAWritableDriveEachWriteTheirOwnOverlay() throws Exception {
        Path dir = Path.of(System.getProperty("ember.guest.dir", "guest/out"));
        Path disk = Files.write(tmp.resolve("d.img"), new byte[1 << 20]);
        // Writes go to the device and reads come from it, not from the guest's page cache.
        String write = "sync; echo 3 > /proc/sys/vm/drop_caches";
        String readSector2 = "sync; echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda bs=512 skip=2 count=1 2>/dev/null"
                + " | tr -d '\\000'; echo";
        List<MicroVm> clones = new ArrayList<>();
        try (MicroVm vm = MicroVm.builder()
                .name("disk")
                .bootSource(new BootSourceConfig(dir.resolve("Image"), dir.resolve("initramfs.cpio"), null))
                .machineConfig(new MachineConfig(1, 128, false, false))
                .drive(new DriveConfig("data", disk, false, false))
                .build()) {
            vm.start();
            assertThat(vm.exec("echo original-data | dd of=/dev/vda bs=512 seek=1 conv=sync 2>/dev/null; " + write, T)
                    .exitCode()).isZero();
            clones.addAll(vm.clone(3, tmp));
            for (int k = 0; k < clones.size(); k++) {
                MicroVm c = clones.get(k);
                assertThat(c.exec("echo clone-" + k + " | dd of=/dev/vda bs=512 seek=2 conv=sync 2>/dev/null; " + write, T)
                        .exitCode()).isZero();
            }
            for (int k = 0; k < clones.size(); k++) {
                MicroVm c = clones.get(k);
                assertThat(withoutKernelLines(c.exec(readSector2, T).output())).isEqualTo("clone-" + k);
                assertThat(c.exec("dd if=/dev/vda bs=512 skip=1 count=1 2>/dev/null | tr -d '\\000'; echo", T).output())
                        .contains("original-data");
            }
            assertThat(withoutKernelLines(vm.exec(readSector2, T).output())).isEmpty();
        } finally {
            clones.forEach(MicroVm::close);
        }
        byte[] image = Files.readAllBytes(disk);
        assertThat(new String(image, 1024, 16, java.nio.charset.StandardCharsets.US_ASCII)).doesNotContain("clone");
        assertThat(new String(image, 512, 16, java.nio.charset.StandardCharsets.US_ASCII)).startsWith("original-data");
    }
}
