package dev.ember.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.log.LogSink;
import dev.ember.memory.MmioDevice;
import dev.ember.riscv.testing.Assembler;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A host-side bug surfacing on a vCPU thread (here, a device that throws) stops that VM with a
 * message naming the vCPU, the guest pc and the exception; it is never swallowed, and it never
 * exits the JVM, so other VMs in the same process carry on; the report is an ERROR event that
 * carries the exception itself, so an application's logger gets its type and stack.
 */
class VcpuFailureTest {

    private static final long BROKEN_DEVICE = 0x2000_0000L;

    /** Runs a guest that writes to a device whose every write throws; {@return the VM's exit status} */
    private static int runPoke(Path tmp, LogSink log) throws Exception {
        Path elf = tmp.resolve("poke.elf");
        Files.write(elf, Assembler.assembleElf("""
                _start:
                    li t0, 0x20000000
                    sw zero, 0(t0)
                hang:
                    j hang
                """));
        try (VirtualMachine vm = new VirtualMachine(new VmConfig(1, 16L << 20, null, null, "", null, elf),
                new ByteArrayOutputStream(), log)) {
            vm.mapDevice(BROKEN_DEVICE, new MmioDevice() {
                @Override public long size() { return 0x1000; }
                @Override public long read(long offset, int width) { return 0; }
                @Override public void write(long offset, int width, long value) {
                    throw new IllegalStateException("device bug for the test");
                }
            });
            return vm.run();
        }
    }

    @Test
    void hostExceptionStopsTheVmWithAClearMessage(@TempDir Path tmp) throws Exception {
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        assertEquals(1, runPoke(tmp, LogSink.stream(new PrintStream(errors, true, StandardCharsets.UTF_8))));
        String message = errors.toString(StandardCharsets.UTF_8);
        assertTrue(message.startsWith("ember: vCPU 0 stopped by an internal error at pc 0x8000000"), message);
        assertTrue(message.contains("device bug for the test"), message);
    }

    @Test
    void hostExceptionReachesTheApplicationsLoggerAsAnErrorWithTheExceptionItself(@TempDir Path tmp) throws Exception {
        // No sink of the application's own: the JDK's System.Logger, here java.util.logging.
        List<LogRecord> records = new CopyOnWriteArrayList<>();
        Handler handler = new Handler() {
            @Override public void publish(LogRecord r) { records.add(r); }
            @Override public void flush() { }
            @Override public void close() { }
        };
        Logger jul = Logger.getLogger(VirtualMachine.class.getName());
        jul.addHandler(handler);
        try {
            assertEquals(1, runPoke(tmp, LogSink.systemLogger()));
        } finally {
            jul.removeHandler(handler);
        }

        LogRecord record = records.stream().filter(r -> r.getLevel() == java.util.logging.Level.SEVERE).findFirst()
                .orElseThrow(() -> new AssertionError("no SEVERE record in " + records));
        assertTrue(record.getMessage().startsWith("ember: vCPU 0 stopped by an internal error"), record.getMessage());
        assertInstanceOf(IllegalStateException.class, record.getThrown());
        assertEquals("device bug for the test", record.getThrown().getMessage());
    }
}
