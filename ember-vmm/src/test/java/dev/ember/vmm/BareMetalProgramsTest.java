package dev.ember.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.config.CpuFeatures;
import dev.ember.config.EngineConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The self-checking bare-metal programs of {@code src/test/resources/baremetal/}, each run on
 * every engine: the interpreter, the translator translating every block the first time it runs
 * (threshold 0), and the translator at threshold 2, where a block runs once in the interpreter
 * first so that loops become regions of several blocks. Each program reports its first failing
 * check's number through HTIF; 0 is a pass. The program files list their checks. The H
 * extension's programs ({@code h_*}, {@code hostile_h}) run on harts with {@code +h};
 * {@code h_off} checks that without it the extension is absent.
 */
class BareMetalProgramsTest {

    private static final long MEMORY = 64L << 20;
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    /** A program and the machine it needs: harts, and their optional extensions. */
    private record Program(String name, int vcpus, CpuFeatures features) {
        Program(String name, int vcpus) {
            this(name, vcpus, CpuFeatures.NONE);
        }
    }

    private static final CpuFeatures H = CpuFeatures.parse("+h");

    private static final List<Program> PROGRAMS = List.of(
            new Program("smc", 1),
            new Program("smc_2hart", 2),
            new Program("trap_loops", 1),
            new Program("misaligned", 1),
            new Program("pagefault", 1),
            new Program("pagefault_store_tval", 1),
            new Program("h_off", 1),
            new Program("h_csr", 1, H),
            new Program("h_trap", 1, H),
            new Program("h_virtinst", 1, H),
            new Program("h_irq", 1, H),
            new Program("h_gstage", 1, H),
            new Program("h_hlv", 1, H),
            new Program("h_vmid", 1, H),
            new Program("hostile_h", 1, H));

    private static final List<EngineConfig> ENGINES = List.of(
            EngineConfig.INTERPRETER, EngineConfig.jit(0), EngineConfig.jit(2));

    static Stream<Arguments> runs() {
        List<Arguments> runs = new ArrayList<>();
        for (Program p : PROGRAMS) {
            for (EngineConfig e : ENGINES) {
                String engine = e.kind() == EngineConfig.Kind.INTERP ? "interp" : "jit " + e.jitThreshold();
                runs.add(Arguments.of(p.name() + " on " + engine, p, e));
            }
        }
        return runs.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("runs")
    void programPassesEveryCheck(String title, Program program, EngineConfig engine, @TempDir Path tmp) throws Exception {
        BareMetalProgram.Run run = BareMetalProgram.load(program.name())
                .run(tmp, engine, program.features(), program.vcpus(), MEMORY, TIMEOUT);
        System.out.println(run.describe());
        assertEquals(0, run.status(), run::describe);
        assertEquals("", run.errors(), run::describe);
        if (run.stats().translation() != null) {
            assertEquals(0, run.stats().translation().failedTranslations(), run::describe);
        }
    }

    /**
     * A VM ended while its translator thread is still translating: closing it must wait for that
     * thread before unmapping guest RAM, which the thread reads (it once crashed the whole JVM
     * with SIGSEGV). hostile_pages keeps the translator busy with thousands of pages; each run is
     * cut short at a different moment.
     */
    @Test
    void endingAVmMidTranslationLeavesTheJvmRunning(@TempDir Path tmp) throws Exception {
        BareMetalProgram program = BareMetalProgram.load("hostile_pages");
        for (int i = 0; i < 16; i++) {
            BareMetalProgram.Run run = program.run(tmp, EngineConfig.jit(1), 1, MEMORY, Duration.ofMillis(40 + 25 * i));
            assertTrue(run.status() == 0 || run.status() == BareMetalProgram.TIMED_OUT, run::describe);
            assertEquals("", run.errors(), run::describe);
        }
    }
}
