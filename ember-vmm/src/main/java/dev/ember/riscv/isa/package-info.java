/**
 * Pure facts about the RISC-V instruction set: the decode table ({@link dev.ember.riscv.isa.Decoder},
 * in the manuals' bit-pattern notation), the ops it yields ({@link dev.ember.riscv.isa.Op},
 * {@link dev.ember.riscv.isa.OpCode}), the packed decoded instruction both engines run
 * ({@link dev.ember.riscv.isa.Insn}), the RVC expansion table, a disassembler, CSR numbers and
 * trap causes. Nothing here holds state.
 *
 * <p>May use: the JDK only.
 *
 * <p>Package map: uses nothing.
 */
package dev.ember.riscv.isa;
