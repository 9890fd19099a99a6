package dev.ember.vmm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The bounded console history behind {@link GuestConsole}: positions, dropping, searching, streaming. */
class ConsoleHistoryTest {

    private static final long SOON = System.nanoTime() + Duration.ofSeconds(10).toNanos();

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void keepsOnlyTheNewestBytesAndMovesStartPastDroppedOnes() {
        ConsoleHistory history = new ConsoleHistory(100_000, null);
        byte[] chunk = new byte[30_000];
        for (int i = 0; i < 10; i++) {
            java.util.Arrays.fill(chunk, (byte) ('a' + i));
            history.write(chunk, 0, chunk.length);
        }
        assertEquals(300_000, history.end());
        assertEquals(200_000, history.start());
        byte[] kept = history.copy(0, Long.MAX_VALUE);
        assertEquals(100_000, kept.length);
        assertEquals('g', kept[0]);
        assertEquals('j', kept[kept.length - 1]);
    }

    @Test
    void aWriteLargerThanTheHistoryKeepsItsTail() {
        ConsoleHistory history = new ConsoleHistory(10, null);
        history.write(ascii("0123456789abcdef"), 0, 16);
        assertEquals(16, history.end());
        assertArrayEquals(ascii("6789abcdef"), history.copy(0, 16));
    }

    @Test
    void findsTextSpanningTheRingsWrapAndWritesThatArriveLater() throws Exception {
        ConsoleHistory history = new ConsoleHistory(16, null);
        history.write(ascii("xxxxxxxxxxxxxx@@"), 0, 16);
        CompletableFuture<Long> found = CompletableFuture.supplyAsync(() -> {
            try {
                return history.find(ascii("@@END@@"), 10, SOON);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        });
        history.write(ascii("END@@"), 0, 5);
        assertEquals(14L, found.get());
    }

    @Test
    void findGivesUpAtTheDeadlineOrWhenClosed() throws Exception {
        ConsoleHistory history = new ConsoleHistory(64, null);
        history.write(ascii("nothing here"), 0, 12);
        assertEquals(-1, history.find(ascii("missing"), 0, System.nanoTime() + 1_000_000));
        history.close();
        assertEquals(-1, history.find(ascii("missing"), 0, SOON));
    }

    @Test
    void readerStreamsInOrderAndEndsAfterClose() throws Exception {
        ConsoleHistory history = new ConsoleHistory(1 << 16, null);
        InputStream reader = history.reader();
        history.write(ascii("hello "), 0, 6);
        history.write(ascii("world"), 0, 5);
        history.close();
        assertEquals("hello world", new String(reader.readAllBytes(), StandardCharsets.US_ASCII));
    }

    @Test
    void readerThatFallsBehindSkipsToTheOldestKeptByte() throws Exception {
        ConsoleHistory history = new ConsoleHistory(8, null);
        InputStream reader = history.reader();
        history.write(ascii("0123456789"), 0, 10);
        history.close();
        assertEquals("23456789", new String(reader.readAllBytes(), StandardCharsets.US_ASCII));
    }

    @Test
    void copyStreamGetsEveryByteEvenWhenTheHistoryDropsThem() {
        ByteArrayOutputStream copy = new ByteArrayOutputStream();
        ConsoleHistory history = new ConsoleHistory(4, copy);
        history.write(ascii("abcdefgh"), 0, 8);
        assertEquals("abcdefgh", copy.toString(StandardCharsets.US_ASCII));
    }

    @Test
    void guestConsoleWritesReachTheInputPipeInOrder() throws Exception {
        ConsoleInputPipe pipe = new ConsoleInputPipe();
        GuestConsole console = new GuestConsole(new ConsoleHistory(64, null), pipe);
        console.write("ls\n");
        console.guestInput().write(ascii("pwd\n"));
        pipe.close();
        assertEquals("ls\npwd\n", new String(pipe.readAllBytes(), StandardCharsets.US_ASCII));
    }
}
