# A hostile guest that runs code on thousands of distinct pages, each only once or a few
# times: PAGES pages, each given a three-instruction function at its own offset, called 1, 5
# or 9 times; then every page called once more. Decoded pages (DecodedPages.MAX_PAGES) and
# translations are each bounded, so the host's memory must not grow with the number of pages.
#
#   2  a function returned the wrong value on the first sweep (diag word 6: the page)
#   3  the same on the second sweep

    .include "common.S"

    .equ BUF, RAM_BASE + 0x800000
    .equ PAGES, 10000

# s2 = the function of page s1, s4 = what it returns.
.macro LOCATE
    slli s2, s1, 12
    add  s2, s2, s11
    li   t0, 0x118
    mul  t0, s1, t0
    andi t0, t0, 0x7f0            # its offset in the page varies
    add  s2, s2, t0
    andi s4, s1, 0x7ff
    xori s4, s4, 0x555
.endm

    .text
    .globl _start
_start:
    la   t0, unexpected_trap
    csrw mtvec, t0
    lw   s8, t_li_a0_0
    lw   s9, t_xori
    lw   s10, t_ret
    li   s11, BUF

    TEST 2
    li   s1, 0
page:
    LOCATE
    andi t0, s1, 0x7ff
    slli t0, t0, 20
    add  t0, s8, t0
    sw   t0, 0(s2)
    sw   s9, 4(s2)
    sw   s10, 8(s2)
    fence.i
    li   t0, 3
    remu t0, s1, t0
    slli t0, t0, 2
    addi s5, t0, 1                # 1, 5 or 9 calls
1:  jalr ra, 0(s2)
    beq  a0, s4, 2f
    DIAG6 s1
    FAILR a0, s4
2:  addi s5, s5, -1
    bnez s5, 1b
    addi s1, s1, 1
    li   t0, PAGES
    blt  s1, t0, page

    TEST 3
    li   s1, 0
again:
    LOCATE
    jalr ra, 0(s2)
    beq  a0, s4, 1f
    DIAG6 s1
    FAILR a0, s4
1:  addi s1, s1, 1
    li   t0, PAGES
    blt  s1, t0, again
    PASS

    .data
    .balign 4
t_li_a0_0:  addi a0, zero, 0
t_xori:     xori a0, a0, 0x555
t_ret:      ret
