package dev.ember.vmm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The console input pipe's whole-line offer, which {@link MicroVm} types commands with. */
class ConsoleInputPipeTest {

    @Test
    void aLineThatDoesNotFitIsNotTypedAtAllAndTheOfferGivesUpAtItsDeadline() throws Exception {
        ConsoleInputPipe pipe = new ConsoleInputPipe();
        byte[] filler = new byte[ConsoleInputPipe.CAPACITY - 4];
        Arrays.fill(filler, (byte) 'a');
        assertTrue(pipe.offerWhole(filler, System.nanoTime()));

        assertFalse(pipe.offerWhole("echo hi\n".getBytes(StandardCharsets.US_ASCII), System.nanoTime() + 50_000_000L));

        byte[] all = new byte[ConsoleInputPipe.CAPACITY];
        assertEquals(filler.length, pipe.read(all, 0, all.length));
        assertArrayEquals(filler, Arrays.copyOf(all, filler.length));
    }

    @Test
    void aLineFitsOnceTheReaderHasMadeRoom() throws Exception {
        ConsoleInputPipe pipe = new ConsoleInputPipe();
        pipe.offerWhole(new byte[ConsoleInputPipe.CAPACITY], System.nanoTime());
        Thread reader = Thread.ofPlatform().start(() -> {
            try {
                pipe.read(new byte[16], 0, 16);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        assertTrue(pipe.offerWhole("line\n".getBytes(StandardCharsets.US_ASCII), System.nanoTime() + 60_000_000_000L));
        reader.join();
    }

    @Test
    void offeringToAClosedPipeFails() {
        ConsoleInputPipe pipe = new ConsoleInputPipe();
        pipe.close();
        assertThrows(IOException.class, () -> pipe.offerWhole(new byte[1], System.nanoTime() + 1_000_000_000L));
    }
}
