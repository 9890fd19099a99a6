package dev.ember.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ember.vmm.VmConfig;

/**
 * The machine-size inputs of {@code dev.ember.vmm.VmConfig} a user types: {@code --memory}.
 *
 * <p>Invariant: a size is a positive number of bytes within {@link VmConfig#MAX_MEMORY}, or an
 * {@link IllegalArgumentException} whose message quotes the input; nothing else escapes.
 */
class VmConfigFuzzTest {

    @FuzzTest(maxDuration = "15s")
    void memorySize(FuzzedDataProvider data) {
        String text = data.consumeRemainingAsString();
        long bytes;
        try {
            bytes = VmConfig.parseMemory(text);
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().contains("memory size"), e.getMessage());
            return;
        }
        assertTrue(bytes > 0 && bytes <= VmConfig.MAX_MEMORY, () -> text + " -> " + bytes);
    }
}
