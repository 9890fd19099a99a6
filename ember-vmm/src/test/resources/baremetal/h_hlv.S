# HLV, HLVX and HSV, and the fences HFENCE.VVMA and HFENCE.GVMA (privileged ISA, "H" Extension,
# § Hypervisor Virtual-Machine Load and Store Instructions, § Hypervisor Memory-Management
# Fence Instructions): who may run them, the privilege they access with (hstatus.SPVP), SUM and
# execute permission, the faults they raise (GVA 1 with SPV 0), and that a remapped guest page
# is seen after the fences.
#
# G-stage Sv39x4: GPA 0x8000_0000 1 GiB identity; GPA(k) = 0x1_0000_0000 + k * 4 KiB:
#   GPA(0) URW -> DATA(0)   GPA(1) UX -> DATA(1)   GPA(2) invalid   GPA(3) URW -> DATA(3)
# VS-stage Sv39 (VA 0x4000_0000 + j * 4 KiB):
#   j0 -> GPA(0) RW   j1 -> GPA(0) U RW   j2 -> GPA(0) X   j3 -> GPA(1) X   j4 -> GPA(2) RW
#   j5 invalid   j6 -> GPA(0) RW, then GPA(3) (remapped by the checks)   j7 -> GPA(3) RWX
# DATA(k) holds 0xDA7A0000 + k.
#
# Checks:
#   1-2   HLV.D from M and from HS (SPVP 1) at j0 reads DATA(0)
#   3     HLV.D from U with hstatus.HU 0: illegal;  4  with HU 1: reads
#   5     SPVP 0 (as VU) at the supervisor page j0: load page fault 13, to M, mtval = VA,
#         mstatus.GVA 1, MPV 0
#   6     SPVP 0 at the user page j1: reads
#   7-8   SPVP 1 at the user page j1: faults with vsstatus.SUM 0, reads with SUM 1
#   9     HS mstatus.SUM does not apply: vsstatus.SUM 0, mstatus.SUM 1: faults
#   10    HSV.D from HS at j0 writes DATA(0)
#   11    HSV.D at the execute-only page j2: store page fault 15
#   12    HLVX.WU at j2 (X at VS-stage, not at G-stage): guest-page fault 21, to HS, htval =
#         GPA(0) >> 2, stval = VA, hstatus.GVA 1, SPV 0
#   13    HLVX.WU at j3 (X at both stages) reads DATA(1)
#   14    HLV.W at j3 (X without R): load page fault 13
#   15    HLV.D at j4 (G-stage invalid): guest-page fault 21 to HS, htval = GPA(2) >> 2,
#         GVA 1, SPV 0
#   16    HLV.D at the invalid j5: page fault 13 to M, GVA 1, mtval2 0
#   17    HLV.B sign-extends, HLV.BU does not
#   20    VS load at j6 reads DATA(0); j6 remapped to GPA(3) + HFENCE.VVMA: reads DATA(3)
#   21    G-stage GPA(3) remapped to DATA(0) + HFENCE.GVMA: reads DATA(0)'s value
#   22    SFENCE.VMA in HS (V=0) leaves the guest's view right
#   24-25 HFENCE.VVMA and HFENCE.GVMA in U-mode: illegal
#   26    HFENCE.GVMA in HS-mode with mstatus.TVM: illegal; 27 HFENCE.VVMA with TVM: runs
#   28    an hgatp write in HS-mode with TVM: illegal
#   29    HFENCE.VVMA and HFENCE.GVMA in HS-mode (TVM 0) run
#   30    VS-mode: j6 remapped to GPA(0), then SFENCE.VMA in VS-mode and a load: the new page
#   31-32 code at VA j7 (GPA(3)) run twice, G-stage GPA(3) remapped to other code +
#         HFENCE.GVMA, run twice: the new code runs (translated code follows the G-stage)
#   33    M-mode with MPRV, MPP S and MPV 1: a load is translated by both stages (VA j0)
#   34-35 the same at the invalid j5 (load page fault 13) and at j4 (G-stage invalid: load
#         guest-page fault 21, mtval2 = GPA(2) >> 2): mtval is a guest virtual address, so
#         mstatus.GVA is 1 (§ Machine Status Registers: GVA)

    .option arch, +h
    .equ FINISHER, 1
    .text
    j    _start
    .include "common.S"
    .include "h_common.S"

    .equ PAGE, 0x1000
    .equ G_ROOT, RAM_BASE + 0x400000
    .equ G_L1,   RAM_BASE + 0x404000
    .equ G_L0,   RAM_BASE + 0x405000
    .equ VS_ROOT, RAM_BASE + 0x420000
    .equ VS_L1,  RAM_BASE + 0x421000
    .equ VS_L0,  RAM_BASE + 0x422000
    .equ DATA,   RAM_BASE + 0x500000
    .equ GP,     0x100000000
    .equ VA,     0x40000000
    .equ GUEST_FAULTS, (1 << CAUSE_FETCH_GUEST) | (1 << CAUSE_LOAD_GUEST) | (1 << CAUSE_STORE_GUEST)

