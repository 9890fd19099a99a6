# Misaligned loads and stores, in M-mode: every width at every misalignment, within a page and
# across page boundaries, against bytes whose values are known (byte i of the buffer is
# (i * 0x9D + 0x3B) & 0xFF, so sign bits vary). Ember performs misaligned loads and stores
# in hardware (unprivileged ISA §2.6 allows it), as an aligned access would. Each access
# instruction is one routine that runs at every offset of the windows, aligned ones included,
# so translated code meets both from one instruction; the sweep repeats PASSES times.
#
# Loads (the value, zero- or sign-extended as the instruction says):
#   2 lh   3 lhu   4 lw   5 lwu   6 ld   7 flw   8 fld   9 c.lw   10 c.ld   11 c.lwsp   12 c.fld
# Stores (the bytes written, and the bytes either side left alone):
#  13 sh  14 sw   15 sd  16 fsw  17 fsd  18 c.sw  19 c.sd  20 c.sdsp  21 c.fsd
# A failure leaves the buffer offset in diag word 6 and, for stores, the byte index in word 7.

    .include "common.S"

    .equ BUF, RAM_BASE + 0x300000
    .equ BUF_BYTES, 0x3000
    .equ PASSES, 10

# rd = the known byte at buffer offset ri (rd and ri may be the same register); uses t3.
.macro PATTERN rd, ri
    li   t3, 0x9d
    mul  \rd, \ri, t3
    addi \rd, \rd, 0x3b
    andi \rd, \rd, 0xff
.endm

    .text
    .globl _start
_start:
    la   t0, unexpected_trap
    csrw mtvec, t0
    li   t0, MSTATUS_FS
    csrs mstatus, t0

    li   s1, 0                    # fill the buffer
    li   s2, BUF_BYTES
    li   s3, BUF
1:  PATTERN t0, s1
    add  t1, s3, s1
    sb   t0, 0(t1)
    addi s1, s1, 1
    blt  s1, s2, 1b

    li   s11, PASSES
sweep:

# ---- loads -------------------------------------------------------------------------------
    la   s0, loads
next_load:
    ld   s1, 0(s0)                # the routine: a0 = the value at address a0
    beqz s1, stores_begin
    ld   s2, 8(s0)                # width
    ld   s3, 16(s0)               # signed
    ld   gp, 24(s0)
    la   s4, windows
next_load_window:
    ld   s5, 0(s4)                # from offset
    beqz s5, load_done
    ld   s6, 8(s4)                # to offset
1:  li   a0, BUF
    add  a0, a0, s5
    jalr s1
    mv   s7, a0
    mv   a0, s5
    mv   a1, s2
    mv   a2, s3
    call expect
    beq  s7, a0, 2f
    DIAG6 s5
    FAILR s7, a0
2:  addi s5, s5, 1
    blt  s5, s6, 1b
    addi s4, s4, 16
    j    next_load_window
load_done:
    addi s0, s0, 32
    j    next_load

# ---- stores ------------------------------------------------------------------------------
stores_begin:
    la   s0, stores
next_store:
    ld   s1, 0(s0)                # the routine: stores a1 at address a0
    beqz s1, sweep_done
    ld   s2, 8(s0)
    ld   gp, 24(s0)
    la   s4, windows
next_store_window:
    ld   s5, 0(s4)
    beqz s5, store_done
    ld   s6, 8(s4)
1:  li   t0, 0x0101010101010101   # a value that differs at each offset
    mul  t0, t0, s5
    li   t1, 0x8877665544332211
    add  s7, t0, t1
    li   a0, BUF
    add  a0, a0, s5
    mv   a1, s7
    jalr s1
    mv   a0, s5
    mv   a1, s2
    mv   a2, s7
    call check_bytes
    addi s5, s5, 1
    blt  s5, s6, 1b
    addi s4, s4, 16
    j    next_store_window
store_done:
    addi s0, s0, 32
    j    next_store

sweep_done:
    addi s11, s11, -1
    bnez s11, sweep
    PASS

# a0 = the value a load of a1 bytes at buffer offset a0 must return, sign-extended if a2 != 0.
expect:
    li   t0, 0
    addi t1, a1, -1
1:  add  t2, a0, t1
    PATTERN t2, t2
    slli t0, t0, 8
    or   t0, t0, t2
    addi t1, t1, -1
    bgez t1, 1b
    beqz a2, 2f
    li   t1, 64
    slli t2, a1, 3
    sub  t1, t1, t2
    sll  t0, t0, t1
    sra  t0, t0, t1
