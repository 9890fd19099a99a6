package dev.ember.config;

import java.util.Locale;

/**
 * The optional ISA extensions a VM's harts have, beyond RV64GC with Sstc, which every hart has:
 * an Ember extension of the machine configuration ({@code --cpu-features +h} on the command
 * line, {@code "cpu_features": "+h"} in {@code PUT /machine-config}).
 *
 * <p>The text form is a comma-separated list of {@code +NAME} or {@code NAME} (on) and
 * {@code -NAME} (off), later items winning, as QEMU's {@code -cpu} properties switch extensions.
 * Only {@code h} exists so far.
 *
 * @param hypervisor the hypervisor extension (privileged ISA, "H" Extension for Hypervisor
 *                   Support, v1.0): {@code misa.H}, {@code h} in the device tree's
 *                   {@code riscv,isa}, the HS/VS/VU modes and two-stage translation, so the
 *                   guest kernel can run KVM
 */
public record CpuFeatures(boolean hypervisor) {

    /** RV64GC with Sstc: what every hart has. */
    public static final CpuFeatures NONE = new CpuFeatures(false);

    /**
     * {@return the features {@code text} names, e.g. {@code +h}; empty text is {@link #NONE}}
     *
     * @throws IllegalArgumentException naming the item that is not a known feature
     */
    public static CpuFeatures parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("cpu features must be a list such as +h, not null");
        }
        boolean h = false;
        for (String raw : text.split(",", -1)) {
            String item = raw.strip().toLowerCase(Locale.ROOT);
            if (item.isEmpty() && text.isBlank()) {
                continue;
            }
            boolean off = item.startsWith("-");
            String name = off || item.startsWith("+") ? item.substring(1) : item;
            if (name.isEmpty()) {
                throw new IllegalArgumentException("cpu feature '" + raw.strip() + "' must be NAME, +NAME or -NAME (known: h)");
            }
            switch (name) {
                case "h" -> h = !off;
                default -> throw new IllegalArgumentException(
                        "unknown cpu feature '" + name + "' (known: h, the hypervisor extension)");
            }
        }
        return new CpuFeatures(h);
    }

    /** {@return the device tree's {@code riscv,isa} string for these features} */
    public String isaString() {
        return "rv64imafdc" + (hypervisor ? "h" : "") + "_zicntr_zicsr_zifencei_sstc";
    }

    /** {@return the text form, which {@link #parse} reads back: {@code +h} or empty} */
    @Override
    public String toString() {
        return hypervisor ? "+h" : "";
    }
}
