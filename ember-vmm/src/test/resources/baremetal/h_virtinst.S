# The virtual-instruction exception (privileged ISA, "H" Extension, § Trap Cause Codes, cause
# 22): an instruction HS-mode could run, blocked in VS or VU mode, traps with cause 22 and
# tval = the instruction's bits; what HS-mode could not run either stays illegal (2). Every
# trap here goes to M-mode (medeleg is 0).
#
# Checks:
#   1-2   VS: HLV.D, HSV.D: virtual            3-4   VU: HLV.D, HSV.D: virtual
#   5-6   VS: HFENCE.VVMA, HFENCE.GVMA: virtual 7-8  VU: HFENCE.VVMA, HFENCE.GVMA: virtual
#   9     VU: WFI with mstatus.TW 0: virtual
#   10    VS: WFI with hstatus.VTW 1: virtual   11   VS: WFI with mstatus.TW 1: illegal
#   12    VU: SRET: virtual                     13   VS: SRET with hstatus.VTSR: virtual
#   14    VS: SRET with mstatus.TSR (VTSR 0): runs (TSR concerns HS-mode only)
#   15    VU: SFENCE.VMA: virtual
#   16-17 VS: SFENCE.VMA and a satp read with hstatus.VTVM: virtual
#   18-19 VS: SFENCE.VMA and a satp read with mstatus.TVM (VTVM 0): run
#   20    VS: rdtime with hcounteren.TM 0: virtual; 21 with mcounteren.TM 0: illegal
#   22    VU: rdcycle with scounteren.CY 0 (hcounteren on): virtual
#   23    VS: stimecmp with menvcfg.STCE 1, henvcfg.STCE 0: virtual
#   24    VS: stimecmp with menvcfg.STCE 0: illegal
#   25    VS: an FP instruction with vsstatus.FS off: illegal, never virtual
#   26    VS: MRET: illegal
#   27    VU: csrr vsstatus: virtual
#   28    VS: rdtime with everything on: runs, and reads time + htimedelta
#   29    VS: an FP instruction with both FS Initial runs and makes both vsstatus.FS and
#         mstatus.FS Dirty (§ vsstatus)

    .option arch, +h
    .equ FINISHER, 1
    .text
    j    _start
    .include "common.S"
    .include "h_common.S"

    .text
    .globl _start
