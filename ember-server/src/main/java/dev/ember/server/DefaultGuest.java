package dev.ember.server;

import dev.ember.config.DevicesConfig;
import dev.ember.config.DriveConfig;
import dev.ember.config.EntropyConfig;
import dev.ember.config.NetworkInterfaceConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code ember run} boots when no kernel is named: the guest built by {@code guest/build.sh}.
 *
 * <p>Its root file system is an ext4 image on virtio-blk. The pristine image in the guest
 * directory is never written: the guest gets a working copy in Ember's state directory
 * ({@code $EMBER_STATE_DIR}, else {@code $XDG_DATA_HOME/ember}, else
 * {@code ~/.local/share/ember}), made on first use and kept across runs like a real disk. When the
 * pristine image changes (a new guest build), the old copy is kept as {@code rootfs.ext4.old}
 * and a fresh copy made. The defaults add a user-mode network interface and virtio-rng unless the
 * options already name a network. Without an ext4 image, or with {@code --initrd}, the
 * initramfs is the root instead (the fallback).
 */
final class DefaultGuest {

    private final Path initrd;
    private final DevicesConfig devices;

    DefaultGuest(Path guestDir, Path initrdOption, DevicesConfig given) throws IOException {
        Path pristine = guestDir.resolve("rootfs.ext4");
        boolean hasRoot = given.rootDriveIndex() >= 0;
        List<DriveConfig> drives = new ArrayList<>(given.drives());
        if (initrdOption != null || hasRoot || !Files.isRegularFile(pristine)) {
            initrd = initrdOption != null || hasRoot ? initrdOption : guestDir.resolve("initramfs.cpio");
        } else {
            initrd = null;
            drives.addFirst(new DriveConfig("rootfs", workingCopy(pristine), true, false));
        }
        List<NetworkInterfaceConfig> nets = given.networks().isEmpty()
                ? List.of(new NetworkInterfaceConfig("eth0", null, null, List.of()))
                : given.networks();
        DevicesConfig defaults = new DevicesConfig(drives, nets, given.vsock(),
                given.entropy() != null ? given.entropy() : new EntropyConfig(null), given.balloon(), given.virtioConsole());
        for (var share : given.shares()) {
            defaults = defaults.withShare(share);
        }
        devices = defaults;
    }

    Path initrd() {
        return initrd;
    }

    DevicesConfig devices() {
        return devices;
    }

    private static Path workingCopy(Path pristine) throws IOException {
        Path dir = stateDir();
        Files.createDirectories(dir);
        Path copy = dir.resolve("rootfs.ext4");
        Path stamp = dir.resolve("rootfs.ext4.source");
        String source = pristine.toRealPath() + " " + Files.size(pristine) + " " + Files.getLastModifiedTime(pristine).toMillis();
        String recorded = Files.isRegularFile(stamp) ? Files.readString(stamp).trim() : "";
        if (Files.isRegularFile(copy) && recorded.equals(source)) {
            return copy;
        }
        if (Files.isRegularFile(copy)) {
            Files.move(copy, dir.resolve("rootfs.ext4.old"), StandardCopyOption.REPLACE_EXISTING);
            System.err.println("ember: the default guest was rebuilt; its old root disk is kept as " + dir.resolve("rootfs.ext4.old"));
        }
        Path tmp = dir.resolve("rootfs.ext4.tmp");
        sparseCopy(pristine, tmp);
        Files.move(tmp, copy, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(stamp, source + "\n");
        return copy;
    }

    /**
     * Copies {@code from} to {@code to} leaving holes where {@code from} has blocks of zeros, so
     * the 64 MiB image costs the few MiB it really holds.
     */
    private static void sparseCopy(Path from, Path to) throws IOException {
        try (FileChannel in = FileChannel.open(from, StandardOpenOption.READ);
             FileChannel out = FileChannel.open(to, StandardOpenOption.WRITE, StandardOpenOption.CREATE,
                     StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer block = ByteBuffer.allocate(64 * 1024);
            long size = in.size();
            for (long position = 0; position < size; position += block.limit()) {
                block.clear();
                while (block.hasRemaining() && in.read(block, position + block.position()) > 0) {
                    // read until the block is full or the file ends
                }
                block.flip();
                if (!allZero(block)) {
                    while (block.hasRemaining()) {
                        out.write(block, position + block.position());
                    }
                    block.rewind();
                }
                if (block.limit() == 0) {
                    break;
                }
            }
            if (out.size() < size) {
                out.write(ByteBuffer.wrap(new byte[1]), size - 1);   // sets the length; the last byte is 0 anyway
            }
            out.force(true);
        }
    }

    private static boolean allZero(ByteBuffer b) {
        for (int i = 0; i < b.limit(); i++) {
            if (b.get(i) != 0) {
                return false;
            }
        }
        return true;
    }

    private static Path stateDir() {
        String explicit = System.getenv("EMBER_STATE_DIR");
        if (explicit != null && !explicit.isEmpty()) {
            return Path.of(explicit);
        }
        String xdg = System.getenv("XDG_DATA_HOME");
        Path base = xdg != null && !xdg.isEmpty() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".local", "share");
        return base.resolve("ember");
    }
}
