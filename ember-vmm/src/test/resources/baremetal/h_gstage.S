# Two-stage address translation and guest-page faults (privileged ISA, "H" Extension, § Two-Stage
# Address Translation, § Guest Physical Address Translation, § Guest-Page Faults, § htval,
# § Transformed Instruction or Pseudoinstruction for mtinst or htinst): Sv39 over Sv39x4 with
# 4 KiB, 2 MiB and 1 GiB leaves in both stages, A/D updates in both, every guest-page fault
# with stval, htval/mtval2 (GPA >> 2), htinst/mtinst and GVA, taken to HS and to M; the
# Sv48x4 and Sv57x4 roots.
#
# G-stage (hgatp Sv39x4, root at G_ROOT; GP = GPA 0x1_0000_0000, GPA(k) = GP + k * 4 KiB):
#   GPA 0x8000_0000     1 GiB leaf, identity (code, data, VS page tables)
#   GPA 0x100_8000_0000 1 GiB leaf to the same RAM (root index bit 40)
#   GPA(0) URW, A/D clear -> DATA(0)    GPA(1) URW -> DATA(1)    GPA(2) RW without U
#   GPA(3) invalid    GPA(4) UR    GPA(5) UX    GPA(6) URW, A/D clear: holds VS table B
#   GPA(7) invalid (a VS table's address)    GPA(8) UR: holds VS table C
#   GP + 2 MiB  2 MiB leaf -> MEGA      GP + 4 MiB  2 MiB leaf, misaligned
# VS-stage (vsatp Sv39, root at VS_ROOT; VA 0x4000_0000 + j * 4 KiB):
#   VA 0x8000_0000 1 GiB RWX (the program)    VA 0xC000_0000 1 GiB RW -> GP
#   j0 -> GPA(0)  j1 -> GPA(2)  j2 -> GPA(3)  j3 -> GPA(4)  j4 -> GPA(5) RWX
#   j7 -> GPA(9) RWX (G: URWX -> DATA(9))   j8 -> GPA(3)
#   VA 0x4020_0000 2 MiB -> GP + 2 MiB
#   VA 0x4040_0000 table B at GPA(6): [0] -> GPA(1) RW, A/D clear
#   VA 0x4060_0000 a table at GPA(7) (G-invalid)
#   VA 0x4080_0000 table C at GPA(8) (G read-only): [0] -> GPA(1) RW, A clear
#
# Checks (faults: n taken to HS through medeleg, n + 100 taken to M):
#   1-2   VS load, store at j0: the data; the G-stage leaf of GPA(0) gets A, then D
#   3     VS load through the VS 2 MiB and G 2 MiB leaves
#   4     VS load through the VS 1 GiB leaf
#   5     VS store at VA 0x4040_0000: table B's PTE gets A and D
#   9     and the G-stage leaf of GPA(6), the page holding that PTE, gets A and D (the A/D
#         write is a G-stage store)
#   6     VS fetch at j4 (G-stage X only): runs
#   7     VS load at j4 with vsstatus.MXR: guest-page fault (vsstatus.MXR is VS-stage only)
#   8     VS load at j4 with mstatus.MXR: reads the code (HS MXR applies to both stages)
#   10-13 load j1 (no U) 21, store j2 (invalid) 23, store j3 (R only) 23, load j4 (X only) 21:
#         stval = VA, htval = GPA >> 2, htinst 0, GVA 1, SPV/MPV 1
#   14-16 load, store, fetch at VA 0x4060_0000: the VS-stage PTE read faults at G-stage:
#         cause 21, 23, 20 (the original access's), htval = the PTE's GPA >> 2, htinst 0x3000
#   17    load at VA 0x4080_0000: the VS A-bit write faults at G-stage: 21, htval = the
#         PTE's GPA >> 2, htinst 0x3020
#   18    vsatp Bare: a load at GPA 2^41 (above Sv39x4's 41 bits): 21, htval 2^39
#   19    vsatp Bare: a load at GPA 0x100_8050_0000 reads DATA(0) (root index bit 40)
#   20    vsatp Bare: a load in the misaligned 2 MiB G-stage leaf: 21
#   21    vsatp Bare: a load at GPA 0xFFFF_FFFF_FFFF_F000 (upper bits must be zero): 21
#   22-23 hgatp Sv48x4: GPA DATA(0) and 2^49 + DATA(0) read DATA(0); 24 GPA 2^50: fault 21
#   25-26 hgatp Sv57x4: GPA DATA(0) and 2^58 + DATA(0) read DATA(0); 27 GPA 2^59: fault 21
#   28    a 32-bit instruction at the last 2 bytes of VS page j7 (GPA(9), G RWX) whose second
#         half is on j8 (GPA(3), G-invalid): fetch guest-page fault, stval = j8, htval =
#         GPA(3) >> 2 (the faulting portion)
#   29    a load of 8 bytes at j0 + 0xFFC crossing into j1 (no U at G-stage): load guest-page
#         fault, stval = j1, htval = GPA(2) >> 2

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
    .equ G48_ROOT, RAM_BASE + 0x408000
    .equ G48_L2, RAM_BASE + 0x40C000
    .equ G57_ROOT, RAM_BASE + 0x410000
    .equ G57_L3, RAM_BASE + 0x414000
    .equ G57_L2, RAM_BASE + 0x415000
    .equ VS_ROOT, RAM_BASE + 0x420000
    .equ VS_L1,  RAM_BASE + 0x421000
    .equ VS_L0,  RAM_BASE + 0x422000
    .equ DATA,   RAM_BASE + 0x500000
    .equ MEGA,   RAM_BASE + 0x600000
    .equ GP,     0x100000000
    .equ VA,     0x40000000
    .equ SV39, 8 << 60
    .equ SV39X4, 8 << 60
    .equ SV48X4, 9 << 60
    .equ SV57X4, 10 << 60
    .equ GUEST_FAULTS, (1 << CAUSE_FETCH_GUEST) | (1 << CAUSE_LOAD_GUEST) | (1 << CAUSE_STORE_GUEST)
    .equ UA, PTE_U | PTE_A

