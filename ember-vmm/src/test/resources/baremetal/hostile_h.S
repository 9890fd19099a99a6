# A hostile hypervisor (issue 13, "Bad input"): M-mode and HS-mode code that misprograms
# hgatp, hstatus, vsstatus and the G-stage tables, runs the H instructions from the wrong
# modes, and enters VS-mode with garbage state. Each case must end in the trap the privileged
# ISA's "H" extension defines (checked here), never in a host error: the harness also checks
# that the run reports no errors. Ember only: QEMU 7.2 aborts on a reserved hgatp MODE used
# with V=1 (see README.md).
#
# Checks (every trap is taken to M-mode; medeleg is 0):
#   1     hgatp written with MODE 11 and garbage in every other bit keeps MODE Bare (WARL), so
#         a VS load of RAM works
#   2     hgatp Sv39x4 with garbage VMID and a root outside RAM: the probe's fetch is an
#         instruction access fault (1), mtval = its address, GVA 1, MPV 1
#   3     hgatp Sv39x4 with its root at the CLINT (device memory): instruction access fault
#   4     hgatp with the largest PPN (root far above RAM): instruction access fault
#   5     a G-stage table whose entries point back at itself: GPA 0x1_0000_0000 walks it to
#         level 0 and finds a pointer there: load guest-page fault (21), mtval2 = GPA >> 2
#   6     a G-stage leaf with reserved bit 60 (no Svpbmt): load guest-page fault
#   7     a G-stage leaf with W but not R (reserved): store guest-page fault (23)
#   8     a G-stage leaf at the CLINT's mtime: a VS load reads the device, no trap
#   9     a G-stage leaf at unmapped SPA 0x800: load access fault (5), mtval = the GVA
#   10    a VS-stage table that points at itself at every level: load page fault (13)
#   11    hstatus all ones (VTSR, VTW, VTVM, HU, SPV, SPVP): in VS-mode SRET, WFI, SFENCE.VMA
#         are virtual-instruction exceptions (22); hstatus reads 0x2007003C0
#   12    vsstatus all ones: a VS load runs; vsstatus reads 0x80000002000C6122
#   13    SRET from HS with SPV 1 into VS with vsatp's root outside RAM (hgatp Bare) and
#         sepc = 0x1234000:
#         instruction access fault, MPV 1, GVA 1
#   14    SRET from HS with SPV 1 into VS at a GPA above Sv39x4's 41 bits: fetch guest-page
#         fault (20), mtval2 = GPA >> 2
#   15    htimedelta -1: time read in VS-mode is time - 1 (it wraps)
#   16    htimedelta 2^63, vstimecmp 2^63, STCE: hip.VSTIP is 1; vstimecmp -1: 0
#   17    HLV.D, HSV.D, HFENCE.GVMA from VU-mode: virtual (22); from U with HU 0: illegal (2)
#   18    HFENCE.GVMA from VS with TVM set: virtual (22) (V=1 decides first)

    .option arch, +h
    .text
    .include "common.S"
    .include "h_common.S"

    .equ PAGE, 0x1000
    .equ G_ROOT, RAM_BASE + 0x400000
    .equ G_LOOP, RAM_BASE + 0x404000
    .equ G_L1,   RAM_BASE + 0x405000
    .equ G_L0,   RAM_BASE + 0x406000
    .equ VS_LOOP, RAM_BASE + 0x420000
    .equ DATA,   RAM_BASE + 0x500000
    .equ GP,     0x100000000
    .equ CLINT,  0x2000000
    .equ MTIME,  CLINT + 0xBFF8

# Check n: probe `snip` in `mode` with a1 = `a1v` ends in a trap to M with `cause`.
.macro ONCE n, mode, snip, a1v, cause
    TEST \n
    li   a1, \a1v
    RUN_ONCE \mode, \snip
    EXPECT LVL_M, \cause
.endm

    .text
    .globl _start
