# Self-modifying code on one hart, in M-mode: every way a program rewrites code that an engine
# may have decoded or translated, each followed by FENCE.I (unprivileged ISA §6.1) and checked
# by running the new code. Each case loops, so that at a translation threshold of 2 the code
# that stores and the code that is stored to are translated regions when the store happens.
#
#   2  an instruction ahead in the same block, patched then executed
#   3  a loop that rewrites its own body (an addi immediate) on every pass
#   4  a store that overwrites itself; its block then runs the new instruction
#   5  an instruction earlier in the executing block, rewritten and run again
#   6  fresh pages: code written and called, overwritten with longer code and called again
#   7  code and data on one page: data stores next to the code leave it working
#   8  code copied with a loop of byte stores, alternating 32-bit and compressed code
#   9  a block reached by a (linkable) direct jump, patched after many runs
#  10  only the upper halfword of an instruction rewritten (its immediate)
#  11  a 32-bit instruction rewritten as two compressed ones, and back
#  12  a 32-bit instruction straddling two pages, its second half rewritten
#  13  the instruction word case 3 left behind
#  14  an instruction rewritten by an AMO (amoswap.w)
#  15  an instruction rewritten by a store-conditional
#  16  an instruction rewritten by an FP store
#  17  a misaligned sd across a page boundary rewriting an instruction on each page

    .include "common.S"

    .equ CODEBUF, RAM_BASE + 0x100000     # fresh pages for generated code
    .equ COPYBUF, CODEBUF + 0x10000 + 0x7f0
    .equ STRADDLE, CODEBUF + 0x21000      # a page boundary
    .equ CROSSPAGE, CODEBUF + 0x31000     # another page boundary
    .equ ROUNDS, 20

    .text
    .globl _start
_start:
    la   t0, unexpected_trap
    csrw mtvec, t0

# ---- 2: patch ahead in the same block -------------------------------------------------
# Each pass patches `target2` to `li a0, 42 + (pass & 1)`, then runs it.
    TEST 2
    li   s1, 0
    li   s2, ROUNDS
    la   s3, target2
    lw   s4, t_li_a0_42
    li   s5, 1 << 20
pass2:
    andi t0, s1, 1
    mul  t0, t0, s5
    add  t1, s4, t0
    li   a0, 0
    sw   t1, 0(s3)
    fence.i
target2:
    addi a0, zero, 1
    andi t0, s1, 1
    addi t0, t0, 42
    CHECKR a0, t0
    addi s1, s1, 1
    blt  s1, s2, pass2

# ---- 3: a loop that rewrites its own body ---------------------------------------------
    TEST 3
    li   a1, 0
    li   s1, 1000
    la   s2, body3
    lw   s3, t_addi_a1_1
    sw   s3, 0(s2)
    fence.i
    li   s4, 1 << 20
loop3:
body3:
    addi a1, a1, 1                # the immediate grows by one each pass
    lw   t0, 0(s2)
    add  t0, t0, s4
    sw   t0, 0(s2)
    fence.i
    addi s1, s1, -1
    bnez s1, loop3
    CHECK a1, 500500
    TEST 13
    lw   t0, 0(s2)
    li   t1, 1000 << 20           # immediate 1 + 1000
    add  t1, s3, t1
    CHECKR t0, t1

# ---- 4: a store that overwrites itself ------------------------------------------------
    TEST 4
    li   s1, 0
pass4:
    la   t0, self4
    lw   t1, t_li_a3_7
    lw   s6, t_self4              # the original store, put back after each pass
    li   a3, 0
    li   s2, 0
self4:
    sw   t1, 0(t0)                # becomes `li a3, 7`
    fence.i
    addi s2, s2, 1
    li   t2, 2
    blt  s2, t2, self4
    CHECK a3, 7
    CHECK s2, 2
    sw   s6, 0(t0)
    fence.i
    addi s1, s1, 1
    li   t0, ROUNDS
    blt  s1, t0, pass4