# Check n: the dword at physical `pa` is `value` (masked with `mask` when given).
.macro MEM n, pa, value, mask=-1
    TEST \n
    li   t0, \pa
    ld   t0, 0(t0)
    .if \mask != -1
    li   t1, \mask
    and  t0, t0, t1
    .endif
    CHECK t0, \value
.endm

# Check n: probe `snip` in VS-mode with a1 = `va` loads `value` into a0.
.macro VLOAD n, va, value, snip=p_ld
    TEST \n
    li   a1, \va
    RUN  MODE_VS, \snip
    EXPECT_NONE
    CHECK a0, \value
.endm

# Checks n (to HS) and n + 100 (to M): probe `snip` in VS-mode at `va` takes guest-page fault
# `cause` (`qcause` on QEMU) with stval = `va` (or `tval`), htval/mtval2 = `gpa` >> 2 and htinst/mtinst = `tinst`
# (on QEMU, a final access's tinst is not checked: QEMU 7.2 writes a transformed instruction,
# which the specification allows).
.macro GPF n, snip, va, cause, gpa, tinst=0, qcause=-1, tval=-1
    li   t0, GUEST_FAULTS
    csrw medeleg, t0
    GPF1 \n, \snip, \va, \cause, \gpa, \tinst, \qcause, LVL_HS, HSTATUS_SPV | HSTATUS_GVA, \tval
    csrw medeleg, zero
    GPF1 (\n + 100), \snip, \va, \cause, \gpa, \tinst, \qcause, LVL_M, MSTATUS_MPV | MSTATUS_GVA, \tval
.endm
.macro GPF1 n, snip, va, cause, gpa, tinst, qcause, level, status, tval
    TEST \n
    li   a1, \va
    RUN  MODE_VS, \snip
    RECEQ R_LEVEL, \level
    .if \qcause == -1
    RECEQ R_CAUSE, \cause
    .else
    RECQ R_CAUSE, \cause, \qcause
    .endif
    .if \tval == -1
    RECEQ R_TVAL, \va
    .else
    RECEQ R_TVAL, \tval
    .endif
    RECEQ R_TVAL2, ((\gpa) >> 2) & 0x3FFFFFFFFFFFFFFF
    .ifdef QEMU
    .if \tinst != 0
    RECEQ R_TINST, \tinst
    .endif
    .else
    RECEQ R_TINST, \tinst
    .endif
    RECEQ R_STATUS, \status, \status