_start:
    H_INIT
    li   t0, MSTATUS_FS
    csrs mstatus, t0
    la   a1, scratch
    TRAPS 1, MODE_VS, p_hlv, CAUSE_VIRTUAL
    TRAPS 2, MODE_VS, p_hsv, CAUSE_VIRTUAL
    TRAPS 3, MODE_VU, p_hlv, CAUSE_VIRTUAL
    TRAPS 4, MODE_VU, p_hsv, CAUSE_VIRTUAL
    TRAPS 5, MODE_VS, p_hfence_v, CAUSE_VIRTUAL
    TRAPS 6, MODE_VS, p_hfence_g, CAUSE_VIRTUAL
    TRAPS 7, MODE_VU, p_hfence_v, CAUSE_VIRTUAL, CAUSE_ILLEGAL
    TRAPS 8, MODE_VU, p_hfence_g, CAUSE_VIRTUAL, CAUSE_ILLEGAL
    TRAPS 9, MODE_VU, p_wfi, CAUSE_VIRTUAL
    li   s1, HSTATUS_VTW
    csrs hstatus, s1
    TRAPS 10, MODE_VS, p_wfi, CAUSE_VIRTUAL
    csrc hstatus, s1
    li   s1, MSTATUS_TW
    csrs mstatus, s1
    TRAPS 11, MODE_VS, p_wfi, CAUSE_ILLEGAL
    csrc mstatus, s1
    TRAPS 12, MODE_VU, p_sret, CAUSE_VIRTUAL, CAUSE_ILLEGAL
    li   s1, HSTATUS_VTSR
    csrs hstatus, s1
    TRAPS 13, MODE_VS, p_sret, CAUSE_VIRTUAL
    csrc hstatus, s1
    TEST 14
    li   t0, MSTATUS_TSR
    csrs mstatus, t0
    li   t0, MSTATUS_SPP
    csrw vsstatus, t0
    la   t0, p_sret_end
    csrw vsepc, t0
    RUN  MODE_VS, p_sret
    .ifdef QEMU
    EXPECT LVL_M, CAUSE_ILLEGAL
    .else
    EXPECT_NONE
    .endif
    li   s1, MSTATUS_TSR
    csrc mstatus, s1
    TRAPS 15, MODE_VU, p_sfence, CAUSE_VIRTUAL, CAUSE_ILLEGAL
    li   s1, HSTATUS_VTVM
    csrs hstatus, s1
    TRAPS 16, MODE_VS, p_sfence, CAUSE_VIRTUAL
    .ifdef QEMU
    TEST 17
    RUN  MODE_VS, p_satp
    EXPECT_NONE
    .else
    TRAPS 17, MODE_VS, p_satp, CAUSE_VIRTUAL
    .endif
    csrc hstatus, s1
    li   t0, MSTATUS_TVM
    csrs mstatus, t0
    TEST 18
    RUN  MODE_VS, p_sfence
    .ifdef QEMU
    EXPECT LVL_M, CAUSE_ILLEGAL
    .else
    EXPECT_NONE
    .endif
    TEST 19
    RUN  MODE_VS, p_satp
    .ifdef QEMU
    EXPECT LVL_M, CAUSE_ILLEGAL
    .else
    EXPECT_NONE
    .endif
    li   s1, MSTATUS_TVM
    csrc mstatus, s1
    csrw hcounteren, zero
    TRAPS 20, MODE_VS, p_rdtime, CAUSE_VIRTUAL
    csrw mcounteren, zero
    TRAPS 21, MODE_VS, p_rdtime, CAUSE_ILLEGAL
    li   t0, -1
    csrw mcounteren, t0
    csrw hcounteren, t0
    csrw scounteren, zero
    TRAPS 22, MODE_VU, p_rdcycle, CAUSE_VIRTUAL
    li   t0, -1
    csrw scounteren, t0
    li   t0, 1 << 63
    csrw menvcfg, t0
    csrw henvcfg, zero
    TRAPS 23, MODE_VS, p_stimecmp, CAUSE_VIRTUAL
    csrw menvcfg, zero
    TRAPS 24, MODE_VS, p_stimecmp, CAUSE_ILLEGAL
    csrw vsstatus, zero
    TRAPS 25, MODE_VS, p_fp, CAUSE_ILLEGAL
    TRAPS 26, MODE_VS, p_mret, CAUSE_ILLEGAL
    TRAPS 27, MODE_VU, p_vsstatus, CAUSE_VIRTUAL

    TEST 28
    li   s1, 1 << 40
    csrw htimedelta, s1
    csrr a3, time
    RUN  MODE_VS, p_rdtime
    EXPECT_NONE
    csrr a4, time
    sub  a0, a0, s1
    bltu a0, a3, 1f
    bltu a4, a0, 1f
    j    2f
1:  FAILR a0, a3
2:  csrw htimedelta, zero

    TEST 29
    li   t0, MSTATUS_FS
    csrc mstatus, t0
    li   t0, 0x2000                 # FS = Initial
    csrs mstatus, t0
    csrw vsstatus, t0
    RUN  MODE_VS, p_fp
    EXPECT_NONE
    csrr t0, vsstatus
    li   t1, MSTATUS_FS
    and  t0, t0, t1
    CHECK t0, MSTATUS_FS
    csrr t0, mstatus
    and  t0, t0, t1
    CHECK t0, MSTATUS_FS
    PASS

    SNIP p_hlv, hlv.d a0, (a1)
    SNIP p_hsv, hsv.d a0, (a1)
    SNIP p_hfence_v, hfence.vvma zero, zero
    SNIP p_hfence_g, hfence.gvma zero, zero
    SNIP p_wfi, wfi
    SNIP p_sret, sret
    SNIP p_sfence, sfence.vma zero, zero
    SNIP p_satp, csrr a0, satp
    SNIP p_rdtime, csrr a0, time
    SNIP p_rdcycle, csrr a0, cycle
    SNIP p_stimecmp, csrr a0, stimecmp
    SNIP p_fp, fmv.d.x f1, zero
    SNIP p_mret, mret
    SNIP p_vsstatus, csrr a0, vsstatus

    .data
    .balign 8
scratch: .dword 0
