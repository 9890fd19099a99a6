/*
 * Generates reference vectors for Ember's F and D extensions by executing each instruction on
 * an RV64GC machine (QEMU user mode, whose softfloat is the independent oracle) and printing
 * its result bits and the fflags it raised.
 *
 *   riscv64-linux-gnu-gcc -static -O1 -o gen-vectors gen-vectors.c
 *   qemu-riscv64 ./gen-vectors [seed [random-per-op]] > vectors.txt
 *   echo "fadd.d 3ff0000000000000 3ca0000000000000 0" | qemu-riscv64 ./gen-vectors -
 *
 * Output, one vector per line, numbers in hex without leading zeros:
 *   <mnemonic> <rm> <rs1> <rs2> <rs3> <result> <fflags>
 * Floating-point operands and results are raw bits (binary32 in the low 32 bits; the machine
 * NaN-boxes them); integer operands and results are the full 64-bit x register. Unused
 * operands are 0. rm is the rounding mode frm was set to; the instruction uses DYN.
 * Operations without a rounding mode are emitted once, with rm 0. Others are emitted for all
 * five modes when the RNE result is inexact or a zero, and for RNE only otherwise. The second
 * form answers one query per input line, for all five modes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t (*op_fn)(uint64_t a, uint64_t b, uint64_t c, unsigned *flags);

/* Operand kinds: S and D floating point, X integer. */
enum kind { S, D, X };

#define PRE "fsflags zero\n\t"
#define POST "\n\tfrflags %1\n\t"

/* Two binary32 operands, binary32 result. */
#define OP_SS_S(fn, insn) static uint64_t fn(uint64_t a, uint64_t b, uint64_t c, unsigned *fl) { \
    uint64_t r; unsigned f; (void) c; \
    __asm__ volatile("fmv.w.x ft0, %2\n\tfmv.w.x ft1, %3\n\t" PRE insn " ft2, ft0, ft1" POST "fmv.x.w %0, ft2" \
        : "=&r"(r), "=&r"(f) : "r"(a), "r"(b) : "ft0", "ft1", "ft2"); \
    *fl = f; return r & 0xFFFFFFFFu; }
#define OP_DD_D(fn, insn) static uint64_t fn(uint64_t a, uint64_t b, uint64_t c, unsigned *fl) { \
    uint64_t r; unsigned f; (void) c; \
    __asm__ volatile("fmv.d.x ft0, %2\n\tfmv.d.x ft1, %3\n\t" PRE insn " ft2, ft0, ft1" POST "fmv.x.d %0, ft2" \
        : "=&r"(r), "=&r"(f) : "r"(a), "r"(b) : "ft0", "ft1", "ft2"); \
    *fl = f; return r; }
#define OP_SSS_S(fn, insn) static uint64_t fn(uint64_t a, uint64_t b, uint64_t c, unsigned *fl) { \
    uint64_t r; unsigned f; \
    __asm__ volatile("fmv.w.x ft0, %2\n\tfmv.w.x ft1, %3\n\tfmv.w.x ft3, %4\n\t" PRE insn " ft2, ft0, ft1, ft3" POST "fmv.x.w %0, ft2" \
        : "=&r"(r), "=&r"(f) : "r"(a), "r"(b), "r"(c) : "ft0", "ft1", "ft2", "ft3"); \
    *fl = f; return r & 0xFFFFFFFFu; }
#define OP_DDD_D(fn, insn) static uint64_t fn(uint64_t a, uint64_t b, uint64_t c, unsigned *fl) { \
    uint64_t r; unsigned f; \
    __asm__ volatile("fmv.d.x ft0, %2\n\tfmv.d.x ft1, %3\n\tfmv.d.x ft3, %4\n\t" PRE insn " ft2, ft0, ft1, ft3" POST "fmv.x.d %0, ft2" \
        : "=&r"(r), "=&r"(f) : "r"(a), "r"(b), "r"(c) : "ft0", "ft1", "ft2", "ft3"); \
    *fl = f; return r; }
