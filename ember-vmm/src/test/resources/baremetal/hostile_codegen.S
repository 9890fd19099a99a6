# A hostile guest that generates code without end: function after function, each at a new
# address (16 per page, over a 4.5 MiB buffer, then the buffer again), each of its own length
# (1 to MAXLEN instructions, one straight-line block), each run CALLS times (more than a
# translation threshold of 8) and every HOT_EVERY-th one HOT_CALLS times, so that the host's
# JIT compiles its translation too. Every REWRITE_EVERY-th function is rewritten in place
# once it has run, and run again. The translation cache must flush and evict to stay within
# its bounds (TranslationCache.MAX_REGIONS) and the host must unload what it dropped; the test
# stops the machine once that has happened, and the program passes by itself after FUNCS
# functions in case it is not stopped.
#
#   2  a function returned the wrong sum (diag word 6: the function number)
#   3  a rewritten function returned the wrong sum

    .include "common.S"

    .equ BUF, RAM_BASE + 0x400000
    .equ SLOTS, 18432
    .equ SLOT_SHIFT, 8            # 256 bytes per function
    .equ FUNCS, 60000
    .equ MAXLEN, 12
    .equ CALLS, 10
    .equ HOT_EVERY, 16
    .equ HOT_CALLS, 400
    .equ REWRITE_EVERY, 8

    .text
    .globl _start
_start:
    la   t0, unexpected_trap
    csrw mtvec, t0
    li   s1, 0                    # function number
    lw   s8, t_li_a0_0
    lw   s9, t_addi_a0_0
    lw   s10, t_ret
    li   s11, BUF
next:
    TEST 2
    li   t0, SLOTS
    remu t0, s1, t0
    slli t0, t0, SLOT_SHIFT
    add  s2, s11, t0              # the function's address
    li   t0, 37
    mul  t0, s1, t0
    li   t1, MAXLEN
    remu t0, t0, t1
    addi s3, t0, 1                # its length in instructions, ret excluded
    andi a1, s1, 0x7ff
    call emit
    li   s5, CALLS
    andi t0, s1, HOT_EVERY - 1
    bnez t0, 1f
    li   s5, HOT_CALLS
1:  call run_it
    andi t0, s1, REWRITE_EVERY - 1
    bnez t0, 2f
    TEST 3
    andi a1, s1, 0x7ff            # the same place, other code: another start value
    xori a1, a1, 0x2aa
    call emit
    li   s5, CALLS
    call run_it
2:  addi s1, s1, 1
    li   t0, FUNCS
    blt  s1, t0, next
    PASS

# Writes at s2 `addi a0, zero, a1`, s3 - 1 increments `addi a0, a0, (7 i + f) & 63` and
# `ret`, then fences; s4 = the sum the function returns.
emit:
    mv   s4, a1
    slli t0, a1, 20
    add  t0, s8, t0
    sw   t0, 0(s2)
    mv   t2, s2
    li   t3, 1
1:  bge  t3, s3, 2f
    li   t0, 7
    mul  t0, t3, t0
    add  t0, t0, s1
    andi t0, t0, 0x3f
    add  s4, s4, t0
    slli t0, t0, 20
    add  t0, s9, t0
    addi t2, t2, 4
    sw   t0, 0(t2)
    addi t3, t3, 1
    j    1b
2:  sw   s10, 4(t2)
    fence.i
    ret

# Calls the function at s2 s5 times, checking it returns s4.
run_it:
    mv   s6, ra
1:  jalr ra, 0(s2)
    beq  a0, s4, 2f
    DIAG6 s1
    FAILR a0, s4
2:  addi s5, s5, -1
    bnez s5, 1b
    mv   ra, s6
    ret

    .data
    .balign 4
t_li_a0_0:   addi a0, zero, 0
t_addi_a0_0: addi a0, a0, 0
t_ret:       ret