# ---- 5: an earlier instruction of the executing block -----------------------------------
    TEST 5
    li   s1, 0
pass5:
    la   t0, early5
    lw   t1, t_li_a2_2
    lw   s6, t_li_a2_1
    li   s2, 0
early5:
    addi a2, zero, 1              # becomes `li a2, 2` after the first run
    sw   t1, 0(t0)
    fence.i
    addi s2, s2, 1
    li   t2, 1
    bne  s2, t2, 1f
    CHECK a2, 1
    j    early5
1:  CHECK a2, 2
    sw   s6, 0(t0)
    fence.i
    addi s1, s1, 1
    li   t0, ROUNDS
    blt  s1, t0, pass5

# ---- 6: fresh pages, written, run, overwritten, run -------------------------------------
    TEST 6
    li   s1, 0
    li   s5, CODEBUF
page6:
    slli s2, s1, 12
    add  s2, s2, s5
    mv   a0, s2
    addi a1, s1, 100
    li   a2, 0
    call emit_func
    fence.i
    li   s3, 3
1:  jalr ra, 0(s2)
    addi t0, s1, 100
    CHECKR a0, t0
    addi s3, s3, -1
    bnez s3, 1b
    mv   a0, s2                   # longer code: 200 + n, then n + 3 increments
    addi a1, s1, 200
    addi a2, s1, 3
    call emit_func
    fence.i
    li   s3, 3
2:  jalr ra, 0(s2)
    addi t0, s1, 203
    add  t0, t0, s1
    CHECKR a0, t0
    addi s3, s3, -1
    bnez s3, 2b
    addi s1, s1, 1
    li   t0, 16
    blt  s1, t0, page6

# ---- 7: code and data on one page -------------------------------------------------------
    TEST 7
    li   s1, 1
    li   s2, 2001
    la   s3, cd_scratch
loop7:
    call cd_func
    CHECKR a0, s1
    sd   s1, 0(s3)                # data right after the code
    sb   s1, 8(s3)
    addi s1, s1, 1
    blt  s1, s2, loop7
    ld   t0, cd_counter
    CHECK t0, 2000

# ---- 8: code copied byte by byte ----------------------------------------------------------
    TEST 8
    li   s1, 0
pass8:
    li   a0, COPYBUF
    andi t0, s1, 1
    bnez t0, 1f
    la   a1, copy_src1
    la   a2, copy_src1_end
    li   s4, 66
    j    2f
1:  la   a1, copy_src2
    la   a2, copy_src2_end
    li   s4, 49
2:  sub  a2, a2, a1
    call copy_bytes
    fence.i
    li   s3, 2
3:  li   t0, COPYBUF
    jalr ra, 0(t0)
    CHECKR a0, s4
    addi s3, s3, -1
    bnez s3, 3b
    addi s1, s1, 1
    li   t0, ROUNDS
    blt  s1, t0, pass8

# ---- 9: a block reached by a direct jump, patched after many runs -------------------------
    TEST 9
    li   s1, 0
    li   a4, 0
    lw   s6, t_addi_a4_1
    la   t0, target9
    sw   s6, 0(t0)                # as assembled, so the case can run again
    fence.i
loop9:
    j    target9
back9:
    addi s1, s1, 1
    li   t0, 100
    bne  s1, t0, 1f
    la   t1, target9
    lw   t2, t_addi_a4_2
    sw   t2, 0(t1)
    fence.i
1:  li   t0, 200
    blt  s1, t0, loop9
    j    after9
target9:
    addi a4, a4, 1                # becomes `addi a4, a4, 2` at the 100th pass
    j    back9
after9:
    CHECK a4, 300

# ---- 10: the upper halfword of an instruction ---------------------------------------------
    TEST 10
    li   s1, 0
    la   s2, target10
