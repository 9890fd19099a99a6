# Shared by the bare-metal test programs, which say `.include "common.S"` first (the test
# harness pastes this file there): the HTIF words, the pass and fail exits, and check macros.
#
# Conventions:
#   gp      the number of the check under way (TEST n); a failure reports it through tohost
#           as (n << 1) | 1, so each check fails with its own exit status
#   t5, t6  scratch of the CHECK macros: what was seen and what was expected, kept for `diag`
#   diag    what a failure saw, for the harness's message: test number, seen, expected,
#           mcause, mepc, mtval, and the program's own words 6 and 7 (DIAG6, DIAG7)
#   FINISHER  a program that defines it (.equ FINISHER, 1) before this file also ends through
#           the sifive,test finisher at 0x100000 after tohost, so that it runs on QEMU
#
# The exits run in M-mode. A hart that has reported waits for the host to stop the machine.

    .equ RAM_BASE,      0x80000000
    .equ UART_BASE,     0x10000000
    .equ MSTATUS_MIE,   0x8
    .equ MSTATUS_MPP,   0x1800
    .equ MSTATUS_MPP_S, 0x0800
    .equ MSTATUS_MPRV,  0x20000
    .equ MSTATUS_SUM,   0x40000
    .equ MSTATUS_MXR,   0x80000
    .equ MSTATUS_FS,    0x6000
    .equ MSTATUS_SPP,   0x100

    .equ CAUSE_FETCH_MISALIGNED,  0
    .equ CAUSE_FETCH_ACCESS,      1
    .equ CAUSE_ILLEGAL,           2
    .equ CAUSE_BREAKPOINT,        3
    .equ CAUSE_LOAD_MISALIGNED,   4
    .equ CAUSE_LOAD_ACCESS,       5
    .equ CAUSE_STORE_MISALIGNED,  6
    .equ CAUSE_STORE_ACCESS,      7
    .equ CAUSE_ECALL_U,           8
    .equ CAUSE_ECALL_S,           9
    .equ CAUSE_ECALL_M,           11
    .equ CAUSE_FETCH_PAGE,        12
    .equ CAUSE_LOAD_PAGE,         13
    .equ CAUSE_STORE_PAGE,        15

# Page-table entry bits (privileged ISA §4.3.1), for the programs that build page tables.
    .equ PTE_V, 1
    .equ PTE_R, 2
    .equ PTE_W, 4
    .equ PTE_X, 8
    .equ PTE_U, 16
    .equ PTE_G, 32
    .equ PTE_A, 64
    .equ PTE_D, 128
    .equ PTE_AD, PTE_A | PTE_D

# Writes entry `index` of the table at `table`: a PTE for (guest) physical `target` with
# `flags` (constants; uses t0 and t1).
.macro PTE table, index, target, flags
    li   t0, \table + 8 * (\index)
    li   t1, ((\target) >> 12) << 10 | (\flags)
    sd   t1, 0(t0)
.endm

# Starts check n.
.macro TEST n
    li   gp, \n
.endm

# Fails the current check unless register `reg` holds the constant `expected`.
.macro CHECK reg, expected
    mv   t5, \reg
    li   t6, \expected
    beq  t5, t6, .Lcheck_ok\@
    j    fail
.Lcheck_ok\@:
.endm

# Fails the current check unless registers `reg` and `expected` are equal.
.macro CHECKR reg, expected
    mv   t5, \reg
    mv   t6, \expected
    beq  t5, t6, .Lcheck_ok\@
    j    fail
.Lcheck_ok\@:
.endm

# Fails the current check unless `reg` holds the address of `label` plus `offset`.
.macro CHECKA reg, label, offset=0
    mv   t5, \reg
    la   t6, \label
    addi t6, t6, \offset
    beq  t5, t6, .Lcheck_ok\@
    j    fail
.Lcheck_ok\@:
.endm

# Fails the current check with `seen` and `expected` set from registers, unconditionally.
.macro FAILR seen, expected
    mv   t5, \seen
    mv   t6, \expected
    j    fail
.endm

# Keeps `reg` in diag's word 6 or 7, for the message of a failure that follows.
.macro DIAG6 reg
    la   t6, diag
    sd   \reg, 48(t6)
.endm
.macro DIAG7 reg
    la   t6, diag
    sd   \reg, 56(t6)
.endm

# Passes: reports status 0.
.macro PASS
    j    pass
.endm

    .text
pass:
    li   t0, 1
    j    report

# Reports the check in gp as failed (999 if none is under way), after saving what it saw.
fail:
    bnez gp, 1f
    li   gp, 999
1:  la   t0, diag
    sd   gp, 0(t0)
    sd   t5, 8(t0)
    sd   t6, 16(t0)
    csrr t1, mcause
    sd   t1, 24(t0)
    csrr t1, mepc
    sd   t1, 32(t0)
    csrr t1, mtval
    sd   t1, 40(t0)
    slli t0, gp, 1
    ori  t0, t0, 1
report:
    la   t1, tohost
    sd   t0, 0(t1)
.ifdef FINISHER
    # A program that also runs on QEMU (which has no HTIF) ends through the sifive,test
    # finisher too: 0x5555 passes, (status << 16) | 0x3333 fails with that exit status.
    srli t0, t0, 1
.ifdef QEMU
    # On QEMU, the diag words also go to the UART (16550 at UART_BASE) in hex, one a line.
    beqz t0, 5f
    la   a0, diag
    li   a1, 8
3:  ld   a2, 0(a0)
    li   a3, 60
4:  srl  a4, a2, a3
    andi a4, a4, 15
    addi a4, a4, '0'
    li   a5, '9'
    ble  a4, a5, 6f
    addi a4, a4, 'a' - '9' - 1
6:  li   a5, UART_BASE
    sb   a4, 0(a5)
    addi a3, a3, -4
    bgez a3, 4b
    li   a4, '\n'
    sb   a4, 0(a5)
    addi a0, a0, 8
    addi a1, a1, -1
    bnez a1, 3b
5:
.endif
    li   t2, 0x5555
    beqz t0, 2f
    slli t2, t0, 16
    li   t1, 0x3333
    or   t2, t2, t1
2:  li   t1, 0x100000
    sw   t2, 0(t1)
.endif
1:  j    1b

# A trap no check expected: fails the current check, with seen = mcause and expected = -1.
unexpected_trap:
    csrr t5, mcause
    li   t6, -1
    j    fail

    .data
    .balign 64
    .globl tohost
tohost:   .dword 0
    .globl fromhost
fromhost: .dword 0
    .balign 64
    .globl diag
diag:     .dword 0, 0, 0, 0, 0, 0, 0, 0
    .text
