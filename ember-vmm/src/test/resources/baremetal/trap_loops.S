# Traps inside hot loops, in M-mode: each loop takes the same trap thousands of times, enough
# for its code to be translated at any threshold, and the handler checks mcause, mepc and mtval
# on every trap (privileged ISA §3.1.15 to §3.1.17), counts it and returns past the instruction.
# minstret is checked over loops whose instruction count is known: an instruction that traps
# does not retire (ECALL and EBREAK included, unprivileged ISA §2.8), the handler's do, and a
# CSR read returns the count before it (Zicntr).
#
#   2  ecall: 5000 traps, cause 11, tval 0            3  minstret over the ecall loop
#   4  custom-0 opcode: 3000 traps, tval = the bits   5  minstret over that loop
#   6  unimp (csrrw x0, cycle, x0), tval = the bits   7  reserved C.ADDI4SPN (16 bits)
#   8  ebreak: tval = pc (Ember's choice; 0 is also legal, but every engine must agree)
#   9  c.ebreak (16 bits)                              10 minstret over the ebreak loop
#  11  amoadd.w misaligned by 1, 2, 3: cause 6        12 the AMO's target left unchanged
#  13  amoswap.d misaligned by 4: cause 6             14 lr.w misaligned: cause 4
#  15  sc.w misaligned: cause 6                        16 sc.w misaligned leaves memory alone
#  17  load from unmapped addresses: cause 5, tval = address, 3000 times
#  18  store to unmapped addresses: cause 7            19 minstret over the load loop
#  20  a loop of 4 instructions with no traps, 10000 passes: minstret delta exact
#  21  instret and minstret read one instruction apart differ by 1
#  22  the trap counter of every loop (checked per loop as 22)
#  23  registers written just before a trap in the same block are seen by the handler, and
#      the handler's writes by the code after mret
#  24  a faulting load leaves its destination register unchanged
#  25  the same when the destination is also the base register
#  26  a faulting AMO leaves its destination register unchanged
#  27  minstret read just before an ecall, first thing in the handler and just after mret:
#      the ecall does not count, the handler's instructions do

    .include "common.S"

    .equ N, 3000
    .equ NECALL, 5000
    .equ HANDLER_INSNS, 11        # check_handler's instructions on its success path
    .equ INSTRET_HANDLER_INSNS, 8 # instret_handler's
    .equ UNMAPPED, 0x40000000

    .text
    .globl _start
_start:
    la   t0, check_handler
    csrw mtvec, t0

# ---- ecall ------------------------------------------------------------------------------
    TEST 2
    li   s7, CAUSE_ECALL_M
    la   s8, ecall_site
    li   s9, 0
    li   s6, 4
    li   s10, 0
    li   s1, NECALL
    csrr s2, minstret
loop_ecall:
ecall_site:
    ecall
    addi s1, s1, -1
    bnez s1, loop_ecall
    csrr s3, minstret
    TEST 22
    CHECK s10, NECALL
    TEST 3
    sub  s3, s3, s2
    CHECK s3, NECALL * (HANDLER_INSNS + 2) + 1

# ---- illegal instructions -------------------------------------------------------------
    TEST 4
    li   s7, CAUSE_ILLEGAL
    la   s8, custom_site
    li   s9, 0x0000000b
    li   s6, 4
    li   s10, 0
    li   s1, N
    csrr s2, minstret
loop_custom:
custom_site:
    .word 0x0000000b              # custom-0, rd = x0: no such instruction here
    addi s1, s1, -1
    bnez s1, loop_custom
    csrr s3, minstret
    TEST 22
    CHECK s10, N
    TEST 5
    sub  s3, s3, s2
    CHECK s3, N * (HANDLER_INSNS + 2) + 1

    TEST 6
    la   s8, unimp_site
    li   s9, 0xc0001073
    li   s10, 0
    li   s1, N
loop_unimp:
unimp_site:
    unimp                         # csrrw x0, cycle, x0: writes a read-only CSR
    addi s1, s1, -1
    bnez s1, loop_unimp
    TEST 22
    CHECK s10, N

    TEST 7
    la   s8, c_illegal_site
    li   s9, 0x0004
    li   s6, 2
    li   s10, 0
    li   s1, N
loop_c_illegal:
c_illegal_site:
    .hword 0x0004                 # C.ADDI4SPN with nzuimm = 0: reserved
    .hword 0x0001                 # c.nop, to keep what follows aligned
    addi s1, s1, -1
    bnez s1, loop_c_illegal
    TEST 22
    CHECK s10, N

