# Every page-fault path of Sv39 (privileged ISA §4.3 and §4.4): the program builds page tables,
# then an M-mode driver runs one-instruction probes in S-mode or U-mode (through mret) and
# checks the cause, tval and epc of each fault, or the value of each access that must succeed.
# The whole suite runs ITERATIONS times, first with the faults taken in M-mode, then delegated
# to an S-mode handler (medeleg), so that every probe also runs as translated code.
#
# Virtual memory:
#   0x8000_0000  1 GiB S page, RWX: the program, identity-mapped (S probes run here)
#   0xC000_0000  1 GiB U page, RWX: the same RAM again (U probes run here: VA = PA + ALIAS)
#   0x4000_0000  the test pages, 4 KiB each: page k at TP + k * 4 KiB, mapped to PA(k)
#   0x4020_0000  a 2 MiB page whose PPN is not 2 MiB-aligned
#   0x4040_0000  a 2 MiB page, aligned: PA 0x8060_0000
#   0x1_0000_0000  a 1 GiB page whose PPN is not 1 GiB-aligned
#   0x1_4000_0000  a pointer to a page table outside RAM (PA 0)
#
# Test pages (flags besides V; A and D set unless said):
#   0 invalid   1 R   2 RW   3 X   4 W (reserved)   5 WX (reserved)   6 U RWX   7 RWX
#   8 RW with PTE bit 54 set   9 RW with bit 63 set (no Svnapot)   10 RW, A and D clear
#   11 RWX   12 invalid   13 RW -> PA(14)   14 RW -> PA(13)   15 a pointer at level 0
#   16 R, A clear   17 U RW
#
# Checks (numbers + 100 when delegated; an M-mode probe with MPRV is never delegated):
#   1-4   page 0: S load, S store, S fetch, U load fault
#   5-7   page 1: S load reads; S store and S fetch fault
#   8-10  page 2: S store, then S load succeed; S fetch faults
#   11-14 page 3: S load faults; with MXR it reads the code; S store faults with MXR; S fetch runs
#   15-17 pages 4, 5: W without R is reserved: load, store, fetch fault
#   18-24 page 6: S load and store fault without SUM; with SUM they succeed and S fetch still
#         faults; U fetch and U load succeed
#   25-28 page 7: U load, store, fetch fault; S fetch runs
#   29-30 pages 8, 9: reserved PTE bits: load, store fault
#   31-34 page 10: a load succeeds and sets A (D stays clear); a store succeeds and sets D
#   35-38 page 16: a store faults and leaves A clear; a load succeeds and sets A
#   39-41 page 11 -> 12: a load and a store crossing into the invalid page fault with tval =
#         page 12's address (for the store, an address of its part on page 12: see
#         pagefault_store_tval.S); the store leaves page 11 unchanged
#   42    page 11 -> 12: a 32-bit instruction whose second half is on page 12: fetch fault,
#         epc = the instruction, tval = page 12
#   43-44 page 2 -> 3: a store crossing into the X page faults (tval = page 3); page 2 unchanged
#   45-47 page 13 -> 14: a load and a store across two pages mapped in the other order
#   48    page 15: a pointer PTE at level 0
#   49-51 2 MiB pages: misaligned ones fault on load and store; an aligned one reads its bytes
#   52    1 GiB page, misaligned
#   53-55 a page table outside RAM: load, store, fetch access faults
#   56-57 a non-canonical address: load, fetch faults
#   58-59 M-mode with MPRV and MPP = S: a load from page 0 and a store to page 1 fault in M-mode
#   60    page 17: a U store succeeds
#   62    S code that runs off the end of page 7 into page 8: fetch fault at page 8, with the
#         instructions before it done
#   63    U code that runs off the end of page 6 into S page 7: the same
#   64-65 page 18 remapped between runs (with SFENCE.VMA) from page 7's code to page 3's: the
#         code at one virtual address is whatever its current mapping holds
#   61    the trap count: every fault expected was taken exactly once

    .include "common.S"

    .equ ITERATIONS, 25
    .equ PAGE, 0x1000
    .equ ALIAS, 0x40000000
    .equ U, 0
    .equ S, 1
    .equ PT_ROOT, RAM_BASE + 0x400000
    .equ PT_L1,   PT_ROOT + 0x1000
    .equ PT_L0,   PT_ROOT + 0x2000
    .equ DATA,    RAM_BASE + 0x500000
    .equ MEGA_PA, RAM_BASE + 0x600000
    .equ TP,      0x40000000
    .equ MEGA_BAD_VA,  0x40200000
    .equ MEGA_VA,      0x40400000
    .equ GIGA_BAD_VA,  0x100000000
    .equ NO_TABLE_VA,  0x140000000
    .equ NONCANONICAL, 0x4000000000
    .equ SATP_SV39, 8 << 60

    .equ AD, PTE_A | PTE_D
    .equ BIT54, 1 << 54
    .equ BIT63, 1 << 63

    .equ DELEGATED, (1 << CAUSE_FETCH_ACCESS) | (1 << CAUSE_LOAD_ACCESS) | (1 << CAUSE_STORE_ACCESS) | (1 << CAUSE_FETCH_PAGE) | (1 << CAUSE_LOAD_PAGE) | (1 << CAUSE_STORE_PAGE)

