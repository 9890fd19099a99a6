package dev.ember.bench;

import dev.ember.config.BootSourceConfig;
import dev.ember.config.DriveConfig;
import dev.ember.config.MachineConfig;
import dev.ember.config.NetworkInterfaceConfig;
import dev.ember.config.VsockConfig;
import dev.ember.log.LogSink;
import dev.ember.vmm.ExecResult;
import dev.ember.vmm.MicroVm;
import dev.ember.vmm.MicroVmBuilder;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * One of the soak's long-lived VM slots: boots a microVM of the default guest (busybox init,
 * DHCP on the user-mode network, the guest agent) with a scratch drive and a vsock device, and
 * runs {@link SoakFigures.Op}s through the agent in turn until told to stop. Every operation
 * checks its answer; a wrong answer is a checksum failure (data lost), anything else that goes
 * wrong an error. A VM that stops is closed and a fresh one booted in its place.
 *
 * <p>Thread: one platform thread per slot ({@code soak-vm-N}) runs {@link #run}; the counters
 * it updates are read by the reporting thread.
 */
final class SoakVm implements Runnable {

    /** The vsock port of the host's echo: the guest connects to CID 2 at this port. */
    static final int VSOCK_ECHO_PORT = 5000;
    /** Guest data per disk operation, written at a random 4 KiB-aligned offset of the scratch drive. */
    static final int DISK_BYTES = 64 * 1024;
    /** Guest data per network or vsock echo. */
    static final int ECHO_BYTES = 128 * 1024;
    /** {@code seq 1 CPU_SEQ | sha256sum} is the CPU job. */
    static final int CPU_SEQ = 100_000;
    private static final long SCRATCH_BYTES = 16 << 20;
    private static final String CPU_ANSWER = sha256(seqOutput(CPU_SEQ));

    private final String name;
    private final SoakFigures.Settings settings;
    private final SoakFigures.Counters counters;
    private final int tcpEchoPort;
    private final BooleanSupplier stopping;
    private final SplittableRandom random;
    private final Path dir;
    private MicroVm vm;
    private EchoListener vsockEcho;
    private volatile boolean booted;

    SoakVm(int index, SoakFigures.Settings settings, SoakFigures.Counters counters, int tcpEchoPort,
           BooleanSupplier stopping) throws IOException {
        this.name = "soak-" + index;
        this.settings = settings;
        this.counters = counters;
        this.tcpEchoPort = tcpEchoPort;
        this.stopping = stopping;
        this.random = new SplittableRandom(index * 7919L + System.nanoTime());
        this.dir = Files.createTempDirectory("ember-soak-" + index + "-");
    }

    /** {@return whether this slot's first VM has booted, or given up trying} */
    boolean firstBootDone() {
        return booted;
    }

    @Override
    public void run() {
        try {
            int next = 0;
            while (!stopping.getAsBoolean()) {
                if (vm == null || vm.state() != MicroVm.State.RUNNING) {
                    if (vm != null) {
                        counters.error(name, "vm", "the VM stopped (exit status " + vm.exitStatus() + "): "
                                + firstLine(vm.errorOutput()) + "; booting a new one");
                        counters.restarts.incrementAndGet();
                    }
                    closeVm();
                    if (!boot()) {
                        Thread.sleep(5000);   // before the next try, so a slot that cannot boot does not spin
                        continue;
                    }
                }
                SoakFigures.Op op = SoakFigures.Op.values()[next++ % SoakFigures.Op.values().length];
                try {
                    if (perform(op)) {
                        counters.done(op);
                    } else {
                        counters.badSum(name, op);
                    }
                } catch (Exception e) {
                    counters.error(name, op.label(), e.toString());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            booted = true;
            closeVm();
            deleteDir();
        }
    }

    private boolean boot() throws InterruptedException {
        Path scratch = dir.resolve("scratch.img");
        Path uds = dir.resolve("v.sock");
        try {
            try (RandomAccessFile f = new RandomAccessFile(scratch.toFile(), "rw")) {
                f.setLength(SCRATCH_BYTES);
            }
            Files.deleteIfExists(Path.of(uds + "_" + VSOCK_ECHO_PORT));
            vsockEcho = EchoListener.unix(Path.of(uds + "_" + VSOCK_ECHO_PORT));
            vm = MicroVm.builder()
                    .name(name)
                    .bootSource(new BootSourceConfig(settings.guest().resolve("Image"),
                            settings.guest().resolve("initramfs.cpio"), "console=ttyS0 quiet"))
                    .machineConfig(new MachineConfig(1, settings.memMib(), false, false))
                    .drive(new DriveConfig("scratch", scratch, false, false))
                    .networkInterface(new NetworkInterfaceConfig("eth0", null, null, List.of()))
                    .vsock(new VsockConfig(3, uds))
                    .guestAgent(true)
                    .consoleHistoryBytes(MicroVmBuilder.MIN_CONSOLE_HISTORY_BYTES)
                    .log(LogSink.discard())
                    .build();
            vm.start();
            vm.agent().awaitReady(settings.timeout());
            counters.boots.incrementAndGet();
            return true;
        } catch (IOException | dev.ember.boot.BootException | TimeoutException | RuntimeException e) {
            counters.error(name, "boot", e.toString());
            closeVm();
            return false;
        } finally {
            booted = true;
        }
    }

    /** Runs one operation; {@return whether every checksum matched} */
    private boolean perform(SoakFigures.Op op) throws Exception {
        return switch (op) {
            case CPU -> cpu();
            case DISK -> disk();
            case NET -> echo("nc 10.0.2.2 " + tcpEchoPort);
            case VSOCK -> echo("vsock-cat connect 2 " + VSOCK_ECHO_PORT);
        };
    }

    /** A CPU-bound job whose answer the host knows: the sha256 of {@code seq 1 N}'s output. */
    private boolean cpu() throws Exception {
        ExecResult r = exec("seq 1 " + CPU_SEQ + " | sha256sum", null);
        return r.stdoutText().startsWith(CPU_ANSWER);
    }

    /**
     * Writes a random block to the scratch drive from the guest, synced, drops the guest's page
     * cache, reads it back in the guest and compares its sha256; then reads the same range of
     * the drive's file on the host and compares that too.
     */
    private boolean disk() throws Exception {
        byte[] block = randomBytes(DISK_BYTES);
        long blocks4k = SCRATCH_BYTES / 4096 - DISK_BYTES / 4096;
        long seek = random.nextLong(blocks4k + 1);
        String expected = sha256(block);
        ExecResult r = exec("cat > /tmp/blk && dd if=/tmp/blk of=/dev/vda bs=4096 seek=" + seek + " conv=fsync 2>/dev/null"
                + " && echo 3 > /proc/sys/vm/drop_caches && dd if=/dev/vda bs=4096 skip=" + seek + " count="
                + DISK_BYTES / 4096 + " 2>/dev/null | sha256sum; rm -f /tmp/blk", block);
        boolean guestSide = r.stdoutText().startsWith(expected);
        byte[] onHost = new byte[DISK_BYTES];
        try (FileChannel f = FileChannel.open(dir.resolve("scratch.img"), StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.wrap(onHost);
            while (buf.hasRemaining() && f.read(buf, seek * 4096 + buf.position()) > 0) {
                // Reads until the block is whole.
            }
        }
        return guestSide && sha256(onHost).equals(expected);
    }

    /** Sends random bytes through {@code pipe} (an echo on the host) and compares what came back. */
    private boolean echo(String pipe) throws Exception {
        byte[] data = randomBytes(ECHO_BYTES);
        ExecResult r = exec(pipe + " | sha256sum", data);
        return r.stdoutText().startsWith(sha256(data));
    }

    /** Runs {@code command} through the agent; a non-zero exit status is an error, not a checksum failure. */
    private ExecResult exec(String command, byte[] stdin) throws Exception {
        ExecResult r = vm.exec("set -o pipefail 2>/dev/null; " + command, stdin, settings.timeout());
        if (r.exitCode() != 0) {
            throw new IllegalStateException("'" + command + "' exited with " + r.exitCode() + ": "
                    + firstLine(r.stderrText()));
        }
        return r;
    }

    private byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private void closeVm() {
        if (vm != null) {
            vm.close();
            vm = null;
        }
        if (vsockEcho != null) {
            try {
                vsockEcho.close();
            } catch (IOException e) {
                counters.error(name, "vsock echo", e.toString());
            }
            vsockEcho = null;
        }
    }

    private void deleteDir() {
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) {
                Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            counters.error(name, "cleanup", "cannot delete " + dir + ": " + e);
        }
    }

    private static String firstLine(String s) {
        String t = s.strip();
        int nl = t.indexOf('\n');
        return nl < 0 ? t : t.substring(0, nl);
    }

    static byte[] seqOutput(int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 1; i <= n; i++) {
            sb.append(i).append('\n');
        }
        return sb.toString().getBytes(StandardCharsets.US_ASCII);
    }

    static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every JDK has SHA-256", e);
        }
    }
}