#define OP_SS_X(fn, insn) static uint64_t fn(uint64_t a, uint64_t b, uint64_t c, unsigned *fl) { \
    uint64_t r; unsigned f; (void) c; \
    __asm__ volatile("fmv.w.x ft0, %2\n\tfmv.w.x ft1, %3\n\t" PRE insn " %0, ft0, ft1" POST \
        : "=&r"(r), "=&r"(f) : "r"(a), "r"(b) : "ft0", "ft1"); \
    *fl = f; return r; }
#define OP_DD_X(fn, insn) static uint64_t fn(uint64_t a, uint64_t b, uint64_t c, unsigned *fl) { \
    uint64_t r; unsigned f; (void) c; \
    __asm__ volatile("fmv.d.x ft0, %2\n\tfmv.d.x ft1, %3\n\t" PRE insn " %0, ft0, ft1" POST \
        : "=&r"(r), "=&r"(f) : "r"(a), "r"(b) : "ft0", "ft1"); \
    *fl = f; return r; }
#define OP_S_S(fn, insn) static uint64_t fn(uint64_t a, uint64_t b, uint64_t c, unsigned *fl) { \
    uint64_t r; unsigned f; (void) b; (void) c; \
    __asm__ volatile("fmv.w.x ft0, %2\n\t" PRE insn " ft2, ft0" POST "fmv.x.w %0, ft2" \
        : "=&r"(r), "=&r"(f) : "r"(a) : "ft0", "ft2"); \
    *fl = f; return r & 0xFFFFFFFFu; }
#define OP_D_D(fn, insn) static uint64_t fn(uint64_t a, uint64_t b, uint64_t c, unsigned *fl) { \
    uint64_t r; unsigned f; (void) b; (void) c; \
    __asm__ volatile("fmv.d.x ft0, %2\n\t" PRE insn " ft2, ft0" POST "fmv.x.d %0, ft2" \
        : "=&r"(r), "=&r"(f) : "r"(a) : "ft0", "ft2"); \
    *fl = f; return r; }
#define OP_S_D(fn, insn) static uint64_t fn(uint64_t a, uint64_t b, uint64_t c, unsigned *fl) { \
    uint64_t r; unsigned f; (void) b; (void) c; \
    __asm__ volatile("fmv.w.x ft0, %2\n\t" PRE insn " ft2, ft0" POST "fmv.x.d %0, ft2" \
        : "=&r"(r), "=&r"(f) : "r"(a) : "ft0", "ft2"); \
    *fl = f; return r; }
#define OP_D_S(fn, insn) static uint64_t fn(uint64_t a, uint64_t b, uint64_t c, unsigned *fl) { \
    uint64_t r; unsigned f; (void) b; (void) c; \
    __asm__ volatile("fmv.d.x ft0, %2\n\t" PRE insn " ft2, ft0" POST "fmv.x.w %0, ft2" \
        : "=&r"(r), "=&r"(f) : "r"(a) : "ft0", "ft2"); \
    *fl = f; return r & 0xFFFFFFFFu; }
#define OP_S_X(fn, insn) static uint64_t fn(uint64_t a, uint64_t b, uint64_t c, unsigned *fl) { \
    uint64_t r; unsigned f; (void) b; (void) c; \
    __asm__ volatile("fmv.w.x ft0, %2\n\t" PRE insn " %0, ft0" POST \
        : "=&r"(r), "=&r"(f) : "r"(a) : "ft0"); \
    *fl = f; return r; }
#define OP_D_X(fn, insn) static uint64_t fn(uint64_t a, uint64_t b, uint64_t c, unsigned *fl) { \
    uint64_t r; unsigned f; (void) b; (void) c; \
    __asm__ volatile("fmv.d.x ft0, %2\n\t" PRE insn " %0, ft0" POST \
        : "=&r"(r), "=&r"(f) : "r"(a) : "ft0"); \
    *fl = f; return r; }