# Starts check n of this suite (n + 100 when delegated: s5 holds the offset).
.macro PTEST n
    li   gp, \n
    add  gp, gp, s5
.endm

# Runs the probe `snip` in `mode` with a1 as its address operand; comes back with the fault
# seen (s8 cause, s9 tval, s10 epc; 0 if none) and a0 the probe's result.
.macro RUN mode, snip
    li   s8, 0
    li   s9, 0
    li   s10, 0
    li   a0, 0
    la   t0, \snip
    la   s11, \snip\()_end
    .if \mode == U
    li   t1, ALIAS
    add  t0, t0, t1
    add  s11, s11, t1
    .endif
    csrw mepc, t0
    li   t1, MSTATUS_MPP
    csrc mstatus, t1
    .if \mode == S
    li   t1, MSTATUS_MPP_S
    csrs mstatus, t1
    .endif
    la   s7, .Lback\@
    mret
.Lback\@:
.endm

# Check n: `snip` in `mode` at address `va` faults with `cause`; tval is `va` unless given,
# epc the probe's instruction unless given. With `tval_last`, tval may be any address from
# `tval` to `tval_last`.
.macro FAULT n, mode, snip, va, cause, tval=-1, epc=-1, tval_last=-1
    PTEST \n
    li   a1, \va
    RUN  \mode, \snip
    CHECK s8, \cause
    .if \tval == -1
    li   t0, \va
    .else
    li   t0, \tval
    .endif
    .if \tval_last == -1
    CHECKR s9, t0
    .else
    bltu s9, t0, .Ltval_bad\@
    li   t0, \tval_last
    bleu s9, t0, .Ltval_ok\@
.Ltval_bad\@:
    FAILR s9, t0
.Ltval_ok\@:
    .endif
    .if \epc == -1
    la   t0, \snip
    .if \mode == U
    li   t1, ALIAS
    add  t0, t0, t1
    .endif
    .else
    li   t0, \epc
    .endif
    CHECKR s10, t0
    addi s4, s4, 1
.endm

# Check n: a load (or a fetch, whose code returns a value) at `va` in `mode` gives `value`.
.macro LOAD_OK n, mode, va, value, snip=snip_ld
    PTEST \n
    li   a1, \va
    RUN  \mode, \snip
    CHECK s8, 0
    CHECK a0, \value
.endm

# Check n: a store of `value` at `va` in `mode` succeeds and lands at physical `pa`.
.macro STORE_OK n, mode, va, pa, value
    PTEST \n
    li   a1, \va
    li   a2, \value
    RUN  \mode, snip_sd
    CHECK s8, 0
    li   t0, \pa
    ld   t0, 0(t0)
    CHECK t0, \value
.endm

# Check n: the dword at physical `pa` holds `value`.
.macro MEM n, pa, value
    PTEST \n
    li   t0, \pa
    ld   t0, 0(t0)
    CHECK t0, \value
.endm

    .text
    .globl _start
