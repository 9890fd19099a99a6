# Trap delegation and trap return with the H extension (privileged ISA, "H" Extension, § Trap
# Entry, § Trap Return, § hedeleg): where each trap goes (M, HS through medeleg, VS through
# hedeleg), what it writes (MPV/MPP, SPV/SPVP/SPP, GVA, htval/mtval2), and where SRET and MRET
# go (V from MPV/SPV).
#
# Checks:
#   1-4   medeleg 0: ECALL from VU, VS, HS, U goes to M with cause 8, 10, 9, 8; MPV is 1, 1,
#         0, 0; MPP 0, 1, 1, 0; GVA 0
#   5-8   medeleg 8-10: ECALL from VU, VS, U, HS goes to HS with cause 8, 10, 8, 9; SPV 1, 1,
#         0, 0; SPVP 0, 1, and from V=0 unchanged; SPP 0, 1, 0, 1; GVA 0
#   9     hedeleg 8: ECALL from VU goes to VS (cause 8, vsstatus.SPP 0), hstatus unchanged
#   10    hedeleg bit 10 is read-only zero: ECALL from VS still goes to HS
#   11    hedeleg 2: an illegal instruction in VS goes to VS with tval = the instruction,
#         vsstatus.SPP 1
#   12    a load access fault in VS (address outside RAM) delegated to HS: GVA 1, SPV 1,
#         stval = the address
#   13    the same fault taken to M: mstatus.GVA 1, MPV 1, mtval = the address
#   14    a load access fault in HS taken to M: GVA written 0 (it is written on every M trap)
#   15    htval, written 0x1234 beforehand, is 0 after an ECALL from VS to HS
#   16    mtval2, written 0x1234, is 0 after an ECALL from VS to M
#   17-19 SRET from HS with SPV 1, SPP 1 / SPV 1, SPP 0 / SPV 0, SPP 1 enters VS / VU / HS
#         (the ECALL there reaches M with cause 10 / 8 / 9) and clears SPV
#   20    SRET in VS with vsstatus.SPP 0 enters VU (V stays 1: ECALL cause 8, MPV 1);
#         vsstatus.SPP is cleared, SPIE set, SIE = old SPIE
#   21    MRET with MPP M and MPV 1 stays in M with V 0 and clears MPV (the next trap from
#         M-mode, the probe's ebreak, writes MPV = V = 0)
#   22    MRET to HS clears MPRV
#   23    a trap to HS from VS sets sstatus.SPP from the nominal privilege; SIE -> SPIE

    .option arch, +h
    .equ FINISHER, 1
    .text
    j    _start
    .include "common.S"
    .include "h_common.S"

    .equ ECALLS, (1 << CAUSE_ECALL_U) | (1 << CAUSE_ECALL_S) | (1 << CAUSE_ECALL_VS)
    .equ NOWHERE, 0x800              # no device or memory there, on Ember or QEMU: an access fault

# Check n: ECALL in `mode` traps to `level` with `cause`; the status word masked with `mask`
# is `status`.
.macro ECALL_TO n, mode, level, cause, mask, status
    TEST \n
    RUN  \mode, p_ecall
    EXPECT \level, \cause
    RECA R_EPC, p_ecall
    RECEQ R_STATUS, \status, \mask
.endm

    .text
    .globl _start
_start:
    H_INIT
    .equ MPVPP, MSTATUS_MPV | MSTATUS_MPP | MSTATUS_GVA
    ECALL_TO 1, MODE_VU, LVL_M, CAUSE_ECALL_U, MPVPP, MSTATUS_MPV
    ECALL_TO 2, MODE_VS, LVL_M, CAUSE_ECALL_VS, MPVPP, MSTATUS_MPV | MSTATUS_MPP_S
    ECALL_TO 3, MODE_HS, LVL_M, CAUSE_ECALL_S, MPVPP, MSTATUS_MPP_S
    ECALL_TO 4, MODE_U, LVL_M, CAUSE_ECALL_U, MPVPP, 0

    li   t0, ECALLS
    csrw medeleg, t0
    csrw hstatus, zero
    .equ HS3, HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_GVA
    ECALL_TO 5, MODE_VU, LVL_HS, CAUSE_ECALL_U, HS3, HSTATUS_SPV
    RECEQ R_STATUS2, 0, MSTATUS_SPP
    ECALL_TO 6, MODE_VS, LVL_HS, CAUSE_ECALL_VS, HS3, HSTATUS_SPV | HSTATUS_SPVP
    RECEQ R_STATUS2, MSTATUS_SPP, MSTATUS_SPP
    ECALL_TO 7, MODE_U, LVL_HS, CAUSE_ECALL_U, HS3, HSTATUS_SPVP
    RECEQ R_STATUS2, 0, MSTATUS_SPP
    ECALL_TO 8, MODE_HS, LVL_HS, CAUSE_ECALL_S, HS3, HSTATUS_SPVP
    RECEQ R_STATUS2, MSTATUS_SPP, MSTATUS_SPP

    li   t0, -1
    csrw hedeleg, t0
    li   t0, HSTATUS_VTW
    csrw hstatus, t0
    ECALL_TO 9, MODE_VU, LVL_VS, CAUSE_ECALL_U, MSTATUS_SPP, 0
    csrr t0, hstatus
    li   t1, 0xFFFFFFFF
    and  t0, t0, t1
    CHECK t0, HSTATUS_VTW
    csrw hstatus, zero
    ECALL_TO 10, MODE_VS, LVL_HS, CAUSE_ECALL_VS, HS3, HSTATUS_SPV | HSTATUS_SPVP

    li   t0, 1 << CAUSE_ILLEGAL
    csrw medeleg, t0
    TEST 11
    RUN  MODE_VS, p_illegal
    RECEQ R_LEVEL, LVL_VS
    RECQ R_CAUSE, CAUSE_ILLEGAL, CAUSE_FETCH_ACCESS   # QEMU 7.2 takes 2 for VSSI and lowers it
    RECA R_EPC, p_illegal
    la   t0, p_illegal
    lwu  t0, 0(t0)
    REC  t3, R_TVAL
