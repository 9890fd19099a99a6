package dev.ember.riscv.differential;

import dev.ember.memory.GuestMemory;
import dev.ember.riscv.cpu.ExecutionEngine;
import dev.ember.riscv.cpu.Hart;
import dev.ember.riscv.interp.DecodedPages;
import dev.ember.riscv.interp.Interpreter;
import dev.ember.riscv.jit.JitEngine;
import dev.ember.riscv.jit.TranslationCache;
import java.util.function.BiFunction;
import java.util.function.Consumer;

/**
 * An execution engine under test, as a recipe: how to build it for a fresh hart and its RAM,
 * and (for the tester's own tests) a change to the starting state that only this engine sees.
 *
 * @param name  for reports
 * @param build makes the engine for a hart and its RAM
 * @param tweak applied to the hart after the program's initial state, before the run
 */
record Engine(String name, BiFunction<Hart, GuestMemory, ExecutionEngine> build, Consumer<Hart> tweak) {

    /** The interpreter: the reference every other engine is compared with. */
    static final Engine INTERPRETER = new Engine("interpreter",
            (hart, ram) -> new Interpreter(hart, new DecodedPages(ram)), hart -> { });

    /** The translator, translating every block the first time it runs. */
    static final Engine TRANSLATOR = translator("translator (threshold 0)", 0);

    /** The translator, translating blocks once they have run, so regions follow the paths taken and loops become JVM loops. */
    static final Engine HOT_TRANSLATOR = translator("translator (threshold 2)", 2);

    static Engine translator(String name, int threshold) {
        return new Engine(name, (hart, ram) -> {
            DecodedPages decoded = new DecodedPages(ram);
            return new JitEngine(hart, new Interpreter(hart, decoded), new TranslationCache(ram, decoded, threshold));
        }, hart -> { });
    }

    /** {@return this engine with {@code change} applied to the starting state as well} */
    Engine withTweak(String newName, Consumer<Hart> change) {
        return new Engine(newName, build, tweak.andThen(change));
    }

    @Override
    public String toString() {
        return name;
    }
}