_start:
    la   t0, mhandler
    csrw mtvec, t0
    la   t0, shandler
    csrw stvec, t0
    li   s5, 0
    li   s6, 0
    li   s4, 0                    # faults expected so far
    li   s3, 0                    # faults taken so far (counted by the handlers)

    PTE  PT_ROOT, 1, PT_L1, PTE_V
    PTE  PT_ROOT, 2, RAM_BASE, PTE_V | PTE_R | PTE_W | PTE_X | AD
    PTE  PT_ROOT, 3, RAM_BASE, PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | AD
    PTE  PT_ROOT, 4, RAM_BASE + 0x200000, PTE_V | PTE_R | PTE_W | AD
    PTE  PT_ROOT, 5, 0, PTE_V
    PTE  PT_L1, 0, PT_L0, PTE_V
    PTE  PT_L1, 1, MEGA_PA + PAGE, PTE_V | PTE_R | PTE_W | AD
    PTE  PT_L1, 2, MEGA_PA, PTE_V | PTE_R | PTE_W | AD
    PTE  PT_L0, 1, DATA + 1 * PAGE, PTE_V | PTE_R | AD
    PTE  PT_L0, 2, DATA + 2 * PAGE, PTE_V | PTE_R | PTE_W | AD
    PTE  PT_L0, 3, DATA + 3 * PAGE, PTE_V | PTE_X | AD
    PTE  PT_L0, 4, DATA + 4 * PAGE, PTE_V | PTE_W | AD
    PTE  PT_L0, 5, DATA + 5 * PAGE, PTE_V | PTE_W | PTE_X | AD
    PTE  PT_L0, 6, DATA + 6 * PAGE, PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | AD
    PTE  PT_L0, 7, DATA + 7 * PAGE, PTE_V | PTE_R | PTE_W | PTE_X | AD
    PTE  PT_L0, 8, DATA + 8 * PAGE, PTE_V | PTE_R | PTE_W | AD | BIT54
    PTE  PT_L0, 9, DATA + 9 * PAGE, PTE_V | PTE_R | PTE_W | AD | BIT63
    PTE  PT_L0, 11, DATA + 11 * PAGE, PTE_V | PTE_R | PTE_W | PTE_X | AD
    PTE  PT_L0, 13, DATA + 14 * PAGE, PTE_V | PTE_R | PTE_W | AD
    PTE  PT_L0, 14, DATA + 13 * PAGE, PTE_V | PTE_R | PTE_W | AD
    PTE  PT_L0, 15, PT_L0, PTE_V
    PTE  PT_L0, 17, DATA + 17 * PAGE, PTE_V | PTE_R | PTE_W | PTE_U | AD
    li   t0, SATP_SV39 | (PT_ROOT >> 12)
    csrw satp, t0
    sfence.vma

    li   s2, ITERATIONS
iteration:
    li   s5, 0
    csrw medeleg, zero
    call suite
    li   s5, 100
    li   t0, DELEGATED
    csrw medeleg, t0
    call suite
    addi s2, s2, -1
    bnez s2, iteration
    PASS