#define OP_X_S(fn, insn) static uint64_t fn(uint64_t a, uint64_t b, uint64_t c, unsigned *fl) { \
    uint64_t r; unsigned f; (void) b; (void) c; \
    __asm__ volatile(PRE insn " ft2, %2" POST "fmv.x.w %0, ft2" \
        : "=&r"(r), "=&r"(f) : "r"(a) : "ft2"); \
    *fl = f; return r & 0xFFFFFFFFu; }
#define OP_X_D(fn, insn) static uint64_t fn(uint64_t a, uint64_t b, uint64_t c, unsigned *fl) { \
    uint64_t r; unsigned f; (void) b; (void) c; \
    __asm__ volatile(PRE insn " ft2, %2" POST "fmv.x.d %0, ft2" \
        : "=&r"(r), "=&r"(f) : "r"(a) : "ft2"); \
    *fl = f; return r; }

OP_SS_S(fadd_s, "fadd.s")   OP_SS_S(fsub_s, "fsub.s")   OP_SS_S(fmul_s, "fmul.s")   OP_SS_S(fdiv_s, "fdiv.s")
OP_SS_S(fmin_s, "fmin.s")   OP_SS_S(fmax_s, "fmax.s")
OP_SS_S(fsgnj_s, "fsgnj.s") OP_SS_S(fsgnjn_s, "fsgnjn.s") OP_SS_S(fsgnjx_s, "fsgnjx.s")
OP_DD_D(fadd_d, "fadd.d")   OP_DD_D(fsub_d, "fsub.d")   OP_DD_D(fmul_d, "fmul.d")   OP_DD_D(fdiv_d, "fdiv.d")
OP_DD_D(fmin_d, "fmin.d")   OP_DD_D(fmax_d, "fmax.d")
OP_DD_D(fsgnj_d, "fsgnj.d") OP_DD_D(fsgnjn_d, "fsgnjn.d") OP_DD_D(fsgnjx_d, "fsgnjx.d")
OP_SSS_S(fmadd_s, "fmadd.s") OP_SSS_S(fmsub_s, "fmsub.s") OP_SSS_S(fnmsub_s, "fnmsub.s") OP_SSS_S(fnmadd_s, "fnmadd.s")
OP_DDD_D(fmadd_d, "fmadd.d") OP_DDD_D(fmsub_d, "fmsub.d") OP_DDD_D(fnmsub_d, "fnmsub.d") OP_DDD_D(fnmadd_d, "fnmadd.d")
OP_SS_X(feq_s, "feq.s")     OP_SS_X(flt_s, "flt.s")     OP_SS_X(fle_s, "fle.s")
OP_DD_X(feq_d, "feq.d")     OP_DD_X(flt_d, "flt.d")     OP_DD_X(fle_d, "fle.d")
OP_S_S(fsqrt_s, "fsqrt.s")  OP_D_D(fsqrt_d, "fsqrt.d")
OP_S_D(fcvt_d_s, "fcvt.d.s") OP_D_S(fcvt_s_d, "fcvt.s.d")
OP_S_X(fclass_s, "fclass.s") OP_D_X(fclass_d, "fclass.d")
OP_S_X(fcvt_w_s, "fcvt.w.s") OP_S_X(fcvt_wu_s, "fcvt.wu.s") OP_S_X(fcvt_l_s, "fcvt.l.s") OP_S_X(fcvt_lu_s, "fcvt.lu.s")
OP_D_X(fcvt_w_d, "fcvt.w.d") OP_D_X(fcvt_wu_d, "fcvt.wu.d") OP_D_X(fcvt_l_d, "fcvt.l.d") OP_D_X(fcvt_lu_d, "fcvt.lu.d")
OP_X_S(fcvt_s_w, "fcvt.s.w") OP_X_S(fcvt_s_wu, "fcvt.s.wu") OP_X_S(fcvt_s_l, "fcvt.s.l") OP_X_S(fcvt_s_lu, "fcvt.s.lu")
OP_X_D(fcvt_d_w, "fcvt.d.w") OP_X_D(fcvt_d_wu, "fcvt.d.wu") OP_X_D(fcvt_d_l, "fcvt.d.l") OP_X_D(fcvt_d_lu, "fcvt.d.lu")