pass10:
    addi t0, s1, 5                # immediate 5 + pass: imm[11:0] is bits 31:20
    slli t0, t0, 4                # upper halfword = imm << 4 | rs1[4:1] (rs1 = zero)
    sh   t0, 2(s2)
    fence.i
    call func10
    addi t0, s1, 5
    CHECKR a5, t0
    addi s1, s1, 1
    li   t0, ROUNDS
    blt  s1, t0, pass10

# ---- 11: a 32-bit instruction becomes two compressed ones, and back ------------------------
    TEST 11
    li   s1, 0
    la   s2, target11
    lw   s3, t_li_a5_1
    lw   s4, t_two_compressed
pass11:
    andi t0, s1, 1
    bnez t0, 1f
    sw   s4, 0(s2)
    li   s5, 4                    # c.li a5, 3; c.addi a5, 1
    j    2f
1:  sw   s3, 0(s2)
    li   s5, 1
2:  fence.i
    call func11
    CHECKR a5, s5
    addi s1, s1, 1
    li   t0, ROUNDS
    blt  s1, t0, pass11

# ---- 12: an instruction straddling two pages ------------------------------------------------
    TEST 12
    li   s2, STRADDLE
    li   t0, 0x0001               # c.nop at STRADDLE - 4
    sh   t0, -4(s2)
    li   t0, 0x0513               # addi a0, zero, imm: low half at STRADDLE - 2
    sh   t0, -2(s2)
    li   t0, 0x8082               # c.jr ra at STRADDLE + 2
    sh   t0, 2(s2)
    li   s1, 0
pass12:
    addi t0, s1, 10
    slli t0, t0, 4
    sh   t0, 0(s2)                # the upper half, on the second page
    fence.i
    li   s3, 2
1:  addi t0, s2, -4
    jalr ra, 0(t0)
    addi t0, s1, 10
    CHECKR a0, t0
    addi s3, s3, -1
    bnez s3, 1b
    addi s1, s1, 1
    li   t0, ROUNDS
    blt  s1, t0, pass12

# ---- 14 to 17: stores of other kinds to code ---------------------------------------------
# Each pass writes `li a0, 300 + pass` over `target_p` another way, then runs it.
    li   t0, MSTATUS_FS
    csrs mstatus, t0
    la   s2, target_p
    lw   s3, t_li_a0_0
    li   s4, 1 << 20
    TEST 14                       # an AMO
    li   s1, 0
1:  addi t0, s1, 300
    mul  t0, t0, s4
    add  t1, s3, t0
    amoswap.w t2, t1, (s2)
    fence.i
    call func_p
    addi t0, s1, 300
    CHECKR a0, t0
    addi s1, s1, 1
    li   t0, ROUNDS
    blt  s1, t0, 1b
    TEST 15                       # a store-conditional
    li   s1, 0
1:  addi t0, s1, 400
    mul  t0, t0, s4
    add  t1, s3, t0
2:  lr.w t2, (s2)
    sc.w t2, t1, (s2)
    bnez t2, 2b
    fence.i
    call func_p
    addi t0, s1, 400
    CHECKR a0, t0
    addi s1, s1, 1
    li   t0, ROUNDS
    blt  s1, t0, 1b
    TEST 16                       # an FP store
    li   s1, 0
1:  addi t0, s1, 500
    mul  t0, t0, s4
    add  t1, s3, t0
    fmv.w.x ft0, t1
    fsw  ft0, 0(s2)
    fence.i
    call func_p
    addi t0, s1, 500
    CHECKR a0, t0
    addi s1, s1, 1
    li   t0, ROUNDS
    blt  s1, t0, 1b

    TEST 17                       # a misaligned store across a page boundary, into code on both pages
    li   s2, CROSSPAGE
    lw   t0, t_li_a0_0
    addi t0, t0, 0                # li a0, 0 at CROSSPAGE - 8
    sw   t0, -8(s2)
    lw   t0, t_inc_a0
    sw   t0, -4(s2)               # addi a0, a0, imm at CROSSPAGE - 4 and CROSSPAGE
    sw   t0, 0(s2)
    lw   t0, t_ret
    sw   t0, 4(s2)
    lw   s3, t_inc_a0             # immediate 1, to which 20 + pass and 200 + pass are added
    li   s1, 0