suite:
    mv   s1, ra
    call setup_data

    FAULT 1, S, snip_ld, TP + 0 * PAGE, CAUSE_LOAD_PAGE
    FAULT 2, S, snip_sd, TP + 0 * PAGE, CAUSE_STORE_PAGE
    FAULT 3, S, snip_jalr, TP + 0 * PAGE, CAUSE_FETCH_PAGE, -1, TP + 0 * PAGE
    FAULT 4, U, snip_ld, TP + 0 * PAGE, CAUSE_LOAD_PAGE

    LOAD_OK 5, S, TP + 1 * PAGE, 0xc0de0001
    FAULT 6, S, snip_sd, TP + 1 * PAGE, CAUSE_STORE_PAGE
    FAULT 7, S, snip_jalr, TP + 1 * PAGE, CAUSE_FETCH_PAGE, -1, TP + 1 * PAGE

    STORE_OK 8, S, TP + 2 * PAGE + 8, DATA + 2 * PAGE + 8, 0x5354524f4b45   # "STROKE"
    LOAD_OK 9, S, TP + 2 * PAGE + 8, 0x5354524f4b45
    FAULT 10, S, snip_jalr, TP + 2 * PAGE, CAUSE_FETCH_PAGE, -1, TP + 2 * PAGE

    FAULT 11, S, snip_ld, TP + 3 * PAGE, CAUSE_LOAD_PAGE
    li   t0, MSTATUS_MXR
    csrs mstatus, t0
    PTEST 12
    li   a1, TP + 3 * PAGE
    RUN  S, snip_ld
    CHECK s8, 0
    li   t0, DATA + 3 * PAGE
    ld   t0, 0(t0)
    CHECKR a0, t0
    FAULT 13, S, snip_sd, TP + 3 * PAGE, CAUSE_STORE_PAGE
    li   t0, MSTATUS_MXR
    csrc mstatus, t0
    LOAD_OK 14, S, TP + 3 * PAGE, 77, snip_jalr

    FAULT 15, S, snip_ld, TP + 4 * PAGE, CAUSE_LOAD_PAGE
    FAULT 16, S, snip_sd, TP + 4 * PAGE, CAUSE_STORE_PAGE
    FAULT 17, S, snip_jalr, TP + 5 * PAGE, CAUSE_FETCH_PAGE, -1, TP + 5 * PAGE

    FAULT 18, S, snip_ld, TP + 6 * PAGE, CAUSE_LOAD_PAGE
    FAULT 19, S, snip_sd, TP + 6 * PAGE + 8, CAUSE_STORE_PAGE
    li   t0, MSTATUS_SUM
    csrs mstatus, t0
    LOAD_OK 20, S, TP + 6 * PAGE + 16, 0x5355
    STORE_OK 21, S, TP + 6 * PAGE + 8, DATA + 6 * PAGE + 8, 0x53554d
    FAULT 22, S, snip_jalr, TP + 6 * PAGE, CAUSE_FETCH_PAGE, -1, TP + 6 * PAGE
    li   t0, MSTATUS_SUM
    csrc mstatus, t0
    LOAD_OK 23, U, TP + 6 * PAGE, 66, snip_jalr
    LOAD_OK 24, U, TP + 6 * PAGE + 16, 0x5355

    FAULT 25, U, snip_ld, TP + 7 * PAGE, CAUSE_LOAD_PAGE
    FAULT 26, U, snip_sd, TP + 7 * PAGE, CAUSE_STORE_PAGE
    FAULT 27, U, snip_jalr, TP + 7 * PAGE, CAUSE_FETCH_PAGE, -1, TP + 7 * PAGE
    LOAD_OK 28, S, TP + 7 * PAGE, 55, snip_jalr

    FAULT 29, S, snip_ld, TP + 8 * PAGE, CAUSE_LOAD_PAGE
    FAULT 30, S, snip_sd, TP + 9 * PAGE, CAUSE_STORE_PAGE

    LOAD_OK 31, S, TP + 10 * PAGE, 0xc0de000a
    MEM 32, PT_L0 + 8 * 10, (((DATA + 10 * PAGE) >> 12) << 10) | PTE_V | PTE_R | PTE_W | PTE_A
    STORE_OK 33, S, TP + 10 * PAGE + 8, DATA + 10 * PAGE + 8, 0x4449525459      # "DIRTY"
    MEM 34, PT_L0 + 8 * 10, (((DATA + 10 * PAGE) >> 12) << 10) | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D

    FAULT 35, S, snip_sd, TP + 16 * PAGE, CAUSE_STORE_PAGE
    MEM 36, PT_L0 + 8 * 16, (((DATA + 16 * PAGE) >> 12) << 10) | PTE_V | PTE_R
    LOAD_OK 37, S, TP + 16 * PAGE, 0xc0de0010
    MEM 38, PT_L0 + 8 * 16, (((DATA + 16 * PAGE) >> 12) << 10) | PTE_V | PTE_R | PTE_A

    FAULT 39, S, snip_ld, TP + 11 * PAGE + 0xffc, CAUSE_LOAD_PAGE, TP + 12 * PAGE
    FAULT 40, S, snip_sd, TP + 11 * PAGE + 0xffc, CAUSE_STORE_PAGE, TP + 12 * PAGE, -1, TP + 12 * PAGE + 3
    MEM 41, DATA + 11 * PAGE + 0xff8, 0x0513334455667788
    FAULT 42, S, snip_jalr, TP + 11 * PAGE + 0xffe, CAUSE_FETCH_PAGE, TP + 12 * PAGE, TP + 11 * PAGE + 0xffe

    FAULT 43, S, snip_sd, TP + 2 * PAGE + 0xffa, CAUSE_STORE_PAGE, TP + 3 * PAGE, -1, TP + 3 * PAGE + 1
    MEM 44, DATA + 2 * PAGE + 0xff8, 0x99aabbccddeeff00

    LOAD_OK 45, S, TP + 13 * PAGE + 0xffc, 0xc0de000d88776655
    PTEST 46
    li   a1, TP + 13 * PAGE + 0xffa
    li   a2, 0x0102030405060708
    RUN  S, snip_sd
    CHECK s8, 0
    MEM 46, DATA + 14 * PAGE + 0xff8, 0x0304050607082211
    MEM 47, DATA + 13 * PAGE, 0xc0de0102

    FAULT 48, S, snip_ld, TP + 15 * PAGE, CAUSE_LOAD_PAGE

    FAULT 49, S, snip_ld, MEGA_BAD_VA, CAUSE_LOAD_PAGE
    FAULT 50, S, snip_sd, MEGA_BAD_VA + 0x2468, CAUSE_STORE_PAGE
    LOAD_OK 51, S, MEGA_VA + 0x1238, 0x4d454741
    FAULT 52, S, snip_ld, GIGA_BAD_VA + 0x10, CAUSE_LOAD_PAGE

    FAULT 53, S, snip_ld, NO_TABLE_VA, CAUSE_LOAD_ACCESS
    FAULT 54, S, snip_sd, NO_TABLE_VA + 8, CAUSE_STORE_ACCESS
    FAULT 55, S, snip_jalr, NO_TABLE_VA + 16, CAUSE_FETCH_ACCESS, -1, NO_TABLE_VA + 16

    FAULT 56, S, snip_ld, NONCANONICAL, CAUSE_LOAD_PAGE
    FAULT 57, S, snip_jalr, NONCANONICAL + 4, CAUSE_FETCH_PAGE, -1, NONCANONICAL + 4

    li   s6, 1                    # M-mode probes: MPRV with MPP = S; traps stay in M-mode
    PTEST 58
    li   s8, 0
    la   s11, 1f
    li   a1, TP + 0 * PAGE
    li   t0, MSTATUS_MPP
    csrc mstatus, t0
    li   t0, MSTATUS_MPP_S | MSTATUS_MPRV
    csrs mstatus, t0
