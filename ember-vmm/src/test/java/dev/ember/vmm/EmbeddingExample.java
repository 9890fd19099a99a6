package dev.ember.vmm;

import dev.ember.config.BootSourceConfig;
import dev.ember.config.MachineConfig;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;

/** The README's example: embed Ember, boot the default guest, run a command in it. */
public final class EmbeddingExample {

    public static void main(String[] args) throws Exception {
        run(Path.of(args.length > 0 ? args[0] : "guest/out"), System.out);
    }

    static void run(Path guest, PrintStream out) throws Exception {
        try (MicroVm vm = MicroVm.builder()
                .bootSource(new BootSourceConfig(guest.resolve("Image"), guest.resolve("initramfs.cpio"), null))
                .machineConfig(new MachineConfig(1, 128, false, false))
                .build()) {
            vm.start();
            GuestCommandResult result = vm.exec("uname -a", Duration.ofSeconds(60));
            out.println(result.output());
            out.println("exit code " + result.exitCode());
            out.println("guest powered off with status " + vm.shutdown(Duration.ofSeconds(30)));
        }
    }
}
