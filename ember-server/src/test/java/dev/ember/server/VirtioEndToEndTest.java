package dev.ember.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Boots the default guest with virtio devices through the real command line: the ext4 root on
 * virtio-blk, the user-mode network, vsock and the entropy device, each checked from inside the
 * guest and from the host.
 */
@ParameterizedClass(name = "--engine {0}")
@ValueSource(strings = {"jit", "interp"})
class VirtioEndToEndTest {

    /** Every case runs on the translator (at {@link EmberProcess#TEST_JIT_THRESHOLD}) and on the interpreter. */
    @Parameter
    String engine;

    private static final Duration BOOT = Duration.ofSeconds(180);
    private static final Duration COMMAND = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    /** A private copy of the pristine root image, so the test's writes reach no other run. */
    private Path rootCopy() throws IOException {
        Path pristine = EmberProcess.guestDir().resolve("rootfs.ext4");
        Path copy = tmp.resolve("rootfs.ext4");
        Files.copy(pristine, copy, StandardCopyOption.REPLACE_EXISTING);
        return copy;
    }

    private String[] run(Path root, String... extra) {
        List<String> all = new ArrayList<>(List.of("run"));
        all.addAll(List.of(EmberProcess.engineArgs(engine)));
        all.addAll(List.of("--kernel", EmberProcess.guestDir().resolve("Image").toString(), "--drive", "path=" + root + ",root"));
        all.addAll(List.of(extra));
        return all.toArray(String[]::new);
    }

    private static int awaitPrompt(EmberProcess vm) throws Exception {
        int at = vm.await("ember-guest: userspace up", 0, BOOT);
        return vm.await("# ", at, BOOT);
    }

    private static int commands;

    /**
     * Runs {@code command} at the prompt and waits until it has finished.
     *
     * @return what the console showed from the typed line to the end of the command's output
     */
    private static String command(EmberProcess vm, String command) throws Exception {
        int n = 1000 + commands++;
        int start = vm.output().length();
        // The shell echoes the typed line with $((...)) unexpanded (and the terminal may wrap it),
        // so only the command's real output contains the number between the markers.
        vm.send(command + "; echo ==done-$((" + n + "))==");
        int done = vm.await("==done-" + n + "==", start, COMMAND);
        return vm.output().substring(start, done);
    }

    private static void powerOff(EmberProcess vm) throws Exception {
        vm.send("poweroff");
        assertEquals(0, vm.waitFor(COMMAND), "exit status after poweroff");
    }

    @Test
    void guestMountsExt4RootFromVirtioBlkAndReadsASecondReadOnlyDrive() throws Exception {
        Path data = tmp.resolve("data.img");
        byte[] sector = new byte[4096];
        byte[] text = "ember-data-disk-0123".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(text, 0, sector, 0, text.length);
        Files.write(data, sector);
        try (EmberProcess vm = EmberProcess.start(run(rootCopy(), "--drive", "path=" + data + ",ro,id=data"))) {
            awaitPrompt(vm);
            assertThat(command(vm, "grep ' / ' /proc/mounts")).contains("/dev/root / ext4 rw");
            assertThat(command(vm, "echo id=$(cat /sys/block/vda/serial) $(cat /sys/block/vdb/serial) ro=$(cat /sys/block/vdb/ro)"))
                    .contains("id=rootfs data ro=1");
            assertThat(command(vm, "head -c 20 /dev/vdb; echo; echo x > /dev/vdb || echo write-$((6*7))-refused"))
                    .contains("ember-data-disk-0123").contains("write-42-refused");
            powerOff(vm);
        }
        assertThat(Files.readAllBytes(data)).isEqualTo(sector);
    }

    @Test
    void aHostDirectorySharedWithShareIsMountedAndWrittenByTheGuest() throws Exception {
        Path share = Files.createDirectories(tmp.resolve("share"));
        Files.writeString(share.resolve("from-host.txt"), "host-to-guest\n");
        Path ro = Files.createDirectories(tmp.resolve("ro"));
        try (EmberProcess vm = EmberProcess.start(run(rootCopy(), "--share", share + ",tag=hostdir",
                "--share", ro + ",tag=rodir,ro"))) {
            awaitPrompt(vm);
            assertThat(command(vm, "mkdir -p /mnt/h /mnt/r && mount -t virtiofs hostdir /mnt/h && mount -t virtiofs rodir /mnt/r"
                    + " && cat /mnt/h/from-host.txt && echo guest-to-host > /mnt/h/from-guest.txt && sync"))
                    .contains("host-to-guest");
            assertThat(command(vm, "touch /mnt/r/x || echo refused-$((6*7))")).contains("refused-42");
            powerOff(vm);
        }
        assertThat(share.resolve("from-guest.txt")).hasContent("guest-to-host");
        assertThat(ro).isEmptyDirectory();
    }

