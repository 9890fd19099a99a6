package dev.ember.vmm;

import dev.ember.log.LogSink;
import dev.ember.config.BootSourceConfig;
import dev.ember.config.DriveConfig;
import dev.ember.config.MachineConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Figures for virtio-fs against virtio-blk, measured by hand (not a test): sequential write and
 * read of a 64 MiB file with {@code dd}, and create + stat of 10,000 files, on a share and on an
 * ext4 disk, in the default guest. Each figure is the wall time of one {@code exec}.
 *
 * <pre>
 *   java -cp ... dev.ember.vmm.VirtioFsFigures GUEST_DIR WORK_DIR [runs]
 * </pre>
 * WORK_DIR must hold {@code disk.ext4}, an empty ext4 image of at least 128 MiB
 * ({@code mke2fs -q -t ext4 disk.ext4 256M}).
 */
public final class VirtioFsFigures {

    private static final Duration LONG = Duration.ofMinutes(20);

    public static void main(String[] args) throws Exception {
        Path guest = Path.of(args[0]);
        Path work = Path.of(args[1]);
        int runs = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        Path share = Files.createDirectories(work.resolve("share"));
        try (MicroVm vm = MicroVm.builder()
                .name("fs-figures")
                .bootSource(new BootSourceConfig(guest.resolve("Image"), guest.resolve("initramfs.cpio"), null))
                .machineConfig(new MachineConfig(1, 256, false, false))
                .drive(new DriveConfig("disk", work.resolve("disk.ext4"), false, false))
                .share("fs", share, false)
                .log(LogSink.discard())
                .build()) {
            vm.start();
            exec(vm, "mkdir -p /mnt/blk /mnt/fs && mount -t ext4 /dev/vda /mnt/blk && mount -t virtiofs fs /mnt/fs");
            for (int run = 1; run <= runs; run++) {
                for (String dir : new String[] {"/mnt/fs", "/mnt/blk"}) {
                    exec(vm, "rm -rf " + dir + "/f " + dir + "/d; sync; echo 3 > /proc/sys/vm/drop_caches");
                    double write = timed(vm, "dd if=/dev/zero of=" + dir + "/f bs=1M count=64 conv=fsync 2>/dev/null");
                    exec(vm, "echo 3 > /proc/sys/vm/drop_caches");
                    double read = timed(vm, "dd if=" + dir + "/f of=/dev/null bs=1M 2>/dev/null");
                    exec(vm, "mkdir " + dir + "/d");
                    double create = timed(vm, "cd " + dir + "/d && seq 10000 | xargs touch && sync");
                    exec(vm, "echo 3 > /proc/sys/vm/drop_caches");
                    double stat = timed(vm, "ls -l " + dir + "/d | wc -l");
                    System.out.printf("run %d %-8s write %6.1f MiB/s  read %6.1f MiB/s  create 10k %5.2f s  stat 10k %5.2f s  load %s%n",
                            run, dir, 64 / write, 64 / read, create, stat,
                            Files.readString(Path.of("/proc/loadavg")).trim());
                }
            }
        }
    }

    private static void exec(MicroVm vm, String command) throws Exception {
        GuestCommandResult r = vm.exec(command, LONG);
        if (r.exitCode() != 0) {
            throw new IllegalStateException(command + ": " + r);
        }
    }

    private static double timed(MicroVm vm, String command) throws Exception {
        long start = System.nanoTime();
        exec(vm, command);
        return (System.nanoTime() - start) / 1e9;
    }
}
