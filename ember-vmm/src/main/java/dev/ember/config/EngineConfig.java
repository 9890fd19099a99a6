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
     * the default guest (2 cores): at 32 the translator's and C2's work during boot makes boot
     * twice as slow as the interpreter's; from about 5000 on, boot takes the interpreter's time
     * while CPU-bound work still reaches translated code within its first second.
     */
    public static final int DEFAULT_THRESHOLD = 5000;

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
