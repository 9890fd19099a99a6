package dev.ember.riscv.jit;

import dev.ember.memory.GuestMemory;
import dev.ember.riscv.cpu.ExecutionEngine;
import dev.ember.riscv.cpu.Hart;
import dev.ember.riscv.cpu.Mmu;
import dev.ember.riscv.cpu.Trap;
import dev.ember.riscv.interp.Interpreter;
import dev.ember.riscv.isa.Decoder;

/**
 * The translating execution engine of one hart: runs translated regions where it has them and
 * the interpreter, a basic block at a time, where it does not, translating code once it is hot.
 *
 * <p>The dispatch loop finds the region for the current virtual pc through a per-hart jump
 * cache (QEMU's {@code tb_jmp_cache}): an array indexed by the pc, holding the pc and the
 * region last found there. A hit is valid while the TLBs are not flushed (the cache is cleared
 * when {@link Mmu#flushCount} changes), the mode is the same and the region is still valid.
 * A miss translates the pc through the fetch TLB to a RAM offset and asks the
 * {@link TranslationCache}. The loop's call to {@code Region.run} is the one megamorphic call
 * site; direct exits inside a page are linked here, after the fact, so that later runs pass
 * from region to region without coming back.
 *
 * <p>Interrupts are taken between slices, as with the interpreter: regions leave when their
 * budget is spent, at any backward branch.
 *
 * <p>Owned by the hart's vCPU thread.
 */
public final class JitEngine implements ExecutionEngine, Interpreter.BlockWatch {

    private final Hart h;
    private final Mmu mmu;
    private final Interpreter interpreter;
    private final TranslationCache cache;
    private final JitContext context;
    private final long[] jumpPc;
    private final Region[] jumpRegion;
    private long seenFlushes = -1;
    private long seenEpoch = -1;
    private long regionInstructions;

    public JitEngine(Hart hart, Interpreter interpreter, TranslationCache cache) {
        this.h = hart;
        this.mmu = hart.mmu;
        this.interpreter = interpreter;
        this.cache = cache;
        this.context = new JitContext(hart, interpreter);
        this.jumpPc = context.jumpPc;
        this.jumpRegion = context.jumpRegion;
    }

    @Override
    public int run(int budget) {
        final Hart h = this.h;
        h.sliceEnd = false;
        // Between slices the vCPU loop may have moved the pc (an interrupt, a reset, HSM): the
        // exit the last slice ended on does not lead where the hart is now.
        context.linkFrom = null;
        if (mmu.flushCount != seenFlushes || cache.epoch() != seenEpoch) {
            java.util.Arrays.fill(jumpRegion, null);
            seenFlushes = mmu.flushCount;
            seenEpoch = cache.epoch();
        }
        int done = 0;
        while (done < budget && !h.sliceEnd) {
            long pc = h.pc;
            int mode = TranslationCache.mode(h);
            int j = JitContext.jumpIndex(pc);
            Region r = jumpRegion[j];
            if (r == null || jumpPc[j] != pc || r.mode != mode || !r.valid) {
                r = find(pc, mode);
                if (r == null) {
                    context.linkFrom = null;
                    done += interpreter.runUntilHot(budget - done, this);
                    continue;
                }
                jumpPc[j] = pc;
                jumpRegion[j] = r;
            }
            Region from = context.linkFrom;
            if (from != null) {
                link(from, r);
            }
            int n = r.run(context, budget - done, 0);
            regionInstructions += n;
            done += n;
        }
        return done;
    }

    /** Points {@code from}'s last unlinked exit at {@code to}, if both are live regions of one page and mode. */
    private void link(Region from, Region to) {
        context.linkFrom = null;
        if (from.valid && to.valid && from.mode == to.mode && (from.hostOffset >>> 12) == (to.hostOffset >>> 12)) {
            from.links[context.linkSlot] = to;
        }
    }

    /** {@return the region for virtual pc {@code pc} in {@code mode}, translating it if it is hot; null to interpret} */
    private Region find(long pc, int mode) {
        long hostOffset;
        int i = (int) (pc >>> 12) & (Mmu.TLB_SIZE - 1);
        if (mmu.fetchTag[i] == ((pc & ~0xFFFL) | mmu.fetchKey)) {
            hostOffset = pc + mmu.fetchAddend[i];
        } else {
            try {
                hostOffset = mmu.fetchOffset(pc);
            } catch (Trap t) {
                return null;   // the interpreter fetches again and takes the fault
            }
        }
        if ((pc & 0xFFF) == 0xFFE && Decoder.is32Bit(mmu.seg.get(GuestMemory.U16, hostOffset))) {
            return null;   // straddles two pages: always interpreted
        }
        Region r = cache.lookup(hostOffset, mode);
        if (r != null) {
            return r;
        }
        if (hostOffset == hotOffset || cache.hot(hostOffset)) {
            // The interpreter stopped here because the block is hot, or the dispatcher came here
            // from a region exit and found it hot: translate it.
            hotOffset = -1;
            if (cache.background()) {
                cache.request(hostOffset, mode);
                return null;
            }
            return cache.translate(mmu, hostOffset, mode);
        }
        cache.clearStaleEntry(hostOffset);
        return null;
    }

    /** Where the interpreter last stopped because a block was hot, or -1. */
    private long hotOffset = -1;

    /** Called by the interpreter at each block start it runs: counts it, and stops it when hot. */
    @Override
    public boolean blockStart(long hostOffset) {
        if (cache.hot(hostOffset)) {
            hotOffset = hostOffset;
            return true;
        }
        return false;
    }

    @Override
    public long interpretedInstructions() {
        return interpreter.interpretedInstructions();
    }

    @Override
    public long translatedInstructions() {
        return regionInstructions - context.interpretedInRegions;
    }
}
