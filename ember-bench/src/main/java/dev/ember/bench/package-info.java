/**
 * Ember's measurements: the end-to-end comparison with QEMU ({@link dev.ember.bench.Compare},
 * run by {@code ./ember bench}), the control plane's figures
 * ({@link dev.ember.bench.ControlPlaneFigures}, {@code ./ember bench api}), the soak of many
 * microVMs doing checked work in one JVM ({@link dev.ember.bench.SoakFigures}, {@code ./ember bench
 * soak}), the create-boot-destroy leak check ({@link dev.ember.bench.LeakFigures}, {@code ./ember
 * bench leak}) and, in {@code jmh}, micro-benchmarks of the pieces.
 *
 * <p>The comparison drives whole VMM processes through their serial consoles
 * ({@link dev.ember.bench.GuestConsole}) and imports nothing from Ember: Ember is measured as
 * a user runs it, through {@code dev.ember.server.EmberCommand} in a child JVM, once per
 * execution engine, and what it says about its engine is parsed from its stderr
 * ({@link dev.ember.bench.EngineReport}). The one
 * exception is the memory figure of idle microVMs, which embeds them through the Java API as
 * an application would; the soak and the leak check do the same, since what they measure is
 * what many VMs in one embedding JVM leave behind.
 */
package dev.ember.bench;
