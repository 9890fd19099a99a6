# Interrupts with the H extension (privileged ISA, "H" Extension, § hvip, § hip and hie,
# § hideleg, § vsip and vsie, Sstc's vstimecmp and § htimedelta): VS-level interrupts that
# hideleg delegates reach VS-mode with the S-level cause (1, 5, 9); not delegated, they reach
# HS-mode with their own (2, 6, 10); they are never taken with V=0.
#
# Checks:
#   1-3   hideleg 0x444, hvip VSSIP / VSTIP / VSEIP, vsie on, vsstatus.SIE: VS-mode takes
#         interrupt 1 / 5 / 9 (vscause), at the probe's first instruction
#   4-6   hideleg 0: the same interrupts go to HS-mode with causes 2 / 6 / 10, though
#         sstatus.SIE is 0 (HS-level interrupts are always on while V=1); SPV 1
#   7     hideleg 0x444: a pending VSSI is not taken in HS-mode (V=0)
#   8     VS-mode with vsstatus.SIE 0: not taken
#   9-10  vsip reads hip's VS bits shifted down (VSSIP -> 2); vsie reads hie's shifted (0x222)
#   11    VS-mode setting sip.SSIP sets hvip.VSSIP
#   12    hideleg 0: vsip reads 0 though hvip.VSSIP is set
#   13-14 menvcfg.STCE and henvcfg.STCE: vstimecmp 0 makes hip.VSTIP read 1, -1 makes it 0
#   15-16 vstimecmp = time + 2^40: not pending with htimedelta 0; pending with 2^41
#   17    henvcfg.STCE 0: vstimecmp 0 does not raise VSTIP
#   18    that timer interrupt, delegated, reaches VS-mode with cause 5
#   19    SSI (HS level) and VSSI (delegated) both pending with V=1: HS-mode's comes first

    .option arch, +h
    .equ FINISHER, 1
    .text
    j    _start
    .include "common.S"
    .include "h_common.S"

    .equ VSSIP, 1 << 2
    .equ VSTIP, 1 << 6
    .equ VSEIP, 1 << 10
    .equ STCE, 1 << 63

# Check n: with hvip = `bits`, the probe in `mode` takes an interrupt at `level` with `code`.
.macro IRQ n, mode, bits, level, code
    TEST \n
    li   t0, \bits
    csrw hvip, t0
    li   t0, 0x444
    csrw hie, t0
    RUN  \mode, p_wait
    csrw hvip, zero
    csrw hie, zero
    EXPECT \level, INTERRUPT | \code
    RECA R_EPC, p_wait
.endm

    .text
    .globl _start
_start:
    H_INIT
    li   t0, 0x444
    csrw hideleg, t0
    li   t0, MSTATUS_SIE
    csrw vsstatus, t0
    IRQ  1, MODE_VS, VSSIP, LVL_VS, 1
    li   t0, MSTATUS_SIE
    csrw vsstatus, t0
    IRQ  2, MODE_VS, VSTIP, LVL_VS, 5
    li   t0, MSTATUS_SIE
    csrw vsstatus, t0
    IRQ  3, MODE_VS, VSEIP, LVL_VS, 9

    csrw hideleg, zero
    li   t0, MSTATUS_SIE
    csrw vsstatus, t0
    li   t0, MSTATUS_SIE
    csrc sstatus, t0
    IRQ  4, MODE_VS, VSSIP, LVL_HS, 2
    RECEQ R_STATUS, HSTATUS_SPV, HSTATUS_SPV
    IRQ  5, MODE_VU, VSTIP, LVL_HS, 6
    IRQ  6, MODE_VS, VSEIP, LVL_HS, 10

    TEST 7
    li   t0, 0x444
    csrw hideleg, t0
    li   t0, MSTATUS_SIE
    csrs sstatus, t0
    li   t0, VSSIP
    csrw hvip, t0
    csrw hie, t0
    RUN  MODE_HS, p_wait
    EXPECT_NONE
    li   t0, MSTATUS_SIE
    csrc sstatus, t0
    TEST 8
    csrw vsstatus, zero
    RUN  MODE_VS, p_wait
    EXPECT_NONE

    TEST 9
    RUN  MODE_VS, p_vsip
    EXPECT_NONE
    CHECKQ a0, 2, 0
    TEST 10
    li   t0, 0x444
    csrw hie, t0
    RUN  MODE_VS, p_vsie
    EXPECT_NONE
    CHECKQ a0, 0x222, 0
    csrw hie, zero
    csrw hvip, zero
    TEST 11
    RUN  MODE_VS, p_set_ssip
    EXPECT_NONE
    csrr t0, hvip
    CHECK t0, VSSIP
    TEST 12
    csrw hideleg, zero
    csrr t0, vsip
    CHECK t0, 0
    csrw hvip, zero

    li   t0, STCE
    csrw menvcfg, t0
    csrw henvcfg, t0
    TEST 13
    csrw vstimecmp, zero
    csrr t0, hip
    andi t0, t0, VSTIP
    CHECK t0, VSTIP
    TEST 14
    li   t0, -1
    csrw vstimecmp, t0
    csrr t0, hip
    andi t0, t0, VSTIP
    CHECK t0, 0
    TEST 15
    csrr t0, time
    li   t1, 1 << 40
    add  t0, t0, t1
    csrw vstimecmp, t0
    csrw htimedelta, zero
    csrr t0, hip
    andi t0, t0, VSTIP
    CHECK t0, 0
    TEST 16
    li   t1, 1 << 41
    csrw htimedelta, t1
    csrr t0, hip
    andi t0, t0, VSTIP
    CHECKQ t0, VSTIP, 0
    csrw htimedelta, zero
    TEST 17
    csrw henvcfg, zero
    csrw vstimecmp, zero
    csrr t0, hip
    andi t0, t0, VSTIP
    CHECKQ t0, 0, VSTIP
    TEST 18
    li   t0, STCE
    csrw henvcfg, t0
    li   t0, 0x444
    csrw hideleg, t0
    csrw hie, t0
    li   t0, MSTATUS_SIE
    csrw vsstatus, t0
    RUN  MODE_VS, p_wait
    EXPECT LVL_VS, INTERRUPT | 5
    li   t0, -1
    csrw vstimecmp, t0
    csrw henvcfg, zero
    csrw menvcfg, zero

    TEST 19
    li   t0, 0x444
    csrw hideleg, t0
    li   t0, 0x222
    csrw mideleg, t0
    li   t0, MSTATUS_SIE
    csrw vsstatus, t0
    li   t0, VSSIP
    csrw hvip, t0
    li   t0, 0x2 | VSSIP
    csrw mie, t0
    li   t0, 0x2
    csrw mip, t0
    RUN  MODE_VS, p_wait
    csrw mip, zero
    csrw hvip, zero
    csrw mie, zero
    EXPECT LVL_HS, INTERRUPT | 1
    PASS

p_wait:
    nop
    nop
    nop
p_wait_end:
    ebreak
    SNIP p_vsip, csrr a0, sip
    SNIP p_vsie, csrr a0, sie
    SNIP p_set_ssip, csrsi sip, 2
