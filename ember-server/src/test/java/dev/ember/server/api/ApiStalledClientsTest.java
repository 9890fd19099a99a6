package dev.ember.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control plane against clients that stall it, as a new user would try it: many connections
 * that each send a request line, headers and half a body, then wait. The owner's own requests
 * must still be answered while they are connected, and a body that never completes is answered
 * 408 and its connection closed. A request sent one byte at a time is still answered, and clients
 * that hang up halfway through a body change nothing.
 */
class ApiStalledClientsTest {

    /** More than the worker threads, the acceptors and the selectors together, by far. */
    private static final int STALLED = 1000;
    private static final String HALF = "PUT /machine-config HTTP/1.1\r\nHost: localhost\r\n"
            + "Content-Type: application/json\r\nContent-Length: 64\r\n\r\n{\"vcpu_count\": ";

    private static SocketChannel stall(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        ch.write(ByteBuffer.wrap(HALF.getBytes(StandardCharsets.US_ASCII)));
        return ch;
    }

    /** Runs an owner's request, failing the test if it is not answered while the stall lasts. */
    private static <T> T answered(Callable<T> request) throws Exception {
        CompletableFuture<T> f = CompletableFuture.supplyAsync(() -> {
            try {
                return request.call();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        try {
            return f.get(ApiServer.BODY_TIMEOUT_MILLIS / 1000, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("the API did not answer its owner while " + STALLED + " clients stalled it");
        }
    }

    @Test
    void theOwnerIsAnsweredWhileAThousandClientsHoldHalfABody(@TempDir Path tmp) throws Exception {
        Path socket = tmp.resolve("api.sock");
        List<SocketChannel> stalled = new ArrayList<>();
        try (ApiProcess api = ApiProcess.serve(socket)) {
            try {
                for (int i = 0; i < STALLED; i++) {
                    stalled.add(stall(socket));
                }
                ApiProcess.Reply put = answered(() -> api.request("PUT", "/machine-config",
                        "{\"vcpu_count\": 2, \"mem_size_mib\": 256}"));
                assertThat(put.status()).isEqualTo(204);
                ApiProcess.Reply patch = answered(() -> api.request("PATCH", "/machine-config", "{\"vcpu_count\": 3}"));
                assertThat(patch.status()).isEqualTo(204);
                ApiProcess.Reply get = answered(() -> api.request("GET", "/machine-config", null));
                assertThat(get.body()).contains("\"vcpu_count\":3").contains("\"mem_size_mib\":256");
                // none of the stalled clients was dropped to make room: the youngest are all still open
                for (SocketChannel ch : stalled.subList(STALLED - 100, STALLED)) {
                    ch.configureBlocking(false);
                    assertThat(ch.read(ByteBuffer.allocate(16))).as("a stalled connection is still open").isZero();
                }
            } finally {
                for (SocketChannel ch : stalled) {
                    ch.close();
                }
            }
        }
    }

    @Test
    void aBodyThatNeverCompletesIsAnswered408AndClosed(@TempDir Path tmp) throws Exception {
        Path socket = tmp.resolve("api.sock");
        try (ApiProcess api = ApiProcess.serve(socket); SocketChannel ch = stall(socket)) {
            ByteBuffer buf = ByteBuffer.allocate(4096);
            while (ch.read(buf) >= 0 && buf.hasRemaining()) {
                // until the server answers and closes
            }
            String text = new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8);
            assertThat(text).startsWith("HTTP/1.1 408").contains("fault_message");
            // and the API still serves
            assertThat(api.request("GET", "/machine-config", null).status()).isEqualTo(200);
        }
    }

    @Test
    void aRequestSentByteByByteIsAnswered(@TempDir Path tmp) throws Exception {
        Path socket = tmp.resolve("api.sock");
        String body = "{\"vcpu_count\": 2, \"mem_size_mib\": 192}";
        byte[] request = ("PUT /machine-config HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.length() + "\r\nConnection: close\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII);
        try (ApiProcess api = ApiProcess.serve(socket); SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            for (byte b : request) {
                ch.write(ByteBuffer.wrap(new byte[] {b}));
                Thread.sleep(5);
            }
            ByteBuffer buf = ByteBuffer.allocate(4096);
            while (ch.read(buf) >= 0 && buf.hasRemaining()) {
                // until the server answers and closes
            }
            assertThat(new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8)).startsWith("HTTP/1.1 204");
            assertThat(api.request("GET", "/machine-config", null).body()).contains("\"mem_size_mib\":192");
        }
    }

    @Test
    void clientsThatHangUpMidBodyChangeNothing(@TempDir Path tmp) throws Exception {
        Path socket = tmp.resolve("api.sock");
        try (ApiProcess api = ApiProcess.serve(socket)) {
            for (int i = 0; i < 200; i++) {
                stall(socket).close();        // headers and half a body, then gone
            }
            ApiProcess.Reply get = answered(() -> api.request("GET", "/machine-config", null));
            assertThat(get.status()).isEqualTo(200);
            assertThat(get.body()).contains("\"vcpu_count\":1");      // no half body was applied
        }
    }
}
