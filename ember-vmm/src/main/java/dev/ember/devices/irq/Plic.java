package dev.ember.devices.irq;

import java.util.Objects;

import dev.ember.memory.MmioDevice;

/**
 * The SiFive platform-level interrupt controller as wired on QEMU's {@code virt} board: 95
 * level-triggered sources, priorities 0..7, two contexts per hart (RISC-V PLIC Specification
 * v1.0.0, "Memory Map"; QEMU {@code hw/intc/sifive_plic.c}).
 *
 * <pre>
 *   0x000000 + 4*src            priority[src]        src 1..95; source 0 reads as zero
 *   0x001000 + 4*word           pending[word]        read-only, words 0..2
 *   0x002000 + 0x80*ctx + 4*w   enable[ctx][w]       words 0..2; bit 0 of word 0 is hardwired 0
 *   0x200000 + 0x1000*ctx       threshold[ctx]
 *   0x200004 + 0x1000*ctx       claim / complete[ctx]
 * </pre>
 * Context {@code 2*hart} is that hart's M-mode context and drives {@code mip.MEIP}; context
 * {@code 2*hart+1} is its S-mode context and drives {@code mip.SEIP}.
 *
 * <p>Each source has a level-triggered gateway ("Interrupt Gateways"): while the gateway is
 * armed, the pending bit follows the device's line (as in QEMU, a line that drops before the
 * claim withdraws the request, so the guest sees fewer spurious claims); a claim clears the
 * pending bit and disarms the gateway; the completion re-arms it, and the source is pending
 * again at once if its line is still high. A context's output is high while some source is
 * pending, enabled for it and of priority above its threshold; claims choose the highest
 * priority, ties going to the lowest source number ("Interrupt Claim Process"). A completion
 * for a source not enabled in the completing context is ignored ("Interrupt Completion").
 *
 * <p><b>Guest-controlled.</b> All registers are 32 bits wide; an access of another width or
 * misaligned reads as zero and is ignored, as QEMU's {@code valid.min/max_access_size = 4}
 * makes it. Priority and threshold writes keep the low three bits (WARL). Context and source
 * numbers are decoded from the offset and bounds-checked against the configured hart count,
 * so no guest value can index outside the arrays.
 *
 * <p>Threads: every vCPU thread (MMIO) and every device thread ({@link #source} lines) call
 * in; all state is guarded by this object's monitor. {@link HartInterruptInputs#setPending}
 * is called with the monitor held, so the order of level changes seen by a hart is the order
 * in which they happened here; the hart side never calls back into the PLIC.
 */
public final class Plic implements MmioDevice {

    /** Size of the register window: QEMU's {@code VIRT_PLIC_SIZE(VIRT_CPUS_MAX * 2)}, room for 1024 contexts. */
    public static final long SIZE = 0x60_0000;

    /** Number of usable sources, the device tree's {@code riscv,ndev}. */
    public static final int NDEV = 95;

    /** The largest priority; priorities and thresholds are 3 bits wide. */
    public static final int MAX_PRIORITY = 7;

    /** The most harts whose contexts fit in {@link #SIZE}. */
    public static final int MAX_HARTS = 512;

    static final long PRIORITY_BASE = 0x00_0000;
    static final long PENDING_BASE = 0x00_1000;
    static final long ENABLE_BASE = 0x00_2000;
    static final long ENABLE_STRIDE = 0x80;
    static final long CONTEXT_BASE = 0x20_0000;
    static final long CONTEXT_STRIDE = 0x1000;
    static final long CONTEXT_THRESHOLD = 0;
    static final long CONTEXT_CLAIM = 4;

    private static final int WORDS = (NDEV + 1 + 31) / 32;   // 3 words of 32 source bits
    /** Bits of valid sources in each word: source 0 and sources above NDEV do not exist. */
    private static final int[] VALID = validSourceMasks();

    private final HartInterruptInputs harts;
    private final int contexts;
    private final IrqLine[] lines = new IrqLine[NDEV + 1];

    private final int[] priority = new int[NDEV + 1];
    private final int[] line = new int[WORDS];        // the devices' levels, one bit per source
    private final int[] pending = new int[WORDS];
    private final int[] claimed = new int[WORDS];     // claimed and not yet completed
    private final int[] enable;                       // [ctx * WORDS + word]
    private final int[] threshold;
    private final boolean[] output;                   // last level given to the hart per context

