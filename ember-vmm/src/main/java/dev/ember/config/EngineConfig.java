package dev.ember.config;

import java.util.Locale;

/**
 * Which execution engine runs the guest's instructions: an Ember extension of Firecracker's
 * machine configuration ({@code "engine"} and {@code "jit_threshold"} in
 * {@code PUT /machine-config}; {@code --engine} and {@code --jit-threshold} on the command line).
 *
 * @param kind         the interpreter, or the translator to JVM bytecode (which still interprets
 *                     code until it is hot)
 * @param jitThreshold how many times a block must start executing before the translator
 *                     translates it; 0 translates code the first time it runs. Ignored by the
 *                     interpreter.
 */
public record EngineConfig(Kind kind, int jitThreshold) {

    /** The execution engines. */
    public enum Kind {
        /** The interpreter: the reference engine. */
        INTERP,
        /** The translator: hot code becomes JVM bytecode; cold code is interpreted. */
        JIT;

        /** {@return the name used on the command line and in the API: {@code interp}, {@code jit}} */
        public String apiName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /**
         * {@return the kind named {@code name}} 
         *
         * @throws IllegalArgumentException naming the choices
         */
        public static Kind parse(String name) {
            for (Kind k : values()) {
                if (k.apiName().equals(name)) {
                    return k;
                }
            }
            throw new IllegalArgumentException("engine must be interp or jit, not '" + name + "'");
        }
    }

    /** The largest threshold: beyond it code would practically never be translated. */
    public static final int MAX_THRESHOLD = 1 << 20;
    /**
     * The default threshold: a block that has started this many times is translated. Measured on
     * the default guest (2 cores, ./ember bench): at 32, translation and C2 during boot made boot
     * 2.5 times as slow as the interpreter's; at 5000 still 1.6 times (3.4 s against 2.2 s,
     * 0.9 s of translation); at 20000 and 50000, 2.2 to 3.1 s against the interpreter's 1.8 to
     * 3.2 s in the same runs (0.2 to 0.3 s of translation), and CPU-bound work ran as fast as at
     * 5000. Translation and C2 during boot still cost a few tenths of a second.
     */
    public static final int DEFAULT_THRESHOLD = 20_000;

    public static final EngineConfig INTERPRETER = new EngineConfig(Kind.INTERP, DEFAULT_THRESHOLD);
    public static final EngineConfig TRANSLATOR = new EngineConfig(Kind.JIT, DEFAULT_THRESHOLD);
    /** What a VM runs when nothing is said: the translator, which passes every test the interpreter passes. */
    public static final EngineConfig DEFAULT = TRANSLATOR;

    /** @throws IllegalArgumentException naming the problem */
    public EngineConfig {
        if (kind == null) {
            throw new IllegalArgumentException("engine must be interp or jit");
        }
        if (jitThreshold < 0 || jitThreshold > MAX_THRESHOLD) {
            throw new IllegalArgumentException("jit_threshold must be between 0 and " + MAX_THRESHOLD + ", not " + jitThreshold);
        }
    }

    /** {@return the translator with threshold {@code threshold}} */
    public static EngineConfig jit(int threshold) {
        return new EngineConfig(Kind.JIT, threshold);
    }
}
