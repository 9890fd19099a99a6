package dev.ember.vmm;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.ember.config.BootSourceConfig;
import dev.ember.config.DriveConfig;
import dev.ember.config.MachineConfig;
import dev.ember.config.NetworkInterfaceConfig;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A snapshot taken while the guest keeps its disk and its network busy (loops of block writes
 * and reads, and of HTTP downloads from the host through the user-mode network) restores to a
 * guest whose devices keep working: the loops carry on with new requests and new connections,
 * and new commands use both devices.
 */
class SnapshotInFlightTest {

    private static final Duration T = Duration.ofSeconds(120);

    @TempDir
    Path tmp;

    @Test
    void aSnapshotTakenWithDiskAndNetworkTrafficUnderWayRestoresToAWorkingGuest() throws Exception {
        AtomicInteger downloads = new AtomicInteger();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        byte[] big = new byte[256 * 1024];
        server.createContext("/big", exchange -> {
            exchange.sendResponseHeaders(200, big.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(big);
            }
            downloads.incrementAndGet();
        });
        server.createContext("/hello", exchange -> {
            byte[] body = "hello-after-restore\n".getBytes(StandardCharsets.US_ASCII);
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        int port = server.getAddress().getPort();
        Path guest = Path.of(System.getProperty("ember.guest.dir", "guest/out"));
        Path disk = Files.write(tmp.resolve("scratch.img"), new byte[8 << 20]);
        Path state = tmp.resolve("busy.state");
        Path mem = tmp.resolve("busy.mem");
        try {
            try (MicroVm vm = MicroVm.builder()
                    .name("busy")
                    .bootSource(new BootSourceConfig(guest.resolve("Image"), guest.resolve("initramfs.cpio"), null))
                    .machineConfig(new MachineConfig(2, 128, false, false))
                    .drive(new DriveConfig("scratch", disk, false, false))
                    .networkInterface(new NetworkInterfaceConfig("eth0", null, null, List.of()))
                    .build()) {
                vm.start();
                assertThat(vm.exec("for i in $(seq 30); do ifconfig eth0 | grep -q 10.0.2.15 && break; sleep 1; done;"
                        + " ifconfig eth0 | grep -o 'addr:10[0-9.]*'", T).output()).contains("addr:10.0.2.15");
                vm.exec("(while :; do dd if=/dev/urandom of=/dev/vda bs=64k count=32 conv=fsync; dd if=/dev/vda of=/dev/null"
                        + " bs=64k count=32; done) >/dev/null 2>&1 &", T);
                // -T 5: a download under way at the snapshot waits on a connection the restore cut (the
                // user-mode stack's side of it is gone, and a guest that only receives sends nothing
                // that could draw a RST), so the loop must give up on it as any client with a read
                // timeout does; without one, busybox wget waits 900 s and the loop stops
                vm.exec("(while :; do wget -q -T 5 -O /dev/null http://10.0.2.2:" + port + "/big; done) >/dev/null 2>&1 &", T);
                long deadline = System.nanoTime() + T.toNanos();
                while (downloads.get() < 3 || vm.metrics().get("block", "write_count") < 10) {
                    assertThat(System.nanoTime()).isLessThan(deadline);
                    Thread.sleep(50);
                }
                vm.snapshot(state, mem);
            }   // closed: the drive's lock is released for the restored copy

            int before = downloads.get();
            try (MicroVm restored = MicroVm.restore(state, mem, "busy-restored")) {
                restored.start();
                assertThat(restored.exec("wget -q -O - http://10.0.2.2:" + port + "/hello", T).output())
                        .contains("hello-after-restore");
                long writes = restored.metrics().get("block", "write_count");
                long deadline = System.nanoTime() + T.toNanos();
                // The loops started before the snapshot go on, with new connections and new requests.
                while (downloads.get() < before + 3 || restored.metrics().get("block", "write_count") < writes + 10) {
                    assertThat(System.nanoTime()).isLessThan(deadline);
                    Thread.sleep(50);
                }
                assertThat(restored.exec("dd if=/dev/vda bs=512 count=8 2>/dev/null | wc -c", T).output()).contains("4096");
            }
            // The disk is the user's: without it the snapshot does not load, and says why in one line.
            Files.move(disk, tmp.resolve("moved.img"));
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> MicroVm.restore(state, mem, "no-disk"))
                    .isInstanceOf(dev.ember.boot.BootException.class)
                    .hasMessageContaining("drive scratch").hasMessageContaining("no such file")
                    .message().doesNotContain("\n");
        } finally {
            server.stop(0);
        }
    }
}
