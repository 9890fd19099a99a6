# A hostile guest that jumps into device memory and into holes of the physical address space,
# over and over from a hot loop: every jump is an instruction access fault (privileged ISA
# §3.1.15, cause 1) with mepc and mtval the target, and touches no device (executing the
# test finisher must not power the machine off, executing the UART must print nothing). The
# handler checks the trap and returns to the caller (ra).
#
#   2  each target, ROUNDS times, from one translated jalr: cause, epc and tval
#   3  the number of faults taken
#   4  a 32-bit instruction in the last 2 bytes of RAM: the fetch of its second half faults,
#      with mepc the instruction and mtval the end of RAM
#   5  an S-mode page whose PTE maps the UART with X permission: an access fault with tval
#      the virtual address, not a page fault
# Needs RAM_BYTES of RAM.

    .include "common.S"

    .equ RAM_BYTES, 64 << 20
    .equ RAM_END, RAM_BASE + RAM_BYTES
    .equ ROUNDS, 500
    .equ PT_ROOT, RAM_BASE + 0x400000
    .equ PT_L1, PT_ROOT + 0x1000
    .equ PT_L0, PT_ROOT + 0x2000
    .equ MMIO_VA, 0x40000000

    .text
    .globl _start
_start:
    la   t0, handler
    csrw mtvec, t0
    li   s3, 0                    # faults taken
    li   s4, 0                    # faults expected

    TEST 2
    li   s1, ROUNDS
round:
    la   s2, targets
1:  ld   s6, 0(s2)                # the target; -1 ends the list
    bltz s6, 2f
    mv   s7, s6                   # the expected tval
    jalr ra, 0(s6)
    addi s4, s4, 1
    addi s2, s2, 8
    j    1b
2:  addi s1, s1, -1
    bnez s1, round
    TEST 3
    CHECKR s3, s4

    TEST 4
    li   s6, RAM_END - 2
    li   t0, 0x0513               # the first half of `addi a0, zero, imm`
    sh   t0, 0(s6)
    fence.i
    li   s7, RAM_END
    li   s1, ROUNDS
1:  jalr ra, 0(s6)
    addi s4, s4, 1
    addi s1, s1, -1
    bnez s1, 1b
    CHECKR s3, s4

    TEST 6                        # a block that runs into that instruction
    li   t0, RAM_END - 12
    lw   t1, t_inc_a0
    sw   t1, 0(t0)
    sw   t1, 4(t0)
    li   t1, 0x0001               # c.nop
    sh   t1, 8(t0)
    fence.i
    li   s6, RAM_END - 2
    li   s7, RAM_END
    li   s1, ROUNDS
    li   a0, 0
1:  li   t0, RAM_END - 12
    jalr ra, 0(t0)
    addi s4, s4, 1
    addi s1, s1, -1
    bnez s1, 1b
    CHECKR s3, s4
    TEST 7
    CHECK a0, 2 * ROUNDS          # the instructions before the fault took effect

    TEST 8                        # a block that runs off the end of RAM
    li   t0, RAM_END - 8
    lw   t1, t_inc_a0
    sw   t1, 0(t0)
    sw   t1, 4(t0)
    fence.i
    li   s6, RAM_END
    li   s7, RAM_END
    li   s1, ROUNDS
    li   a0, 0
1:  li   t0, RAM_END - 8
    jalr ra, 0(t0)
    addi s4, s4, 1
    addi s1, s1, -1
    bnez s1, 1b
    CHECKR s3, s4
    TEST 9
    CHECK a0, 2 * ROUNDS

    TEST 5                        # S-mode, Sv39: VA 0x4000_0000 -> the UART, RWX
    li   t0, PT_ROOT + 8
    li   t1, ((PT_L1 >> 12) << 10) | 1
    sd   t1, 0(t0)
    li   t0, PT_L1
    li   t1, ((PT_L0 >> 12) << 10) | 1
    sd   t1, 0(t0)
    li   t0, PT_L0
    li   t1, ((UART_BASE >> 12) << 10) | 0xcf      # V R W X A D
    sd   t1, 0(t0)
    li   t0, PT_ROOT + 16                         # the program, identity-mapped
    li   t1, ((RAM_BASE >> 12) << 10) | 0xcf
    sd   t1, 0(t0)
    li   t0, (8 << 60) | (PT_ROOT >> 12)
    csrw satp, t0
    sfence.vma
    li   s1, ROUNDS
5:  li   s6, MMIO_VA + 0x10
    mv   s7, s6
    la   t0, s_caller
    csrw mepc, t0
    li   t0, MSTATUS_MPP
    csrc mstatus, t0
    li   t0, MSTATUS_MPP_S
    csrs mstatus, t0
    la   s8, 6f
    mret                          # to s_caller in S-mode, which jumps to s6
6:  addi s4, s4, 1
    CHECKR s3, s4
    addi s1, s1, -1
    bnez s1, 5b
    csrw satp, zero
    sfence.vma
    PASS

s_caller:
    jalr ra, 0(s6)
    ecall                         # back to M-mode, at s8

# Checks an instruction access fault at s7 (mepc and mtval) and returns to ra; an ecall from
# S-mode returns to s8 in M-mode.
handler:
    csrr t0, mcause
    li   t1, CAUSE_ECALL_S
    bne  t0, t1, 1f
    jr   s8
1:  li   t1, CAUSE_FETCH_ACCESS
    bne  t0, t1, unexpected_trap
    csrr t0, mepc
    beq  t0, s6, 2f
    FAILR t0, s6
2:  csrr t0, mtval
    beq  t0, s7, 3f
    FAILR t0, s7
3:  addi s3, s3, 1
    csrw mepc, ra
    mret

    .data
    .balign 8
targets:
    .dword 0x10000000             # UART
    .dword 0x10000004
    .dword 0x00100000             # test finisher: executing it must not power off
    .dword 0x00110000             # boot timer
    .dword 0x02000000             # ACLINT
    .dword 0x02004000             # its mtimecmp
    .dword 0x0c000000             # PLIC
    .dword 0x10001000             # a virtio-mmio slot
    .dword 0x10008ffe             # the last halfword of the last slot
    .dword 0x00000000             # holes in the address space
    .dword 0x00001000
    .dword 0x40000000
    .dword 0x7ffffffc
    .dword RAM_END                # just past RAM
    .dword RAM_END + 0x1000
    .dword 0x100000000
    .dword -1
    .balign 4
t_inc_a0: addi a0, a0, 1