1:  addi t0, s1, 20
    mul  t0, t0, s4
    add  t1, s3, t0
    addi t0, s1, 200
    mul  t0, t0, s4
    add  t0, s3, t0
    slli t0, t0, 32
    slli t1, t1, 32
    srli t1, t1, 32
    or   t1, t1, t0
    sd   t1, -4(s2)
    fence.i
    li   s5, 2
2:  addi t0, s2, -8
    jalr ra, 0(t0)
    slli t0, s1, 1
    addi t0, t0, 222
    CHECKR a0, t0
    addi s5, s5, -1
    bnez s5, 2b
    addi s1, s1, 1
    li   t0, ROUNDS
    blt  s1, t0, 1b

    PASS

# ---- helpers ------------------------------------------------------------------------------

# Writes `addi a0, zero, a1`, a2 times `addi a0, a0, 1`, then `ret` at a0; a0 = the end.
emit_func:
    lw   t0, t_li_a0_0
    slli t1, a1, 20
    add  t0, t0, t1
    sw   t0, 0(a0)
    addi a0, a0, 4
    lw   t0, t_inc_a0
1:  beqz a2, 2f
    sw   t0, 0(a0)
    addi a0, a0, 4
    addi a2, a2, -1
    j    1b
2:  lw   t0, t_ret
    sw   t0, 0(a0)
    addi a0, a0, 4
    ret

# Copies a2 bytes from a1 to a0, one byte at a time.
copy_bytes:
    lbu  t0, 0(a1)
    sb   t0, 0(a0)
    addi a0, a0, 1
    addi a1, a1, 1
    addi a2, a2, -1
    bnez a2, copy_bytes
    ret

copy_src1:                        # (11 + 22) * 2 = 66
    addi a0, zero, 11
    addi a0, a0, 22
    slli a0, a0, 1
    ret
copy_src1_end:

    .option rvc
copy_src2:                        # (5 + 7) * 4 + 1 = 49
    c.li   a0, 5
    c.addi a0, 7
    c.slli a0, 2
    addi   a0, a0, 1
    c.jr   ra
copy_src2_end:
    .balign 4                     # while RVC is on: gas pads with c.nop
    .option norvc

func10:
target10:
    addi a5, zero, 0              # the immediate is rewritten
    ret

func_p:
target_p:
    addi a0, zero, 0              # rewritten by cases 14 to 16
    ret

func11:
target11:
    addi a5, zero, 1              # or c.li a5, 3; c.addi a5, 1
    ret

# Code and data on one page: the code counts its calls in the data next to it.
    .balign 4096
cd_func:
    la   t0, cd_counter
    ld   a0, 0(t0)
    addi a0, a0, 1
    sd   a0, 0(t0)
    ret
cd_scratch:
    .dword 0, 0
cd_counter:
    .dword 0
    .balign 4096

# Instruction templates, read as data.
    .data
    .balign 4
t_li_a0_0:    addi a0, zero, 0
t_li_a0_42:   addi a0, zero, 42
t_addi_a1_1:  addi a1, a1, 1
t_li_a3_7:    addi a3, zero, 7
t_self4:      sw   t1, 0(t0)
t_li_a2_1:    addi a2, zero, 1
t_li_a2_2:    addi a2, zero, 2
t_inc_a0:     addi a0, a0, 1
t_ret:        ret
t_addi_a4_1:  addi a4, a4, 1
t_addi_a4_2:  addi a4, a4, 2
t_li_a5_1:    addi a5, zero, 1
    .option rvc
t_two_compressed:
    c.li   a5, 3
    c.addi a5, 1
    .option norvc
