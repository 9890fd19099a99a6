package dev.ember.vmm;

import dev.ember.config.EngineConfig;
import dev.ember.riscv.testing.Assembler;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Test support: one self-checking bare-metal program from {@code src/test/resources/baremetal/},
 * assembled and run in a {@link VirtualMachine} on a chosen engine.
 *
 * <p>The programs report through HTIF's {@code tohost}: status 0 is a pass, {@code n} is the
 * failing check's number. They follow {@code common.S}'s conventions: a failure leaves what it
 * saw in {@code diag} (test number, seen, expected, {@code mcause}, {@code mepc}, {@code mtval}
 * and two words of the program's own), which {@link Run#describe} puts in the message. A line
 * {@code .include "NAME"} is replaced by the resource {@code baremetal/NAME} before assembly,
 * as gas would include it, because the assembler runs in a scratch directory.
 *
 * <p>Thread: the test's. A run that does not end within its timeout is stopped with status
 * {@link #TIMED_OUT}, so a hanging guest fails its test instead of the build.
 */
final class BareMetalProgram {

    /** The status a run is stopped with when it does not finish in time. */
    static final int TIMED_OUT = 0x7171;

    private static final Pattern INCLUDE = Pattern.compile("(?m)^\\s*\\.include\\s+\"([^\"]+)\"\\s*$");
    private static final String[] DIAG_NAMES = {"test", "seen", "expected", "mcause", "mepc", "mtval", "word6", "word7"};

    private final String name;
    private final String source;
    private final Map<String, Long> symbols;
    private final byte[] elf;

    private BareMetalProgram(String name, String source) {
        this.name = name;
        this.source = source;
        this.symbols = Assembler.symbols(source);
        this.elf = Assembler.assembleElf(source);
    }

    /** {@return the program {@code baremetal/NAME.S}, its includes expanded, assembled} */
    static BareMetalProgram load(String name) {
        return new BareMetalProgram(name, expand(resource(name + ".S")));
    }

    private static String expand(String text) {
        Matcher m = INCLUDE.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(out, Matcher.quoteReplacement(resource(m.group(1))));
        }
        m.appendTail(out);
        return out.toString();
    }

    private static String resource(String file) {
        try (InputStream in = BareMetalProgram.class.getResourceAsStream("/baremetal/" + file)) {
            if (in == null) {
                throw new IllegalArgumentException("no test program baremetal/" + file);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@return the program's name} */
    String name() {
        return name;
    }

    /** {@return the address of {@code symbol}} */
    long symbol(String symbol) {
        Long gpa = symbols.get(symbol);
        if (gpa == null) {
            throw new IllegalArgumentException(name + " has no symbol " + symbol);
        }
        return gpa;
    }

    /** {@return the linked ELF, written to {@code dir}} */
    Path writeElf(Path dir) throws IOException {
        Path file = dir.resolve(name + ".elf");
        Files.write(file, elf);
        return file;
    }

    /** What one run left behind. */
    record Run(String program, EngineConfig engine, int status, String console, String errors, EngineStats stats,
               long[] diag, Duration elapsed) {

        /** {@return a line naming the run, its status and, after a failure, what the failing check saw} */
        String describe() {
            StringBuilder b = new StringBuilder();
            b.append(program).append(" on ").append(engine.kind().apiName());
            if (engine.kind() == EngineConfig.Kind.JIT) {
                b.append(" (threshold ").append(engine.jitThreshold()).append(')');
            }
            b.append(": status ").append(status == TIMED_OUT ? "TIMED OUT" : status);
            if (status != 0) {
                for (int i = 0; i < diag.length; i++) {
                    b.append(i == 0 ? " [" : ", ").append(DIAG_NAMES[i]).append(" 0x").append(Long.toHexString(diag[i]));
                }
                b.append(']');
            }
            b.append(" in ").append(elapsed.toMillis()).append(" ms");
            if (!errors.isEmpty()) {
                b.append("\nstderr: ").append(errors);
            }
            if (stats != null) {
                b.append('\n').append(stats.describe());
            }
            return b.toString();
        }
    }

    /** Runs the program on {@code engine} with {@code vcpus} harts and {@code memoryBytes} of RAM. */
    Run run(Path dir, EngineConfig engine, int vcpus, long memoryBytes, Duration timeout) throws Exception {
        return run(dir, engine, vcpus, memoryBytes, timeout, vm -> { });
    }

    /**
     * Runs the program as {@link #run(Path, EngineConfig, int, long, Duration)} does, calling
     * {@code whileRunning} on a second thread once the VM has started; it may watch the VM and
     * {@linkplain VirtualMachine#finish end} it.
     */
    Run run(Path dir, EngineConfig engine, int vcpus, long memoryBytes, Duration timeout,
            Consumer<VirtualMachine> whileRunning) throws Exception {
        Path file = writeElf(dir);
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        VmConfig config = new VmConfig(vcpus, memoryBytes, null, null, "", null, file).withEngine(engine).named(name);
        long start = System.nanoTime();
        try (VirtualMachine vm = new VirtualMachine(config, console, new PrintStream(errors, true, StandardCharsets.UTF_8))) {
            Thread watchdog = Thread.ofPlatform().daemon().name("baremetal-watchdog").start(() -> {
                try {
                    Thread.sleep(timeout);
                    vm.finish(TIMED_OUT);
                } catch (InterruptedException e) {
                    // the run ended first
                }
            });
            Thread watcher = Thread.ofPlatform().daemon().name("baremetal-watcher").start(() -> whileRunning.accept(vm));
            int status = vm.run();
            Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
            watchdog.interrupt();
            watcher.interrupt();
            watcher.join(Duration.ofSeconds(30));
            long diagGpa = symbol("diag");
            long[] diag = new long[DIAG_NAMES.length];
            for (int i = 0; i < diag.length; i++) {
                diag[i] = vm.memory().readU64(diagGpa + 8L * i);
            }
            return new Run(name, engine, status, console.toString(StandardCharsets.UTF_8),
                    errors.toString(StandardCharsets.UTF_8), vm.engineStats(), diag, elapsed);
        }
    }
}
