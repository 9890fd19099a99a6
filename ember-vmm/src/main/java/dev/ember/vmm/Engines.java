package dev.ember.vmm;

import dev.ember.config.EngineConfig;
import dev.ember.log.LogSink;
import dev.ember.memory.GuestMemory;
import dev.ember.riscv.cpu.ExecutionEngine;
import dev.ember.riscv.cpu.Hart;
import dev.ember.riscv.interp.DecodedPages;
import dev.ember.riscv.interp.Interpreter;
import dev.ember.riscv.jit.JitEngine;
import dev.ember.riscv.jit.TranslationCache;

/**
 * One machine's execution engines: one per hart, sharing the machine's decoded pages and, with
 * the translator, its translation cache, so code decoded or translated on one hart runs on all.
 *
 * <p>Built with the machine and kept across reboots (a reboot discards RAM, which drops every
 * page's code). Threads: each engine belongs to its hart's vCPU thread; {@link #stats} may be
 * called from any thread.
 */
final class Engines {

    private final EngineConfig config;
    private final ExecutionEngine[] engines;
    private final DecodedPages decoded;
    private final TranslationCache cache;

    private Engines(EngineConfig config, ExecutionEngine[] engines, DecodedPages decoded, TranslationCache cache) {
        this.config = config;
        this.engines = engines;
        this.decoded = decoded;
        this.cache = cache;
    }

    /**
     * @param threadName the name of the translator's thread
     * @param log        the VM's sink, for the translator's reports
     */
    static Engines create(EngineConfig config, Hart[] harts, GuestMemory ram, String threadName, LogSink log) {
        DecodedPages decoded = new DecodedPages(ram);
        // Threshold 0 asks for all code to run translated from its first execution: the hart
        // translates what it needs before it goes on. Otherwise a translator thread does, and
        // the harts go on interpreting meanwhile.
        TranslationCache cache = config.kind() == EngineConfig.Kind.JIT
                ? new TranslationCache(ram, decoded, config.jitThreshold(), config.jitThreshold() > 0, threadName, log)
                : null;
        ExecutionEngine[] engines = new ExecutionEngine[harts.length];
        for (Hart h : harts) {
            Interpreter interpreter = new Interpreter(h, decoded);
            engines[h.id] = cache == null ? interpreter : new JitEngine(h, interpreter, cache);
        }
        return new Engines(config, engines, decoded, cache);
    }

    /**
     * Stops the translator thread, if there is one, and waits for it.
     *
     * @return whether nothing of the engines reads guest RAM any more, so that it may be unmapped
     */
    boolean close() {
        return cache == null || cache.close(5000);
    }

    ExecutionEngine engine(int hartId) {
        return engines[hartId];
    }

    EngineStats stats() {
        long interpreted = 0;
        long translated = 0;
        for (ExecutionEngine e : engines) {
            interpreted += e.interpretedInstructions();
            translated += e.translatedInstructions();
        }
        return new EngineStats(config, interpreted, translated, decoded.livePages(),
                cache == null ? null : cache.stats());
    }
}