    /**
     * Creates a PLIC with {@code 2 * hartCount} contexts, everything disabled and every
     * output low; the harts' {@code MEIP}/{@code SEIP} bits are assumed clear.
     *
     * @throws IllegalArgumentException if {@code hartCount} is not in 1..{@link #MAX_HARTS}
     */
    public Plic(int hartCount, HartInterruptInputs harts) {
        if (hartCount < 1 || hartCount > MAX_HARTS) {
            throw new IllegalArgumentException("hartCount " + hartCount + " not in 1.." + MAX_HARTS);
        }
        this.harts = Objects.requireNonNull(harts, "harts");
        this.contexts = 2 * hartCount;
        this.enable = new int[contexts * WORDS];
        this.threshold = new int[contexts];
        this.output = new boolean[contexts];
        for (int n = 1; n <= NDEV; n++) {
            int source = n;
            lines[n] = level -> setLine(source, level);
        }
    }

    /**
     * {@return the interrupt line of source {@code n}}, for the device wired to it.
     *
     * @throws IllegalArgumentException if {@code n} is not in 1..{@link #NDEV}
     */
    public IrqLine source(int n) {
        if (n < 1 || n > NDEV) {
            throw new IllegalArgumentException("PLIC source " + n + " not in 1.." + NDEV);
        }
        return lines[n];
    }

    @Override
    public long size() {
        return SIZE;
    }

    @Override
    public synchronized long read(long offset, int width) {
        if (width != 4 || (offset & 3) != 0 || offset < 0 || offset >= SIZE) {
            return 0;
        }
        if (offset < PENDING_BASE) {
            int src = (int) ((offset - PRIORITY_BASE) >>> 2);
            return src <= NDEV ? priority[src] : 0;
        }
        if (offset < ENABLE_BASE) {
            int word = (int) ((offset - PENDING_BASE) >>> 2);
            return word < WORDS ? pending[word] & 0xFFFF_FFFFL : 0;
        }
        if (offset < CONTEXT_BASE) {
            long ctx = (offset - ENABLE_BASE) / ENABLE_STRIDE;
            int word = (int) (((offset - ENABLE_BASE) % ENABLE_STRIDE) >>> 2);
            return ctx < contexts && word < WORDS ? enable[(int) ctx * WORDS + word] & 0xFFFF_FFFFL : 0;
        }
        long ctx = (offset - CONTEXT_BASE) / CONTEXT_STRIDE;
        if (ctx >= contexts) {
            return 0;
        }
        long reg = (offset - CONTEXT_BASE) % CONTEXT_STRIDE;
        if (reg == CONTEXT_THRESHOLD) {
            return threshold[(int) ctx];
        }
        return reg == CONTEXT_CLAIM ? claim((int) ctx) : 0;
    }

    @Override
    public synchronized void write(long offset, int width, long value) {
        if (width != 4 || (offset & 3) != 0 || offset < 0 || offset >= SIZE) {
            return;
        }
        int v = (int) value;
        if (offset < PENDING_BASE) {
            int src = (int) ((offset - PRIORITY_BASE) >>> 2);
            if (src >= 1 && src <= NDEV) {
                priority[src] = v & MAX_PRIORITY;
                updateOutputs();
            }
        } else if (offset < ENABLE_BASE) {
            return;   // pending bits are read-only
        } else if (offset < CONTEXT_BASE) {
            long ctx = (offset - ENABLE_BASE) / ENABLE_STRIDE;
            int word = (int) (((offset - ENABLE_BASE) % ENABLE_STRIDE) >>> 2);
            if (ctx < contexts && word < WORDS) {
                enable[(int) ctx * WORDS + word] = v & VALID[word];
                updateOutputs();
            }
        } else {
            long ctx = (offset - CONTEXT_BASE) / CONTEXT_STRIDE;
            long reg = (offset - CONTEXT_BASE) % CONTEXT_STRIDE;
            if (ctx >= contexts) {
                return;
            }
            if (reg == CONTEXT_THRESHOLD) {
                threshold[(int) ctx] = v & MAX_PRIORITY;
                updateOutputs();
            } else if (reg == CONTEXT_CLAIM) {
                complete((int) ctx, value & 0xFFFF_FFFFL);
            }
        }
    }

    private synchronized void setLine(int src, boolean level) {
        int word = src >>> 5;
        int bit = 1 << (src & 31);
        if (((line[word] & bit) != 0) == level) {
            return;
        }
        line[word] ^= bit;
        if ((claimed[word] & bit) == 0) {
            pending[word] = level ? pending[word] | bit : pending[word] & ~bit;
            updateOutputs();
        }
    }

