# The tval of a misaligned access that crosses into a page that faults (privileged ISA §3.1.16:
# "the virtual address of the portion of the access that caused the fault"): the first byte on
# the faulting page, as Spike and QEMU report it, for loads and stores alike; and the access's
# own address when its first page faults. Accesses are made from M-mode with MPRV and MPP = S
# under Sv39, at every offset that crosses the boundary, ITERATIONS times.
#
#   2 sh   3 sw   4 sd   5 fsd  into an invalid page: tval = that page's address
#   6 lh   7 lw   8 ld   9 fld  the same for loads
#  10 sd  11 ld   from an invalid page into a valid one: tval = the access's address
#  12 every fault was taken (cause and epc are checked with each)

    .include "common.S"

    .equ ITERATIONS, 50
    .equ PAGE, 0x1000
    .equ PT_ROOT, RAM_BASE + 0x400000
    .equ PT_L1,   PT_ROOT + 0x1000
    .equ PT_L0,   PT_ROOT + 0x2000
    .equ DATA,    RAM_BASE + 0x500000
    .equ TP,      0x40000000          # page 0 RW, page 1 invalid, page 2 invalid, page 3 RW
    .equ SATP_SV39, 8 << 60
    .equ RW, 0xc7                     # V R W A D

# Check n: `insn` (operating on a1) at every offset from `first` to the page end minus one
# faults with `cause` and tval = a1 rounded up to the page (or a1 itself with `own`).
.macro CROSS n, insn, width, base, cause, own=0
    TEST \n
    li   s1, \base + PAGE - (\width) + 1
    li   s2, \base + PAGE
1:  mv   a1, s1
    la   s11, 2f
    li   s8, 0
    li   t0, MSTATUS_MPP
    csrc mstatus, t0
    li   t0, MSTATUS_MPP_S | MSTATUS_MPRV
    csrs mstatus, t0
3:  \insn
2:  li   t0, MSTATUS_MPRV
    csrc mstatus, t0
    CHECK s8, \cause
    .if \own
    CHECKR s9, a1
    .else
    li   t0, \base + PAGE
    CHECKR s9, t0
    .endif
    CHECKA s10, 3b
    addi s4, s4, 1
    addi s1, s1, 1
    blt  s1, s2, 1b
.endm

    .text
    .globl _start
_start:
    la   t0, handler
    csrw mtvec, t0
    li   t0, MSTATUS_FS
    csrs mstatus, t0
    PTE  PT_ROOT, 1, PT_L1, 1
    PTE  PT_L1, 0, PT_L0, 1
    PTE  PT_L0, 0, DATA, RW
    PTE  PT_L0, 3, DATA + 3 * PAGE, RW
    li   t0, SATP_SV39 | (PT_ROOT >> 12)
    csrw satp, t0
    sfence.vma
    li   s3, 0
    li   s4, 0
    li   s5, ITERATIONS
    li   a2, 0x0123456789abcdef
    fmv.d.x fa2, a2
again:                            # loads first: what Ember gets right runs before what it does not
    CROSS 6, "lh a0, 0(a1)", 2, TP, CAUSE_LOAD_PAGE
    CROSS 7, "lw a0, 0(a1)", 4, TP, CAUSE_LOAD_PAGE
    CROSS 8, "ld a0, 0(a1)", 8, TP, CAUSE_LOAD_PAGE
    CROSS 9, "fld fa0, 0(a1)", 8, TP, CAUSE_LOAD_PAGE
    CROSS 10, "sd a2, 0(a1)", 8, TP + 2 * PAGE, CAUSE_STORE_PAGE, 1
    CROSS 11, "ld a0, 0(a1)", 8, TP + 2 * PAGE, CAUSE_LOAD_PAGE, 1
    CROSS 2, "sh a2, 0(a1)", 2, TP, CAUSE_STORE_PAGE
    CROSS 3, "sw a2, 0(a1)", 4, TP, CAUSE_STORE_PAGE
    CROSS 4, "sd a2, 0(a1)", 8, TP, CAUSE_STORE_PAGE
    CROSS 5, "fsd fa2, 0(a1)", 8, TP, CAUSE_STORE_PAGE
    addi s5, s5, -1
    bnez s5, again
    TEST 12
    CHECKR s3, s4
    PASS

# Records the fault (s8 cause, s9 tval, s10 epc) and resumes at s11, in M-mode.
handler:
    csrr t0, mstatus
    li   t1, MSTATUS_MPRV
    and  t0, t0, t1
    beqz t0, unexpected_trap      # a fault outside a probe
    bnez s8, unexpected_trap      # a second fault in one probe
    csrr s8, mcause
    csrr s9, mtval
    csrr s10, mepc
    addi s3, s3, 1
    csrw mepc, s11
    mret
