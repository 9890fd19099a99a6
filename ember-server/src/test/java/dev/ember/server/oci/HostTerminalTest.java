package dev.ember.server.oci;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host side of a container's terminal without a VM: the console socket receives runc's message
 * (the terminal's name as data) and the master travels with it, and a window size
 * set on the terminal from outside is what {@link HostTerminal#windowSize()} reports to the guest.
 */
class HostTerminalTest {

    @Test
    void sendsTheTerminalOverTheConsoleSocketAndSeesWindowSizeChanges(@TempDir Path tmp) throws Exception {
        Path socket = tmp.resolve("console.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            CompletableFuture<SocketChannel> accepted = CompletableFuture.supplyAsync(() -> {
                try {
                    return server.accept();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            try (HostTerminal t = HostTerminal.open(socket, 30, 90);
                 SocketChannel c = accepted.get(10, TimeUnit.SECONDS)) {
                // Until the message is read, the master travels in it and stays open, as conmon keeps it.
                assertThat(t.windowSize()).containsExactly(30, 90);

                // what conmon does on the master when its user resizes, here through the same terminal
                Process stty = new ProcessBuilder("stty", "-F", t.name(), "rows", "41", "cols", "123").start();
                assertThat(stty.waitFor(10, TimeUnit.SECONDS)).isTrue();
                assertThat(stty.exitValue()).isZero();
                assertThat(t.windowSize()).containsExactly(41, 123);

                // the container's output reaches the terminal (the master's reader is the caller)
                OutputStream out = t.output();
                out.write("a\nb".getBytes(StandardCharsets.UTF_8));
                out.flush();

                ByteBuffer b = ByteBuffer.allocate(256);
                c.read(b);
                assertThat(new String(b.array(), 0, b.position(), StandardCharsets.UTF_8)).isEqualTo(t.name())
                        .startsWith("/dev/pts/");
            }
        }
    }

    @Test
    void aMissingConsoleSocketIsAOneLineError(@TempDir Path tmp) {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> HostTerminal.open(tmp.resolve("none.sock"), 24, 80))
                .hasMessageContaining("cannot connect to the console socket");
    }
}