struct op {
    const char *name;
    op_fn fn;
    int arity;          /* number of operands */
    enum kind in;       /* operand kind */
    int rounds;         /* 1 if the instruction has a rounding mode */
    int weight;         /* random tuples, as a multiple of the base count */
};

static const struct op OPS[] = {
    {"fadd.s", fadd_s, 2, S, 1, 4}, {"fsub.s", fsub_s, 2, S, 1, 2}, {"fmul.s", fmul_s, 2, S, 1, 4},
    {"fdiv.s", fdiv_s, 2, S, 1, 3}, {"fsqrt.s", fsqrt_s, 1, S, 1, 2},
    {"fmadd.s", fmadd_s, 3, S, 1, 4}, {"fmsub.s", fmsub_s, 3, S, 1, 1},
    {"fnmsub.s", fnmsub_s, 3, S, 1, 1}, {"fnmadd.s", fnmadd_s, 3, S, 1, 1},
    {"fmin.s", fmin_s, 2, S, 0, 1}, {"fmax.s", fmax_s, 2, S, 0, 1},
    {"fsgnj.s", fsgnj_s, 2, S, 0, 0}, {"fsgnjn.s", fsgnjn_s, 2, S, 0, 0}, {"fsgnjx.s", fsgnjx_s, 2, S, 0, 0},
    {"feq.s", feq_s, 2, S, 0, 1}, {"flt.s", flt_s, 2, S, 0, 1}, {"fle.s", fle_s, 2, S, 0, 1},
    {"fclass.s", fclass_s, 1, S, 0, 0},
    {"fcvt.w.s", fcvt_w_s, 1, S, 1, 1}, {"fcvt.wu.s", fcvt_wu_s, 1, S, 1, 1},
    {"fcvt.l.s", fcvt_l_s, 1, S, 1, 1}, {"fcvt.lu.s", fcvt_lu_s, 1, S, 1, 1},
    {"fcvt.s.w", fcvt_s_w, 1, X, 1, 1}, {"fcvt.s.wu", fcvt_s_wu, 1, X, 1, 1},
    {"fcvt.s.l", fcvt_s_l, 1, X, 1, 1}, {"fcvt.s.lu", fcvt_s_lu, 1, X, 1, 1},
    {"fcvt.d.s", fcvt_d_s, 1, S, 1, 0}, {"fcvt.s.d", fcvt_s_d, 1, D, 1, 3},

    {"fadd.d", fadd_d, 2, D, 1, 4}, {"fsub.d", fsub_d, 2, D, 1, 2}, {"fmul.d", fmul_d, 2, D, 1, 4},
    {"fdiv.d", fdiv_d, 2, D, 1, 3}, {"fsqrt.d", fsqrt_d, 1, D, 1, 2},
    {"fmadd.d", fmadd_d, 3, D, 1, 5}, {"fmsub.d", fmsub_d, 3, D, 1, 1},
    {"fnmsub.d", fnmsub_d, 3, D, 1, 1}, {"fnmadd.d", fnmadd_d, 3, D, 1, 1},
    {"fmin.d", fmin_d, 2, D, 0, 1}, {"fmax.d", fmax_d, 2, D, 0, 1},
    {"fsgnj.d", fsgnj_d, 2, D, 0, 0}, {"fsgnjn.d", fsgnjn_d, 2, D, 0, 0}, {"fsgnjx.d", fsgnjx_d, 2, D, 0, 0},
    {"feq.d", feq_d, 2, D, 0, 1}, {"flt.d", flt_d, 2, D, 0, 1}, {"fle.d", fle_d, 2, D, 0, 1},
    {"fclass.d", fclass_d, 1, D, 0, 0},
    {"fcvt.w.d", fcvt_w_d, 1, D, 1, 1}, {"fcvt.wu.d", fcvt_wu_d, 1, D, 1, 1},
    {"fcvt.l.d", fcvt_l_d, 1, D, 1, 1}, {"fcvt.lu.d", fcvt_lu_d, 1, D, 1, 1},
    {"fcvt.d.w", fcvt_d_w, 1, X, 1, 0}, {"fcvt.d.wu", fcvt_d_wu, 1, X, 1, 0},
    {"fcvt.d.l", fcvt_d_l, 1, X, 1, 1}, {"fcvt.d.lu", fcvt_d_lu, 1, X, 1, 1},
};

