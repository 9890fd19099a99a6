package dev.ember.riscv.jit;

import dev.ember.memory.GuestMemory;
import dev.ember.riscv.interp.FloatOps;
import dev.ember.riscv.isa.Decoder;
import dev.ember.riscv.isa.Insn;
import dev.ember.riscv.isa.Op;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.TreeMap;

/**
 * Chooses what a region holds: starting at its entry, the basic blocks of the entry's page that
 * the guest has been seen to run, following both ways out of every branch and the target of
 * every direct jump, until the region reaches its size bound.
 *
 * <p>"Seen to run" is read from the interpreter's decoded page ({@code DecodedPages}): the
 * interpreter decodes an instruction the first time it executes it, so a decoded slot at a
 * block's first instruction means the guest went there. Blocks it has not reached become exits
 * of the region; if the guest later goes there often, they get regions of their own and the
 * exit is linked to them.
 *
 * <p>A block ends after a branch or jump, before an instruction that straddles the page's end,
 * at the page's end, and after an instruction the region leaves to the interpreter: the SYSTEM
 * instructions, illegal encodings, FP instructions while the FPU is off, and FP instructions
 * with a reserved rounding mode. Those run in the interpreter, which raises their traps and
 * does their mode changes exactly as it always does.
 *
 * <p><b>Guest-controlled.</b> The bytes are guest code. Every offset stays inside the page,
 * every read is bounds-checked by the segment, decoding accepts every value, and the bounds on
 * instructions per block and per region cap the work and the bytecode for any page.
 *
 * <p>Stateless; used by the thread that translates.
 */
final class RegionBuilder {

    /** How a block ends. */
    enum End {
        /** Runs off its end: at the page's end, before a straddling instruction, or at the size bound. */
        FALLTHROUGH,
        /** Its last instruction is a conditional branch. */
        BRANCH,
        /** Its last instruction is JAL. */
        JUMP,
        /** Its last instruction is JALR. */
        INDIRECT,
        /** Its last instruction runs in the interpreter, and the region leaves after it. */
        INTERPRET
    }

    /** A basic block: instructions at page offsets {@code offsets}, decoded in {@code insns}. */
    record Block(int start, int[] offsets, long[] insns, int end, End how) {

        int length() {
            return insns.length;
        }

        /** {@return the page offset of a branch's or jump's target} */
        int target() {
            return offsets[offsets.length - 1] + (int) Insn.imm(insns[insns.length - 1]);
        }
    }

    /** What to translate: the blocks, the first of which starts at {@code entry}. */
    record Plan(long pageOffset, int entry, int mode, List<Block> blocks) {

        int instructions() {
            int n = 0;
            for (Block b : blocks) {
                n += b.length();
            }
            return n;
        }
    }

    static final int PAGE = 0x1000;
    /** The most instructions in one block. */
    static final int MAX_BLOCK = 64;

    private RegionBuilder() {}

    /**
     * Plans a region.
     *
     * @param seg        guest RAM
     * @param pageOffset RAM offset of the page
     * @param entry      page offset of the entry instruction
     * @param mode       the mode to translate for ({@link TranslationCache#mode})
     * @param executed   the interpreter's decoded slots of the page, or null if it has none
     * @param maxInsns   the most instructions in the region
     * @return the plan, or null when the entry cannot start a region (it straddles the page end)
     */
    static Plan plan(MemorySegment seg, long pageOffset, int entry, int mode, long[] executed, int maxInsns) {
        TreeMap<Integer, Block> blocks = new TreeMap<>();
        Deque<Integer> work = new ArrayDeque<>();
        work.add(entry);
        int total = 0;
        while (!work.isEmpty() && total < maxInsns) {
            int start = work.poll();
            if (blocks.containsKey(start)) {
                continue;
            }
            Block b = block(seg, pageOffset, start, mode, Math.min(MAX_BLOCK, maxInsns - total));
            if (b == null) {
                if (start == entry) {
                    return null;
                }
                continue;
            }
            blocks.put(start, b);
            total += b.length();
            for (int s : successors(b)) {
                if (s >= 0 && s < PAGE && !blocks.containsKey(s) && (s == entry || ran(executed, s))) {
                    work.add(s);
                }
            }
        }
        List<Block> ordered = new ArrayList<>();
        ordered.add(blocks.get(entry));
        for (Block b : blocks.values()) {
            if (b.start() != entry) {
                ordered.add(b);
            }
        }
        return new Plan(pageOffset, entry, mode, ordered);
    }

    private static boolean ran(long[] executed, int offset) {
        return executed != null && executed[offset >>> 1] != 0;
    }

    /** {@return the page offsets where control may go next inside the page, by a direct transfer or falling through} */
    static int[] successors(Block b) {
        return switch (b.how()) {
            case FALLTHROUGH -> new int[] {b.end()};
            case BRANCH -> new int[] {b.target(), b.end()};
            case JUMP -> new int[] {b.target()};
            case INDIRECT, INTERPRET -> new int[0];
        };
    }

    /** Decodes the block at {@code start}; null if its first instruction straddles the page end. */
    private static Block block(MemorySegment seg, long pageOffset, int start, int mode, int max) {
        List<Integer> offsets = new ArrayList<>();
        List<Long> insns = new ArrayList<>();
        int off = start;
        End how = End.FALLTHROUGH;
        while (off < PAGE && offsets.size() < max) {
            long insn;
            if (off <= PAGE - 4) {
                insn = Decoder.decode(seg.get(GuestMemory.U32, pageOffset + off));
            } else {
                int low = seg.get(GuestMemory.U16, pageOffset + off) & 0xFFFF;
                if (Decoder.is32Bit(low)) {
                    break;   // straddles the page end: the interpreter runs it
                }
                insn = Decoder.decode(low);
            }
            offsets.add(off);
            insns.add(insn);
            off += Insn.length(insn);
            Op op = Insn.op(insn);
            if (needsInterpreter(insn, mode)) {
                how = End.INTERPRET;
                break;
            }
            if (op.endsBlock()) {
                how = switch (op.flow()) {
                    case BRANCH -> End.BRANCH;
                    case JUMP -> End.JUMP;
                    case INDIRECT -> End.INDIRECT;
                    default -> throw new IllegalStateException(op.toString());
                };
                break;
            }
        }
        if (offsets.isEmpty()) {
            return null;
        }
        return new Block(start, offsets.stream().mapToInt(Integer::intValue).toArray(),
                insns.stream().mapToLong(Long::longValue).toArray(), off, how);
    }

    /** {@return whether the region leaves {@code insn} to the interpreter, in {@code mode}} */
    static boolean needsInterpreter(long insn, int mode) {
        Op op = Insn.op(insn);
        if (op.flow() == Op.Flow.SYSTEM || op.flow() == Op.Flow.TRAP) {
            return true;
        }
        if (op.usesFp()) {
            if (!TranslationCache.fpEnabled(mode)) {
                return true;   // traps: the FPU is off
            }
            int rm = Insn.rm(insn);
            return FloatOps.isComputational(op) && FloatOps.usesRoundingMode(op) && (rm == 5 || rm == 6);
        }
        return false;
    }
}