# ---- breakpoints ------------------------------------------------------------------------
    TEST 8
    li   s7, CAUSE_BREAKPOINT
    la   s8, ebreak_site
    mv   s9, s8
    li   s6, 4
    li   s10, 0
    li   s1, N
    csrr s2, minstret
loop_ebreak:
ebreak_site:
    ebreak
    addi s1, s1, -1
    bnez s1, loop_ebreak
    csrr s3, minstret
    TEST 22
    CHECK s10, N
    TEST 10
    sub  s3, s3, s2
    CHECK s3, N * (HANDLER_INSNS + 2) + 1

    TEST 9
    la   s8, c_ebreak_site
    mv   s9, s8
    li   s6, 2
    li   s10, 0
    li   s1, N
loop_c_ebreak:
    .option rvc
c_ebreak_site:
    c.ebreak
    c.nop
    .option norvc
    addi s1, s1, -1
    bnez s1, loop_c_ebreak
    TEST 22
    CHECK s10, N

# ---- misaligned atomics -----------------------------------------------------------------
    TEST 11
    li   s7, CAUSE_STORE_MISALIGNED
    la   s8, amo_w_site
    li   s6, 4
    li   s10, 0
    li   s1, N
    la   s4, atomics
    li   t1, 5
loop_amo_w:
    li   t0, 3
    remu t0, s1, t0
    addi t0, t0, 1                # misaligned by 1, 2 or 3
    add  s9, s4, t0
amo_w_site:
    amoadd.w t2, t1, (s9)
    addi s1, s1, -1
    bnez s1, loop_amo_w
    TEST 22
    CHECK s10, N
    TEST 12
    ld   t0, 0(s4)
    li   t1, 0x1122334455667788
    CHECKR t0, t1

    TEST 13
    la   s8, amo_d_site
    addi s9, s4, 4
    li   s10, 0
    li   s1, N
loop_amo_d:
amo_d_site:
    amoswap.d t2, s1, (s9)
    addi s1, s1, -1
    bnez s1, loop_amo_d
    TEST 22
    CHECK s10, N

    TEST 14
    li   s7, CAUSE_LOAD_MISALIGNED
    la   s8, lr_site
    addi s9, s4, 2
    li   s10, 0
    li   s1, N
loop_lr:
lr_site:
    lr.w t2, (s9)
    addi s1, s1, -1
    bnez s1, loop_lr
    TEST 22
    CHECK s10, N

    TEST 15
    li   s7, CAUSE_STORE_MISALIGNED
    la   s8, sc_site
    addi s9, s4, 2
    li   s10, 0
    li   s1, N
loop_sc:
    lr.w t2, (s4)                 # a reservation on the aligned word does not make it succeed
sc_site:
    sc.w t2, s1, (s9)
    addi s1, s1, -1
    bnez s1, loop_sc
    TEST 22
    CHECK s10, N
    TEST 16
    ld   t0, 0(s4)
    li   t1, 0x1122334455667788
    CHECKR t0, t1

# ---- access faults ----------------------------------------------------------------------
    TEST 17
    li   s7, CAUSE_LOAD_ACCESS
    la   s8, load_site
    li   s6, 4
    li   s10, 0
    li   s1, N
    li   s4, UNMAPPED
    csrr s2, minstret
loop_load:
    slli s9, s1, 3
    add  s9, s9, s4
load_site:
    ld   t2, 0(s9)
    addi s1, s1, -1
    bnez s1, loop_load
    csrr s3, minstret
    TEST 22
    CHECK s10, N
    TEST 19
    sub  s3, s3, s2
    CHECK s3, N * (HANDLER_INSNS + 4) + 1

    TEST 18
    li   s7, CAUSE_STORE_ACCESS
    la   s8, store_site
    li   s10, 0
    li   s1, N
loop_store:
    slli s9, s1, 2
    sub  s9, s4, s9
    addi s9, s9, -1               # below UNMAPPED, misaligned too: still an access fault
store_site:
    sw   s1, 0(s9)
    addi s1, s1, -1
    bnez s1, loop_store
    TEST 22
    CHECK s10, N

# ---- counters without traps ---------------------------------------------------------------
    TEST 20
    li   s1, 10000
    li   a0, 0
    csrr s2, minstret
loop_plain:
    addi a0, a0, 3
    xori a0, a0, 1
    addi s1, s1, -1
    bnez s1, loop_plain
    csrr s3, minstret
    sub  s3, s3, s2
    CHECK s3, 4 * 10000 + 1

    TEST 21
    csrr s2, instret
    csrr s3, minstret
    sub  s3, s3, s2
    CHECK s3, 1

