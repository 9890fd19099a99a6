package dev.ember.vmm;

import dev.ember.config.EngineConfig;
import dev.ember.riscv.jit.TranslationStats;

/**
 * A machine's execution-engine counters, totals since it was built ({@link
 * VirtualMachine#engineStats}): shown by {@code ember run --engine-stats} and written to the
 * metrics file's {@code engine} group.
 *
 * @param config                  the engine and its threshold
 * @param interpretedInstructions instructions attempted by the interpreter, every hart
 * @param translatedInstructions  instructions attempted in translated code, every hart
 * @param decodedPages            code pages whose decoded instructions the interpreter holds now
 * @param translation             the translation cache's counters; null on the interpreter
 */
public record EngineStats(EngineConfig config, long interpretedInstructions, long translatedInstructions,
                          int decodedPages, TranslationStats translation) {

    /** {@return the share of instructions that ran in translated code, 0 to 1} */
    public double translatedShare() {
        long all = interpretedInstructions + translatedInstructions;
        return all == 0 ? 0 : (double) translatedInstructions / all;
    }

    /** {@return a few lines for a person: what ran where, and what the translator did} */
    public String describe() {
        StringBuilder b = new StringBuilder();
        b.append("engine: ").append(config.kind().apiName());
        if (translation != null) {
            b.append(" (threshold ").append(config.jitThreshold()).append(')');
        }
        b.append('\n');
        b.append(String.format("instructions: %,d interpreted, %,d translated (%.1f%% translated)%n",
                interpretedInstructions, translatedInstructions, 100 * translatedShare()));
        b.append(String.format("decoded pages held: %,d%n", decodedPages));
        if (translation != null) {
            b.append(translation.describe());
        }
        return b.toString();
    }
}
