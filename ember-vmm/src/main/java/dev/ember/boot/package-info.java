/**
 * Loaders for what the VMM boots: RISC-V Linux {@code Image} and ELF kernels, initrds, M-mode
 * firmware and bare-metal ELF programs. Every file is treated as untrusted and checked before
 * anything is written to guest memory; problems are {@link dev.ember.boot.BootException}s with
 * a message for the user.
 *
 * <p>May use: {@code memory}.
 *
 * <p>Package map: uses memory, log.
 */
package dev.ember.boot;
