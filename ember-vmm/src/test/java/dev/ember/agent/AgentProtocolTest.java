package dev.ember.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

/** The frame and field codec, against well-formed and hostile input. */
class AgentProtocolTest {

    private static InputStream bytes(int... b) {
        byte[] a = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            a[i] = (byte) b[i];
        }
        return new ByteArrayInputStream(a);
    }

    @Test
    void aWrittenFrameReadsBack() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AgentProtocol.writeFrame(out, AgentProtocol.STDOUT, new byte[] {0, (byte) 0xFF, 10});
        assertArrayEquals(new byte[] {3, 0, 0, 0, 'O', 0, (byte) 0xFF, 10}, out.toByteArray());
        AgentProtocol.Frame f = AgentProtocol.readGuestFrame(new ByteArrayInputStream(out.toByteArray()));
        assertEquals(AgentProtocol.STDOUT, f.type());
        assertArrayEquals(new byte[] {0, (byte) 0xFF, 10}, f.payload());
    }

    @Test
    void aCleanEndBetweenFramesIsNull() throws Exception {
        assertNull(AgentProtocol.readGuestFrame(bytes()));
    }

    @Test
    void aLengthAboveOneMebibyteIsRejectedBeforeReadingThePayload() {
        // 0xFFFFFFFF: as a signed int it would be -1, as a length 4 GiB; neither may be allocated.
        assertThrows(AgentProtocol.ProtocolException.class,
                () -> AgentProtocol.readGuestFrame(bytes(0xFF, 0xFF, 0xFF, 0xFF, 'O')));
        assertThrows(AgentProtocol.ProtocolException.class,
                () -> AgentProtocol.readGuestFrame(bytes(1, 0, 0x10, 0, 'O')));
    }

    @Test
    void exactlyOneMebibyteIsAccepted() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AgentProtocol.writeFrame(out, AgentProtocol.STDERR, new byte[AgentProtocol.MAX_PAYLOAD]);
        assertEquals(AgentProtocol.MAX_PAYLOAD,
                AgentProtocol.readGuestFrame(new ByteArrayInputStream(out.toByteArray())).payload().length);
    }

    @Test
    void anUnknownTypeIsRejected() {
        assertThrows(AgentProtocol.ProtocolException.class, () -> AgentProtocol.readGuestFrame(bytes(0, 0, 0, 0, 'Z')));
        // A host request type is not a guest answer.
        assertThrows(AgentProtocol.ProtocolException.class, () -> AgentProtocol.readGuestFrame(bytes(0, 0, 0, 0, 'S')));
    }

    @Test
    void aStreamEndingInsideAFrameIsAnEofError() {
        assertThrows(EOFException.class, () -> AgentProtocol.readGuestFrame(bytes(5, 0, 0)));
        assertThrows(EOFException.class, () -> AgentProtocol.readGuestFrame(bytes(5, 0, 0, 0, 'O', 1, 2)));
    }

    @Test
    void aU32FrameOfTheWrongSizeIsRejected() throws Exception {
        AgentProtocol.Frame f = new AgentProtocol.Frame(AgentProtocol.EXIT, new byte[3]);
        assertThrows(AgentProtocol.ProtocolException.class, f::u32);
        assertEquals(0x8F, new AgentProtocol.Frame(AgentProtocol.EXIT, AgentProtocol.u32(0x8F)).u32());
    }

    @Test
    void fieldsAreTagLengthValue() {
        byte[] p = new AgentProtocol.Fields().add('a', "ls").add('e', "").toBytes();
        assertArrayEquals(new byte[] {'a', 2, 0, 0, 0, 'l', 's', 'e', 0, 0, 0, 0}, p);
    }

    @Test
    void fieldsBeyondTheFrameLimitAreRefused() {
        AgentProtocol.Fields f = new AgentProtocol.Fields().add('a', new byte[AgentProtocol.MAX_PAYLOAD - 10]);
        assertThrows(IllegalArgumentException.class, () -> f.add('a', new byte[6]));
    }

    @Test
    void aSpawnRequestCarriesEveryField() throws Exception {
        ProcessSpec spec = ProcessSpec.builder("sh", "-c", "true").env(java.util.List.of("A=1")).cwd("/w").root("/r")
                .user(7, 8).groups(java.util.List.of(9)).terminal(24, 80)
                .rlimit(new ProcessSpec.Rlimit("RLIMIT_NOFILE", 64, ProcessSpec.Rlimit.UNLIMITED)).build();
        StringBuilder seen = new StringBuilder();
        byte[] p = spec.encode();
        for (int off = 0; off < p.length; ) {
            int len = (p[off + 1] & 0xFF) | (p[off + 2] & 0xFF) << 8;
            seen.append((char) p[off]).append('=').append(new String(p, off + 5, len)).append(';');
            off += 5 + len;
        }
        assertEquals("a=sh;a=-c;a=true;e=A=1;d=/w;r=/r;u=7;g=8;G=9;t=24 80;l=RLIMIT_NOFILE 64 unlimited;", seen.toString());
    }
}
