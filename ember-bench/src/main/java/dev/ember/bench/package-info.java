/**
 * Ember's measurements: the end-to-end comparison with QEMU ({@link dev.ember.bench.Compare},
 * run by {@code ./ember bench}), the control plane's figures
 * ({@link dev.ember.bench.ControlPlaneFigures}, {@code ./ember bench api}), the soak of many
 * microVMs doing checked work in one JVM ({@link dev.ember.bench.SoakFigures}, {@code ./ember bench
 * soak}), the create-boot-destroy leak check ({@link dev.ember.bench.LeakFigures}, {@code ./ember
 * bench leak}) and, in {@code jmh}, micro-benchmarks of the pieces.
 *
 * <p>The comparison drives whole VMM processes through their serial consoles
 * ({@link dev.ember.bench.GuestConsole}): Ember is measured as a user runs it, through
 * {@code dev.ember.server.EmberCommand} in a child JVM, once per execution engine, and what it
 * says about its engine is parsed from its stderr ({@link dev.ember.bench.EngineReport}).
 * Figures that embed microVMs through the Java API, as an application would (the memory of idle
 * microVMs, the control plane's, the soak and the leak check, which measure what many VMs in one
 * embedding JVM leave behind), use {@code vmm}, {@code agent}, {@code config}, {@code mmds},
 * {@code devices.serial} and {@code riscv.cpu}; nothing imports the server.
 *
 * <p>Package map: uses vmm, agent, config, devices.serial, mmds, riscv.cpu, log; libraries com.fasterxml.jackson, picocli.
 */
package dev.ember.bench;
