package dev.ember.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ember.riscv.differential.DifferentialFuzzing;
import java.util.List;
import org.junit.jupiter.api.AfterAll;

/**
 * The interpreter against the translator (at thresholds 0 and 2) on short programs of arbitrary
 * instruction words, from the edge-case starting states of the differential tests
 * ({@link DifferentialFuzzing}): the two engines must end in the same architectural state.
 */
class DifferentialFuzzTest {

    /** Lines of code per program: a few basic blocks, so that executions stay fast. */
    private static final int MAX_LINES = 48;

    // The machines live across executions, as the engines' caches do on a real machine.
    private static final DifferentialFuzzing CHECK = new DifferentialFuzzing();

    @AfterAll
    static void close() {
        CHECK.close();
    }

    @FuzzTest
    void programs(FuzzedDataProvider data) {
        long seed = data.consumeLong();
        int[] code = new int[data.consumeInt(1, MAX_LINES)];
        for (int k = 0; k < code.length && data.remainingBytes() >= 4; k++) {
            code[k] = data.consumeInt();
        }
        List<String> differences = CHECK.differences(seed, code);
        assertEquals("", String.join("\n", differences), "engines disagree");
    }
}
