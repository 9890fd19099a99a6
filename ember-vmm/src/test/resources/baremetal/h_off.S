# Harts without the H extension (Ember's default): misa.H is 0, and the extension's CSRs and
# instructions do not exist (illegal instruction, privileged ISA §2.1: an access to a CSR that
# is not implemented is illegal), nor does mstatus.MPV.
#
# Checks (each illegal one also checks mtval = the instruction's bits):
#   1     misa.H (bit 7) is 0
#   2-5   csrr hstatus, vsstatus, mtval2, mtinst: illegal
#   6-9   HLV.D, HSV.D, HFENCE.VVMA, HFENCE.GVMA: illegal
#   10    mstatus.MPV and GVA are not writable
#   11    mideleg's VS bits are writable zero (not read-only one)

    .option arch, +h
    .text
    .include "common.S"

# Check n: `insn` traps to M-mode with an illegal instruction, mtval = its bits.
.macro ILLEGAL n, insn:vararg
    TEST \n
    li   s8, -1
    la   s10, 1f
1:  \insn
    CHECK s8, CAUSE_ILLEGAL
    lwu  t0, 0(s10)
    CHECKR s9, t0
.endm

    .text
    .globl _start
_start:
    la   t0, mhandler
    csrw mtvec, t0
    TEST 1
    csrr t0, misa
    srli t0, t0, 7
    andi t0, t0, 1
    CHECK t0, 0
    ILLEGAL 2, csrr a0, hstatus
    ILLEGAL 3, csrr a0, vsstatus
    ILLEGAL 4, csrr a0, mtval2
    ILLEGAL 5, csrr a0, mtinst
    la   a1, tohost
    ILLEGAL 6, hlv.d a0, (a1)
    ILLEGAL 7, hsv.d zero, (a1)
    ILLEGAL 8, hfence.vvma zero, zero
    ILLEGAL 9, hfence.gvma zero, zero
    TEST 10
    li   t0, (1 << 39) | (1 << 38)
    csrs mstatus, t0
    csrr t1, mstatus
    and  t1, t1, t0
    CHECK t1, 0
    TEST 11
    csrw mideleg, zero
    csrr t0, mideleg
    CHECK t0, 0
    PASS

# Records the trap (s8 cause, s9 mtval) and resumes after the instruction.
mhandler:
    csrr s8, mcause
    csrr s9, mtval
    csrr t0, mepc
    addi t0, t0, 4
    csrw mepc, t0
    mret
