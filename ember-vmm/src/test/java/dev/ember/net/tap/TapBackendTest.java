package dev.ember.net.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * TapBackend against the real kernel. Tests that need a tap create {@value #TAP} with
 * {@code ip tuntap} and are skipped (JUnit assumptions) when {@code /dev/net/tun} is missing,
 * the process is not root, or {@code ip} fails.
 */
class TapBackendTest {

    private static final String TAP = "embertap0";
    private static final String TAP_IP = "10.213.77.1";
    private static final String PEER_IP = "10.213.77.2";
    private static boolean tapCreated;

    @BeforeAll
    static void createTap() throws Exception {
        if (!Files.exists(Path.of("/dev/net/tun")) || !isRoot()) {
            return;
        }
        ip("link", "del", TAP);   // a leftover from an interrupted run
        tapCreated = ip("tuntap", "add", "dev", TAP, "mode", "tap");
    }

    @AfterAll
    static void deleteTap() throws Exception {
        if (tapCreated) {
            ip("link", "del", TAP);
        }
    }

    private static boolean isRoot() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    private static boolean ip(String... args) throws Exception {
        String[] command = new String[args.length + 1];
        command[0] = "ip";
        System.arraycopy(args, 0, command, 1, args.length);
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        }
    }

    private static long statistic(String name) throws IOException {
        return Long.parseLong(Files.readString(Path.of("/sys/class/net", TAP, "statistics", name)).trim());
    }

    // ---- no privileges needed ----

    @Test
    void openingMissingInterfaceFailsWithOneLineMessage() {
        String name = "embernosuch9";
        assumeTrue(!Files.exists(Path.of("/sys/class/net", name)));
        IOException e = assertThrows(IOException.class, () -> TapBackend.open(name));
        assertEquals("embernosuch9: no such network interface", e.getMessage());
    }

    @Test
    void openingNonTapInterfaceFailsWithOneLineMessage() {
        assumeTrue(Files.isDirectory(Path.of("/sys/class/net/lo")));
        IOException e = assertThrows(IOException.class, () -> TapBackend.open("lo"));
        assertEquals("lo: not a TAP interface", e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "0123456789abcdef", "a/b", "a:b", "a b", ".", ".."})
    void invalidNamesAreRejectedBeforeTouchingTheHost(String name) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TapBackend.open(name));
        assertTrue(e.getMessage().startsWith("invalid tap name"), e.getMessage());
    }

    @Test
    void fifteenCharacterNameIsValid() {
        TapBackend.validateName("abcdefghijklmno");
    }

    // ---- with a real tap ----

    @Test
    void openAndCloseExistingTapTwice() throws Exception {
        assumeTrue(tapCreated, "needs root, /dev/net/tun and ip tuntap");
        TapBackend first = TapBackend.open(TAP);
        assertEquals(TAP, first.name());
        first.close();
        first.close();
        TapBackend second = TapBackend.open(TAP);   // the first released the tap
        second.close();
    }

    @Test
    void secondOpenWhileAttachedFailsAsBusy() throws Exception {
        assumeTrue(tapCreated, "needs root, /dev/net/tun and ip tuntap");
        try (TapBackend first = TapBackend.open(TAP)) {
            IOException e = assertThrows(IOException.class, () -> TapBackend.open(TAP));
            assertEquals(TAP + ": busy: another process has the tap open", e.getMessage());
        }
    }

    @Test
    void closeStopsStartedReaderPromptly() throws Exception {
        assumeTrue(tapCreated, "needs root, /dev/net/tun and ip tuntap");
        TapBackend tap = TapBackend.open(TAP);
        tap.start((frame, offset, length) -> true);
        long t0 = System.nanoTime();
        tap.close();
        long millis = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(millis < 2_000, "close took " + millis + " ms");
        assertFalse(Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getName().equals("ember-tap-" + TAP) && t.isAlive()));
    }

    @Test
    void transmittedFrameReachesHostInterface() throws Exception {
        assumeTrue(tapCreated, "needs root, /dev/net/tun and ip tuntap");
        try (TapBackend tap = TapBackend.open(TAP)) {
            tap.start((frame, offset, length) -> true);
            assertTrue(ip("link", "set", TAP, "up"));
            long before = statistic("rx_packets");
            byte[] frame = new byte[60];
            Arrays.fill(frame, 0, 6, (byte) 0xFF);                        // broadcast
            System.arraycopy(new byte[] {0x02, 0, 0, 0, 0, 0x42}, 0, frame, 6, 6);
            frame[12] = (byte) 0x88;                                       // local experimental
            frame[13] = (byte) 0xB5;                                       // EtherType 0x88B5
            tap.transmit(frame, 0, frame.length);
            assertEquals(1, tap.metrics().framesWritten());
            assertEquals(before + 1, statistic("rx_packets"));
        } finally {
            ip("link", "set", TAP, "down");
        }
    }

    @Test
    void transmitWhileInterfaceDownIsCountedNotThrown() throws Exception {
        assumeTrue(tapCreated, "needs root, /dev/net/tun and ip tuntap");
        try (TapBackend tap = TapBackend.open(TAP)) {
            assertTrue(ip("link", "set", TAP, "down"));
            tap.transmit(new byte[60], 0, 60);
            assertEquals(0, tap.metrics().framesWritten());
            assertEquals(1, tap.metrics().dropsLinkDown());
        }
    }

    @Test
    void hostArpRequestIsDeliveredToSink() throws Exception {
        assumeTrue(tapCreated, "needs root, /dev/net/tun and ip tuntap");
        LinkedBlockingQueue<byte[]> frames = new LinkedBlockingQueue<>();
        try (TapBackend tap = TapBackend.open(TAP); DatagramSocket udp = new DatagramSocket()) {
            tap.start((frame, offset, length) -> frames.add(Arrays.copyOfRange(frame, offset, offset + length)));
            assumeTrue(ip("addr", "add", TAP_IP + "/24", "dev", TAP), "ip addr add failed");
            assertTrue(ip("link", "set", TAP, "up"));
            byte[] peer = InetAddress.getByName(PEER_IP).getAddress();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            byte[] arp = null;
            while (arp == null && System.nanoTime() < deadline) {
                // Sending to an unresolved neighbour makes the kernel ARP for it out of the tap.
                udp.send(new DatagramPacket(new byte[1], 1, InetAddress.getByName(PEER_IP), 9));
                for (byte[] f; arp == null && (f = frames.poll(300, TimeUnit.MILLISECONDS)) != null; ) {
                    boolean isArp = f.length >= 42 && (f[12] & 0xFF) == 0x08 && (f[13] & 0xFF) == 0x06;
                    if (isArp && Arrays.equals(peer, Arrays.copyOfRange(f, 38, 42))) {
                        arp = f;
                    }
                }
            }
            assertTrue(arp != null, "no ARP request for " + PEER_IP + " arrived; got " + frames.size() + " other frames");
            assertEquals(List.of(0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF),
                    List.of(arp[0] & 0xFF, arp[1] & 0xFF, arp[2] & 0xFF, arp[3] & 0xFF, arp[4] & 0xFF, arp[5] & 0xFF));
            assertTrue(tap.metrics().framesRead() >= 1);
        } finally {
            ip("addr", "flush", "dev", TAP);
            ip("link", "set", TAP, "down");
        }
    }
}
