package dev.ember.vmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ember.config.DevicesConfig;
import dev.ember.config.MmdsConfig;
import dev.ember.config.NetworkInterfaceConfig;
import dev.ember.log.LogSink;
import dev.ember.mmds.Mmds;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * The metadata service answers the booted guest at 169.254.169.254 through the interface it is
 * attached to: V2, so the guest first asks for a session token with a PUT, then reads with it.
 */
class MmdsEndToEndTest {

    @Test
    void guestReadsMetadataWithASessionToken() throws Exception {
        Path dir = Path.of(System.getProperty("ember.guest.dir", "guest/out"));
        Mmds mmds = new Mmds();
        mmds.put("{\"latest\": {\"meta-data\": {\"ami-id\": \"ami-ember42\", \"placement\": {\"zone\": \"z1\"}}}}");
        DevicesConfig devices = new DevicesConfig(List.of(),
                List.of(new NetworkInterfaceConfig("eth0", null, null, List.of())), null, null, null, false,
                new MmdsConfig("V2", List.of("eth0"), null), false);
        VmConfig config = new VmConfig(1, 128L << 20, dir.resolve("Image"), dir.resolve("initramfs.cpio"),
                VmConfig.DEFAULT_CMDLINE, null, null, devices);
        TextConsole console = new TextConsole();
        try (VirtualMachine vm = new VirtualMachine(config, console, LogSink.stream(new PrintStream(console, true)), mmds)) {
            CompletableFuture<Integer> run = TextConsole.runInBackground(vm);
            int at = console.awaitPrompt();
            // busybox wget cannot PUT, so the token request goes through nc.
            TextConsole.type(vm, "T=$(printf 'PUT /latest/api/token HTTP/1.1\\r\\nX-metadata-token-ttl-seconds: 60\\r\\n\\r\\n'"
                    + " | nc 169.254.169.254 80 | tail -n 1); echo token-${#T}");
            at = console.await("token-", at + 40, 60_000);
            TextConsole.type(vm, "wget -q -O - --header \"X-metadata-token: $T\" http://169.254.169.254/latest/meta-data/ami-id;"
                    + " echo; wget -q -O - http://169.254.169.254/latest/meta-data/ami-id || echo refused-$((6*7))");
            at = console.await("refused-42", at, 60_000);
            // The read with the token answered; the one without was refused (V2).
            assertThat(console.text()).contains("ami-ember42");
            // After boot the store is updated from outside, as PATCH /mmds does.
            mmds.patch("{\"latest\": {\"meta-data\": {\"ami-id\": \"ami-patched\"}}}");
            TextConsole.type(vm, "wget -q -O - --header \"X-metadata-token: $T\" http://169.254.169.254/latest/meta-data/; echo end-$((6*7))");
            at = console.await("end-42", at, 60_000);
            assertThat(console.text().substring(at - 200)).contains("ami-id").contains("placement/");
            TextConsole.type(vm, "poweroff");
            assertEquals(0, run.get());
        }
    }
}
