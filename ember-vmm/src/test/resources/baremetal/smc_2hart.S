# Cross-hart self-modifying code, on 2 harts: hart 1 writes code, hart 0 runs it. Another
# hart's stores reach instruction fetch once the running hart executes FENCE.I (unprivileged
# ISA §6.1), so hart 0 fences after it has seen hart 1's signal, and must then run the new code
# even though it translated the old code at the same address.
#
#   2  hand-over: each round hart 1 rewrites one buffer (word stores, or byte stores on odd
#      rounds, with a varying length) and signals; hart 0 waits, fences, runs it twice
#   3  a race: hart 1 rewrites an immediate without pause while hart 0 runs the code without
#      FENCE.I; every result must be a value that was written, and after hart 1 is done and
#      hart 0 fences, the last one
#   4  hart 1's loop count in case 3, as hart 0 read it

    .include "common.S"

    .equ CODE2, RAM_BASE + 0x200000
    .equ CODE3, RAM_BASE + 0x210000
    .equ ROUNDS, 300
    .equ RACE_WRITES, 2000          # distinct immediates, each stored RACE_REPEAT times
    .equ RACE_REPEAT, 10

    .text
    .globl _start
_start:
    la   t0, unexpected_trap
    csrw mtvec, t0
    bnez a0, writer

# ---- hart 0: runs what hart 1 wrote -----------------------------------------------------
    TEST 2
    li   s1, 1
    la   s2, seq
    la   s3, ack
    li   s4, CODE2
round0:
1:  lw   t0, 0(s2)                # wait for round s1's code
    bne  t0, s1, 1b
    fence r, rw
    fence.i
    li   s5, 2
2:  jalr ra, 0(s4)
    li   t0, 5
    remu t0, s1, t0
    add  t0, t0, s1               # r + r % 5
    CHECKR a0, t0
    addi s5, s5, -1
    bnez s5, 2b
    fence rw, w
    sw   s1, 0(s3)
    addi s1, s1, 1
    li   t0, ROUNDS
    ble  s1, t0, round0

    TEST 3
    la   t1, race_ready
1:  lw   t0, 0(t1)                # wait for the code's first version
    beqz t0, 1b
    fence r, rw
    fence.i
    li   s4, CODE3
    la   s2, race_done
    li   s5, RACE_WRITES
race0:
    jalr ra, 0(s4)
    bltz a0, bad3
    bgt  a0, s5, bad3
    lw   t0, 0(s2)
    beqz t0, race0
    fence r, rw
    fence.i
    jalr ra, 0(s4)
    li   t0, RACE_WRITES
    CHECKR a0, t0
    TEST 4
    ld   t0, race_count
    CHECK t0, RACE_WRITES
    PASS
bad3:
    FAILR a0, s5

# ---- hart 1: writes the code ----------------------------------------------------------------
writer:
    li   s1, 1
    la   s2, seq
    la   s3, ack
round1:
    li   a0, CODE2
    mv   a1, s1
    li   t0, 5
    remu a2, s1, t0
    andi a3, s1, 1
    call emit_func
    fence rw, w
    sw   s1, 0(s2)                # round s1's code is ready
1:  lw   t0, 0(s3)                # wait until hart 0 has run it
    bne  t0, s1, 1b
    fence r, rw
    addi s1, s1, 1
    li   t0, ROUNDS
    ble  s1, t0, round1

    li   a0, CODE3                # the race: `addi a0, zero, 0; ret`, then only the immediate
    li   a1, 0
    li   a2, 0
    li   a3, 0
    call emit_func
    fence rw, w
    li   t1, 1
    la   t0, race_ready
    sw   t1, 0(t0)
    li   s4, CODE3
    lw   s5, 0(s4)
    li   s1, 1
    li   s6, 1 << 20
    li   s7, RACE_WRITES
1:  add  s5, s5, s6
    li   t1, RACE_REPEAT
2:  sw   s5, 0(s4)
    addi t1, t1, -1
    bnez t1, 2b
    addi s1, s1, 1
    ble  s1, s7, 1b
    addi s1, s1, -1
    la   t0, race_count
    sd   s1, 0(t0)
    fence rw, w
    li   t1, 1
    la   t0, race_done
    sw   t1, 0(t0)
park:
    wfi
    j    park

# Writes `addi a0, zero, a1`, a2 times `addi a0, a0, 1`, then `ret` at a0, with word stores,
# or byte stores when a3 is not 0.
emit_func:
    mv   t3, ra
    lw   t0, t_li_a0_0
    slli t1, a1, 20
    add  t0, t0, t1
    jal  put_word
    lw   t0, t_inc_a0
1:  beqz a2, 2f
    jal  put_word
    addi a2, a2, -1
    j    1b
2:  lw   t0, t_ret
    jal  put_word
    mv   ra, t3
    ret

# Stores word t0 at a0 (bytewise when a3 is not 0) and advances a0.
put_word:
    bnez a3, 1f
    sw   t0, 0(a0)
    addi a0, a0, 4
    ret
1:  li   t2, 4
    mv   t1, t0
2:  sb   t1, 0(a0)
    srli t1, t1, 8
    addi a0, a0, 1
    addi t2, t2, -1
    bnez t2, 2b
    ret

    .data
    .balign 64
seq:        .word 0
    .balign 64
ack:        .word 0
    .balign 64
race_done:  .word 0
    .balign 64
race_ready: .word 0
    .balign 8
race_count: .dword 0
    .balign 4
t_li_a0_0:  addi a0, zero, 0
t_inc_a0:   addi a0, a0, 1
t_ret:      ret