# ---- registers around a trap in the middle of a block --------------------------------------
    TEST 23
    la   t0, regs_handler
    csrw mtvec, t0
    li   s1, N
    li   a5, 0
    li   a6, 0
    li   a7, 0
    li   s2, 0
loop_regs:
    addi a5, a5, 1                # written just before the trap: the handler checks them
    addi a6, a6, 3
    ecall                         # the handler adds a5 to a7
    add  s2, s2, a5
    beq  s2, a7, 1f               # the handler's write is seen after mret
    FAILR a7, s2
1:  addi s1, s1, -1
    bnez s1, loop_regs
    la   t0, check_handler
    csrw mtvec, t0

    TEST 24
    li   s7, CAUSE_LOAD_ACCESS
    la   s8, rd_site
    li   s6, 4
    li   s10, 0
    li   s1, N
    li   s9, UNMAPPED + 64
loop_rd:
    li   t2, 0x1234
rd_site:
    ld   t2, 0(s9)                # faults: t2 keeps its value
    CHECK t2, 0x1234
    addi s1, s1, -1
    bnez s1, loop_rd
    TEST 22
    CHECK s10, N

    TEST 25
    la   s8, rd_rs1_site
    li   s10, 0
    li   s1, N
    li   s4, UNMAPPED + 128
loop_rd_rs1:
    mv   s9, s4
rd_rs1_site:
    ld   s9, 0(s9)                # faults: its base, also its destination, is unchanged
    CHECKR s9, s4
    addi s1, s1, -1
    bnez s1, loop_rd_rs1
    TEST 22
    CHECK s10, N

    TEST 26
    li   s7, CAUSE_STORE_MISALIGNED
    la   s8, amo_rd_site
    la   s9, atomics
    addi s9, s9, 2
    li   s10, 0
    li   s1, N
loop_amo_rd:
    li   t2, 0x5678
amo_rd_site:
    amoswap.w t2, s1, (s9)        # faults: t2 keeps its value
    CHECK t2, 0x5678
    addi s1, s1, -1
    bnez s1, loop_amo_rd
    TEST 22
    CHECK s10, N

    TEST 27
    la   t0, instret_handler
    csrw mtvec, t0
    li   s1, N
loop_instret:
    csrr s2, minstret
    ecall                         # the handler reads minstret first: s2 + 1
    csrr s3, minstret
    sub  s3, s3, t3
    li   t0, INSTRET_HANDLER_INSNS
    beq  s3, t0, 1f
    FAILR s3, t0
1:  addi s1, s1, -1
    bnez s1, loop_instret
    la   t0, check_handler
    csrw mtvec, t0

    PASS

# Checks a trap against s7 (cause), s8 (epc) and s9 (tval), counts it in s10 and returns
# s6 bytes past the instruction. Its success path is HANDLER_INSNS instructions long.
check_handler:
    csrr t0, mcause
    bne  t0, s7, bad_cause
    csrr t0, mepc
    bne  t0, s8, bad_epc
    csrr t0, mtval
    bne  t0, s9, bad_tval
    addi s10, s10, 1
    csrr t0, mepc
    add  t0, t0, s6
    csrw mepc, t0
    mret
bad_cause:
    FAILR t0, s7

# Case 27's handler: reads minstret first (t3), which must be one more than the count read
# just before the ecall (s2), since the ecall does not retire. INSTRET_HANDLER_INSNS long.
instret_handler:
    csrr t3, minstret
    sub  t4, t3, s2
    li   t1, 1
    bne  t4, t1, 1f
    csrr t0, mepc
    addi t0, t0, 4
    csrw mepc, t0
    mret
1:  FAILR t4, t1

# Case 23's handler: an ecall whose block set a5 and a6 = 3 * a5 just before it; adds a5 to a7.
regs_handler:
    csrr t0, mcause
    li   t1, CAUSE_ECALL_M
    bne  t0, t1, unexpected_trap
    slli t0, a5, 1
    add  t0, t0, a5
    beq  t0, a6, 1f
    FAILR a6, t0
1:  add  a7, a7, a5
    csrr t0, mepc
    addi t0, t0, 4
    csrw mepc, t0
    mret
bad_epc:
    FAILR t0, s8
bad_tval:
    FAILR t0, s9

    .data
    .balign 16
atomics:
    .dword 0x1122334455667788, 0
