# The H extension's CSRs (privileged ISA, "H" Extension v1.0, § Hypervisor and Virtual
# Supervisor CSRs; Ember's masks: GEILEN 0, VMIDLEN 14, no ASID, henvcfg only STCE): each is
# written with all ones and with zeros and read back, then accessed from each mode.
#
# Checks:
#   1     misa.H (bit 7) is set
#   2-3   hstatus: all ones read 0x2007003C0 (GVA SPV SPVP HU VTVM VTW VTSR, VSXL=2); zeros
#         read 0x200000000
#   4-5   hedeleg: all ones read 0xB1FF (9-11 and 16-23 read-only zero); zeros read 0
#   6-7   hideleg: all ones read 0x444; zeros 0
#   8     hie: all ones read 0x444 (SGEIE read-only zero with GEILEN 0)
#   9     htimedelta: all 64 bits
#   10    hcounteren: all ones read 0xFFFFFFFF
#   11    hgeie: read-only zero
#   12-13 henvcfg: STCE is zero while menvcfg.STCE is 0; with menvcfg.STCE, all ones read STCE
#   14    htval: all 64 bits
#   15-17 hvip: all ones read 0x444; hip reads the same; zeros read 0
#   18-19 hip: all ones set only VSSIP (hvip reads 4); hip zero clears it
#   20    htinst: all 64 bits
#   21    hgatp: all ones (MODE 15 unsupported) keep MODE Bare: VMID 14 bits, PPN[1:0] zero
#   22    hgatp: Sv39x4 with all other bits: MODE 8, VMID 0x3FFF, PPN[1:0] zero, bits 59:58 zero
#   23    hgatp: then MODE 1 (reserved) keeps Sv39x4
#   24-25 hgatp: Sv48x4 and Sv57x4 are accepted
#   26-27 vsstatus: all ones read SD, UXL=2, SIE SPIE SPP FS SUM MXR; zeros read UXL=2
#   28-29 vsie: with hideleg 0 all ones read 0; with hideleg 0x444 they read 0x222 (and hie 0x444)
#   30    vstvec: vectored base of all ones reads back
#   31    vsscratch: all 64 bits
#   32    vsepc: all ones read ~1
#   33-34 vscause, vstval: all 64 bits
#   35-36 vsip: with hideleg 0x444 all ones read 2 (SSIP, into hvip.VSSIP: hvip reads 4);
#         with hideleg 0 nothing is writable
#   37    vstimecmp: all 64 bits
#   38-39 vsatp: Sv39 with all PPN bits reads back (no ASID); MODE 15 is ignored
#   40-41 mtinst, mtval2: all 64 bits
#   42-43 mstatus: GVA (38) and MPV (39) are writable
#   44-45 mideleg: zeros read 0x444 (VS bits read-only one); all ones read 0x666
#   46    mie: all ones read 0xAAA + 0x444 + ... (0xEEE: MEIE SEIE VSEIE MTIE STIE VSTIE MSIE SSIE VSSIE)
#   47    mip: all ones set SSIP, STIP (menvcfg.STCE 0), SEIP and VSSIP: 0x226 (VSTIP and VSEIP
#         are read-only: hvip sets them)
#   48-50 RV64 has no htimedeltah, henvcfgh, vstimecmph: illegal
#   51    HS-mode reads hstatus
#   52-53 VS-mode reading hstatus, vsstatus: virtual instruction, tval = the instruction
#   54-55 VU-mode reading hstatus, sstatus: virtual instruction
#   56-57 U-mode reading hstatus, vsstatus: illegal instruction
#   58    VS-mode writing hgeip (read-only): illegal; 59 VS-mode reading hgeip: virtual
#   60    VS-mode reading mstatus: illegal
#   61    HS-mode reading hgatp under mstatus.TVM: illegal
#   62    VS-mode sstatus reaches vsstatus: a write of SUM there is seen in vsstatus, not mstatus
#   63-65 HS-mode reading vstimecmp: illegal with mcounteren.TM 0, illegal with menvcfg.STCE 0,
#         allowed with both (Sstc: norm:mcounteren_tm_clr, norm:menvcfg_stce_op2)

    .option arch, +h
    .equ FINISHER, 1
    .text
    j    _start
    .include "common.S"
    .include "h_common.S"

