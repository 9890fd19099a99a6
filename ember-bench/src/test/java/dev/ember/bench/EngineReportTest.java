package dev.ember.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class EngineReportTest {

    private static final String JIT = """
            [0.012s][warning][os] something the JVM said
            engine: jit (threshold 32)
            instructions: 3,591,372 interpreted, 57,054,356 translated (94.1% translated)
            decoded pages held: 705
            regions: 8,244 translated, 241 invalidated, 0 evicted, 8,003 live (193,086 guest instructions, 12,008 KiB of bytecode)
            translation time: 5933.8 ms (719.8 us per region); 0 regions left to the interpreter; 0 cache flushes
            CodeHeap 'non-profiled nmethods': size=120036Kb used=367Kb max_used=367Kb free=119668Kb
             bounds [0x00007fdfdfec7000, 0x00007fdfe0137000, 0x00007fdfe7400000]
            CodeCache: size=245764Kb, used=3635Kb, max_used=3668Kb, free=242127Kb
             total_blobs=1795, nmethods=1338, adapters=361, full_count=0
            Compilation: enabled, stopped_count=0, restarted_count=0
            """;

    @Test
    void translatorStatisticsAreAllRead() {
        EngineReport r = EngineReport.parse(JIT);
        assertEquals("jit", r.engine());
        assertEquals(3_591_372, r.interpreted());
        assertEquals(57_054_356, r.translated());
        assertEquals(94.1, r.translatedPercent(), 1e-9);
        assertEquals(8_244, r.regionsTranslated());
        assertEquals(241, r.regionsInvalidated());
        assertEquals(0, r.regionsEvicted());
        assertEquals(8_003, r.regionsLive());
        assertEquals(12_008, r.bytecodeKib());
        assertEquals(5933.8, r.translationMillis(), 1e-9);
        assertEquals(3635, r.codeCacheUsedKib());
        assertEquals(3668, r.codeCacheMaxUsedKib());
    }

    @Test
    void interpreterHasNoRegionFigures() {
        EngineReport r = EngineReport.parse("""
                engine: interp
                instructions: 63,200,000 interpreted, 0 translated (0.0% translated)
                decoded pages held: 12
                CodeCache: size=245764Kb, used=4254Kb, max_used=4273Kb, free=1Kb
                """);
        assertTrue(r.hasEngineStats());
        assertEquals(0, r.translatedPercent());
        assertTrue(Double.isNaN(r.regionsTranslated()));
        assertTrue(Double.isNaN(r.translationMillis()));
        assertEquals(4254, r.codeCacheUsedKib());
    }

    @Test
    void figuresInAnotherLocaleAreReadTheSame() {
        EngineReport r = EngineReport.parse(JIT.replace("3,591,372", "3.591.372").replace("5933.8", "5933,8")
                .replace("94.1%", "94,1%").replace("8,244", "8\u202f244"));
        assertEquals(3_591_372, r.interpreted());
        assertEquals(5933.8, r.translationMillis(), 1e-9);
        assertEquals(94.1, r.translatedPercent(), 1e-9);
        assertEquals(8_244, r.regionsTranslated());
    }

    @Test
    void emptyStderrHasNoFigures() {
        EngineReport r = EngineReport.parse("");
        assertFalse(r.hasEngineStats());
        assertFalse(r.hasCodeCache());
    }

    @Test
    void onlyFiguresPresentBecomeMetrics() {
        Vmm interp = Vmm.ember("interp");
        Results results = new Results(java.util.List.of(interp));
        EngineReport.parse("engine: interp\ninstructions: 10 interpreted, 0 translated (0.0% translated)\n")
                .addTo(results, interp, "boot", "after boot");
        var out = new java.io.ByteArrayOutputStream();
        results.printTable(new java.io.PrintStream(out, true), Results.Kind.ENGINE, "figure");
        String table = out.toString();
        assertTrue(table.contains("after boot: instructions translated (%)"), table);
        assertFalse(table.contains("regions"), table);
    }
}