.endm

    .text
    .globl _start
_start:
    H_INIT
    li   t0, MSTATUS_FS
    csrs mstatus, t0
    # data: DATA(k) holds 0xDA7A0000 + k; MEGA + 0x1008 holds 0x3E6A
    li   t0, DATA
    li   t1, 0xDA7A0000
    li   t2, 9
1:  sd   t1, 0(t0)
    li   t3, PAGE
    add  t0, t0, t3
    addi t1, t1, 1
    addi t2, t2, -1
    bnez t2, 1b
    li   t0, MEGA + 0x1008
    li   t1, 0x3E6A
    sd   t1, 0(t0)
    # code at DATA(5): li a0, 0x55; jalr zero, 0(ra)
    la   t0, code_55
    lw   t1, 0(t0)
    lw   t2, 4(t0)
    li   t0, DATA + 5 * PAGE
    sw   t1, 0(t0)
    sw   t2, 4(t0)
    fence.i

    PTE  G_ROOT, 2, RAM_BASE, PTE_V | RWX | PTE_U | PTE_AD
    PTE  G_ROOT, 4, G_L1, PTE_V
    PTE  G_ROOT, 0x402, RAM_BASE, PTE_V | RWX | PTE_U | PTE_AD
    PTE  G_L1, 0, G_L0, PTE_V
    PTE  G_L1, 1, MEGA, PTE_V | PTE_R | PTE_W | PTE_U | PTE_AD
    PTE  G_L1, 2, MEGA + PAGE, PTE_V | PTE_R | PTE_W | PTE_U | PTE_AD
    PTE  G_L0, 0, DATA + 0 * PAGE, PTE_V | PTE_R | PTE_W | PTE_U
    PTE  G_L0, 1, DATA + 1 * PAGE, PTE_V | PTE_R | PTE_W | PTE_U | PTE_AD
    PTE  G_L0, 2, DATA + 2 * PAGE, PTE_V | PTE_R | PTE_W | PTE_AD
    PTE  G_L0, 4, DATA + 4 * PAGE, PTE_V | PTE_R | PTE_U | PTE_AD
    PTE  G_L0, 5, DATA + 5 * PAGE, PTE_V | PTE_X | PTE_U | PTE_AD
    PTE  G_L0, 6, DATA + 6 * PAGE, PTE_V | PTE_R | PTE_W | PTE_U
    PTE  G_L0, 8, DATA + 8 * PAGE, PTE_V | PTE_R | PTE_U | PTE_AD

    PTE  VS_ROOT, 1, VS_L1, PTE_V
    PTE  VS_ROOT, 2, RAM_BASE, PTE_V | RWX | PTE_AD
    PTE  VS_ROOT, 3, GP, PTE_V | PTE_R | PTE_W | PTE_AD
    PTE  VS_L1, 0, VS_L0, PTE_V
    PTE  VS_L1, 1, GP + 0x200000, PTE_V | PTE_R | PTE_W | PTE_AD
    PTE  VS_L1, 2, GP + 6 * PAGE, PTE_V
    PTE  VS_L1, 3, GP + 7 * PAGE, PTE_V
    PTE  VS_L1, 4, GP + 8 * PAGE, PTE_V
    PTE  VS_L0, 0, GP + 0 * PAGE, PTE_V | PTE_R | PTE_W | PTE_AD
    PTE  VS_L0, 1, GP + 2 * PAGE, PTE_V | PTE_R | PTE_W | PTE_AD
    PTE  VS_L0, 2, GP + 3 * PAGE, PTE_V | PTE_R | PTE_W | PTE_AD
    PTE  VS_L0, 3, GP + 4 * PAGE, PTE_V | PTE_R | PTE_W | PTE_AD
    PTE  VS_L0, 4, GP + 5 * PAGE, PTE_V | RWX | PTE_AD
    PTE  DATA + 6 * PAGE, 0, GP + 1 * PAGE, PTE_V | PTE_R | PTE_W
    PTE  DATA + 8 * PAGE, 0, GP + 1 * PAGE, PTE_V | PTE_R | PTE_W

    li   t0, SV39X4 | (G_ROOT >> 12)
    csrw hgatp, t0
    li   t0, SV39 | (VS_ROOT >> 12)
    csrw vsatp, t0
    hfence.gvma zero, zero
    hfence.vvma zero, zero

    VLOAD 1, VA, 0xDA7A0000
    MEM  1, G_L0, PTE_A, PTE_A | PTE_D
    TEST 2
    li   a1, VA
    li   a2, 0x5707E
    RUN  MODE_VS, p_sd
    EXPECT_NONE
    MEM  2, DATA, 0x5707E
    MEM  2, G_L0, PTE_A | PTE_D, PTE_A | PTE_D
    VLOAD 3, VA + 0x200000 + 0x1008, 0x3E6A
    VLOAD 4, 0xC0001000, 0xDA7A0001
    TEST 5
    li   a1, VA + 0x400000
    li   a2, 0xAD
    RUN  MODE_VS, p_sd
    EXPECT_NONE
    MEM  5, DATA + 1 * PAGE, 0xAD
    MEM  5, DATA + 6 * PAGE, PTE_A | PTE_D, PTE_A | PTE_D
    TEST 9
    li   t0, G_L0 + 6 * 8
    ld   t0, 0(t0)
    andi t0, t0, PTE_A | PTE_D
    CHECKQ t0, PTE_A | PTE_D, PTE_A
    VLOAD 6, VA + 4 * PAGE, 0x55, p_jalr
    li   t0, MSTATUS_MXR
    csrs vsstatus, t0
    li   t0, GUEST_FAULTS
    csrw medeleg, t0
    TEST 7
    li   a1, VA + 4 * PAGE
    RUN  MODE_VS, p_ld
    .ifdef QEMU
    EXPECT_NONE
    .else
    EXPECT LVL_HS, CAUSE_LOAD_GUEST
    .endif
    csrw medeleg, zero
    li   t0, MSTATUS_MXR
    csrc vsstatus, t0
    csrs mstatus, t0
    la   t0, code_55
    lwu  s1, 0(t0)
    TEST 8
    li   a1, VA + 4 * PAGE
    RUN  MODE_VS, p_lwu
    .ifdef QEMU
    EXPECT LVL_M, CAUSE_LOAD_GUEST
    .else
    EXPECT_NONE
    CHECKR a0, s1
    .endif
    li   t0, MSTATUS_MXR
    csrc mstatus, t0

    GPF  10, p_ld, VA + 1 * PAGE, CAUSE_LOAD_GUEST, GP + 2 * PAGE
    GPF  11, p_sd, VA + 2 * PAGE, CAUSE_STORE_GUEST, GP + 3 * PAGE
    GPF  12, p_sd, VA + 3 * PAGE, CAUSE_STORE_GUEST, GP + 4 * PAGE
    GPF  13, p_ld, VA + 4 * PAGE, CAUSE_LOAD_GUEST, GP + 5 * PAGE
    GPF  14, p_ld, VA + 0x600000, CAUSE_LOAD_GUEST, GP + 7 * PAGE, 0x3000
    GPF  15, p_sd, VA + 0x600000, CAUSE_STORE_GUEST, GP + 7 * PAGE, 0x3000, CAUSE_LOAD_GUEST
    GPF  16, p_jalr, VA + 0x600000, CAUSE_FETCH_GUEST, GP + 7 * PAGE, 0x3000, CAUSE_LOAD_GUEST
    .ifdef QEMU
    TEST 17
    li   a1, VA + 0x800000
    RUN  MODE_VS, p_ld
    EXPECT_NONE                     # QEMU 7.2 writes the VS A bit through a read-only G-stage page
    .else
    GPF  17, p_ld, VA + 0x800000, CAUSE_LOAD_GUEST, GP + 8 * PAGE, 0x3020
    .endif

    # page-crossing accesses whose second page faults at G-stage
    PTE  G_L0, 9, DATA + 9 * PAGE, PTE_V | RWX | PTE_U | PTE_AD
    PTE  VS_L0, 7, GP + 9 * PAGE, PTE_V | RWX | PTE_AD
    PTE  VS_L0, 8, GP + 3 * PAGE, PTE_V | RWX | PTE_AD
    la   t0, code_55
    lhu  t1, 0(t0)
    lhu  t2, 2(t0)
    li   t0, DATA + 9 * PAGE + 0xFFE
    sh   t1, 0(t0)
    sh   t2, 2(t0)
    fence.i
    hfence.gvma zero, zero
    hfence.vvma zero, zero
    GPF  28, p_jalr, VA + 7 * PAGE + 0xFFE, CAUSE_FETCH_GUEST, GP + 3 * PAGE, 0, -1, VA + 8 * PAGE
    GPF  29, p_ld, VA + 0xFFC, CAUSE_LOAD_GUEST, GP + 2 * PAGE, 0, -1, VA + 1 * PAGE

    csrw vsatp, zero
    hfence.vvma zero, zero
    GPF  18, p_ld, 1 << 41, CAUSE_LOAD_GUEST, 1 << 41
    .ifdef QEMU
    TEST 19                         # QEMU 7.2 checks a GPA as a sign-extended 40-bit address
    li   a1, 0x10080500000
    RUN  MODE_VS, p_ld
    EXPECT LVL_M, CAUSE_LOAD_GUEST
    .else
    VLOAD 19, 0x10080500000, 0x5707E
    .endif
    GPF  20, p_ld, GP + 0x400000, CAUSE_LOAD_GUEST, GP + 0x400000
    GPF  21, p_ld, 0xFFFFFFFFFFFFF000, CAUSE_LOAD_GUEST, 0xFFFFFFFFFFFFF000

    PTE  G48_ROOT, 0, G48_L2, PTE_V
    PTE  G48_ROOT, 0x400, G48_L2, PTE_V
    PTE  G48_L2, 2, RAM_BASE, PTE_V | RWX | PTE_U | PTE_AD
    li   t0, SV48X4 | (G48_ROOT >> 12)
    csrw hgatp, t0
    hfence.gvma zero, zero
    VLOAD 22, DATA + 1 * PAGE, 0xAD
    .ifdef QEMU
    TEST 23
    li   a1, (1 << 49) + DATA + 1 * PAGE
    RUN  MODE_VS, p_ld
    EXPECT LVL_M, CAUSE_LOAD_GUEST
    .else
    VLOAD 23, (1 << 49) + DATA + 1 * PAGE, 0xAD
    .endif
    GPF  24, p_ld, 1 << 50, CAUSE_LOAD_GUEST, 1 << 50

    PTE  G57_ROOT, 0, G57_L3, PTE_V
    PTE  G57_ROOT, 0x400, G57_L3, PTE_V
    PTE  G57_L3, 0, G57_L2, PTE_V
    PTE  G57_L2, 2, RAM_BASE, PTE_V | RWX | PTE_U | PTE_AD
    li   t0, SV57X4 | (G57_ROOT >> 12)
    csrw hgatp, t0
    hfence.gvma zero, zero
    VLOAD 25, DATA + 1 * PAGE, 0xAD
    .ifdef QEMU
    TEST 26
    li   a1, (1 << 58) + DATA + 1 * PAGE
    RUN  MODE_VS, p_ld
    EXPECT LVL_M, CAUSE_LOAD_GUEST
    .else
    VLOAD 26, (1 << 58) + DATA + 1 * PAGE, 0xAD
    .endif
    GPF  27, p_ld, 1 << 59, CAUSE_LOAD_GUEST, 1 << 59
    PASS

    SNIP p_ld, ld a0, 0(a1)
    SNIP p_lwu, lwu a0, 0(a1)
    SNIP p_sd, sd a2, 0(a1)
    SNIP p_jalr, jalr ra, 0(a1)
code_55:
    li   a0, 0x55
    jalr zero, 0(ra)