mprv_ld:
    ld   a0, 0(a1)
1:  li   t0, MSTATUS_MPRV
    csrc mstatus, t0
    CHECK s8, CAUSE_LOAD_PAGE
    CHECKR s9, a1
    CHECKA s10, mprv_ld
    addi s4, s4, 1
    PTEST 59
    li   s8, 0
    la   s11, 1f
    li   a1, TP + 1 * PAGE
    li   t0, MSTATUS_MPP
    csrc mstatus, t0
    li   t0, MSTATUS_MPP_S | MSTATUS_MPRV
    csrs mstatus, t0
mprv_sd:
    sd   a1, 0(a1)
1:  li   t0, MSTATUS_MPRV
    csrc mstatus, t0
    CHECK s8, CAUSE_STORE_PAGE
    CHECKR s9, a1
    CHECKA s10, mprv_sd
    addi s4, s4, 1
    li   s6, 0

    STORE_OK 60, U, TP + 17 * PAGE + 8, DATA + 17 * PAGE + 8, 0x55535452

    PTEST 62                      # S code on page 7 runs off its end into page 8
    li   a1, TP + 7 * PAGE + 0xff0
    RUN  S, snip_jalr
    CHECK s8, CAUSE_FETCH_PAGE
    li   t0, TP + 8 * PAGE
    CHECKR s9, t0
    CHECKR s10, t0
    CHECK a0, 4
    addi s4, s4, 1
    PTE  PT_L0, 18, DATA + 7 * PAGE, PTE_V | PTE_X | AD
    sfence.vma
    LOAD_OK 64, S, TP + 18 * PAGE, 55, snip_jalr
    PTE  PT_L0, 18, DATA + 3 * PAGE, PTE_V | PTE_X | AD
    sfence.vma
    LOAD_OK 65, S, TP + 18 * PAGE, 77, snip_jalr

    PTEST 63                      # U code on page 6 runs off its end into S page 7
    li   a1, TP + 6 * PAGE + 0xff0
    RUN  U, snip_jalr
    CHECK s8, CAUSE_FETCH_PAGE
    li   t0, TP + 7 * PAGE
    CHECKR s9, t0
    CHECKR s10, t0
    CHECK a0, 4
    addi s4, s4, 1

    PTEST 61
    CHECKR s3, s4
    mv   ra, s1
    ret