/* Edge operands: unary operations get all of them, binary ones the cross product of the first
 * CROSS, and fused multiply-adds a third of that product, each pair with a random addend. */
#define CROSS 14
static const uint32_t EDGE_S[] = {
    0x00000000, 0x80000000, 0x00000001, 0x807FFFFF, 0x00800000, 0x3F800000, 0xBF800001,
    0x3FC00000, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000, 0x7F800001,
    0x4F000000, 0xCF000000, 0x5F800000, 0x3F000000, 0x1F800000, 0x4B7FFFFF,
};
static const uint64_t EDGE_D[] = {
    0x0000000000000000, 0x8000000000000000, 0x0000000000000001, 0x800FFFFFFFFFFFFF,
    0x0010000000000000, 0x3FF0000000000000, 0xBFF0000000000001, 0x3FF8000000000000,
    0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF, 0x7FF0000000000000, 0xFFF0000000000000,
    0x7FF8000000000000, 0x7FF0000000000001, 0x41E0000000000000, 0xC3E0000000000000,
    0x43F0000000000000, 0x3FE0000000000000, 0x1FF0000000000000, 0x3CA0000000000000,
};
static const uint64_t EDGE_X[] = {
    0, 1, 0xFFFFFFFFFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF80000000, 0xFFFFFFFF,
    0x1000001, 0x1000003, 0x20000000000001, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000,
    0xFFFFFFFFFFFFFC01, 0x7FFFFFBF, 0x7FFFFFC0, 0xFFFFFF7F,
};
#define N(a) ((int) (sizeof(a) / sizeof((a)[0])))

static uint64_t rng_state;

