package dev.ember.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.memory.MmioDevice;
import dev.ember.riscv.testing.Assembler;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A host-side bug surfacing on a vCPU thread (here, a device that throws) stops that VM with a
 * message naming the vCPU, the guest pc and the exception; it is never swallowed, and it never
 * exits the JVM, so other VMs in the same process carry on.
 */
class VcpuFailureTest {

    private static final long BROKEN_DEVICE = 0x2000_0000L;

    @Test
    void hostExceptionStopsTheVmWithAClearMessage(@TempDir Path tmp) throws Exception {
        Path elf = tmp.resolve("poke.elf");
        Files.write(elf, Assembler.assembleElf("""
                _start:
                    li t0, 0x20000000
                    sw zero, 0(t0)
                hang:
                    j hang
                """));
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        try (VirtualMachine vm = new VirtualMachine(new VmConfig(1, 16L << 20, null, null, "", null, elf),
                new ByteArrayOutputStream(), new PrintStream(errors, true, StandardCharsets.UTF_8))) {
            vm.mapDevice(BROKEN_DEVICE, new MmioDevice() {
                @Override public long size() { return 0x1000; }
                @Override public long read(long offset, int width) { return 0; }
                @Override public void write(long offset, int width, long value) {
                    throw new IllegalStateException("device bug for the test");
                }
            });
            assertEquals(1, vm.run());
        }
        String message = errors.toString(StandardCharsets.UTF_8);
        assertTrue(message.startsWith("ember: vCPU 0 stopped by an internal error at pc 0x8000000"), message);
        assertTrue(message.contains("device bug for the test"), message);
    }
}
