# Two virtual machines whose G-stage tables (Sv39x4) map the same guest physical page to
# different host pages, run in turn by switching hgatp between VMID 1 and VMID 2 without a fence
# (H extension, § Hypervisor Guest Address Translation and Protection Register): each must see
# its own page every time, though the hart keeps both machines' translations cached. Then VM 1's
# G-stage PTE is pointed at a third page: after HFENCE.GVMA the guest sees it, and its store lands
# there. The guest runs in VS-mode with vsatp = Bare and leaves with an ecall (cause 10), which
# traps to M-mode. The whole sequence runs ROUNDS times, so the translator compiles the guest.
#
# Checks:
#   1  VM 1 (VMID 1) reads its page                  4  after the PTE change and HFENCE.GVMA,
#   2  VM 2 (VMID 2) reads its page                     VM 1 reads the new page
#   3  VM 1 again, without a fence: still its page    5  VM 1's store reached the new page
#   6  every exit from the guest was an ecall from VS-mode (cause 10) with mstatus.MPV = 1

    .equ FINISHER, 1
    .include "common.S"
    .option arch, +h

    .equ ROUNDS, 20
    .equ ROOT_A,  RAM_BASE + 0x400000      # 16 KiB-aligned Sv39x4 roots
    .equ ROOT_B,  RAM_BASE + 0x404000
    .equ L1_A,    RAM_BASE + 0x408000
    .equ L0_A,    RAM_BASE + 0x409000
    .equ L1_B,    RAM_BASE + 0x40A000
    .equ L0_B,    RAM_BASE + 0x40B000
    .equ PAGE_A,  RAM_BASE + 0x500000
    .equ PAGE_B,  RAM_BASE + 0x501000
    .equ PAGE_C,  RAM_BASE + 0x502000
    .equ GUEST_PAGE, 0xC0000000            # the guest physical page both machines read
    .equ MARK_A, 0xAAAA0001
    .equ MARK_B, 0xBBBB0002
    .equ MARK_C, 0xCCCC0003
    .equ HGATP_SV39X4, 8 << 60
    .equ MSTATUS_MPV, 1 << 39
    .equ CAUSE_ECALL_VS, 10
    # PTE flags: leaves need U for the G-stage (every guest access is checked as a U-mode one)
    .equ LEAF, PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_AD
    .equ POINTER, PTE_V

# Runs the guest once under hgatp = `hgatp_reg`; it returns with its value in a0.
.macro RUN_GUEST hgatp_reg
    csrw hgatp, \hgatp_reg
    la   t0, guest
    csrw mepc, t0
    li   t0, MSTATUS_MPP
    csrc mstatus, t0
    li   t0, MSTATUS_MPP_S | MSTATUS_MPV
    csrs mstatus, t0
    la   t0, 1f
    csrw mtvec, t0
    mret
    .balign 4
1:  call check_exit
.endm

    .text
    .globl _start
_start:
    li   gp, 0
    la   t0, unexpected_trap
    csrw mtvec, t0
    li   t0, -1                            # PMP: all memory for every mode (QEMU enforces it)
    csrw pmpaddr0, t0
    li   t0, 0x1F
    csrw pmpcfg0, t0
    # Both machines: GPA 0x8000_0000 (1 GiB) -> RAM, identity, and GUEST_PAGE -> their own page.
    PTE  ROOT_A, 2, RAM_BASE, LEAF
    PTE  ROOT_A, 3, L1_A, POINTER
    PTE  L1_A, 0, L0_A, POINTER
    PTE  L0_A, 0, PAGE_A, LEAF
    PTE  ROOT_B, 2, RAM_BASE, LEAF
    PTE  ROOT_B, 3, L1_B, POINTER
    PTE  L1_B, 0, L0_B, POINTER
    PTE  L0_B, 0, PAGE_B, LEAF
    li   s2, ROUNDS
round:
    li   t0, PAGE_A
    li   t1, MARK_A
    sd   t1, 0(t0)
    li   t0, PAGE_B
    li   t1, MARK_B
    sd   t1, 0(t0)
    li   t0, PAGE_C
    li   t1, MARK_C
    sd   t1, 0(t0)
    sd   zero, 8(t0)
    PTE  L0_A, 0, PAGE_A, LEAF
    hfence.gvma zero, zero
    li   s0, HGATP_SV39X4 | (1 << 44) | (ROOT_A >> 12)
    li   s1, HGATP_SV39X4 | (2 << 44) | (ROOT_B >> 12)

    TEST 1
    li   a1, 0
    RUN_GUEST s0
    CHECK a0, MARK_A
    TEST 2
    RUN_GUEST s1
    CHECK a0, MARK_B
    TEST 3
    RUN_GUEST s0
    CHECK a0, MARK_A

    TEST 4
    PTE  L0_A, 0, PAGE_C, LEAF
    hfence.gvma zero, zero
    li   a1, 0x5151
    RUN_GUEST s0
    CHECK a0, MARK_C
    TEST 5
    li   t0, PAGE_C
    ld   t1, 8(t0)
    CHECK t1, 0x5151
    TEST 2
    RUN_GUEST s1
    CHECK a0, MARK_B

    addi s2, s2, -1
    bnez s2, round
    PASS

# After a guest exit: check 6, then back to the check that ran the guest.
check_exit:
    mv   s3, gp
    li   gp, 6
    csrr t2, mcause
    CHECK t2, CAUSE_ECALL_VS
    csrr t2, mstatus
    li   t3, MSTATUS_MPV
    and  t2, t2, t3
    CHECK t2, MSTATUS_MPV
    la   t0, unexpected_trap
    csrw mtvec, t0
    mv   gp, s3
    ret

# VS-mode, vsatp = Bare: reads the guest page, stores a1 beside it when a1 is not 0.
guest:
    li   t0, GUEST_PAGE
    ld   a0, 0(t0)
    beqz a1, 1f
    sd   a1, 8(t0)
1:  ecall
