# Shared by the H-extension programs (h_*.S, hostile_h.S), included after common.S: names for
# the H extension's bits and causes (privileged ISA, "H" Extension for Hypervisor Support v1.0),
# trap handlers for M, HS and VS that record one trap each, and RUN, which runs a probe in a
# chosen mode.
#
# A probe is SNIP name, instruction(s): its code, then `ebreak` at name_end. RUN mode, name
# clears the record, enters the probe through mret (MPP/MPV) and comes back to the driver in
# M-mode when the probe's ebreak traps to M (breakpoints are never delegated). A trap the probe
# takes is recorded by whichever handler gets it, which then resumes the probe at its end:
#   rec+0  level: 0 none, 1 M, 2 HS, 3 VS, 9 a second trap (what is recorded is the first)
#   rec+8  cause   +16 epc   +24 tval   +32 mtval2/htval   +40 mtinst/htinst
#   +48    mstatus (M) / hstatus (HS) / vsstatus (VS)      +56 sstatus (HS)
# A handler that takes an interrupt disables it (mie, sie+hie, or vsie) so it does not recur.
#
# Registers: s6 set while RUN_ONCE runs, s7 the driver's return point, s11 the probe's end;
# probes use a0-a2; the record checks use t3, t4 (and common.S's t5, t6).
#
# QEMU: a program assembled for QEMU has the symbol QEMU defined; CHECKQ and RECQ expect
# QEMU 7.2's value there instead of the specification's (the harness lists those checks).

    .equ MSTATUS_SIE,   0x2
    .equ MSTATUS_MPIE,  0x80
    .equ MSTATUS_SPIE,  0x20
    .equ MSTATUS_TVM,   1 << 20
    .equ MSTATUS_TW,    1 << 21
    .equ MSTATUS_TSR,   1 << 22
    .equ MSTATUS_GVA,   1 << 38
    .equ MSTATUS_MPV,   1 << 39
    .equ HSTATUS_GVA,   1 << 6
    .equ HSTATUS_SPV,   1 << 7
    .equ HSTATUS_SPVP,  1 << 8
    .equ HSTATUS_HU,    1 << 9
    .equ HSTATUS_VTVM,  1 << 20
    .equ HSTATUS_VTW,   1 << 21
    .equ HSTATUS_VTSR,  1 << 22

    .equ CAUSE_ECALL_VS,        10
    .equ CAUSE_FETCH_GUEST,     20
    .equ CAUSE_LOAD_GUEST,      21
    .equ CAUSE_VIRTUAL,         22
    .equ CAUSE_STORE_GUEST,     23
    .equ INTERRUPT,             1 << 63

    # modes for RUN: bit 2 is V, bits 1:0 the nominal privilege
    .equ MODE_U,  0
    .equ MODE_HS, 1
    .equ MODE_M,  3
    .equ MODE_VU, 4
    .equ MODE_VS, 5

    .equ LVL_NONE, 0
    .equ LVL_M,    1
    .equ LVL_HS,   2
    .equ LVL_VS,   3
    .equ LVL_TWICE, 9

    .equ R_LEVEL, 0
    .equ R_CAUSE, 8
    .equ R_EPC,   16
    .equ R_TVAL,  24
    .equ R_TVAL2, 32
    .equ R_TINST, 40
    .equ R_STATUS, 48
    .equ R_STATUS2, 56

    .equ RWX, PTE_R | PTE_W | PTE_X

# A probe: its instructions, then the ebreak that ends it.
.macro SNIP name, insn:vararg
\name:
    \insn
\name\()_end:
    ebreak
.endm

# Runs probe `snip` in `mode` (MODE_*), from M-mode; returns here in M-mode.
.macro RUN mode, snip
    la   t0, rec
    sd   zero, R_LEVEL(t0)
    la   t0, \snip
    csrw mepc, t0
    la   s11, \snip\()_end
    li   t1, MSTATUS_MPP | MSTATUS_MPV
    csrc mstatus, t1
    li   t1, ((\mode & 3) << 11) | (((\mode >> 2) & 1) << 39)
    csrs mstatus, t1
    la   s7, .Lback\@
    mret
.Lback\@:
.endm

# Loads the record's word at `off` into `reg`.
.macro REC reg, off
    la   t4, rec
    ld   \reg, \off(t4)
.endm

# The probe trapped once, to `level`, with `cause`.
.macro EXPECT level, cause
    REC  t3, R_LEVEL
    CHECK t3, \level
    REC  t3, R_CAUSE
    CHECK t3, \cause
.endm

# The probe ran without a trap.
.macro EXPECT_NONE
    REC  t3, R_LEVEL
    CHECK t3, LVL_NONE
.endm

# The record's word at `off` is `value` (masked with `mask` when given).
.macro RECEQ off, value, mask=-1
    REC  t3, \off
    .if \mask != -1
    li   t4, \mask
    and  t3, t3, t4
    .endif
    CHECK t3, \value
.endm

# The record's word at `off` is the address of `label`.
.macro RECA off, label
    REC  t3, \off
    CHECKA t3, \label
.endm

# As CHECK, but QEMU 7.2 gives `qemu` where the specification says `expected`.
.macro CHECKQ reg, expected, qemu
.ifdef QEMU
    CHECK \reg, \qemu
.else
    CHECK \reg, \expected
.endif
.endm

# As RECEQ, but QEMU 7.2 gives `qemu`.
.macro RECQ off, value, qemu, mask=-1
.ifdef QEMU
    RECEQ \off, \qemu, \mask
.else
    RECEQ \off, \value, \mask
.endif
.endm