static uint64_t rnd(void) {       /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

/* A significand of `bits` bits: uniform, sparse, or with long runs of ones or zeros. */
static uint64_t rnd_frac(int bits) {
    uint64_t mask = (1ULL << bits) - 1, m;
    switch (rnd() % 6) {
    case 0: m = rnd() & rnd() & rnd(); break;                       /* few ones */
    case 1: m = rnd() | rnd() | rnd(); break;                       /* few zeros */
    case 2: m = mask >> (rnd() % bits); break;                       /* run of low ones */
    case 3: m = mask << (rnd() % bits); break;                       /* run of high ones */
    case 4: m = (1ULL << (rnd() % bits)) | (rnd() & 1); break;     /* one or two bits */
    default: m = rnd(); break;
    }
    return m & mask;
}

/* Biased exponent: anywhere, near 1.0, near the bottom, or near the top of the range. */
static int rnd_exp(int bias) {
    int max = 2 * bias;                  /* largest finite biased exponent */
    switch (rnd() % 6) {
    case 0: return rnd() % (max + 1);
    case 1: return bias - 8 + (int) (rnd() % 17);
    case 2: return rnd() % 3 == 0 ? 0 : (int) (rnd() % (bias == 127 ? 30 : 60));
    case 3: return max - (int) (rnd() % (bias == 127 ? 30 : 60));
    default: return bias - bias / 2 + (int) (rnd() % (uint64_t) bias);
    }
}

static uint64_t rnd_s(void) {
    if (rnd() % 16 == 0) {
        return EDGE_S[rnd() % N(EDGE_S)];
    }
    uint64_t v = ((uint64_t) rnd_exp(127) << 23) | rnd_frac(23);
    return v | ((rnd() & 1) << 31);
}

static uint64_t rnd_d(void) {
    if (rnd() % 16 == 0) {
        return EDGE_D[rnd() % N(EDGE_D)];
    }
    uint64_t v = ((uint64_t) rnd_exp(1023) << 52) | rnd_frac(52);
    return v | ((rnd() & 1) << 63);
}

static uint64_t rnd_x(void) {
    switch (rnd() % 5) {
    case 0: return EDGE_X[rnd() % N(EDGE_X)];
    case 1: return (uint64_t) (int64_t) (int32_t) rnd_frac(32);
    case 2: return rnd_frac(64 - 1) << (rnd() % 2);
    case 3: return -(rnd_frac(63));
    default: return rnd() >> (rnd() % 64);
    }
}

static uint64_t rnd_of(enum kind k) {
    return k == S ? rnd_s() : k == D ? rnd_d() : rnd_x();
}

/* Nudges v by a few units in the last place, keeping it in its format. */
static uint64_t nudge(uint64_t v, enum kind k) {
    int64_t delta = (int64_t) (rnd() % 5) - 2;
    uint64_t mask = k == S ? 0xFFFFFFFFu : ~0ULL;
    return (v + (uint64_t) delta) & mask;
}

/* A second or third operand related to the first ones, so that sums cancel and round near ties. */
static uint64_t related(const struct op *op, uint64_t a, uint64_t b) {
    unsigned ignored;
    uint64_t sign = op->in == S ? 0x80000000u : 0x8000000000000000ULL;
    switch (rnd() % 4) {
    case 0:
        if (op->arity == 3) {            /* -(a*b), nudged: cancels in a fused multiply-add */
            uint64_t p = op->in == S ? fmul_s(a, b, 0, &ignored) : fmul_d(a, b, 0, &ignored);
            return nudge(p ^ sign, op->in);
        }
        return nudge(a ^ ((rnd() & 1) ? sign : 0), op->in);
    case 1: {                            /* same magnitude, exponent shifted by up to 60 */
        int shift = (int) (rnd() % 61) - 30;
        int mbits = op->in == S ? 23 : 52;
        uint64_t mask = op->in == S ? 0xFFFFFFFFu : ~0ULL;
        return (a + ((uint64_t) (int64_t) shift << mbits)) & mask;
    }
    case 2: {                            /* lands the result near a rounding-mode-sensitive edge */
        static const uint64_t TARGET_S[] = {0x00800000, 0x007FFFFF, 0x7F7FFFFF, 0x3F800000, 0x00000003};
        static const uint64_t TARGET_D[] = {0x0010000000000000, 0x000FFFFFFFFFFFFF, 0x7FEFFFFFFFFFFFFF,
                                            0x3FF0000000000000, 0x0000000000000003};
        uint64_t t = op->in == S ? TARGET_S[rnd() % N(TARGET_S)] : TARGET_D[rnd() % N(TARGET_D)];
        t |= (rnd() & 1) ? sign : 0;
        int is_s = op->in == S;
        if (op->arity == 3) {            /* c = t - a*b */
            uint64_t p = is_s ? fmul_s(a, b, 0, &ignored) : fmul_d(a, b, 0, &ignored);
            return nudge(is_s ? fsub_s(t, p, 0, &ignored) : fsub_d(t, p, 0, &ignored), op->in);
        }
        if (strncmp(op->name, "fmul", 4) == 0) {
            return nudge(is_s ? fdiv_s(t, a, 0, &ignored) : fdiv_d(t, a, 0, &ignored), op->in);
        }
        if (strncmp(op->name, "fdiv", 4) == 0) {
            return nudge(is_s ? fdiv_s(a, t, 0, &ignored) : fdiv_d(a, t, 0, &ignored), op->in);
        }
        return nudge(is_s ? fsub_s(t, a, 0, &ignored) : fsub_d(t, a, 0, &ignored), op->in);
    }
    default:
        return rnd_of(op->in);
    }
}

static void emit(const struct op *op, uint64_t a, uint64_t b, uint64_t c) {
    unsigned flags;
    if (!op->rounds) {
        uint64_t r = op->fn(a, b, c, &flags);
        printf("%s 0 %llx %llx %llx %llx %x\n", op->name, (unsigned long long) a,
               (unsigned long long) b, (unsigned long long) c, (unsigned long long) r, flags);
        return;
    }
    uint64_t r0 = 0;
    unsigned f0 = 0;
    for (int rm = 0; rm < 5; rm++) {
        __asm__ volatile("fsrm %0" : : "r"(rm));
        uint64_t r = op->fn(a, b, c, &flags);
        __asm__ volatile("fsrm %0" : : "r"(0));
        if (rm == 0) {
            r0 = r;
            f0 = flags;
        } else {
            int mag_zero = (r0 << 1) == 0 || (r0 & 0xFFFFFFFF7FFFFFFFULL) == 0;
            if (!(f0 & 1) && !mag_zero && r == r0 && flags == f0) {
                continue;                /* exact and rounding-mode independent */
            }
        }
        printf("%s %d %llx %llx %llx %llx %x\n", op->name, rm, (unsigned long long) a,
               (unsigned long long) b, (unsigned long long) c, (unsigned long long) r, flags);
    }
}

/* Reads "<mnemonic> <rs1> <rs2> <rs3>" lines (hex) and prints the vector for every rounding mode. */
static int query(void) {
    char name[32];
    unsigned long long a, b, c;
    while (scanf("%31s %llx %llx %llx", name, &a, &b, &c) == 4) {
        int found = 0;
        for (int i = 0; i < N(OPS); i++) {
            if (strcmp(OPS[i].name, name) == 0) {
                struct op forced = OPS[i];
                for (int rm = 0; rm < (forced.rounds ? 5 : 1); rm++) {
                    unsigned flags;
                    __asm__ volatile("fsrm %0" : : "r"(rm));
                    uint64_t r = forced.fn(a, b, c, &flags);
                    __asm__ volatile("fsrm %0" : : "r"(0));
                    printf("%s %d %llx %llx %llx %llx %x\n", name, rm, a, b, c, (unsigned long long) r, flags);
                }
                found = 1;
            }
        }
        if (!found) {
            fprintf(stderr, "unknown mnemonic %s\n", name);
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "-") == 0) {
        return query();
    }
    rng_state = argc > 1 ? strtoull(argv[1], 0, 0) : 0x5EED0F1EE7ULL;
    int base = argc > 2 ? atoi(argv[2]) : 40;
    for (int i = 0; i < N(OPS); i++) {
        const struct op *op = &OPS[i];
        /* Edge cross products. */
        int n = op->in == S ? N(EDGE_S) : op->in == D ? N(EDGE_D) : N(EDGE_X);
        for (int j = 0; j < n; j++) {
            uint64_t a = op->in == S ? EDGE_S[j] : op->in == D ? EDGE_D[j] : EDGE_X[j];
            if (op->arity == 1) {
                emit(op, a, 0, 0);
                continue;
            }
            if (j >= CROSS) {
                break;
            }
            for (int k = 0; k < CROSS; k++) {
                uint64_t b = op->in == S ? EDGE_S[k] : EDGE_D[k];
                if (op->arity == 2) {
                    if (strncmp(op->name, "fsgnj", 5) != 0 || (j + k) % 4 == 0) {
                        emit(op, a, b, 0);   /* sign injection needs only a sample */
                    }
                } else if ((j + k) % 3 == 0) {   /* a third of the pairs, each with a random addend */
                    emit(op, a, b, rnd_of(op->in));
                }
            }
        }
        /* Random tuples, many of them related so that they round near ties and cancel. */
        int count = base * op->weight;
        for (int j = 0; j < count; j++) {
            uint64_t a = rnd_of(op->in);
            uint64_t b = op->arity >= 2 ? related(op, a, 0) : 0;
            if (op->arity == 3) {
                b = rnd_of(op->in);
            }
            uint64_t c = op->arity == 3 ? related(op, a, b) : 0;
            emit(op, a, b, c);
        }
    }
    return 0;
}
