package dev.ember.riscv.jit;

/**
 * A translation cache's counters, totals since its machine was built.
 *
 * @param regionsTranslated  regions compiled to bytecode and defined
 * @param regionsInvalidated regions dropped because their page was written
 * @param regionsEvicted     regions dropped to keep the cache within its bound
 * @param regionsLive        regions in the cache now
 * @param guestInstructions  guest instructions in the live regions
 * @param classBytes         class-file bytes of the live regions
 * @param translationNanos   time spent translating, region building through class definition
 * @param failedTranslations regions that could not be translated and run in the interpreter
 * @param flushes            times the whole cache was dropped to stay within its bound
 */
public record TranslationStats(long regionsTranslated, long regionsInvalidated, long regionsEvicted, int regionsLive,
                               long guestInstructions, long classBytes, long translationNanos,
                               long failedTranslations, long flushes) {

    /** {@return a few lines for a person} */
    public String describe() {
        return String.format("regions: %,d translated, %,d invalidated, %,d evicted, %,d live (%,d guest instructions, %,d KiB of class files)%n"
                        + "translation time: %.1f ms (%.1f us per region); %,d regions left to the interpreter; %,d cache flushes%n",
                regionsTranslated, regionsInvalidated, regionsEvicted, regionsLive, guestInstructions, classBytes >> 10,
                translationNanos / 1e6, regionsTranslated == 0 ? 0.0 : translationNanos / 1e3 / regionsTranslated,
                failedTranslations, flushes);
    }
}
