package dev.ember.server;

import dev.ember.config.DevicesConfig;
import dev.ember.config.DriveConfig;
import dev.ember.config.NetworkInterfaceConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
        devices = new DevicesConfig(drives, nets, given.vsock(), true, given.balloon(), given.virtioConsole());
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
        Files.copy(pristine, tmp, StandardCopyOption.REPLACE_EXISTING);
        Files.move(tmp, copy, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(stamp, source + "\n");
        return copy;
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