_start:
    H_INIT
    li   t0, DATA
    li   t1, 0xDA7A
    sd   t1, 0(t0)

    TEST 1
    li   t0, (11 << 60) | 0x0FFFFFFFFFFFFFFF
    csrw hgatp, t0
    csrr t0, hgatp
    srli t0, t0, 60
    CHECK t0, 0
    hfence.gvma zero, zero
    li   a1, DATA
    RUN_ONCE MODE_VS, p_ld
    EXPECT_NONE
    CHECK a0, 0xDA7A

    TEST 2
    li   t0, (8 << 60) | (0x3FFF << 44) | 0x4
    csrw hgatp, t0
    hfence.gvma zero, zero
    RUN_ONCE MODE_VS, p_ld
    EXPECT LVL_M, CAUSE_FETCH_ACCESS
    RECA R_TVAL, p_ld
    RECEQ R_STATUS, MSTATUS_MPV | MSTATUS_GVA, MSTATUS_MPV | MSTATUS_GVA
    TEST 3
    li   t0, (8 << 60) | (CLINT >> 12)
    csrw hgatp, t0
    hfence.gvma zero, zero
    RUN_ONCE MODE_VS, p_ld
    EXPECT LVL_M, CAUSE_FETCH_ACCESS
    TEST 4
    li   t0, (8 << 60) | 0xFFFFFFFFFFC
    csrw hgatp, t0
    hfence.gvma zero, zero
    RUN_ONCE MODE_VS, p_ld
    EXPECT LVL_M, CAUSE_FETCH_ACCESS

    # A sane G-stage for the code (GPA 0x8000_0000 identity), and hostile parts beside it.
    PTE  G_ROOT, 2, RAM_BASE, PTE_V | RWX | PTE_U | PTE_AD
    PTE  G_ROOT, 4, G_LOOP, PTE_V
    PTE  G_LOOP, 0, G_LOOP, PTE_V
    PTE  G_ROOT, 5, G_L1, PTE_V
    PTE  G_L1, 0, G_L0, PTE_V
    li   t0, G_L0 + 0 * 8           # reserved bit 60 (PBMT without Svpbmt)
    li   t1, ((DATA >> 12) << 10) | PTE_V | PTE_R | PTE_W | PTE_U | PTE_AD | (1 << 60)
    sd   t1, 0(t0)
    PTE  G_L0, 1, DATA, PTE_V | PTE_W | PTE_U | PTE_AD
    PTE  G_L0, 2, CLINT + 0xB000, PTE_V | PTE_R | PTE_U | PTE_AD
    li   t0, G_L0 + 3 * 8           # SPA 0x800: nothing there
    li   t1, PTE_V | PTE_R | PTE_W | PTE_U | PTE_AD
    sd   t1, 0(t0)
    li   t0, (8 << 60) | (0x1234 << 44) | (G_ROOT >> 12)
    csrw hgatp, t0
    hfence.gvma zero, zero

    ONCE 5, MODE_VS, p_ld, GP, CAUSE_LOAD_GUEST
    RECEQ R_TVAL2, GP >> 2
    ONCE 6, MODE_VS, p_ld, GP + 0x40000000, CAUSE_LOAD_GUEST
    ONCE 7, MODE_VS, p_sd, GP + 0x40000000 + PAGE, CAUSE_STORE_GUEST
    TEST 8
    li   a1, GP + 0x40000000 + 2 * PAGE + 0xFF8
    RUN_ONCE MODE_VS, p_ld
    EXPECT_NONE
    ONCE 9, MODE_VS, p_ld, GP + 0x40000000 + 3 * PAGE, CAUSE_LOAD_ACCESS
    RECEQ R_TVAL, GP + 0x40000000 + 3 * PAGE

    PTE  VS_LOOP, 1, VS_LOOP, PTE_V
    PTE  VS_LOOP, 2, RAM_BASE, PTE_V | RWX | PTE_AD
    li   t0, (8 << 60) | (VS_LOOP >> 12)
    csrw vsatp, t0
    hfence.vvma zero, zero
    ONCE 10, MODE_VS, p_ld, 0x40201000, CAUSE_LOAD_PAGE
    csrw vsatp, zero
    hfence.vvma zero, zero

    li   t0, -1
    csrw hstatus, t0
    ONCE 11, MODE_VS, p_sret, 0, CAUSE_VIRTUAL
    ONCE 11, MODE_VS, p_wfi, 0, CAUSE_VIRTUAL
    ONCE 11, MODE_VS, p_sfence, 0, CAUSE_VIRTUAL
    csrr t0, hstatus
    CHECK t0, 0x2007003C0
    csrw hstatus, zero

    TEST 12
    li   t0, -1
    csrw vsstatus, t0
    li   a1, DATA
    RUN_ONCE MODE_VS, p_ld
    EXPECT_NONE
    csrr t0, vsstatus
    CHECK t0, 0x80000002000C6122
    csrw vsstatus, zero

    li   t0, (8 << 60) | 0x3        # the VS root at GPA 0x3000: not RAM (hgatp Bare)
    csrw vsatp, t0
    csrr s3, hgatp
    csrw hgatp, zero
    hfence.vvma zero, zero
    li   a1, 0x1234000
    li   a2, HSTATUS_SPV
    li   a3, MSTATUS_SPP
    ONCE 13, MODE_HS, p_sret_hs, 0x1234000, CAUSE_FETCH_ACCESS
    RECEQ R_EPC, 0x1234000
    RECEQ R_STATUS, MSTATUS_MPV | MSTATUS_GVA, MSTATUS_MPV | MSTATUS_GVA
    csrw vsatp, zero
    csrw hgatp, s3
    hfence.vvma zero, zero
    ONCE 14, MODE_HS, p_sret_hs, 1 << 45, CAUSE_FETCH_GUEST
    RECEQ R_TVAL2, (1 << 45) >> 2
    csrw hstatus, zero

    TEST 15
    li   t0, -1
    csrw htimedelta, t0
    csrr s1, time
    RUN  MODE_VS, p_time
    EXPECT_NONE
    addi a0, a0, 1
    bltu a0, s1, fail
    csrr s2, time
    bltu s2, a0, fail
    TEST 16
    li   t0, 1 << 63
    csrw htimedelta, t0
    csrw vstimecmp, t0
    csrw menvcfg, t0
    csrw henvcfg, t0
    csrr t0, hip
    andi t0, t0, 1 << 6
    CHECK t0, 1 << 6
    li   t0, -1
    csrw vstimecmp, t0
    csrr t0, hip
    andi t0, t0, 1 << 6
    CHECK t0, 0
    csrw htimedelta, zero
    csrw henvcfg, zero
    csrw menvcfg, zero

    la   a1, scratch
    ONCE 17, MODE_VU, p_hlv, 0, CAUSE_VIRTUAL
    ONCE 17, MODE_VU, p_hsv, 0, CAUSE_VIRTUAL
    ONCE 17, MODE_VU, p_hfence_g, 0, CAUSE_VIRTUAL
    ONCE 17, MODE_U, p_hlv, 0, CAUSE_ILLEGAL
    li   t0, MSTATUS_TVM
    csrs mstatus, t0
    ONCE 18, MODE_VS, p_hfence_g, 0, CAUSE_VIRTUAL
    li   t0, MSTATUS_TVM
    csrc mstatus, t0
    PASS

    SNIP p_ld, ld a0, 0(a1)
    SNIP p_sd, sd a1, 0(a1)
    SNIP p_sret, sret
    SNIP p_wfi, wfi
    SNIP p_sfence, sfence.vma zero, zero
    SNIP p_time, csrr a0, time
    SNIP p_hlv, hlv.d a0, (a1)
    SNIP p_hsv, hsv.d a0, (a1)
    SNIP p_hfence_g, hfence.gvma zero, zero

    .data
    .balign 8
scratch: .dword 0
