package dev.ember.vmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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

    @Test
    void aVmWithAWritableDriveIsNotClonedOntoOneDisk() throws Exception {
        Path dir = Path.of(System.getProperty("ember.guest.dir", "guest/out"));
        Path disk = Files.write(tmp.resolve("d.img"), new byte[1 << 20]);
        try (MicroVm vm = MicroVm.builder()
                .bootSource(new BootSourceConfig(dir.resolve("Image"), dir.resolve("initramfs.cpio"), null))
                .machineConfig(new MachineConfig(1, 128, false, false))
                .drive(new DriveConfig("data", disk, false, false))
                .build()) {
            vm.start();
            assertThatThrownBy(() -> vm.clone(2, tmp)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("writable");
        }
    }
}
