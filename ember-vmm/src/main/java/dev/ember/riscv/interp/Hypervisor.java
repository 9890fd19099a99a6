package dev.ember.riscv.interp;

import static dev.ember.riscv.isa.Insn.rd;
import static dev.ember.riscv.isa.Insn.rs1;
import static dev.ember.riscv.isa.Insn.rs2;

import dev.ember.riscv.cpu.Hart;
import dev.ember.riscv.cpu.Hstatus;
import dev.ember.riscv.cpu.Mstatus;
import dev.ember.riscv.cpu.Privilege;
import dev.ember.riscv.isa.Insn;
import dev.ember.riscv.isa.OpCode;

/**
 * The H extension's instructions (privileged ISA, "H" Extension, § Hypervisor Instructions):
 * the virtual-machine loads and stores HLV, HLVX and HSV, which let a hypervisor reach its
 * guest's memory through the guest's two-stage translation, and the fences HFENCE.VVMA and
 * HFENCE.GVMA. Both engines run them here: they are rare, and a region leaves them to the
 * interpreter as it does every SYSTEM instruction.
 *
 * <p>Without the extension they are illegal; with V=1 they raise a virtual-instruction
 * exception; in U-mode HLV, HLVX and HSV need {@code hstatus.HU}, and the fences are illegal.
 */
final class Hypervisor {

    private Hypervisor() {}

    /** Executes the hypervisor instruction {@code d} at {@code pc}. {@return the next pc} */
    static long execute(Hart h, long d, long pc) {
        h.pc = pc;
        int op = Insn.opIndex(d);
        if (!h.hExtension) {
            throw h.illegalInstruction();
        }
        if (h.virt) {
            throw h.virtualInstruction();
        }
        boolean fence = op == OpCode.HFENCE_VVMA || op == OpCode.HFENCE_GVMA;
        if (h.priv == Privilege.USER && (fence || (h.hstatus & Hstatus.HU) == 0)) {
            throw h.illegalInstruction();
        }
        long[] x = h.x;
        long address = x[rs1(d)];
        long value = switch (op) {
            case OpCode.HFENCE_VVMA -> fence(h, false);
            case OpCode.HFENCE_GVMA -> fence(h, true);
            case OpCode.HLV_B -> (byte) h.mmu.hypervisorLoad(address, 1, false);
            case OpCode.HLV_BU -> h.mmu.hypervisorLoad(address, 1, false);
            case OpCode.HLV_H -> (short) h.mmu.hypervisorLoad(address, 2, false);
            case OpCode.HLV_HU -> h.mmu.hypervisorLoad(address, 2, false);
            case OpCode.HLVX_HU -> h.mmu.hypervisorLoad(address, 2, true);
            case OpCode.HLV_W -> (int) h.mmu.hypervisorLoad(address, 4, false);
            case OpCode.HLV_WU -> h.mmu.hypervisorLoad(address, 4, false);
            case OpCode.HLVX_WU -> h.mmu.hypervisorLoad(address, 4, true);
            case OpCode.HLV_D -> h.mmu.hypervisorLoad(address, 8, false);
            case OpCode.HSV_B -> store(h, address, 1, x[rs2(d)]);
            case OpCode.HSV_H -> store(h, address, 2, x[rs2(d)]);
            case OpCode.HSV_W -> store(h, address, 4, x[rs2(d)]);
            case OpCode.HSV_D -> store(h, address, 8, x[rs2(d)]);
            default -> throw new IllegalStateException("not a hypervisor op: " + Insn.op(d));
        };
        if (!fence && op < OpCode.HSV_B && rd(d) != 0) {
            x[rd(d)] = value;
        }
        return pc + 4;
    }

    private static long store(Hart h, long address, int width, long value) {
        h.mmu.hypervisorStore(address, width, value);
        return 0;
    }

    /**
     * HFENCE.VVMA and HFENCE.GVMA drop the guests' cached translations. Ember drops all of them,
     * whatever address, ASID or VMID is named: the specification allows a fence to do more than
     * asked. HFENCE.GVMA is illegal in HS-mode under {@code mstatus.TVM}.
     */
    private static long fence(Hart h, boolean gstage) {
        if (gstage && h.priv == Privilege.SUPERVISOR && (h.mstatus & Mstatus.TVM) != 0) {
            throw h.illegalInstruction();
        }
        h.mmu.flushGuest();
        return 0;
    }
}
