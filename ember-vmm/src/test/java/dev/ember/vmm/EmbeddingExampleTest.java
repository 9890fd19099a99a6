package dev.ember.vmm;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Runs the README's embedding example on the default guest and checks what it prints. */
class EmbeddingExampleTest {

    @Test
    void exampleRunsUnameInTheGuestAndPowersOff() throws Exception {
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        EmbeddingExample.run(Path.of(System.getProperty("ember.guest.dir", "guest/out")),
                new PrintStream(printed, true, StandardCharsets.UTF_8));
        String[] lines = printed.toString(StandardCharsets.UTF_8).split("\n");
        assertThat(lines).hasSize(3);
        assertThat(lines[0]).startsWith("Linux ").endsWith(" riscv64 GNU/Linux");
        assertThat(lines[1]).isEqualTo("exit code 0");
        assertThat(lines[2]).isEqualTo("guest powered off with status 0");
    }
}