# Check n: probe `snip` in `mode` traps to M with `cause` (`qemu` on QEMU 7.2) and tval = its
# instruction's bits (Ember's choice; on QEMU, 0 is accepted too: § mtval allows either).
.macro TRAPS n, mode, snip, cause, qemu=-1
    TEST \n
    RUN  \mode, \snip
    .if \qemu == -1
    EXPECT LVL_M, \cause
    .else
    RECEQ R_LEVEL, LVL_M
    RECQ R_CAUSE, \cause, \qemu
    .endif
    la   t0, \snip
    lwu  t0, 0(t0)
    REC  t3, R_TVAL
.ifdef QEMU
    beqz t3, .Ltval_zero\@        # QEMU 7.2 writes 0, which the specification also allows
.endif
    CHECKR t3, t0
.Ltval_zero\@:
.endm

# Opens PMP for all memory (QEMU checks it below M-mode; Ember stores it), points the three
# trap vectors at the recording handlers, and starts from a clean H state.
.macro H_INIT
    la   t0, mtrap
    csrw mtvec, t0
    li   t0, -1
    csrw pmpaddr0, t0
    li   t0, 0x1f                  # NAPOT, RWX
    csrw pmpcfg0, t0
    la   t0, strap
    csrw stvec, t0
    la   t0, vstrap
    csrw vstvec, t0
    csrw medeleg, zero
    csrw mideleg, zero
    csrw hedeleg, zero
    csrw hideleg, zero
    csrw mie, zero
    csrw hgatp, zero
    csrw vsatp, zero
    csrw satp, zero
    li   t0, -1
    csrw mcounteren, t0
    csrw hcounteren, t0
    csrw scounteren, t0
    li   s6, 0
    li   s7, 0
    li   s11, 0
.endm

# As RUN, but a trap to M-mode ends the probe there (for probes whose end cannot run either,
# such as code under a broken G-stage).
.macro RUN_ONCE mode, snip
    li   s6, 1
    RUN  \mode, \snip
    li   s6, 0
.endm

    .text
    .balign 4
# M-mode: the probe's closing ebreak goes back to the driver; any other trap is recorded.
mtrap:
    csrr t0, mcause
    li   t1, CAUSE_BREAKPOINT
    bne  t0, t1, 1f
    csrr t1, mepc
    beq  t1, s11, 9f
1:  la   t1, rec
    ld   t2, R_LEVEL(t1)
    bnez t2, 8f
    li   t2, LVL_M
    sd   t2, R_LEVEL(t1)
    sd   t0, R_CAUSE(t1)
    bgez t0, 2f
    csrw mie, zero
2:  csrr t2, mepc
    sd   t2, R_EPC(t1)
    csrr t2, mtval
    sd   t2, R_TVAL(t1)
    csrr t2, mtval2
    sd   t2, R_TVAL2(t1)
    csrr t2, mtinst
    sd   t2, R_TINST(t1)
    csrr t2, mstatus
    sd   t2, R_STATUS(t1)
    bnez s6, 9f
    csrw mepc, s11
    mret
8:  li   t2, LVL_TWICE
    sd   t2, R_LEVEL(t1)
    bgez t0, 7f
    csrw mie, zero
7:  bnez s6, 9f
    csrw mepc, s11
    mret
9:  jr   s7

    .balign 4
# HS-mode: records the trap and resumes the probe's mode (SPV, SPP) at the probe's end.
strap:
    la   t1, rec
    ld   t2, R_LEVEL(t1)
    bnez t2, 8f
    li   t2, LVL_HS
    sd   t2, R_LEVEL(t1)
    csrr t0, scause
    sd   t0, R_CAUSE(t1)
    bgez t0, 2f
    csrw sie, zero
    csrw hie, zero
2:  csrr t2, sepc
    sd   t2, R_EPC(t1)
    csrr t2, stval
    sd   t2, R_TVAL(t1)
    csrr t2, htval
    sd   t2, R_TVAL2(t1)
    csrr t2, htinst
    sd   t2, R_TINST(t1)
    csrr t2, hstatus
    sd   t2, R_STATUS(t1)
    csrr t2, sstatus
    sd   t2, R_STATUS2(t1)
    csrw sepc, s11
    sret
8:  li   t2, LVL_TWICE
    sd   t2, R_LEVEL(t1)
    csrw sie, zero
    csrw hie, zero
    csrw sepc, s11
    sret

    .balign 4
# VS-mode (V=1: the S CSR names reach the VS CSRs).
vstrap:
    la   t1, rec
    ld   t2, R_LEVEL(t1)
    bnez t2, 8f
    li   t2, LVL_VS
    sd   t2, R_LEVEL(t1)
    csrr t0, scause
    sd   t0, R_CAUSE(t1)
    bgez t0, 2f
    csrw sie, zero
2:  csrr t2, sepc
    sd   t2, R_EPC(t1)
    csrr t2, stval
    sd   t2, R_TVAL(t1)
    sd   zero, R_TVAL2(t1)
    sd   zero, R_TINST(t1)
    csrr t2, sstatus
    sd   t2, R_STATUS(t1)
    csrw sepc, s11
    sret
8:  li   t2, LVL_TWICE
    sd   t2, R_LEVEL(t1)
    csrw sie, zero
    csrw sepc, s11
    sret

# A probe both h_trap.S and hostile_h.S run (in HS-mode): sret into the mode a2 (SPV) and a3
# (SPP) name, at a1.
p_sret_hs:
    li   t0, HSTATUS_SPV
    csrc hstatus, t0
    csrs hstatus, a2
    li   t0, MSTATUS_SPP
    csrc sstatus, t0
    csrs sstatus, a3
    csrw sepc, a1
    sret
p_sret_hs_end:
    ebreak

    .data
    .balign 64
rec:    .dword 0, 0, 0, 0, 0, 0, 0, 0
    .text