2:  mv   a0, t0
    ret

# Checks that bytes [a0, a0 + a1) of the buffer hold a2's low bytes and that the bytes either
# side hold the pattern, then writes the pattern back.
check_bytes:
    li   t4, -1
1:  add  t0, a0, t4
    li   t1, BUF
    add  t1, t1, t0
    lbu  t2, 0(t1)
    bltz t4, 2f
    bge  t4, a1, 2f
    slli t3, t4, 3
    srl  t3, a2, t3
    andi t3, t3, 0xff
    j    3f
2:  PATTERN t3, t0
3:  beq  t2, t3, 4f
    DIAG6 a0
    DIAG7 t4
    FAILR t2, t3
4:  addi t4, t4, 1
    ble  t4, a1, 1b
    li   t4, 0
5:  add  t0, a0, t4
    li   t1, BUF
    add  t1, t1, t0
    PATTERN t2, t0
    sb   t2, 0(t1)
    addi t4, t4, 1
    blt  t4, a1, 5b
    ret

# ---- the accesses, one instruction each ----------------------------------------------------
load_lh:   lh   a0, 0(a0)
           ret
load_lhu:  lhu  a0, 0(a0)
           ret
load_lw:   lw   a0, 0(a0)
           ret
load_lwu:  lwu  a0, 0(a0)
           ret
load_ld:   ld   a0, 0(a0)
           ret
load_flw:  flw  fa0, 0(a0)
           fmv.x.w a0, fa0
           ret
load_fld:  fld  fa0, 0(a0)
           fmv.x.d a0, fa0
           ret
store_sh:  sh   a1, 0(a0)
           ret
store_sw:  sw   a1, 0(a0)
           ret
store_sd:  sd   a1, 0(a0)
           ret
store_fsw: fmv.w.x fa0, a1
           fsw  fa0, 0(a0)
           ret
store_fsd: fmv.d.x fa0, a1
           fsd  fa0, 0(a0)
           ret
    .option rvc
load_c_lw:
    c.lw   a0, 0(a0)
    c.jr   ra
load_c_ld:
    c.ld   a0, 0(a0)
    c.jr   ra
load_c_lwsp:
    c.mv   t0, sp
    c.mv   sp, a0
    c.lwsp a0, 0(sp)
    c.mv   sp, t0
    c.jr   ra
load_c_fld:
    c.fld  fa0, 0(a0)
    fmv.x.d a0, fa0
    c.jr   ra
store_c_sw:
    c.sw   a1, 0(a0)
    c.jr   ra
store_c_sd:
    c.sd   a1, 0(a0)
    c.jr   ra
store_c_sdsp:
    c.mv   t0, sp
    c.mv   sp, a0
    c.sdsp a1, 0(sp)
    c.mv   sp, t0
    c.jr   ra
store_c_fsd:
    fmv.d.x fa0, a1
    c.fsd  fa0, 0(a0)
    c.jr   ra
    .option norvc

    .data
    .balign 8
# routine, width, signed, test number
loads:
    .dword load_lh,     2, 1, 2
    .dword load_lhu,    2, 0, 3
    .dword load_lw,     4, 1, 4
    .dword load_lwu,    4, 0, 5
    .dword load_ld,     8, 0, 6
    .dword load_flw,    4, 1, 7
    .dword load_fld,    8, 0, 8
    .dword load_c_lw,   4, 1, 9
    .dword load_c_ld,   8, 0, 10
    .dword load_c_lwsp, 4, 1, 11
    .dword load_c_fld,  8, 0, 12
    .dword 0, 0, 0, 0
stores:
    .dword store_sh,     2, 0, 13
    .dword store_sw,     4, 0, 14
    .dword store_sd,     8, 0, 15
    .dword store_fsw,    4, 0, 16
    .dword store_fsd,    8, 0, 17
    .dword store_c_sw,   4, 0, 18
    .dword store_c_sd,   8, 0, 19
    .dword store_c_sdsp, 8, 0, 20
    .dword store_c_fsd,  8, 0, 21
    .dword 0, 0, 0, 0
# buffer offsets [from, to): inside a page, and across the two page boundaries
windows:
    .dword 0x7f0, 0x810
    .dword 0xfe0, 0x1010
    .dword 0x1ff0, 0x2008
    .dword 0, 0