    private int claim(int ctx) {
        int src = best(ctx);
        if (src != 0) {
            pending[src >>> 5] &= ~(1 << (src & 31));
            claimed[src >>> 5] |= 1 << (src & 31);
            updateOutputs();
        }
        return src;
    }

    private void complete(int ctx, long id) {
        if (id < 1 || id > NDEV) {
            return;
        }
        int src = (int) id;
        int word = src >>> 5;
        int bit = 1 << (src & 31);
        if ((enable[ctx * WORDS + word] & bit) == 0 || (claimed[word] & bit) == 0) {
            return;
        }
        claimed[word] &= ~bit;
        pending[word] |= line[word] & bit;
        updateOutputs();
    }

    /** {@return the source a claim by {@code ctx} would take now, or 0} */
    private int best(int ctx) {
        int bestSrc = 0;
        int bestPriority = threshold[ctx];
        for (int w = 0; w < WORDS; w++) {
            int candidates = pending[w] & ~claimed[w] & enable[ctx * WORDS + w];
            while (candidates != 0) {
                int src = (w << 5) + Integer.numberOfTrailingZeros(candidates);
                candidates &= candidates - 1;
                // Strictly greater: ascending scan keeps the lowest id on ties, and priority 0
                // can never beat a threshold >= 0.
                if (priority[src] > bestPriority) {
                    bestPriority = priority[src];
                    bestSrc = src;
                }
            }
        }
        return bestSrc;
    }

    /**
     * Returns to the power-on state for a machine reset: priorities, enables, thresholds,
     * pending and claimed bits cleared; a source whose line is still high becomes pending again
     * through its gateway. Outputs are driven low, as the harts' {@code mip} is after reset.
     */
    public synchronized void reset() {
        java.util.Arrays.fill(priority, 0);
        java.util.Arrays.fill(claimed, 0);
        java.util.Arrays.fill(enable, 0);
        java.util.Arrays.fill(threshold, 0);
        System.arraycopy(line, 0, pending, 0, WORDS);
        java.util.Arrays.fill(output, false);
        updateOutputs();
    }

    private void updateOutputs() {
        for (int ctx = 0; ctx < contexts; ctx++) {
            boolean level = best(ctx) != 0;
            if (level != output[ctx]) {
                output[ctx] = level;
                harts.setPending(ctx >>> 1,
                        (ctx & 1) == 0 ? HartInterruptInputs.MEIP : HartInterruptInputs.SEIP, level);
            }
        }
    }

    private static int[] validSourceMasks() {
        int[] masks = new int[WORDS];
        for (int src = 1; src <= NDEV; src++) {
            masks[src >>> 5] |= 1 << (src & 31);
        }
        return masks;
    }

    /**
     * The PLIC's state for snapshots: per source priority, line level, pending and claimed
     * bits; per context enables, threshold and the level last given to the hart.
     */
    public record State(int[] priority, int[] line, int[] pending, int[] claimed, int[] enable, int[] threshold,
                        boolean[] output) { }

    /** {@return the state, for a snapshot} */
    public synchronized State saveState() {
        return new State(priority.clone(), line.clone(), pending.clone(), claimed.clone(), enable.clone(),
                threshold.clone(), output.clone());
    }

    /**
     * Restores {@code s}. The harts' {@code MEIP}/{@code SEIP} bits are restored with the harts
     * and agree with {@code output}.
     *
     * @throws IllegalArgumentException if {@code s} was saved for another number of harts
     */
    public synchronized void restoreState(State s) {
        if (s.priority() == null || s.priority().length != priority.length || s.line() == null || s.line().length != WORDS
                || s.pending() == null || s.pending().length != WORDS || s.claimed() == null || s.claimed().length != WORDS
                || s.enable() == null || s.enable().length != enable.length || s.threshold() == null
                || s.threshold().length != contexts || s.output() == null || s.output().length != contexts) {
            throw new IllegalArgumentException("PLIC state is for another number of harts or sources");
        }
        System.arraycopy(s.priority(), 0, priority, 0, priority.length);
        System.arraycopy(s.line(), 0, line, 0, WORDS);
        System.arraycopy(s.pending(), 0, pending, 0, WORDS);
        System.arraycopy(s.claimed(), 0, claimed, 0, WORDS);
        System.arraycopy(s.enable(), 0, enable, 0, enable.length);
        System.arraycopy(s.threshold(), 0, threshold, 0, contexts);
        System.arraycopy(s.output(), 0, output, 0, contexts);
    }
}
