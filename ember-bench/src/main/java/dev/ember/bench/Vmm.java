package dev.ember.bench;

/**
 * One column of the comparison: QEMU, or Ember on one execution engine.
 *
 * @param name   the column's name in every table and log file: {@code qemu}, {@code ember-jit},
 *               {@code ember-interp}
 * @param engine Ember's {@code --engine} ({@code jit} or {@code interp}); null for QEMU
 */
record Vmm(String name, String engine) {

    static final Vmm QEMU = new Vmm("qemu", null);

    /** The execution engines Ember's {@code --engine} accepts, in the default column order. */
    static final java.util.List<String> ENGINES = java.util.List.of("jit", "interp");

    /** {@return Ember running on {@code engine}} */
    static Vmm ember(String engine) {
        return new Vmm("ember-" + engine, engine);
    }

    boolean isEmber() {
        return engine != null;
    }

    /** {@return the short name of its ratio column: {@code jit/QEMU}} */
    String ratioHeading() {
        return engine + "/QEMU";
    }

    @Override
    public String toString() {
        return name;
    }
}