# Check n: probe `snip` in `mode` with a1 = `va` runs and leaves `value` in a0.
.macro OK n, mode, snip, va, value
    TEST \n
    li   a1, \va
    RUN  \mode, \snip
    EXPECT_NONE
    CHECK a0, \value
.endm

# Check n: probe `snip` in `mode` at `va` traps to `level` with `cause` (`qcause` on QEMU 7.2,
# which reports an HLV/HSV page fault as an access fault while HS satp is Bare), tval = `va`.
.macro FAULTS n, mode, snip, va, level, cause, qcause=-1
    TEST \n
    li   a1, \va
    RUN  \mode, \snip
    RECEQ R_LEVEL, \level
    .if \qcause == -1
    RECEQ R_CAUSE, \cause
    .else
    RECQ R_CAUSE, \cause, \qcause
    .endif
    RECEQ R_TVAL, \va
.endm

    .text
    .globl _start
_start:
    H_INIT
    li   t0, DATA
    li   t1, 0xDA7A0000
    li   t2, 5
1:  sd   t1, 0(t0)
    li   t3, PAGE
    add  t0, t0, t3
    addi t1, t1, 1
    addi t2, t2, -1
    bnez t2, 1b
    li   t0, DATA + 7
    li   t1, 0x80
    sb   t1, 0(t0)

    PTE  G_ROOT, 2, RAM_BASE, PTE_V | RWX | PTE_U | PTE_AD
    PTE  G_ROOT, 4, G_L1, PTE_V
    PTE  G_L1, 0, G_L0, PTE_V
    PTE  G_L0, 0, DATA + 0 * PAGE, PTE_V | PTE_R | PTE_W | PTE_U | PTE_AD
    PTE  G_L0, 1, DATA + 1 * PAGE, PTE_V | PTE_X | PTE_U | PTE_AD
    PTE  G_L0, 3, DATA + 3 * PAGE, PTE_V | PTE_R | PTE_W | PTE_U | PTE_AD
    PTE  VS_ROOT, 1, VS_L1, PTE_V
    PTE  VS_ROOT, 2, RAM_BASE, PTE_V | RWX | PTE_AD
    PTE  VS_L1, 0, VS_L0, PTE_V
    PTE  VS_L0, 0, GP + 0 * PAGE, PTE_V | PTE_R | PTE_W | PTE_AD
    PTE  VS_L0, 1, GP + 0 * PAGE, PTE_V | PTE_R | PTE_W | PTE_U | PTE_AD
    PTE  VS_L0, 2, GP + 0 * PAGE, PTE_V | PTE_X | PTE_AD
    PTE  VS_L0, 3, GP + 1 * PAGE, PTE_V | PTE_X | PTE_AD
    PTE  VS_L0, 4, GP + 2 * PAGE, PTE_V | PTE_R | PTE_W | PTE_AD
    PTE  VS_L0, 6, GP + 0 * PAGE, PTE_V | PTE_R | PTE_W | PTE_AD
    li   t0, (8 << 60) | (G_ROOT >> 12)
    csrw hgatp, t0
    li   t0, (8 << 60) | (VS_ROOT >> 12)
    csrw vsatp, t0
    hfence.gvma zero, zero
    li   t0, HSTATUS_SPVP
    csrw hstatus, t0

    OK   1, MODE_M, p_hlvd, VA, 0x80000000DA7A0000
    OK   2, MODE_HS, p_hlvd, VA, 0x80000000DA7A0000
    TRAPS 3, MODE_U, p_hlvd, CAUSE_ILLEGAL
    li   t0, HSTATUS_HU
    csrs hstatus, t0
    OK   4, MODE_U, p_hlvd, VA, 0x80000000DA7A0000
    csrc hstatus, t0
    li   t0, HSTATUS_SPVP
    csrc hstatus, t0
    FAULTS 5, MODE_HS, p_hlvd, VA, LVL_M, CAUSE_LOAD_PAGE, CAUSE_LOAD_ACCESS
    RECQ R_STATUS, MSTATUS_GVA, 0, MSTATUS_GVA | MSTATUS_MPV
    OK   6, MODE_HS, p_hlvd, VA + 1 * PAGE, 0x80000000DA7A0000
    li   t0, HSTATUS_SPVP
    csrs hstatus, t0
    .ifdef QEMU
    OK   7, MODE_HS, p_hlvd, VA + 1 * PAGE, 0x80000000DA7A0000   # QEMU 7.2 ignores vsstatus.SUM for HLV
    .else
    FAULTS 7, MODE_HS, p_hlvd, VA + 1 * PAGE, LVL_M, CAUSE_LOAD_PAGE
    .endif
    li   t0, MSTATUS_SUM
    csrs vsstatus, t0
    OK   8, MODE_HS, p_hlvd, VA + 1 * PAGE, 0x80000000DA7A0000
    li   t0, MSTATUS_SUM
    csrc vsstatus, t0
    csrs mstatus, t0
    .ifdef QEMU
    OK   9, MODE_HS, p_hlvd, VA + 1 * PAGE, 0x80000000DA7A0000   # QEMU 7.2 ignores vsstatus.SUM for HLV
    .else
    FAULTS 9, MODE_HS, p_hlvd, VA + 1 * PAGE, LVL_M, CAUSE_LOAD_PAGE
    .endif
    li   t0, MSTATUS_SUM
    csrc mstatus, t0

    TEST 10
    li   a1, VA
    li   a2, 0x4D5E
    RUN  MODE_HS, p_hsvd
    EXPECT_NONE
    li   t0, DATA
    ld   t0, 0(t0)
    CHECK t0, 0x4D5E
    FAULTS 11, MODE_HS, p_hsvd, VA + 2 * PAGE, LVL_M, CAUSE_STORE_PAGE, CAUSE_STORE_ACCESS
    li   t0, GUEST_FAULTS
    csrw medeleg, t0
    .ifdef QEMU
    FAULTS 12, MODE_HS, p_hlvx, VA + 2 * PAGE, LVL_M, CAUSE_LOAD_ACCESS
    .else
    FAULTS 12, MODE_HS, p_hlvx, VA + 2 * PAGE, LVL_HS, CAUSE_LOAD_GUEST
    RECEQ R_TVAL2, GP >> 2
    RECEQ R_STATUS, HSTATUS_GVA, HSTATUS_GVA | HSTATUS_SPV
    .endif
    csrw medeleg, zero
    la   t0, code_word
    lwu  s1, 0(t0)
    li   t0, DATA + 1 * PAGE
    sw   s1, 0(t0)
    .ifdef QEMU
    FAULTS 13, MODE_HS, p_hlvx, VA + 3 * PAGE, LVL_M, CAUSE_LOAD_ACCESS
    .else
    TEST 13
    li   a1, VA + 3 * PAGE
    RUN  MODE_HS, p_hlvx
    EXPECT_NONE
    CHECKR a0, s1
    .endif
    FAULTS 14, MODE_HS, p_hlvw, VA + 3 * PAGE, LVL_M, CAUSE_LOAD_PAGE, CAUSE_LOAD_ACCESS
    li   t0, GUEST_FAULTS
    csrw medeleg, t0
    FAULTS 15, MODE_HS, p_hlvd, VA + 4 * PAGE, LVL_HS, CAUSE_LOAD_GUEST
    RECEQ R_TVAL2, (GP + 2 * PAGE) >> 2
    RECEQ R_STATUS, HSTATUS_GVA, HSTATUS_GVA | HSTATUS_SPV
    csrw medeleg, zero
    FAULTS 16, MODE_HS, p_hlvd, VA + 5 * PAGE, LVL_M, CAUSE_LOAD_PAGE, CAUSE_LOAD_ACCESS
    RECQ R_STATUS, MSTATUS_GVA, 0, MSTATUS_GVA | MSTATUS_MPV
    RECEQ R_TVAL2, 0
    li   t0, DATA
    sd   zero, 0(t0)
    li   t1, 0x80
    sb   t1, 7(t0)
    OK   17, MODE_HS, p_hlvb, VA + 7, -128
    OK   17, MODE_HS, p_hlvbu, VA + 7, 0x80

    # fences: j6 -> GPA(0) -> DATA(0), which now holds 0x8000000000000000
    OK   20, MODE_VS, p_ld, VA + 6 * PAGE, 0x8000000000000000
    PTE  VS_L0, 6, GP + 3 * PAGE, PTE_V | PTE_R | PTE_W | PTE_AD
    hfence.vvma zero, zero
    OK   20, MODE_VS, p_ld, VA + 6 * PAGE, 0xDA7A0003
    PTE  G_L0, 3, DATA + 4 * PAGE, PTE_V | PTE_R | PTE_W | PTE_U | PTE_AD
    hfence.gvma zero, zero
    OK   21, MODE_VS, p_ld, VA + 6 * PAGE, 0xDA7A0004
    sfence.vma zero, zero
    OK   22, MODE_VS, p_ld, VA + 6 * PAGE, 0xDA7A0004
    TRAPS 24, MODE_U, p_hfence_v, CAUSE_ILLEGAL
    TRAPS 25, MODE_U, p_hfence_g, CAUSE_ILLEGAL
    li   s1, MSTATUS_TVM
    csrs mstatus, s1
    TEST 26
    RUN  MODE_HS, p_hfence_g
    EXPECT LVL_M, CAUSE_ILLEGAL
    TEST 27
    RUN  MODE_HS, p_hfence_v
    EXPECT_NONE
    TEST 28
    csrr a3, hgatp
    RUN  MODE_HS, p_hgatp_w
    RECQ R_LEVEL, LVL_M, LVL_NONE
    csrc mstatus, s1
    TEST 29
    RUN  MODE_HS, p_hfence_g
    EXPECT_NONE
    RUN  MODE_HS, p_hfence_v
    EXPECT_NONE
    PTE  VS_L0, 6, GP + 0 * PAGE, PTE_V | PTE_R | PTE_W | PTE_AD
    OK   30, MODE_VS, p_sfence_ld, VA + 6 * PAGE, 0x8000000000000000

    # code at VA j7 -> GPA(3): first DATA(4)'s "li a0, 1", then DATA(3)'s "li a0, 2"
    la   t0, code_one
    lw   t1, 0(t0)
    lw   t2, 4(t0)
    li   t0, DATA + 4 * PAGE
    sw   t1, 0(t0)
    sw   t2, 4(t0)
    la   t0, code_two
    lw   t1, 0(t0)
    li   t0, DATA + 3 * PAGE
    sw   t1, 0(t0)
    sw   t2, 4(t0)
    fence.i
    PTE  VS_L0, 7, GP + 3 * PAGE, PTE_V | RWX | PTE_AD
    PTE  G_L0, 3, DATA + 4 * PAGE, PTE_V | RWX | PTE_U | PTE_AD
    hfence.vvma zero, zero
    hfence.gvma zero, zero
    OK   31, MODE_VS, p_jalr, VA + 7 * PAGE, 1
    OK   31, MODE_VS, p_jalr, VA + 7 * PAGE, 1
    PTE  G_L0, 3, DATA + 3 * PAGE, PTE_V | RWX | PTE_U | PTE_AD
    hfence.gvma zero, zero
    OK   32, MODE_VS, p_jalr, VA + 7 * PAGE, 2
    OK   32, MODE_VS, p_jalr, VA + 7 * PAGE, 2

    TEST 33
    li   t0, MSTATUS_MPRV | MSTATUS_MPV | MSTATUS_MPP_S
    li   t1, DATA
    sd   t1, 0(t1)
    li   a1, VA
    csrs mstatus, t0
    ld   a0, 0(a1)
    csrc mstatus, t0
    CHECK a0, DATA

    # M-mode loads with MPRV, MPP S, MPV 1 that fault: the address is a guest virtual one
    TEST 34
    li   a1, VA + 5 * PAGE
    RUN  MODE_M, p_mprv_ld
    RECEQ R_LEVEL, LVL_M
    RECQ R_CAUSE, CAUSE_LOAD_PAGE, CAUSE_LOAD_ACCESS
    RECEQ R_TVAL, VA + 5 * PAGE
    RECQ R_STATUS, MSTATUS_GVA, 0, MSTATUS_GVA
    TEST 35
    li   a1, VA + 4 * PAGE
    RUN  MODE_M, p_mprv_ld
    .ifdef QEMU
    EXPECT LVL_M, CAUSE_LOAD_PAGE   # QEMU 7.2 reports the G-stage fault as a page fault
    .else
    EXPECT LVL_M, CAUSE_LOAD_GUEST
    RECEQ R_TVAL2, (GP + 2 * PAGE) >> 2
    RECEQ R_STATUS, MSTATUS_GVA, MSTATUS_GVA
    .endif
    li   t0, MSTATUS_MPRV
    csrc mstatus, t0
    PASS

    SNIP p_hlvd, hlv.d a0, (a1)
    SNIP p_hlvw, hlv.w a0, (a1)
    SNIP p_hlvb, hlv.b a0, (a1)
    SNIP p_hlvbu, hlv.bu a0, (a1)
    SNIP p_hlvx, hlvx.wu a0, (a1)
    SNIP p_hsvd, hsv.d a2, (a1)
    SNIP p_ld, ld a0, 0(a1)
    SNIP p_jalr, jalr ra, 0(a1)
    SNIP p_hfence_v, hfence.vvma zero, zero
    SNIP p_hfence_g, hfence.gvma zero, zero
    SNIP p_hgatp_w, csrw hgatp, a3
p_sfence_ld:
    sfence.vma zero, zero
    ld   a0, 0(a1)
p_sfence_ld_end:
    ebreak
# M: a load with MPRV, MPP S and MPV 1 (the trap's entry clears MPV and sets MPP to M)
p_mprv_ld:
    li   t0, MSTATUS_MPRV | MSTATUS_MPV | MSTATUS_MPP_S
    csrs mstatus, t0
    ld   a0, 0(a1)
p_mprv_ld_end:
    ebreak
code_word:
    addi a0, a0, 0x123
code_one:
    li   a0, 1
    jalr zero, 0(ra)
code_two:
    li   a0, 2