.ifdef QEMU
    beqz t3, 1f
.endif
    CHECKR t3, t0
1:  RECEQ R_STATUS, MSTATUS_SPP, MSTATUS_SPP

    csrw hedeleg, zero
    li   t0, 1 << CAUSE_LOAD_ACCESS
    csrw medeleg, t0
    li   a1, NOWHERE
    TEST 12
    RUN  MODE_VS, p_load
    EXPECT LVL_HS, CAUSE_LOAD_ACCESS
    RECEQ R_TVAL, NOWHERE
    RECEQ R_STATUS, HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_GVA, HS3
    csrw medeleg, zero
    TEST 13
    RUN  MODE_VS, p_load
    EXPECT LVL_M, CAUSE_LOAD_ACCESS
    RECEQ R_TVAL, NOWHERE
    RECEQ R_STATUS, MSTATUS_MPV | MSTATUS_GVA, MSTATUS_MPV | MSTATUS_GVA
    TEST 14
    RUN  MODE_HS, p_load
    EXPECT LVL_M, CAUSE_LOAD_ACCESS
    RECQ R_STATUS, 0, MSTATUS_GVA, MSTATUS_MPV | MSTATUS_GVA

    li   t0, ECALLS
    csrw medeleg, t0
    li   t0, 0x1234
    csrw htval, t0
    TEST 15
    RUN  MODE_VS, p_ecall
    EXPECT LVL_HS, CAUSE_ECALL_VS
    RECEQ R_TVAL2, 0
    csrw medeleg, zero
    li   t0, 0x1234
    csrw mtval2, t0
    TEST 16
    RUN  MODE_VS, p_ecall
    EXPECT LVL_M, CAUSE_ECALL_VS
    RECEQ R_TVAL2, 0

    # SRET from HS: the probe runs `sret` with sepc = a1 (landing), SPV and SPP set by a2/a3
    la   a1, landing
    li   a2, HSTATUS_SPV
    li   a3, MSTATUS_SPP
    TEST 17
    RUN  MODE_HS, p_sret_hs
    EXPECT LVL_M, CAUSE_ECALL_VS
    RECA R_EPC, landing
    csrr t0, hstatus
    andi t0, t0, HSTATUS_SPV
    CHECK t0, 0
    li   a3, 0
    TEST 18
    RUN  MODE_HS, p_sret_hs
    EXPECT LVL_M, CAUSE_ECALL_U
    RECEQ R_STATUS, MSTATUS_MPV, MSTATUS_MPV
    li   a2, 0
    li   a3, MSTATUS_SPP
    TEST 19
    RUN  MODE_HS, p_sret_hs
    EXPECT LVL_M, CAUSE_ECALL_S
    RECEQ R_STATUS, 0, MSTATUS_MPV

    TEST 20
    li   t0, MSTATUS_SPIE
    csrw vsstatus, t0
    la   t0, landing
    csrw vsepc, t0
    RUN  MODE_VS, p_sret
    EXPECT LVL_M, CAUSE_ECALL_U
    RECA R_EPC, landing
    RECEQ R_STATUS, MSTATUS_MPV, MSTATUS_MPV | MSTATUS_MPP
    csrr t0, vsstatus
    andi t0, t0, MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE
    CHECK t0, MSTATUS_SPIE | MSTATUS_SIE

    TEST 21
    la   a1, m_landing
    RUN  MODE_M, p_mret_m
    EXPECT_NONE
    li   t0, MSTATUS_MPV
    and  t0, a0, t0
    CHECK t0, 0
    csrr t0, mstatus                # after the ebreak's trap from M: MPV = V = 0
    li   t1, MSTATUS_MPV
    and  t0, t0, t1
    csrc mstatus, t1
    CHECKQ t0, 0, MSTATUS_MPV

    TEST 22
    li   t0, MSTATUS_MPRV
    csrs mstatus, t0
    RUN  MODE_HS, p_nop
    EXPECT_NONE
    csrr t0, mstatus
    li   t1, MSTATUS_MPRV
    and  t0, t0, t1
    csrc mstatus, t1
    CHECKQ t0, 0, MSTATUS_MPRV

    TEST 23
    li   t0, ECALLS
    csrw medeleg, t0
    li   t0, MSTATUS_SIE
    csrs sstatus, t0
    RUN  MODE_VS, p_ecall
    EXPECT LVL_HS, CAUSE_ECALL_VS
    RECEQ R_STATUS2, MSTATUS_SPP | MSTATUS_SPIE, MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE
    PASS

    SNIP p_ecall, ecall
    SNIP p_illegal, csrr a0, mscratch
    SNIP p_load, ld a0, 0(a1)
    SNIP p_nop, nop
    SNIP p_sret, sret
# M: mret with MPP M and MPV 1, to a1, which reads mstatus into a0
p_mret_m:
    li   t0, MSTATUS_MPP | MSTATUS_MPV
    csrs mstatus, t0
    csrw mepc, a1
    mret
p_mret_m_end:
    ebreak
m_landing:
    csrr a0, mstatus
    j    p_mret_m_end
landing:
    ecall
    j    landing
