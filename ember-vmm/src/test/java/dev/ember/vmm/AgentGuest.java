package dev.ember.vmm;

import dev.ember.config.BootSourceConfig;
import dev.ember.config.MachineConfig;
import dev.ember.log.LogSink;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Test support: the default guest (guest/out) with the guest agent, one vCPU, the microVM most
 * end-to-end tests drive through {@link MicroVm#exec}. Reports are discarded unless the caller
 * gives the builder a {@link MicroVmBuilder#log log} of its own.
 */
final class AgentGuest {

    /** Where the default guest's Image, initramfs.cpio and rootfs.ext4 are. */
    static final Path DIR = Path.of(System.getProperty("ember.guest.dir", "guest/out"));

    private AgentGuest() { }

    /** {@return a builder for the default guest with its agent}; callers add devices before {@link #boot}. */
    static MicroVmBuilder builder(String name, int memoryMib) {
        return MicroVm.builder()
                .name(name)
                .bootSource(new BootSourceConfig(DIR.resolve("Image"), DIR.resolve("initramfs.cpio"), null))
                .machineConfig(new MachineConfig(1, memoryMib, false, false))
                .guestAgent(true)
                .log(LogSink.discard());
    }

    /** Builds and starts the VM and waits for its agent; a VM that does not get there is closed. */
    static MicroVm boot(MicroVmBuilder builder, Duration timeout) throws Exception {
        MicroVm vm = builder.build();
        try {
            vm.start();
            vm.agent().awaitReady(timeout);
            return vm;
        } catch (Exception | Error e) {
            vm.close();
            throw e;
        }
    }
}