# Check n: csr written with `value` reads `expected` (`qemu` on QEMU 7.2 when given).
.macro WR n, csr, value, expected, qemu=0x7fffffffffffffff
    TEST \n
    li   t0, \value
    csrw \csr, t0
    csrr t0, \csr
    .if \qemu == 0x7fffffffffffffff
    CHECK t0, \expected
    .else
    CHECKQ t0, \expected, \qemu
    .endif
.endm

# Check n: csr reads `expected`.
.macro RD n, csr, expected
    TEST \n
    csrr t0, \csr
    CHECK t0, \expected
.endm


    .text
    .globl _start
_start:
    H_INIT
    TEST 1
    csrr t0, misa
    srli t0, t0, 7
    andi t0, t0, 1
    CHECK t0, 1

    WR   2, hstatus, -1, 0x2007003C0, 0xFFFFFFFEFFFFFFDF
    WR   3, hstatus, 0, 0x200000000
    WR   4, hedeleg, -1, 0xB1FF
    WR   5, hedeleg, 0, 0
    WR   6, hideleg, -1, 0x444
    WR   7, hideleg, 0, 0
    WR   8, hie, -1, 0x444, 0x1444
    csrw hie, zero
    WR   9, htimedelta, -1, -1
    csrw htimedelta, zero
    WR   10, hcounteren, -1, 0xFFFFFFFF, -1
    WR   11, hgeie, -1, 0
    csrw menvcfg, zero
    WR   12, henvcfg, -1, 0, 0xC0000000000000F1
    li   t0, 1 << 63
    csrw menvcfg, t0
    WR   13, henvcfg, -1, 1 << 63, 0xC0000000000000F1
    csrw henvcfg, zero
    csrw menvcfg, zero
    WR   14, htval, -1, -1
    WR   15, hvip, -1, 0x444
    RD   16, hip, 0x444
    WR   17, hvip, 0, 0
    WR   18, hip, -1, 0x4
    RD   19, hvip, 0x4
    csrw hip, zero
    WR   20, htinst, -1, -1, 0
    WR   21, hgatp, -1, 0x03FFFFFFFFFFFFFC, -1
    WR   22, hgatp, (8 << 60) | 0x0FFFFFFFFFFFFFFF, 0x83FFFFFFFFFFFFFC, 0x8FFFFFFFFFFFFFFF
    WR   23, hgatp, (1 << 60) | 0x1000, 0x8000000000001000, 0x1000000000001000
    WR   24, hgatp, (9 << 60) | 0x1000, 0x9000000000001000
    WR   25, hgatp, (10 << 60) | 0x1000, 0xA000000000001000
    csrw hgatp, zero
    WR   26, vsstatus, -1, 0x80000002000C6122, -1
    WR   27, vsstatus, 0, 0x200000000, 0x300000000
    WR   28, vsie, -1, 0
    li   t0, 0x444
    csrw hideleg, t0
    WR   29, vsie, -1, 0x222
    csrw vsie, zero
    WR   30, vstvec, -3, -3
    WR   31, vsscratch, -1, -1
    WR   32, vsepc, -1, -2, -1
    WR   33, vscause, -1, -1
    WR   34, vstval, -1, -1
    WR   35, vsip, -1, 2
    RD   36, hvip, 4
    csrw hvip, zero
    csrw hideleg, zero
    TEST 36
    li   t0, -1
    csrw vsip, t0
    csrr t0, hvip
    CHECK t0, 0
    WR   37, vstimecmp, -1, -1
    WR   38, vsatp, (8 << 60) | 0xFFFFFFFFFFF, (8 << 60) | 0xFFFFFFFFFFF
    WR   39, vsatp, (15 << 60) | 0x123, (8 << 60) | 0xFFFFFFFFFFF, (15 << 60) | 0x123
    csrw vsatp, zero
    WR   40, mtinst, -1, -1
    WR   41, mtval2, -1, -1
    TEST 42
    li   t0, MSTATUS_GVA | MSTATUS_MPV
    csrs mstatus, t0
    csrr t1, mstatus
    and  t1, t1, t0
    CHECKR t1, t0
    TEST 43
    csrc mstatus, t0
    csrr t1, mstatus
    and  t1, t1, t0
    CHECK t1, 0
    WR   44, mideleg, 0, 0x444, 0x1444
    WR   45, mideleg, -1, 0x666, 0x3666
    csrw mideleg, zero
    WR   46, mie, -1, 0xEEE, 0x3EEE
    csrw mie, zero
    TEST 47
    li   t0, -1
    csrw mip, t0
    csrr t0, mip
    andi t0, t0, 0x666 | 0x200 | 0x80   # the S, VS and SEIP bits, and MTIP, which QEMU's timer may raise
    andi t0, t0, ~0x80
    CHECKQ t0, 0x226, 0x666
    csrw mip, zero

    TRAPS 48, MODE_M, p_htimedeltah, CAUSE_ILLEGAL
    TRAPS 49, MODE_M, p_henvcfgh, CAUSE_ILLEGAL
    TRAPS 50, MODE_M, p_vstimecmph, CAUSE_ILLEGAL

    TEST 51
    RUN  MODE_HS, p_hstatus
    EXPECT_NONE
    TRAPS 52, MODE_VS, p_hstatus, CAUSE_VIRTUAL
    TRAPS 53, MODE_VS, p_vsstatus, CAUSE_VIRTUAL
    TRAPS 54, MODE_VU, p_hstatus, CAUSE_VIRTUAL
    TRAPS 55, MODE_VU, p_sstatus, CAUSE_VIRTUAL, CAUSE_ILLEGAL
    TRAPS 56, MODE_U, p_hstatus, CAUSE_ILLEGAL
    TRAPS 57, MODE_U, p_vsstatus, CAUSE_ILLEGAL
    TRAPS 58, MODE_VS, p_hgeip_w, CAUSE_ILLEGAL
    TRAPS 59, MODE_VS, p_hgeip, CAUSE_VIRTUAL
    TRAPS 60, MODE_VS, p_mstatus, CAUSE_ILLEGAL
    li   t0, MSTATUS_TVM
    csrs mstatus, t0
    .ifdef QEMU
    TEST 61
    RUN  MODE_HS, p_hgatp
    EXPECT_NONE
    .else
    TRAPS 61, MODE_HS, p_hgatp, CAUSE_ILLEGAL
    .endif
    li   t0, MSTATUS_TVM
    csrc mstatus, t0

    TEST 62
    csrw vsstatus, zero
    li   t0, MSTATUS_SUM
    csrc mstatus, t0
    li   a3, MSTATUS_SUM
    RUN  MODE_VS, p_sum
    EXPECT_NONE
    csrr t0, vsstatus
    li   t1, MSTATUS_SUM
    and  t0, t0, t1
    CHECK t0, MSTATUS_SUM
    csrr t0, mstatus
    and  t0, t0, t1
    CHECK t0, 0

    # vstimecmp from HS-mode: illegal unless mcounteren.TM and menvcfg.STCE
    li   t0, 1 << 63
    csrw menvcfg, t0
    li   t0, -1 & ~2
    csrw mcounteren, t0
    TRAPS 63, MODE_HS, p_vstimecmp, CAUSE_ILLEGAL
    li   t0, -1
    csrw mcounteren, t0
    csrw menvcfg, zero
    TRAPS 64, MODE_HS, p_vstimecmp, CAUSE_ILLEGAL
    li   t0, 1 << 63
    csrw menvcfg, t0
    TEST 65
    RUN  MODE_HS, p_vstimecmp
    EXPECT_NONE
    csrw menvcfg, zero
    PASS

    SNIP p_vstimecmp, csrr a0, vstimecmp
    SNIP p_htimedeltah, csrr a0, 0x615
    SNIP p_henvcfgh, csrr a0, 0x61A
    SNIP p_vstimecmph, csrr a0, 0x25D
    SNIP p_hstatus, csrr a0, hstatus
    SNIP p_vsstatus, csrr a0, vsstatus
    SNIP p_sstatus, csrr a0, sstatus
    SNIP p_hgeip_w, csrw hgeip, zero
    SNIP p_hgeip, csrr a0, hgeip
    SNIP p_mstatus, csrr a0, mstatus
    SNIP p_hgatp, csrr a0, hgatp
    SNIP p_sum, csrs sstatus, a3
