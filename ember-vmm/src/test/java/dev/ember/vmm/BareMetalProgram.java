package dev.ember.vmm;

import dev.ember.config.CpuFeatures;
import dev.ember.config.DevicesConfig;
import dev.ember.config.EngineConfig;
import dev.ember.log.LogSink;
import dev.ember.riscv.testing.Assembler;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
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

    private static final Pattern INCLUDE = Pattern.compile("(?m)^\\s*(?:\\.include|#include)\\s+\"([^\"]+)\"\\s*$");
    private static final String[] DIAG_NAMES = {"test", "seen", "expected", "mcause", "mepc", "mtval", "word6", "word7"};

    private final String name;
    private final String source;
    private final Map<String, Long> symbols;
    private final byte[] elf;

    private BareMetalProgram(String name, String source, Map<String, Long> symbols, byte[] elf) {
        this.name = name;
        this.source = source;
        this.symbols = symbols;
        this.elf = elf;
    }

    /** {@return the program {@code baremetal/NAME.S}, its includes expanded, assembled} */
    static BareMetalProgram load(String name) {
        String source = expand(resource(name + ".S"));
        return new BareMetalProgram(name, source, Assembler.symbols(source), Assembler.assembleElf(source));
    }

    /**
     * {@return the program {@code baremetal/NAME.S} assembled for QEMU: with the symbol
     * {@code QEMU} defined, so that its checks of QEMU 7.2's known deviations expect QEMU's
     * value (see {@code h_common.S}), and its failures print {@code diag} on QEMU's UART}
     */
    static BareMetalProgram loadForQemu(String name) {
        String source = ".equ QEMU, 1\n" + expand(resource(name + ".S"));
        return new BareMetalProgram(name, source, Assembler.symbols(source), Assembler.assembleElf(source));
    }

    /**
     * {@return the C program {@code baremetal/NAME.c}, its {@code #include "NAME"} lines expanded
     * from {@code baremetal/}, compiled as {@link Assembler#compileElf} says}
     */
    static BareMetalProgram compile(String name) {
        String source = expand(resource(name + ".c"));
        return new BareMetalProgram(name, source, Assembler.compiledSymbols(source), Assembler.compileElf(source));
    }

    /** {@return {@code text} with each {@code .include "NAME"} or {@code #include "NAME"} line replaced by {@code baremetal/NAME}} */
    static String expand(String text) {
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

    /** How much of the start and of the end of a run's console output {@link Run#console} keeps. */
    static final int CONSOLE_KEEP = 256 * 1024;

    /** A console sink that keeps the first and the last {@code keep} bytes and counts the rest. */
    private static final class HeadAndTail extends OutputStream {
        private final ByteArrayOutputStream head = new ByteArrayOutputStream();
        private final byte[] tail;
        private long tailBytes;

        HeadAndTail(int keep) {
            this.tail = new byte[keep];
        }

        @Override
        public synchronized void write(int b) {
            if (head.size() < tail.length) {
                head.write(b);
            } else {
                tail[(int) (tailBytes++ % tail.length)] = (byte) b;
            }
        }

        synchronized String text() {
            StringBuilder b = new StringBuilder(head.toString(StandardCharsets.UTF_8));
            if (tailBytes > tail.length) {
                b.append("\n[... ").append(tailBytes - tail.length).append(" bytes left out ...]\n");
            }
            int n = (int) Math.min(tailBytes, tail.length);
            byte[] last = new byte[n];
            for (int i = 0; i < n; i++) {
                last[i] = tail[(int) ((tailBytes - n + i) % tail.length)];
            }
            return b.append(new String(last, StandardCharsets.UTF_8)).toString();
        }
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

    /** Runs the program as {@link #run(Path, EngineConfig, int, long, Duration)} does, on harts with {@code features}. */
    Run run(Path dir, EngineConfig engine, CpuFeatures features, int vcpus, long memoryBytes, Duration timeout)
            throws Exception {
        return run(dir, engine, features, vcpus, memoryBytes, DevicesConfig.NONE, timeout, vm -> { });
    }

    /**
     * Runs the program as {@link #run(Path, EngineConfig, int, long, Duration)} does, calling
     * {@code whileRunning} on a second thread once the VM has started; it may watch the VM and
     * {@linkplain VirtualMachine#finish end} it.
     */
    Run run(Path dir, EngineConfig engine, int vcpus, long memoryBytes, Duration timeout,
            Consumer<VirtualMachine> whileRunning) throws Exception {
        return run(dir, engine, vcpus, memoryBytes, DevicesConfig.NONE, timeout, whileRunning);
    }

    /**
     * Runs the program as {@link #run(Path, EngineConfig, int, long, Duration, Consumer)} does,
     * with {@code devices} attached. The console keeps its first and last {@value #CONSOLE_KEEP}
     * bytes, so a program that prints without end cannot fill the heap.
     */
    Run run(Path dir, EngineConfig engine, int vcpus, long memoryBytes, DevicesConfig devices, Duration timeout,
            Consumer<VirtualMachine> whileRunning) throws Exception {
        return run(dir, engine, CpuFeatures.NONE, vcpus, memoryBytes, devices, timeout, whileRunning);
    }

    /**
     * Runs the program as {@link #run(Path, EngineConfig, int, long, DevicesConfig, Duration, Consumer)}
     * does, on harts with the optional extensions {@code features} (the H extension).
     */
    Run run(Path dir, EngineConfig engine, CpuFeatures features, int vcpus, long memoryBytes, DevicesConfig devices,
            Duration timeout, Consumer<VirtualMachine> whileRunning) throws Exception {
        Path file = writeElf(dir);
        HeadAndTail console = new HeadAndTail(CONSOLE_KEEP);
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        VmConfig config = new VmConfig(vcpus, memoryBytes, null, null, "", null, file, devices)
                .withEngine(engine).withCpuFeatures(features).named(name);
        long start = System.nanoTime();
        try (VirtualMachine vm = new VirtualMachine(config, console, LogSink.stream(new PrintStream(errors, true, StandardCharsets.UTF_8)))) {
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
            return new Run(name, engine, status, console.text(),
                    errors.toString(StandardCharsets.UTF_8), vm.engineStats(), diag, elapsed);
        }
    }
}
