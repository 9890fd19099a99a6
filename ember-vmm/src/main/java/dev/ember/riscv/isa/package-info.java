/**
 * Pure facts about the RISC-V instruction set: the RVC expansion table, CSR numbers and trap
 * causes. Nothing here holds state.
 *
 * <p>May use: the JDK only.
 */
package dev.ember.riscv.isa;
