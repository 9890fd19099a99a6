package dev.ember.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client against a fake vsock socket that plays the agent, answering each connection with
 * fixed bytes: what the host does with a guest that fails, lies or breaks the protocol.
 */
class GuestAgentTest {

    @TempDir
    Path dir;

    /** Serves one connection: reads the CONNECT line, answers OK, then writes {@code reply}. */
    private GuestAgent fakeAgent(byte[] reply) throws IOException {
        Path socket = dir.resolve("v.sock");
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        Thread.ofVirtual().start(() -> {
            try (server; SocketChannel c = server.accept()) {
                ByteBuffer line = ByteBuffer.allocate(1);
                do {
                    line.clear();
                    c.read(line);
                } while (line.get(0) != '\n');
                c.write(ByteBuffer.wrap("OK 1073741824\n".getBytes()));
                c.write(ByteBuffer.wrap(reply));
                Channels.newInputStream(c).readAllBytes();   // until the client closes
            } catch (IOException e) {
                // The client hung up.
            }
        });
        return new GuestAgent(socket);
    }

    private static byte[] frames(Object... typeAndPayload) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < typeAndPayload.length; i += 2) {
            AgentProtocol.writeFrame(out, (byte) (char) typeAndPayload[i], (byte[]) typeAndPayload[i + 1]);
        }
        return out.toByteArray();
    }

    @Test
    void aProgramTheGuestCannotFindIsAnAgentExceptionWithStatus127() throws Exception {
        GuestAgent agent = fakeAgent(frames('f', "exec nope: No such file or directory".getBytes(), 'x', AgentProtocol.u32(127)));
        AgentException e = assertThrows(AgentException.class, () -> agent.spawn(ProcessSpec.of("nope")));
        assertEquals("exec nope: No such file or directory", e.getMessage());
        assertEquals(127, e.exitCode());
    }

    @Test
    void anOversizedFrameFromARunningProcessEndsItsStreamsWithAnError() throws Exception {
        byte[] hostile = {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x7F, 'O'};
        byte[] reply = frames('p', AgentProtocol.u32(42), 'O', "ok".getBytes());
        byte[] all = java.util.Arrays.copyOf(reply, reply.length + hostile.length);
        System.arraycopy(hostile, 0, all, reply.length, hostile.length);
        try (GuestProcess p = fakeAgent(all).spawn(ProcessSpec.of("x"))) {
            assertEquals(42, p.pid());
            assertEquals("ok", new String(p.stdout().readAllBytes()));
            IOException e = assertThrows(IOException.class, () -> p.waitFor(Duration.ofSeconds(10)));
            assertThat(e.getMessage()).contains("exceeds");
        }
    }

    @Test
    void aConnectionThatEndsWithoutAnExitStatusIsAnError() throws Exception {
        try (GuestProcess p = fakeAgent(frames('p', AgentProtocol.u32(1))).spawn(ProcessSpec.of("x"))) {
            p.close();
            assertThrows(IOException.class, () -> p.waitFor(Duration.ofSeconds(10)));
        }
    }

    @Test
    void aMountTheGuestRefusesCarriesItsMessage() throws Exception {
        GuestAgent agent = fakeAgent(frames('f', "mount a on /b (x): No such device".getBytes()));
        AgentException e = assertThrows(AgentException.class, () -> agent.mount(MountSpec.of("x", "/b", "", 0)));
        assertThat(e.getMessage()).contains("No such device");
    }

    @Test
    void aGuestThatRefusesTheConnectionIsAnIoError() throws Exception {
        Path socket = dir.resolve("refusing.sock");
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        Thread.ofVirtual().start(() -> {
            try (server; SocketChannel c = server.accept()) {
                c.read(ByteBuffer.allocate(32));   // the CONNECT line, then close: the device's answer to a RST
            } catch (IOException e) {
                // closed
            }
        });
        assertThrows(IOException.class, () -> new GuestAgent(socket).ping());
    }
}