    @Test
    void fileSyncedByTheGuestSurvivesSigkillOfEmber() throws Exception {
        Path root = rootCopy();
        String secret = "survivor-" + Long.toHexString(System.nanoTime());
        try (EmberProcess vm = EmberProcess.start(run(root))) {
            awaitPrompt(vm);
            assertThat(command(vm, "echo " + secret + " > /root/kept && sync && echo synced-$((6*7))")).contains("synced-42");
            vm.kill();
        }
        try (EmberProcess vm = EmberProcess.start(run(root))) {
            awaitPrompt(vm);
            assertThat(command(vm, "cat /root/kept")).contains(secret + "\r\n");
            powerOff(vm);
        }
    }

    @Test
    void userNetworkReachesHostServerAndForwardsAHostPortToTheGuest() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/hello", exchange -> {
            byte[] body = "hello-from-host\n".getBytes(StandardCharsets.US_ASCII);
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        int forwarded = freePort();
        try (EmberProcess vm = EmberProcess.start(run(rootCopy(),
                "--net", "user,hostfwd=tcp::" + forwarded + "-:8080"))) {
            awaitPrompt(vm);
            // The guest's DHCP client runs in the background from boot; wait for its address.
            assertThat(command(vm, "for i in $(seq 30); do ifconfig eth0 | grep -q 10.0.2.15 && break; sleep 1; done; "
                    + "ifconfig eth0 | grep -o 'addr:10[0-9.]*'")).contains("addr:10.0.2.15");
            assertThat(command(vm, "wget -q -O - http://10.0.2.2:" + server.getAddress().getPort() + "/hello"))
                    .contains("hello-from-host");
            // Names resolve through 10.0.2.3, which asks the host's resolver.
            assertThat(command(vm, "nslookup localhost")).contains("Address: 127.0.0.1");
            command(vm, "mkdir -p /tmp/www && echo guest-page > /tmp/www/index.html && httpd -p 8080 -h /tmp/www");
            HttpResponse<String> response = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + forwarded + "/index.html"))
                            .timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, response.statusCode());
            assertEquals("guest-page\n", response.body());
            powerOff(vm);
        } finally {
            server.stop(0);
        }
    }

    @Test
    void vsockCarriesDataBothWaysAndHwrngGivesEntropy() throws Exception {
        Path uds = tmp.resolve("v.sock");
        try (ServerSocketChannel hostListener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
             EmberProcess vm = EmberProcess.start(run(rootCopy(), "--vsock", "cid=3,uds=" + uds, "--rng"))) {
            hostListener.bind(UnixDomainSocketAddress.of(uds + "_5000"));
            awaitPrompt(vm);

            // Guest to host: the guest connects to host CID 2 port 5000, Ember connects to v.sock_5000.
            CompletableFuture<String> hostSide = CompletableFuture.supplyAsync(() -> {
                try (SocketChannel c = hostListener.accept()) {
                    String got = readLine(Channels.newInputStream(c));
                    c.write(ByteBuffer.wrap(("pong:" + got + "\n").getBytes(StandardCharsets.US_ASCII)));
                    return got;
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            assertThat(command(vm, "echo ping-from-guest | vsock-cat connect 2 5000")).contains("pong:ping-from-guest");
            assertEquals("ping-from-guest", hostSide.get());

            // Host to guest: the host connects to v.sock and asks for guest port 6000.
            command(vm, "(echo reply-from-guest | vsock-cat listen 6000 > /tmp/got) & sleep 1");
            String reply = null;
            for (int attempt = 0; attempt < 50 && reply == null; attempt++) {
                try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(uds))) {
                    c.write(ByteBuffer.wrap("CONNECT 6000\n".getBytes(StandardCharsets.US_ASCII)));
                    InputStream in = Channels.newInputStream(c);
                    String ok = readLine(in);
                    if (!ok.startsWith("OK ")) {
                        Thread.sleep(200);   // the guest's listener is not up yet: Ember resets the connection
                        continue;
                    }
                    c.write(ByteBuffer.wrap("data-from-host\n".getBytes(StandardCharsets.US_ASCII)));
                    c.shutdownOutput();
                    reply = readLine(in);
                } catch (IOException e) {
                    Thread.sleep(200);
                }
            }
            assertEquals("reply-from-guest", reply);
            assertThat(command(vm, "wait; cat /tmp/got")).contains("data-from-host");

            assertThat(command(vm, "cat /sys/class/misc/hw_random/rng_current; head -c 64 /dev/hwrng | od -An -tx1 | wc -w"))
                    .contains("virtio_rng").contains("\n64\r");
            powerOff(vm);
        }
    }

    @Test
    void virtioConsoleCarriesTheShellBothWays() throws Exception {
        // hvc0 is the SBI console, which registers first; the virtio console's port is hvc1.
        try (EmberProcess vm = EmberProcess.start(run(rootCopy(), "--virtio-console", "--append", "console=hvc1"))) {
            awaitPrompt(vm);
            assertThat(command(vm, "echo sum=$((40 + 2)) on $(readlink /sys/class/tty/console/active || cat /sys/class/tty/console/active)"))
                    .contains("sum=42 on hvc1");
            powerOff(vm);
        }
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int b; (b = in.read()) >= 0 && b != '\n'; ) {
            sb.append((char) b);
        }
        return sb.toString();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
