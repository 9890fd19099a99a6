# A hostile guest that enters translated code in the middle: at every instruction of a long
# straight-line block that has run (and been translated) from its start, and 2 bytes into
# 32-bit instructions, where the same bytes mean other instructions. The results must be what
# the bytes mean from each entry, and the translations for different entries must not be
# confused with one another, however they alternate.
#
#   2  entering `ladder` at instruction i adds the increments i + 1 .. 64
#   3  `chain` entered at word 0: four `lui`s (aligned meaning)
#   4  `chain` entered 2 bytes in: four `addi`s from a4 (misaligned meaning), then c.nop
#   5  `chain` entered at word 2, aligned
#   6  `chain` entered at word 2 + 2 bytes, misaligned
#   7  2 bytes into `addi a0, zero, 0`, whose upper half is 0x0000: an illegal instruction
#      trap (cause 2, mepc the entry, mtval 0)
#   8  registers an entry must not touch are left alone
#   9  the trap count of case 7

    .include "common.S"

    .equ ROUNDS, 40
    .equ SENTINEL, 0x5e5e

# One word of `chain`: as aligned code `lui rdA, (U << 4) | n`, where U, its upper halfword,
# is `addi rdI, a4, imm` with the low half of the next word as imm's source. Entered 2 bytes
# in, each word's upper half and the next word's lower half form that addi:
#   addi rdI, a4, (n' << 8) | (rdA' << 3) | 3     (n', rdA': the next word's fields)
.macro MIXED rdA, n, rdI
    .word (((\rdI << 7) | 0x13) << 16) | (\n << 12) | (\rdA << 7) | 0x37
.endm

    .text
    .globl _start
_start:
    la   t0, handler
    csrw mtvec, t0
    li   s9, 0                    # traps taken
    li   s11, ROUNDS
round:

# ---- 2: the ladder, entered at each instruction ---------------------------------------
    TEST 2
    li   s1, 0                    # entry instruction
    la   s2, ladder
1:  li   s3, 3                    # each entry runs 3 times
2:  li   a0, 0
    slli t0, s1, 2
    add  t0, s2, t0
    jalr ra, 0(t0)
    li   t1, 64                   # expected: sum of i + 1 .. 64 = (64 - i)(65 + i) / 2
    sub  t1, t1, s1
    addi t2, s1, 65
    mul  t1, t1, t2
    srli t1, t1, 1
    beq  a0, t1, 3f
    DIAG6 s1
    FAILR a0, t1
3:  addi s3, s3, -1
    bnez s3, 2b
    addi s1, s1, 1
    li   t0, 64
    blt  s1, t0, 1b

# ---- 3 to 6: one chain of bytes, two meanings -------------------------------------------
    li   a4, 1000
    li   s10, 0                   # 12 entries; the kind rotates in a changing order:
entry:                            # 0 3 2 1, 1 0 3 2, 2 1 0 3
    srli t0, s10, 2
    li   t1, 3
    mul  t1, s10, t1
    add  t0, t0, t1
    andi s0, t0, 3                # 0: word 0, 1: word 0 + 2, 2: word 2, 3: word 2 + 2
    call sentinels
    la   t0, chain
    andi t1, s0, 2
    slli t1, t1, 2                # word 2 = byte 8
    add  t0, t0, t1
    andi t1, s0, 1
    slli t1, t1, 1
    add  t0, t0, t1
    jalr ra, 0(t0)
    li   t0, 0
    beq  s0, t0, aligned0
    li   t0, 1
    beq  s0, t0, misaligned0
    li   t0, 2
    beq  s0, t0, aligned2
misaligned2:
    TEST 6
    CHECK s4, 1000 + 1131
    CHECK s5, 1000 + 1403
    TEST 8
    CHECK s2, SENTINEL
    CHECK s3, SENTINEL
    CHECK a2, SENTINEL
    CHECK a5, SENTINEL
    j    entry_done
aligned2:
    TEST 5
    CHECK a2, ((((20 << 7) | 0x13) << 4) | 3) << 12
    CHECK a3, ((((21 << 7) | 0x13) << 4) | 4) << 12
    CHECK a5, 0x15000
    TEST 8
    CHECK a0, SENTINEL
    CHECK a1, SENTINEL
    CHECK s4, SENTINEL
    j    entry_done
misaligned0:
    TEST 4
    CHECK s2, 1000 + 603
    CHECK s3, 1000 + 867
    CHECK s4, 1000 + 1131
    CHECK s5, 1000 + 1403
    TEST 8
    CHECK a0, SENTINEL
    CHECK a5, SENTINEL
    j    entry_done
aligned0:
    TEST 3
    CHECK a0, ((((18 << 7) | 0x13) << 4) | 1) << 12
    CHECK a1, ((((19 << 7) | 0x13) << 4) | 2) << 12
    CHECK a2, ((((20 << 7) | 0x13) << 4) | 3) << 12
    CHECK a3, ((((21 << 7) | 0x13) << 4) | 4) << 12
    CHECK a5, 0x15000
    TEST 8
    CHECK s2, SENTINEL
    CHECK s5, SENTINEL
entry_done:
    addi s10, s10, 1
    li   t0, 12
    blt  s10, t0, entry

# ---- 7: the second half of a 32-bit instruction is illegal --------------------------------
    TEST 7
    la   s6, zero_insn
    addi s6, s6, 2
    jalr ra, 0(s6)
    addi s9, s9, -1
    TEST 9
    CHECK s9, 0

    addi s11, s11, -1
    bnez s11, round
    PASS

sentinels:
    li   t0, SENTINEL
    mv   a0, t0
    mv   a1, t0
    mv   a2, t0
    mv   a3, t0
    mv   a5, t0
    mv   s2, t0
    mv   s3, t0
    mv   s4, t0
    mv   s5, t0
    ret

# Case 7's trap: an illegal instruction at s6 with mtval 0; returns to ra.
handler:
    csrr t0, mcause
    li   t1, CAUSE_ILLEGAL
    beq  t0, t1, 1f
    j    unexpected_trap
1:  csrr t0, mepc
    beq  t0, s6, 2f
    FAILR t0, s6
2:  csrr t0, mtval
    beqz t0, 3f
    FAILR t0, zero
3:  addi s9, s9, 1
    csrw mepc, ra
    mret

    .balign 4
ladder:
    .irp i, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64
    addi a0, a0, \i
    .endr
    ret

chain:
    MIXED 10, 1, 18               # lui a0 | addi s2, a4, (2 << 8) | (11 << 3) | 3 = 603
    MIXED 11, 2, 19               # lui a1 | addi s3, a4, (3 << 8) | (12 << 3) | 3 = 867
    MIXED 12, 3, 20               # lui a2 | addi s4, a4, (4 << 8) | (13 << 3) | 3 = 1131
    MIXED 13, 4, 21               # lui a3 | addi s5, a4, (5 << 8) | (15 << 3) | 3 = 1403
    .word (0x0001 << 16) | (5 << 12) | (15 << 7) | 0x37   # lui a5, 0x15 | c.nop
    ret

zero_insn:
    addi a0, zero, 0
    ret
