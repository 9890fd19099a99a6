package dev.ember.devices.virtio.block;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A copy-on-write overlay reads what was written to it and the backing image everywhere else,
 * never changes the backing image, and keeps its writes across a reopen.
 */
class DiskImageOverlayTest {

    @TempDir
    Path tmp;

    @Test
    void writesLandInTheOverlayAndEverythingElseComesFromTheBackingImage() throws Exception {
        byte[] pattern = new byte[64 * 1024 + 512];   // a partial last block
        new Random(7).nextBytes(pattern);
        Path base = Files.write(tmp.resolve("base.img"), pattern);
        Path overlay = tmp.resolve("clone.overlay");
        byte[] expected = pattern.clone();
        Random r = new Random(11);
        try (DiskImage image = DiskImage.openOverlay("rootfs", overlay, base)) {
            assertThat(image.capacitySectors()).isEqualTo(pattern.length / 512);
            for (int i = 0; i < 200; i++) {
                int at = r.nextInt(pattern.length / 512) * 512;
                int len = Math.min(pattern.length - at, 512 * (1 + r.nextInt(20)));
                byte[] data = new byte[len];
                r.nextBytes(data);
                image.write(ByteBuffer.wrap(data), at);
                System.arraycopy(data, 0, expected, at, len);
                int readAt = r.nextInt(pattern.length / 512) * 512;
                int readLen = Math.min(pattern.length - readAt, 512 * (1 + r.nextInt(30)));
                ByteBuffer back = ByteBuffer.allocate(readLen);
                image.read(back, readAt);
                assertThat(back.array()).isEqualTo(java.util.Arrays.copyOfRange(expected, readAt, readAt + readLen));
            }
        }
        assertThat(Files.readAllBytes(base)).isEqualTo(pattern);
        try (DiskImage again = DiskImage.openOverlay("rootfs", overlay, base)) {
            ByteBuffer all = ByteBuffer.allocate(pattern.length);
            again.read(all, 0);
            assertThat(all.array()).isEqualTo(expected);
        }
    }

    @Test
    void anOverlayOfAnotherSizeOrAMissingBackingImageIsRefused() throws Exception {
        Path base = Files.write(tmp.resolve("base.img"), new byte[8192]);
        Path wrong = Files.write(tmp.resolve("wrong.overlay"), new byte[4096]);
        assertThatThrownBy(() -> DiskImage.openOverlay("d", wrong, base)).isInstanceOf(DiskImageException.class)
                .hasMessageContaining("holds 4096 bytes");
        assertThatThrownBy(() -> DiskImage.openOverlay("d", tmp.resolve("o"), tmp.resolve("missing.img")))
                .isInstanceOf(DiskImageException.class).hasMessageContaining("no such file");
    }
}
