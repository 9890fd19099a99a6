package dev.ember.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Some of ember-vmm's self-checking bare-metal programs ({@code ember-vmm/src/test/resources/baremetal/})
 * through the real command line: {@code ember run --elf PROG} with each engine's options, in a
 * child JVM. The process's exit status is the program's (0 = every check passed, otherwise the
 * failing check's number), and {@code --engine-stats} must report no region left to the
 * interpreter. The programs are assembled here with GNU binutils, as ember-vmm's tests do.
 */
class BareMetalCliTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final Pattern INCLUDE = Pattern.compile("(?m)^\\s*\\.include\\s+\"([^\"]+)\"\\s*$");

    static Stream<Arguments> runs() {
        return Stream.of(
                Arguments.of("smc", "engine: jit (threshold 0)", new String[] {"--engine", "jit", "--jit-threshold", "0"}),
                Arguments.of("smc_2hart", "engine: jit (threshold 2)",
                        new String[] {"--vcpus", "2", "--engine", "jit", "--jit-threshold", "2"}),
                Arguments.of("trap_loops", "engine: interp", new String[] {"--engine", "interp"}),
                Arguments.of("pagefault", "engine: jit (threshold 2)", new String[] {"--engine", "jit", "--jit-threshold", "2"}),
                Arguments.of("hostile_midentry", "engine: jit (threshold 0)",
                        new String[] {"--engine", "jit", "--jit-threshold", "0"}));
    }

    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("runs")
    void programPassesThroughTheCommandLine(String program, String engineLine, String[] engine, @TempDir Path tmp)
            throws Exception {
        Path elf = assemble(program, tmp);
        List<String> args = new ArrayList<>(List.of("run", "--elf", elf.toString(), "--memory", "64M", "--engine-stats"));
        args.addAll(List.of(engine));
        try (EmberProcess ember = EmberProcess.start(args.toArray(String[]::new))) {
            int status = ember.waitFor(TIMEOUT);
            String output = ember.output();
            assertEquals(0, status, () -> program + " failed check " + status + "; output:\n" + output);
            assertTrue(output.contains(engineLine), () -> "no '" + engineLine + "' in the statistics:\n" + output);
            assertTrue(!output.contains("left to the interpreter") || output.contains("; 0 regions left to the interpreter"),
                    output);
        }
    }

    /** Assembles {@code baremetal/NAME.S}, its includes pasted in, into an ELF linked at RAM. */
    private static Path assemble(String program, Path dir) throws IOException, InterruptedException {
        Path sources = Path.of(System.getProperty("ember.root", ".."), "ember-vmm", "src", "test", "resources", "baremetal");
        Matcher m = INCLUDE.matcher(Files.readString(sources.resolve(program + ".S")));
        StringBuilder text = new StringBuilder(".option norvc\n");
        while (m.find()) {
            m.appendReplacement(text, Matcher.quoteReplacement(Files.readString(sources.resolve(m.group(1)))));
        }
        m.appendTail(text);
        Path source = dir.resolve(program + ".s");
        Path object = dir.resolve(program + ".o");
        Path elf = dir.resolve(program + ".elf");
        Files.writeString(source, text);
        tool(dir, "riscv64-linux-gnu-as", "-march=rv64gc_zicsr_zifencei", "-mno-relax", "-o", object.toString(), source.toString());
        tool(dir, "riscv64-linux-gnu-ld", "-N", "-Ttext=0x80000000", "-o", elf.toString(), object.toString());
        return elf;
    }

    private static void tool(Path dir, String... command) throws IOException, InterruptedException {
        Path log = dir.resolve("tool.log");
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(command[0] + " did not finish in 60 s");
        }
        if (p.exitValue() != 0) {
            throw new AssertionError(String.join(" ", command) + " failed:\n" + Files.readString(log));
        }
    }
}