# Puts the known values in the data pages and resets the PTEs the suite changes.
setup_data:
    li   t0, DATA
    li   t1, 0xc0de0000
    li   t2, 18
1:  sd   t1, 0(t0)
    li   t3, PAGE
    add  t0, t0, t3
    addi t1, t1, 1
    addi t2, t2, -1
    bnez t2, 1b
    li   t0, DATA + 6 * PAGE + 16
    li   t1, 0x5355
    sd   t1, 0(t0)
    li   t0, DATA + 17 * PAGE + 16
    sd   t1, 0(t0)
    li   t0, DATA + 3 * PAGE      # code: `li a0, N; ret` on pages 3, 6 and 7
    li   a0, 77
    mv   a3, ra
    call put_code
    li   t0, DATA + 6 * PAGE
    li   a0, 66
    call put_code
    li   t0, DATA + 7 * PAGE
    li   a0, 55
    call put_code
    lw   t1, t_inc_a0             # four `addi a0, a0, 1` at the ends of pages 6 and 7
    li   t0, DATA + 6 * PAGE + 0xff0
    sw   t1, 0(t0)
    sw   t1, 4(t0)
    sw   t1, 8(t0)
    sw   t1, 12(t0)
    li   t0, DATA + 7 * PAGE + 0xff0
    sw   t1, 0(t0)
    sw   t1, 4(t0)
    sw   t1, 8(t0)
    sw   t1, 12(t0)
    mv   ra, a3
    li   t0, DATA + 11 * PAGE + 0xff8
    li   t1, 0x0513334455667788   # ends with the first half of `addi a0, zero, imm`
    sd   t1, 0(t0)
    li   t0, DATA + 14 * PAGE + 0xff8
    li   t1, 0x8877665544332211
    sd   t1, 0(t0)
    li   t0, DATA + 2 * PAGE + 0xff8
    li   t1, 0x99aabbccddeeff00
    sd   t1, 0(t0)
    li   t0, MEGA_PA + 0x1238
    li   t1, 0x4d454741           # "MEGA"
    sd   t1, 0(t0)
    fence.i
    PTE  PT_L0, 10, DATA + 10 * PAGE, PTE_V | PTE_R | PTE_W
    PTE  PT_L0, 16, DATA + 16 * PAGE, PTE_V | PTE_R
    sfence.vma
    ret

# Writes `addi a0, zero, a0; ret` at t0.
put_code:
    lw   t1, t_li_a0_0
    slli t2, a0, 20
    add  t1, t1, t2
    sw   t1, 0(t0)
    lw   t1, t_ret
    sw   t1, 4(t0)
    ret

# The M-mode trap handler. An ecall from S or U ends a probe: back to the driver in M-mode.
# A fault from S or U (or from M during an M-mode probe) is recorded once, and the probe
# resumes at s11.
mhandler:
    csrr t0, mcause
    li   t1, CAUSE_ECALL_U
    beq  t0, t1, 1f
    li   t1, CAUSE_ECALL_S
    beq  t0, t1, 1f
    csrr t1, mstatus
    li   t2, MSTATUS_MPP
    and  t1, t1, t2
    bne  t1, t2, 2f
    beqz s6, unexpected_trap      # from M-mode, outside an M-mode probe
2:  bnez s8, double_fault
    mv   s8, t0
    csrr s9, mtval
    csrr s10, mepc
    addi s3, s3, 1
    csrw mepc, s11
    mret
1:  jr   s7
double_fault:
    FAILR t0, s8

# The S-mode trap handler, for delegated faults. A second fault before the driver looked at
# the first makes the probe's check fail on s8.
shandler:
    bnez s8, 1f
    csrr s8, scause
    csrr s9, stval
    csrr s10, sepc
    addi s3, s3, 1
    csrw sepc, s11
    sret
1:  li   s8, -2
    ecall

# The probes: one access each, then back to the driver. They run in S-mode at their own
# address and in U-mode at address + ALIAS.
snip_ld:
    ld   a0, 0(a1)
snip_ld_end:
    ecall
snip_sd:
    sd   a2, 0(a1)
snip_sd_end:
    ecall
snip_jalr:
    jalr ra, 0(a1)
snip_jalr_end:
    ecall

    .data
    .balign 4
t_li_a0_0:  addi a0, zero, 0
t_ret:      ret
t_inc_a0:   addi a0, a0, 1
