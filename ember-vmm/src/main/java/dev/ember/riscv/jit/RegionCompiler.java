package dev.ember.riscv.jit;

import static java.lang.constant.ConstantDescs.CD_boolean;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_long;
import static java.lang.constant.ConstantDescs.CD_void;

import dev.ember.riscv.cpu.Mstatus;
import dev.ember.riscv.interp.FloatOps;
import dev.ember.riscv.isa.Insn;
import dev.ember.riscv.isa.Op;
import dev.ember.riscv.jit.RegionBuilder.Block;
import dev.ember.riscv.jit.RegionBuilder.End;
import dev.ember.riscv.jit.RegionBuilder.Plan;
import java.lang.classfile.Attributes;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassHierarchyResolver;
import java.lang.classfile.CodeBuilder;
import java.lang.classfile.Label;
import java.lang.classfile.MethodModel;
import java.lang.classfile.instruction.SwitchCase;
import java.lang.constant.ClassDesc;
import java.lang.constant.ConstantDescs;
import java.lang.constant.DynamicConstantDesc;
import java.lang.constant.MethodTypeDesc;
import java.lang.invoke.MethodHandles;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Compiles a {@link Plan} to the bytecode of one hidden class extending {@link Region}, with
 * {@code java.lang.classfile}.
 *
 * <p>The shape of {@code run(JitContext c, int budget, int depth)}:
 * <pre>
 *   prologue   h = c.hart; pc0 = h.pc; every guest register the region reads or writes is
 *              loaded into a JVM local (x0 is the constant 0)
 *   blocks     one label per basic block, in the plan's order, the entry first. Each guest
 *              instruction is a few JVM instructions on those locals. A conditional branch
 *              whose targets are in the region is a JVM branch; a branch back to an earlier
 *              or the same block first checks the budget, so loops stay bounded.
 *   EXIT       writes back the registers the region writes, sets h.pc and h.instret, and, for a
 *              direct exit to another instruction of the page, calls the region linked there:
 *              a call site per exit, so each sees one receiver class (chaining)
 *   TRAP_EXIT  the same write-back at the faulting instruction, then Helpers.raise
 *   INTERP_EXIT the same write-back before an instruction the interpreter runs
 * </pre>
 *
 * <p>Memory accesses call a small helper per access width ({@link Helpers#ld} and friends):
 * the TLB tag compare and one {@code MemorySegment} access, which C2 inlines where the access is
 * hot, with the segment passed as a class-data constant so its checks fold away. Keeping the
 * FFM access path out of the region's own bytecode keeps regions small, which is what makes
 * C1 and C2 compile them in a fraction of the time. A fault on the MMU's slow path is the one
 * guest trap that comes back as an exception (the hart's preallocated {@code Trap}, no stack
 * trace), caught by the region's one handler, which learns the access from two locals set
 * before it: a branch after every access would be pruned by C2 as never taken and deoptimize
 * the region at the first page fault there. Everything
 * that is not a plain ALU op, branch or memory access calls a run-time helper
 * ({@link Helpers}, {@code FloatOps}, {@code IntegerOps}); these are the only code generated
 * code calls.
 *
 * <p>Exactness: {@code n} counts the instructions retired in this call, updated at the end of
 * every block (and adjusted on the way to an exit in mid-block). {@code h.instret} is brought up
 * to date ({@code synced}) before every instruction that can read it, so {@code instret},
 * {@code cycle} and the trap state match the interpreter's instruction for instruction.
 *
 * <p>Stateless and thread-safe.
 */
final class RegionCompiler {

    private RegionCompiler() {}

    /** HotSpot compiles no method over 8000 bytes of bytecode; stay well under. */
    static final int MAX_BYTECODE = 7000;

    /** The compiled class and what it holds. */
    /**
     * @param codeBytes an upper bound of {@code run}'s bytecode: its exact length when the class
     *                  file is near {@link #MAX_BYTECODE}, else the class file's size
     */
    record Compiled(byte[] classBytes, int exits, int codeBytes) {}

    private static final ClassDesc CD_REGION = desc(Region.class);
    private static final ClassDesc CD_META = desc(Region.Meta.class);
    private static final ClassDesc CD_CONTEXT = desc(JitContext.class);
    private static final ClassDesc CD_HELPERS = desc(Helpers.class);
    private static final ClassDesc CD_TRAP = desc(dev.ember.riscv.cpu.Trap.class);
    private static final ClassDesc CD_HART = desc(dev.ember.riscv.cpu.Hart.class);
    private static final ClassDesc CD_FPU = desc(dev.ember.riscv.cpu.fpu.Fpu.class);
    private static final ClassDesc CD_FLOAT_OPS = desc(FloatOps.class);
    private static final ClassDesc CD_INTEGER_OPS = desc(dev.ember.riscv.interp.IntegerOps.class);
    private static final ClassDesc CD_SEGMENT = desc(java.lang.foreign.MemorySegment.class);
    private static final ClassDesc CD_LONG_ARRAY = CD_long.arrayType();
    private static final ClassDesc CD_MATH = desc(Math.class);
    private static final ClassDesc CD_REGION_ARRAY = CD_REGION.arrayType();

    private static final MethodTypeDesc MTD_RUN = MethodTypeDesc.of(CD_int, CD_CONTEXT, CD_int, CD_int);
    private static final MethodTypeDesc MTD_INIT = MethodTypeDesc.of(CD_void, CD_META);
    private static final MethodTypeDesc MTD_J_JJ = MethodTypeDesc.of(CD_long, CD_long, CD_long);
    private static final MethodTypeDesc MTD_I_JJ = MethodTypeDesc.of(CD_int, CD_long, CD_long);
    private static final MethodTypeDesc MTD_FP = MethodTypeDesc.of(CD_long, CD_FPU, CD_long, CD_long, CD_long, CD_int);
    private static final MethodTypeDesc MTD_LOAD = MethodTypeDesc.of(CD_long, CD_SEGMENT, CD_CONTEXT, CD_long);
    private static final MethodTypeDesc MTD_STORE = MethodTypeDesc.of(CD_boolean, CD_SEGMENT, CD_CONTEXT, CD_long, CD_long);

    /** The guest RAM segment, loaded as a constant from the hidden class's class data. */
    private static final DynamicConstantDesc<?> SEGMENT =
            DynamicConstantDesc.ofNamed(ConstantDescs.BSM_CLASS_DATA, ConstantDescs.DEFAULT_NAME, CD_SEGMENT);

    private static final ClassFile CLASS_FILE = ClassFile.of(ClassFile.ClassHierarchyResolverOption.of(
            ClassHierarchyResolver.defaultResolver().orElse(
                    ClassHierarchyResolver.ofClassLoading(MethodHandles.lookup())).cached()));

    // Fixed local slots of run().
    private static final int THIS = 0, C = 1, BUDGET = 2, DEPTH = 3, H = 4, PC0 = 5, N = 7, SYNCED = 8,
            XARR = 9, FARR = 10, EXIT_PC = 11, SLOT = 13, RM = 14, LINK = 15, EXC = 16, SITE_PC = 17, SITE_K = 18,
            FIRST_REG = 19;


    static ClassDesc desc(Class<?> c) {
        return ClassDesc.ofDescriptor(c.descriptorString());
    }

    /**
     * Compiles {@code plan} into a class named {@code name} (a binary name in this package).
     */
    static Compiled compile(Plan plan, String name) {
        Emitter e = new Emitter(plan);
        byte[] bytes = CLASS_FILE.build(ClassDesc.of(name), clb -> {
            clb.withFlags(ClassFile.ACC_FINAL | ClassFile.ACC_SUPER);
            clb.withSuperclass(CD_REGION);
            clb.withMethodBody(ConstantDescs.INIT_NAME, MTD_INIT, ClassFile.ACC_PUBLIC, cob -> cob
                    .aload(0).aload(1).invokespecial(CD_REGION, ConstantDescs.INIT_NAME, MTD_INIT).return_());
            clb.withMethodBody("run", MTD_RUN, ClassFile.ACC_FINAL, e::emit);
        });
        return new Compiled(bytes, e.linkCount, codeLength(bytes));
    }

    private static int codeLength(byte[] classBytes) {
        if (classBytes.length < MAX_BYTECODE) {
            return classBytes.length;   // small enough whatever the constant pool takes: no need to parse
        }
        for (MethodModel m : CLASS_FILE.parse(classBytes).methods()) {
            if (m.methodName().equalsString("run")) {
                return m.findAttribute(Attributes.code()).orElseThrow().codeLength();
            }
        }
        throw new IllegalStateException("no run method");
    }

    /** The state of one compilation. */
    private static final class Emitter {
        private final Plan plan;
        private final int entry;
        private final int[] xSlot = new int[32];
        private final int[] fSlot = new int[32];
        private final boolean[] xWritten = new boolean[32];
        private final boolean[] fWritten = new boolean[32];
        private boolean usesF;
        /**
         * The region's chainable exits, by exit number: the link slot of a direct exit within the
         * page, or -1 for an exit through the jump cache (indirect, or to another page).
         */
        private final List<Integer> exits = new ArrayList<>();
        /** Direct exits to offsets in the page outside the region, by target: their exit numbers. */
        private final Map<Integer, Integer> directExits = new LinkedHashMap<>();
        /** Direct exits to other pages, by target offset: their exit numbers. */
        private final Map<Integer, Integer> otherPageExits = new LinkedHashMap<>();
        /** Link slots used, and so the size of the region's {@code links}. */
        int linkCount;
        private final Map<Integer, Label> blockLabels = new HashMap<>();
        private final Map<Integer, Integer> blockIndex = new HashMap<>();
        private Label exit, trapExit, interpExit, trapHandler;

        Emitter(Plan plan) {
            this.plan = plan;
            this.entry = plan.entry();
            boolean[] xUsed = new boolean[32];
            boolean[] fUsed = new boolean[32];
            for (Block b : plan.blocks()) {
                for (int k = 0; k < b.length(); k++) {
                    if (k == b.length() - 1 && b.how() == End.INTERPRET) {
                        continue;   // the interpreter runs it, from the registers in the hart
                    }
                    scan(b.insns()[k], xUsed, fUsed);
                }
            }
            int slot = FIRST_REG;
            for (int r = 1; r < 32; r++) {
                if (xUsed[r] || xWritten[r]) {
                    xSlot[r] = slot;
                    slot += 2;
                }
            }
            for (int r = 0; r < 32; r++) {
                if (fUsed[r] || fWritten[r]) {
                    fSlot[r] = slot;
                    slot += 2;
                    usesF = true;
                }
            }
        }

        /** Records which registers {@code insn} reads and writes. */
        private void scan(long insn, boolean[] xUsed, boolean[] fUsed) {
            Op op = Insn.op(insn);
            int rd = Insn.rd(insn), rs1 = Insn.rs1(insn), rs2 = Insn.rs2(insn);
            switch (op.format()) {
                case R, AMO -> { xUsed[rs1] = xUsed[rs2] = true; xWritten[rd] = true; }
                case I, SHIFT, LOAD, CSR, LR -> { xUsed[rs1] = true; xWritten[rd] = true; }
                case S, B -> xUsed[rs1] = xUsed[rs2] = true;
                case U, J, CSRI -> xWritten[rd] = true;
                case FLOAD -> { xUsed[rs1] = true; fWritten[rd] = true; }
                case FSTORE -> { xUsed[rs1] = true; fUsed[rs2] = true; }
                case R4 -> { fUsed[rs1] = fUsed[rs2] = fUsed[Insn.rs3(insn)] = true; fWritten[rd] = true; }
                case FR, FRNR -> { fUsed[rs1] = fUsed[rs2] = true; fWritten[rd] = true; }
                case FR1 -> { fUsed[rs1] = true; fWritten[rd] = true; }
                case F2X, F2X_NR -> { fUsed[rs1] = true; xWritten[rd] = true; }
                case FCMP -> { fUsed[rs1] = fUsed[rs2] = true; xWritten[rd] = true; }
                case X2F, X2F_NR -> { xUsed[rs1] = true; fWritten[rd] = true; }
                case NONE, SFENCE -> { }
            }
            xUsed[0] = false;
            xWritten[0] = false;
        }

        void emit(CodeBuilder cob) {
            exit = cob.newLabel();
            trapExit = cob.newLabel();
            interpExit = cob.newLabel();
            trapHandler = cob.newLabel();
            List<Block> blocks = plan.blocks();
            for (int i = 0; i < blocks.size(); i++) {
                blockLabels.put(blocks.get(i).start(), cob.newLabel());
                blockIndex.put(blocks.get(i).start(), i);
            }
            prologue(cob);
            for (Block b : blocks) {
                cob.labelBinding(blockLabels.get(b.start()));
                emitBlock(cob, b);
            }
            epilogues(cob);
        }

        // ---- prologue and exits ---------------------------------------------------------

        private void prologue(CodeBuilder cob) {
            cob.aload(C).getfield(CD_CONTEXT, "hart", CD_HART).astore(H);
            cob.aload(H).getfield(CD_HART, "pc", CD_long).lstore(PC0);
            cob.iconst_0().istore(N);
            cob.iconst_0().istore(SYNCED);
            cob.iconst_0().istore(SITE_PC);
            cob.iconst_0().istore(SITE_K);
            cob.aload(H).getfield(CD_HART, "x", CD_LONG_ARRAY).astore(XARR);
            for (int r = 1; r < 32; r++) {
                if (xSlot[r] != 0) {
                    cob.aload(XARR).loadConstant(r).laload().lstore(xSlot[r]);
                }
            }
            if (usesF) {
                cob.aload(H).getfield(CD_HART, "f", CD_LONG_ARRAY).astore(FARR);
                for (int r = 0; r < 32; r++) {
                    if (fSlot[r] != 0) {
                        cob.aload(FARR).loadConstant(r).laload().lstore(fSlot[r]);
                    }
                }
            }
        }

        /** Writes the registers back and brings h.pc and h.instret up to date. */
        private void writeBack(CodeBuilder cob) {
            for (int r = 1; r < 32; r++) {
                if (xWritten[r]) {
                    cob.aload(XARR).loadConstant(r).lload(xSlot[r]).lastore();
                }
            }
            for (int r = 0; r < 32; r++) {
                if (fWritten[r]) {
                    cob.aload(FARR).loadConstant(r).lload(fSlot[r]).lastore();
                }
            }
            cob.aload(H).lload(EXIT_PC).putfield(CD_HART, "pc", CD_long);
            cob.aload(H).dup().getfield(CD_HART, "instret", CD_long)
                    .iload(N).iload(SYNCED).isub().i2l().ladd()
                    .putfield(CD_HART, "instret", CD_long);
        }

        private void epilogues(CodeBuilder cob) {
            // EXIT: leave at EXIT_PC; when SLOT is not -1, go on in the region for exit SLOT.
            cob.labelBinding(exit);
            writeBack(cob);
            Label ret = cob.newLabel();
            if (!exits.isEmpty()) {
                List<SwitchCase> cases = new ArrayList<>();
                List<Label> chains = new ArrayList<>();
                for (int k = 0; k < exits.size(); k++) {
                    Label l = cob.newLabel();
                    chains.add(l);
                    cases.add(SwitchCase.of(k, l));
                }
                cob.iload(SLOT).tableswitch(0, exits.size() - 1, ret, cases);
                for (int k = 0; k < exits.size(); k++) {
                    cob.labelBinding(chains.get(k));
                    int link = exits.get(k);
                    if (link >= 0) {
                        // A direct exit within the page: through the link the dispatcher set.
                        Label noLink = cob.newLabel();
                        cob.aload(THIS).getfield(CD_REGION, "links", CD_REGION_ARRAY).loadConstant(link).aaload().astore(LINK);
                        cob.aload(LINK).ifnull(noLink);
                        cob.aload(LINK).getfield(CD_REGION, "valid", CD_boolean).ifeq(noLink);
                        chainChecks(cob, ret);
                        chainCall(cob);
                        cob.labelBinding(noLink);
                        cob.aload(C).aload(THIS).putfield(CD_CONTEXT, "linkFrom", CD_REGION);
                        cob.aload(C).loadConstant(link).putfield(CD_CONTEXT, "linkSlot", CD_int);
                        cob.goto_(ret);
                    } else {
                        // An indirect exit, or one to another page: through the hart's jump cache.
                        chainChecks(cob, ret);
                        cob.aload(C).lload(EXIT_PC).loadConstant(plan.mode())
                                .invokestatic(CD_HELPERS, "next", MethodTypeDesc.of(CD_REGION, CD_CONTEXT, CD_long, CD_int))
                                .astore(LINK);
                        cob.aload(LINK).ifnull(ret);
                        chainCall(cob);
                    }
                }
            }
            cob.labelBinding(ret);
            cob.iload(N).ireturn();

            // The memory accesses' one handler: the trap was thrown by the access at page offset
            // entry + SITE_PC, SITE_K instructions into its block.
            cob.labelBinding(trapHandler);
            cob.astore(EXC);
            cob.lload(PC0).iload(SITE_PC).i2l().ladd().lstore(EXIT_PC);
            cob.iload(N).iload(SITE_K).iadd().istore(N);
            writeBack(cob);
            cob.aload(C).aload(EXC).invokestatic(CD_HELPERS, "raise", MethodTypeDesc.of(CD_void, CD_CONTEXT, CD_TRAP));
            cob.iload(N).iconst_1().iadd().ireturn();

            // TRAP_EXIT: a helper recorded a trap for the instruction at EXIT_PC.
            cob.labelBinding(trapExit);
            writeBack(cob);
            cob.aload(C).invokestatic(CD_HELPERS, "raise", MethodTypeDesc.of(CD_void, CD_CONTEXT));
            cob.iload(N).iconst_1().iadd().ireturn();

            // INTERP_EXIT: the interpreter runs the instruction at EXIT_PC.
            cob.labelBinding(interpExit);
            writeBack(cob);
            cob.aload(C).invokestatic(CD_HELPERS, "interpretOne", MethodTypeDesc.of(CD_void, CD_CONTEXT));
            cob.iload(N).iconst_1().iadd().ireturn();
        }

        /** Goes to {@code ret} unless the budget, the chain depth and the slice allow going on. */
        private void chainChecks(CodeBuilder cob, Label ret) {
            cob.iload(N).iload(BUDGET).if_icmpge(ret);
            cob.iload(DEPTH).loadConstant(Region.MAX_CHAIN_DEPTH).if_icmpge(ret);
            cob.aload(H).getfield(CD_HART, "sliceEnd", CD_boolean).ifne(ret);
        }

        /**
         * Chaining: calls the region in LINK and returns the total. Each exit has its own call
         * site, so each sees the few regions its own exit leads to, never the dispatcher's many.
         */
        private void chainCall(CodeBuilder cob) {
            cob.iload(N).aload(LINK).aload(C).iload(BUDGET).iload(N).isub().iload(DEPTH).iconst_1().iadd()
                    .invokevirtual(CD_REGION, "run", MTD_RUN).iadd().ireturn();
        }

        /** Pushes the virtual address of page offset {@code offset}: pc0 plus its distance from the entry. */
        private void pcAt(CodeBuilder cob, long offset) {
            cob.lload(PC0);
            if (offset != entry) {
                cob.loadConstant(offset - entry).ladd();
            }
        }

        /** Leaves for page offset {@code target}: linked when it is in the page, else through the jump cache. */
        private void leaveTo(CodeBuilder cob, int target) {
            pcAt(cob, target);
            cob.lstore(EXIT_PC);
            int exitIndex;
            if (target >= 0 && target < RegionBuilder.PAGE) {
                exitIndex = directExits.computeIfAbsent(target, t -> {
                    exits.add(linkCount++);
                    return exits.size() - 1;
                });
            } else {
                exitIndex = otherPageExits.computeIfAbsent(target, t -> {
                    exits.add(-1);
                    return exits.size() - 1;
                });
            }
            cob.loadConstant(exitIndex).istore(SLOT).goto_(exit);
        }

        /** Leaves for the address in EXIT_PC, computed by the guest: through the jump cache. */
        private void leaveIndirect(CodeBuilder cob) {
            exits.add(-1);
            cob.loadConstant(exits.size() - 1).istore(SLOT).goto_(exit);
        }

        /** Continues at page offset {@code target} after a block at {@code from}: a JVM branch, or an exit. */
        private void edge(CodeBuilder cob, int from, int target) {
            Label l = blockLabels.get(target);
            if (l == null) {
                leaveTo(cob, target);
                return;
            }
            if (target <= from) {
                // A back edge: every loop has one, so checking here bounds every loop by the budget.
                Label out = cob.newLabel();
                cob.iload(N).iload(BUDGET).if_icmpge(out).goto_(l);
                cob.labelBinding(out);
                pcAt(cob, target);
                cob.lstore(EXIT_PC).iconst_m1().istore(SLOT).goto_(exit);
            } else {
                cob.goto_(l);
            }
        }

        /** Jumps to TRAP_EXIT for the instruction at {@code offset}, {@code k} instructions into the block. */
        private void toTrap(CodeBuilder cob, int offset, int k) {
            pcAt(cob, offset);
            cob.lstore(EXIT_PC);
            if (k != 0) {
                cob.iinc(N, k);
            }
            cob.goto_(trapExit);
        }

        /** Leaves after the instruction at {@code offset} of length {@code len}, {@code k} into the block. */
        private void toNext(CodeBuilder cob, int offset, int len, int k) {
            pcAt(cob, offset + len);
            cob.lstore(EXIT_PC).iinc(N, k + 1).iconst_m1().istore(SLOT).goto_(exit);
        }

        // ---- blocks and instructions ----------------------------------------------------

        private void emitBlock(CodeBuilder cob, Block b) {
            int last = b.length() - 1;
            for (int k = 0; k < b.length(); k++) {
                long insn = b.insns()[k];
                int offset = b.offsets()[k];
                if (k == last && b.how() != End.FALLTHROUGH) {
                    terminator(cob, b, insn, offset, k);
                } else {
                    instruction(cob, insn, offset, k);
                }
            }
            if (b.how() == End.FALLTHROUGH) {
                cob.iinc(N, b.length());
                edge(cob, b.start(), b.end());
            }
        }

        private void terminator(CodeBuilder cob, Block b, long insn, int offset, int k) {
            int len = Insn.length(insn);
            switch (b.how()) {
                case BRANCH -> {
                    cob.iinc(N, b.length());
                    Label taken = cob.newLabel();
                    branch(cob, insn, taken);
                    edge(cob, b.start(), b.end());
                    cob.labelBinding(taken);
                    edge(cob, b.start(), b.target());
                }
                case JUMP -> {
                    if (Insn.rd(insn) != 0) {
                        pcAt(cob, offset + len);
                        storeX(cob, Insn.rd(insn));
                    }
                    cob.iinc(N, b.length());
                    edge(cob, b.start(), b.target());
                }
                case INDIRECT -> {
                    // The target first: rd may be rs1.
                    loadX(cob, Insn.rs1(insn));
                    cob.loadConstant(Insn.imm(insn)).ladd().loadConstant(-2L).land().lstore(EXIT_PC);
                    if (Insn.rd(insn) != 0) {
                        pcAt(cob, offset + len);
                        storeX(cob, Insn.rd(insn));
                    }
                    cob.iinc(N, b.length());
                    leaveIndirect(cob);
                }
                case INTERPRET -> {
                    pcAt(cob, offset);
                    cob.lstore(EXIT_PC);
                    if (k != 0) {
                        cob.iinc(N, k);
                    }
                    cob.goto_(interpExit);
                }
                case FALLTHROUGH -> throw new IllegalStateException();
            }
        }

        /** Emits a conditional branch to {@code taken}. */
        private void branch(CodeBuilder cob, long insn, Label taken) {
            loadX(cob, Insn.rs1(insn));
            loadX(cob, Insn.rs2(insn));
            switch (Insn.op(insn)) {
                case BEQ -> cob.lcmp().ifeq(taken);
                case BNE -> cob.lcmp().ifne(taken);
                case BLT -> cob.lcmp().iflt(taken);
                case BGE -> cob.lcmp().ifge(taken);
                case BLTU -> compareUnsigned(cob).iflt(taken);
                case BGEU -> compareUnsigned(cob).ifge(taken);
                default -> throw new IllegalStateException(Insn.op(insn).toString());
            }
        }

        private static CodeBuilder compareUnsigned(CodeBuilder cob) {
            return cob.invokestatic(ConstantDescs.CD_Long, "compareUnsigned", MTD_I_JJ);
        }

        private void loadX(CodeBuilder cob, int r) {
            if (r == 0) {
                cob.lconst_0();
            } else {
                cob.lload(xSlot[r]);
            }
        }

        /** Stores the long on the stack into register {@code r}; x0 discards it. */
        private void storeX(CodeBuilder cob, int r) {
            if (r == 0) {
                cob.pop2();
            } else {
                cob.lstore(xSlot[r]);
            }
        }

        private void instruction(CodeBuilder cob, long insn, int offset, int k) {
            Op op = Insn.op(insn);
            int rd = Insn.rd(insn), rs1 = Insn.rs1(insn), rs2 = Insn.rs2(insn);
            long imm = Insn.imm(insn);
            int len = Insn.length(insn);
            switch (op) {
                case LUI -> { if (rd != 0) { cob.loadConstant(imm); storeX(cob, rd); } }
                case AUIPC -> { if (rd != 0) { pcAt(cob, offset + imm); storeX(cob, rd); } }
                case ADDI -> aluImm(cob, rd, rs1, imm, () -> cob.ladd());
                case XORI -> aluImm(cob, rd, rs1, imm, () -> cob.lxor());
                case ORI -> aluImm(cob, rd, rs1, imm, () -> cob.lor());
                case ANDI -> aluImm(cob, rd, rs1, imm, () -> cob.land());
                case SLTI -> aluImm(cob, rd, rs1, imm, () -> cob.lcmp().loadConstant(31).iushr().i2l());
                case SLTIU -> aluImm(cob, rd, rs1, imm, () -> compareUnsigned(cob).loadConstant(31).iushr().i2l());
                case SLLI -> shiftImm(cob, rd, rs1, imm, () -> cob.lshl());
                case SRLI -> shiftImm(cob, rd, rs1, imm, () -> cob.lushr());
                case SRAI -> shiftImm(cob, rd, rs1, imm, () -> cob.lshr());
                case ADD -> alu(cob, rd, rs1, rs2, () -> cob.ladd());
                case SUB -> alu(cob, rd, rs1, rs2, () -> cob.lsub());
                case XOR -> alu(cob, rd, rs1, rs2, () -> cob.lxor());
                case OR -> alu(cob, rd, rs1, rs2, () -> cob.lor());
                case AND -> alu(cob, rd, rs1, rs2, () -> cob.land());
                case SLT -> alu(cob, rd, rs1, rs2, () -> cob.lcmp().loadConstant(31).iushr().i2l());
                case SLTU -> alu(cob, rd, rs1, rs2, () -> compareUnsigned(cob).loadConstant(31).iushr().i2l());
                case SLL -> alu(cob, rd, rs1, rs2, () -> cob.l2i().lshl());
                case SRL -> alu(cob, rd, rs1, rs2, () -> cob.l2i().lushr());
                case SRA -> alu(cob, rd, rs1, rs2, () -> cob.l2i().lshr());
                case MUL -> alu(cob, rd, rs1, rs2, () -> cob.lmul());
                case MULH -> alu(cob, rd, rs1, rs2, () -> cob.invokestatic(CD_MATH, "multiplyHigh", MTD_J_JJ));
                case MULHU -> alu(cob, rd, rs1, rs2, () -> cob.invokestatic(CD_MATH, "unsignedMultiplyHigh", MTD_J_JJ));
                case MULHSU, DIV, DIVU, REM, REMU, DIVW, DIVUW, REMW, REMUW -> alu(cob, rd, rs1, rs2,
                        () -> cob.invokestatic(CD_INTEGER_OPS, op.name().toLowerCase(java.util.Locale.ROOT), MTD_J_JJ));
                case ADDIW -> word(cob, rd, rs1, () -> cob.loadConstant((int) imm).iadd());
                case SLLIW -> word(cob, rd, rs1, () -> cob.loadConstant((int) imm).ishl());
                case SRLIW -> word(cob, rd, rs1, () -> cob.loadConstant((int) imm).iushr());
                case SRAIW -> word(cob, rd, rs1, () -> cob.loadConstant((int) imm).ishr());
                case ADDW -> word2(cob, rd, rs1, rs2, () -> cob.iadd());
                case SUBW -> word2(cob, rd, rs1, rs2, () -> cob.isub());
                case SLLW -> word2(cob, rd, rs1, rs2, () -> cob.ishl());
                case SRLW -> word2(cob, rd, rs1, rs2, () -> cob.iushr());
                case SRAW -> word2(cob, rd, rs1, rs2, () -> cob.ishr());
                case MULW -> word2(cob, rd, rs1, rs2, () -> cob.imul());
                case FENCE -> cob.invokestatic(desc(java.lang.invoke.VarHandle.class), "fullFence", MethodTypeDesc.of(CD_void));
                case LB, LH, LW, LD, LBU, LHU, LWU, FLW, FLD -> load(cob, op, insn, offset, k);
                case SB, SH, SW, SD, FSW, FSD -> store(cob, op, insn, offset, len, k);
                case CSRRW, CSRRS, CSRRC, CSRRWI, CSRRSI, CSRRCI -> csr(cob, op, insn, offset, len, k);
                case LR_W, LR_D, SC_W, SC_D, AMOSWAP_W, AMOADD_W, AMOXOR_W, AMOAND_W, AMOOR_W, AMOMIN_W, AMOMAX_W,
                     AMOMINU_W, AMOMAXU_W, AMOSWAP_D, AMOADD_D, AMOXOR_D, AMOAND_D, AMOOR_D, AMOMIN_D, AMOMAX_D,
                     AMOMINU_D, AMOMAXU_D -> atomic(cob, op, insn, offset, len, k);
                default -> {
                    if (FloatOps.isComputational(op)) {
                        fp(cob, op, insn, offset, k);
                    } else {
                        throw new IllegalStateException("no translation for " + op);
                    }
                }
            }
        }

        private void aluImm(CodeBuilder cob, int rd, int rs1, long imm, Runnable op) {
            if (rd == 0) {
                return;
            }
            loadX(cob, rs1);
            cob.loadConstant(imm);
            op.run();
            storeX(cob, rd);
        }

        private void shiftImm(CodeBuilder cob, int rd, int rs1, long shamt, Runnable op) {
            if (rd == 0) {
                return;
            }
            loadX(cob, rs1);
            cob.loadConstant((int) shamt);
            op.run();
            storeX(cob, rd);
        }

        private void alu(CodeBuilder cob, int rd, int rs1, int rs2, Runnable op) {
            if (rd == 0) {
                return;
            }
            loadX(cob, rs1);
            loadX(cob, rs2);
            op.run();
            storeX(cob, rd);
        }

        /** A 32-bit op on the low word of rs1 and an operand {@code op} pushes; the result sign-extended. */
        private void word(CodeBuilder cob, int rd, int rs1, Runnable op) {
            if (rd == 0) {
                return;
            }
            loadX(cob, rs1);
            cob.l2i();
            op.run();
            cob.i2l();
            storeX(cob, rd);
        }

        private void word2(CodeBuilder cob, int rd, int rs1, int rs2, Runnable op) {
            if (rd == 0) {
                return;
            }
            loadX(cob, rs1);
            cob.l2i();
            loadX(cob, rs2);
            cob.l2i();
            op.run();
            cob.i2l();
            storeX(cob, rd);
        }

        // ---- memory ---------------------------------------------------------------------

        private static int width(Op op) {
            return switch (op) {
                case LB, LBU, SB -> 1;
                case LH, LHU, SH -> 2;
                case LW, LWU, SW, FLW, FSW -> 4;
                default -> 8;
            };
        }

        /** Pushes the guest RAM segment (a constant), the context and the access's virtual address. */
        private void access(CodeBuilder cob, long insn) {
            cob.loadConstant(SEGMENT).aload(C);
            loadX(cob, Insn.rs1(insn));
            long imm = Insn.imm(insn);
            if (imm != 0) {
                cob.loadConstant(imm).ladd();
            }
        }

        private void load(CodeBuilder cob, Op op, long insn, int offset, int k) {
            int rd = Insn.rd(insn);
            boolean fp = op == Op.FLW || op == Op.FLD;
            if (fp) {
                markFpDirty(cob);   // as the interpreter: FS is Dirty even if the load then faults
            }
            // The helper is the TLB hit path (tag compare, one segment access), which C2
            // inlines, and the call to the MMU on a miss, which records a trap instead of throwing.
            access(cob, insn);
            guarded(cob, offset, k, () -> cob.invokestatic(CD_HELPERS, op.name().toLowerCase(java.util.Locale.ROOT), MTD_LOAD));
            if (fp) {
                cob.lstore(fSlot[rd]);
            } else {
                storeX(cob, rd);
            }
        }

        private void store(CodeBuilder cob, Op op, long insn, int offset, int len, int k) {
            boolean fp = op == Op.FSW || op == Op.FSD;
            int rs2 = Insn.rs2(insn);
            access(cob, insn);
            if (fp) {
                cob.lload(fSlot[rs2]);
            } else {
                loadX(cob, rs2);
            }
            guarded(cob, offset, k, () -> cob.invokestatic(CD_HELPERS, op.name().toLowerCase(java.util.Locale.ROOT), MTD_STORE));
            Label done = cob.newLabel();
            cob.ifne(done);
            toNext(cob, offset, len, k);   // the store changed code: leave, so it is fetched afresh
            cob.labelBinding(done);
        }

        /**
         * Emits {@code call}, a memory helper whose MMU slow path throws the hart's preallocated
         * {@code Trap} on a fault, covered by the region's trap handler, which leaves for the
         * instruction at {@code offset}, {@code k} into its block. A fault costs an exception
         * dispatch; in exchange the region has no branch after the access for C2 to prune and
         * later deoptimize on, since guest page faults strike at sites that never faulted before.
         */
        private void guarded(CodeBuilder cob, int offset, int k, Runnable call) {
            // The site: constants C2 keeps only for the exception path, not stores on the fast path.
            cob.loadConstant(offset - entry).istore(SITE_PC).loadConstant(k).istore(SITE_K);
            Label start = cob.newLabel();
            Label end = cob.newLabel();
            cob.labelBinding(start);
            call.run();
            cob.labelBinding(end);
            cob.exceptionCatch(start, end, trapHandler, CD_TRAP);
        }

        /** Brings h.instret up to date to include the instruction {@code k} into the block, as the interpreter counts it. */
        private void syncInstret(CodeBuilder cob, int k) {
            cob.aload(H).dup().getfield(CD_HART, "instret", CD_long)
                    .iload(N).loadConstant(k + 1).iadd().iload(SYNCED).isub().i2l().ladd()
                    .putfield(CD_HART, "instret", CD_long);
            cob.iload(N).loadConstant(k + 1).iadd().istore(SYNCED);
        }

        /** After a helper returning a long: to TRAP_EXIT if it trapped, else the value to rd, then out if the slice ended. */
        private void resultThenCheck(CodeBuilder cob, int rd, int offset, int len, int k) {
            Label ok = cob.newLabel();
            Label cont = cob.newLabel();
            cob.aload(C).getfield(CD_CONTEXT, "trapPending", CD_boolean).ifeq(ok);
            cob.pop2();
            toTrap(cob, offset, k);
            cob.labelBinding(ok);
            storeX(cob, rd);
            cob.aload(H).getfield(CD_HART, "sliceEnd", CD_boolean).ifeq(cont);
            toNext(cob, offset, len, k);
            cob.labelBinding(cont);
        }

        private void csr(CodeBuilder cob, Op op, long insn, int offset, int len, int k) {
            int rs1 = Insn.rs1(insn);
            syncInstret(cob, k);
            cob.aload(C).loadConstant(Insn.csr(insn));
            switch (op) {
                case CSRRW -> { loadX(cob, rs1); cob.loadConstant(-1L).iconst_1(); }
                case CSRRS -> { cob.loadConstant(-1L); loadX(cob, rs1); cob.loadConstant(rs1 != 0 ? 1 : 0); }
                case CSRRC -> { cob.lconst_0(); loadX(cob, rs1); cob.loadConstant(rs1 != 0 ? 1 : 0); }
                case CSRRWI -> cob.loadConstant((long) rs1).loadConstant(-1L).iconst_1();
                case CSRRSI -> cob.loadConstant(-1L).loadConstant((long) rs1).loadConstant(rs1 != 0 ? 1 : 0);
                default -> cob.lconst_0().loadConstant((long) rs1).loadConstant(rs1 != 0 ? 1 : 0);
            }
            cob.invokestatic(CD_HELPERS, "csr", MethodTypeDesc.of(CD_long, CD_CONTEXT, CD_int, CD_long, CD_long, CD_boolean));
            resultThenCheck(cob, Insn.rd(insn), offset, len, k);
        }

        private void atomic(CodeBuilder cob, Op op, long insn, int offset, int len, int k) {
            boolean dbl = op.name().endsWith("_D");
            cob.aload(C);
            loadX(cob, Insn.rs1(insn));
            switch (op) {
                case LR_W, LR_D -> cob.loadConstant(dbl ? 1 : 0)
                        .invokestatic(CD_HELPERS, "lr", MethodTypeDesc.of(CD_long, CD_CONTEXT, CD_long, CD_boolean));
                case SC_W, SC_D -> {
                    loadX(cob, Insn.rs2(insn));
                    cob.loadConstant(dbl ? 1 : 0)
                            .invokestatic(CD_HELPERS, "sc", MethodTypeDesc.of(CD_long, CD_CONTEXT, CD_long, CD_long, CD_boolean));
                }
                default -> {
                    loadX(cob, Insn.rs2(insn));
                    cob.loadConstant(op.ordinal()).invokestatic(CD_HELPERS, dbl ? "amo64" : "amo32",
                            MethodTypeDesc.of(CD_long, CD_CONTEXT, CD_long, CD_long, CD_int));
                }
            }
            resultThenCheck(cob, Insn.rd(insn), offset, len, k);
        }

        // ---- floating point -------------------------------------------------------------

        private void markFpDirty(CodeBuilder cob) {
            cob.aload(H).dup().getfield(CD_HART, "mstatus", CD_long).loadConstant(Mstatus.FS_DIRTY).lor()
                    .putfield(CD_HART, "mstatus", CD_long);
            if (TranslationCache.virtual(plan.mode())) {   // with V=1 both FS fields (H extension § vsstatus)
                cob.aload(H).dup().getfield(CD_HART, "vsstatus", CD_long).loadConstant(Mstatus.FS_DIRTY).lor()
                        .putfield(CD_HART, "vsstatus", CD_long);
            }
        }

        private void fp(CodeBuilder cob, Op op, long insn, int offset, int k) {
            Label illegal = null;
            boolean rounds = FloatOps.usesRoundingMode(op);
            if (rounds && Insn.rm(insn) == 7) {
                // DYN: frm is read at run time; a reserved frm makes the instruction illegal,
                // which the interpreter raises.
                illegal = cob.newLabel();
                cob.aload(H).getfield(CD_HART, "frm", CD_int).dup().istore(RM).loadConstant(4).if_icmpgt(illegal);
            }
            cob.aload(H).getfield(CD_HART, "fpu", CD_FPU);
            int rs1 = Insn.rs1(insn);
            if (FloatOps.readsX(op)) {
                loadX(cob, rs1);
            } else {
                cob.lload(fSlot[rs1]);
            }
            switch (op.format()) {
                case R4, FR, FRNR, FCMP -> cob.lload(fSlot[Insn.rs2(insn)]);
                default -> cob.lconst_0();
            }
            if (op.format() == Op.Format.R4) {
                cob.lload(fSlot[Insn.rs3(insn)]);
            } else {
                cob.lconst_0();
            }
            if (!rounds) {
                cob.iconst_0();
            } else if (Insn.rm(insn) == 7) {
                cob.iload(RM);
            } else {
                cob.loadConstant(Insn.rm(insn));
            }
            cob.invokestatic(CD_FLOAT_OPS, op.name(), MTD_FP);
            if (FloatOps.writesX(op)) {
                storeX(cob, Insn.rd(insn));
            } else {
                cob.lstore(fSlot[Insn.rd(insn)]);
            }
            markFpDirty(cob);
            if (illegal != null) {
                Label done = cob.newLabel();
                cob.goto_(done);
                cob.labelBinding(illegal);
                pcAt(cob, offset);
                cob.lstore(EXIT_PC);
                if (k != 0) {
                    cob.iinc(N, k);
                }
                cob.goto_(interpExit);
                cob.labelBinding(done);
            }
        }
    }
}
