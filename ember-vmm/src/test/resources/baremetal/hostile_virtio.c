/*
 * hostile_virtio: a bare-metal virtio driver that breaks the queue rules on purpose.
 *
 * It finds every virtio-mmio device of QEMU virt's layout (8 slots at 0x10001000, 4 KiB
 * apart), initialises each as VIRTIO 1.2 §3.1.1 and §4.2.3 say (reset, ACKNOWLEDGE, DRIVER,
 * VIRTIO_F_VERSION_1 only, FEATURES_OK read back, every queue the device offers, DRIVER_OK),
 * proves a well-formed request works, and then, one after another, posts hostile descriptor
 * chains on the device's request queue:
 *
 *   loop       the chain's last descriptor points back at its first (§2.7.5.2)
 *   oob-mmio   a buffer in device memory, not RAM (the UART at 0x10000000)
 *   oob-end    a buffer that starts in RAM and runs past its end
 *   huge-len   a buffer of 0xfffff000 bytes, larger than all of RAM
 *   big        a 32 MiB buffer that does lie in RAM, far beyond any request's size
 *   overlap    a buffer laid over the queue's own descriptor table and available ring
 *   bad-head   an available-ring entry naming a descriptor outside the table
 *   ahead      an available index 100 entries ahead of the device in a 16-entry ring
 *
 * After each, the device must be in a defined state within 10 s of the notification: it set
 * DEVICE_NEEDS_RESET (§2.1.2) or returned the chain through the used ring (a virtio-blk
 * request that reads past the disk's end must come back with a non-zero status). Then the
 * driver resets the device (status 0, which must read back 0), initialises it again and
 * checks that a well-formed request works again.
 *
 * Each device's well-formed request, on its request queue:
 *   blk (2)      q0: read sector 0; status 0 and the sector starts with "EMBERHST"
 *   net (1)      q1: a 60-byte broadcast frame (ethertype 0x88b5) behind a 12-byte header
 *   console (3)  q1: the text "[console ok]" on port 0
 *   rng (4)      q0: 64 writable bytes, returned written and not all zero
 *   balloon (5)  q0: one page frame number of a scratch page to inflate
 *   vsock (19)   q1: a REQUEST header from CID 3 to the host (CID 2)
 *   input (18)   q1: an EV_LED status event
 *   fs (26)      q1: FUSE_INIT; the reply has error 0 and the request's unique id
 *
 * Last, the network device is flooded with a million frames of frames.h's mix, 16 per
 * notification, taking in whatever the user-mode stack answers; then an ICMP echo to the gateway
 * and a DNS question for "localhost" must both be answered within 30 s.
 *
 * Report: one line per device on the UART, and one for the flood; HTIF tohost gets status 0 when every check
 * passed, otherwise a code naming the slot and step (0x1000 + slot * 0x100 + step), with
 * diag[] = code, seen, expected, mcause, mepc, mtval, slot's device id, scenario.
 *
 * Runs in M-mode on hart 0 with interrupts off; built with
 * riscv64-linux-gnu-gcc -march=rv64imac -mabi=lp64 -mcmodel=medany -ffreestanding -nostdlib.
 */
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define RAM_BASE      0x80000000UL
#define RAM_BYTES     (64UL << 20)          /* the test gives the VM 64 MiB */
#define UART_BASE     0x10000000UL
#define VIRTIO_BASE   0x10001000UL
#define VIRTIO_SLOTS  8
#define TICKS_PER_S   10000000UL            /* mtime runs at 10 MHz on Ember and QEMU virt */

/* §4.2.2 registers */
#define REG_MAGIC            0x000
#define REG_VERSION          0x004
#define REG_DEVICE_ID        0x008
#define REG_DEVICE_FEATURES  0x010
#define REG_DEVICE_FEATURES_SEL 0x014
#define REG_DRIVER_FEATURES  0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_QUEUE_SEL        0x030
#define REG_QUEUE_NUM_MAX    0x034
#define REG_QUEUE_NUM        0x038
#define REG_QUEUE_READY      0x044
#define REG_QUEUE_NOTIFY     0x050
#define REG_INTERRUPT_STATUS 0x060
#define REG_INTERRUPT_ACK    0x064
#define REG_STATUS           0x070
#define REG_QUEUE_DESC       0x080
#define REG_QUEUE_DRIVER     0x090
#define REG_QUEUE_DEVICE     0x0a0

/* §2.1 status bits */
#define S_ACKNOWLEDGE 1
#define S_DRIVER      2
#define S_DRIVER_OK   4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 64

#define F_NEXT  1
#define F_WRITE 2

#define QUEUE_SIZE 16
#define MAX_QUEUES 4

struct desc { u64 addr; u32 len; u16 flags; u16 next; };

/* One page per queue: descriptor table at 0, available ring at 256, used ring at 512. */
struct queue_page {
    struct desc desc[QUEUE_SIZE];
    u16 avail_flags, avail_idx, avail_ring[QUEUE_SIZE], used_event;
    u8 pad[512 - 256 - 6 - 2 * QUEUE_SIZE];
    u16 used_flags, used_idx;
    struct { u32 id, len; } used_ring[QUEUE_SIZE];
    u16 avail_event;
} __attribute__((aligned(4096)));

volatile u64 tohost __attribute__((aligned(8)));
volatile u64 fromhost __attribute__((aligned(8)));
u64 diag[8];

static struct queue_page queues[VIRTIO_SLOTS][MAX_QUEUES] __attribute__((aligned(4096)));
static u8 buffers[4][4096] __attribute__((aligned(4096)));
static u8 scratch_page[4096] __attribute__((aligned(4096)));
static u8 stack[16384] __attribute__((aligned(16), used));

/* The hostile buffers' places. */
#define BIG_GPA       (RAM_BASE + (16UL << 20))
#define BIG_LEN       (32U << 20)
#define OOB_END_GPA   (RAM_BASE + RAM_BYTES - 16)
#define HUGE_LEN      0xfffff000U

enum scenario { LOOP, OOB_MMIO, OOB_END, HUGE, BIG, OVERLAP, BAD_HEAD, AHEAD, SCENARIOS };
static const char *const scenario_names[SCENARIOS] = {
    "loop", "oob-mmio", "oob-end", "huge-len", "big", "overlap", "bad-head", "ahead"
};

/* ---- runtime ------------------------------------------------------------------------ */

void *memset(void *d, int c, unsigned long n) {
    u8 *p = d;
    while (n--) *p++ = (u8) c;
    return d;
}

void *memcpy(void *d, const void *s, unsigned long n) {
    u8 *p = d;
    const u8 *q = s;
    while (n--) *p++ = *q++;
    return d;
}

#include "frames.h"

static inline u32 rd32(u64 gpa) { return *(volatile u32 *) gpa; }
static inline void wr32(u64 gpa, u32 v) { *(volatile u32 *) gpa = v; }
static inline void fence(void) { __asm__ volatile("fence rw, rw" ::: "memory"); }
static inline u64 now(void) { u64 t; __asm__ volatile("rdtime %0" : "=r"(t)); return t; }

static void putc_(char c) {
    volatile u8 *uart = (volatile u8 *) UART_BASE;
    while ((uart[5] & 0x20) == 0) { }
    uart[0] = (u8) c;
}

static void puts_(const char *s) { while (*s) putc_(*s++); }

static void puthex(u64 v) {
    char b[19];
    int i = 18;
    b[i] = 0;
    do { b[--i] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v && i > 2);
    b[--i] = 'x';
    b[--i] = '0';
    puts_(b + i);
}

static void __attribute__((noreturn)) exit_(u64 status) {
    tohost = (status << 1) | 1;
    for (;;) { }
}

static int current_slot, current_scenario;

static void __attribute__((noreturn)) fail(u32 step, u64 seen, u64 expected) {
    u64 code = 0x1000 + (u64) current_slot * 0x100 + step;
    diag[0] = code;
    diag[1] = seen;
    diag[2] = expected;
    diag[6] = rd32(VIRTIO_BASE + 0x1000UL * current_slot + REG_DEVICE_ID);
    diag[7] = (u64) current_scenario;
    puts_("\nFAIL slot ");
    puthex((u64) current_slot);
    puts_(" step ");
    puthex(step);
    puts_(" seen ");
    puthex(seen);
    puts_(" expected ");
    puthex(expected);
    putc_('\n');
    exit_(code);
}

void __attribute__((noreturn, aligned(4))) trap(void) {
    u64 cause, epc, tval;
    __asm__ volatile("csrr %0, mcause; csrr %1, mepc; csrr %2, mtval" : "=r"(cause), "=r"(epc), "=r"(tval));
    diag[3] = cause;
    diag[4] = epc;
    diag[5] = tval;
    fail(0xff, cause, 0);
}

/* ---- the driver --------------------------------------------------------------------- */

static u64 base(int slot) { return VIRTIO_BASE + 0x1000UL * (u64) slot; }

/* Steps of fail() codes. */
#define STEP_INIT_FEATURES 0x01
#define STEP_INIT_QUEUE    0x02
#define STEP_BASELINE      0x03
#define STEP_HOSTILE(s)    (0x10 + (s))
#define STEP_RESET(s)      (0x20 + (s))
#define STEP_RECOVER(s)    (0x30 + (s))
#define STEP_BLK_ERROR(s)  (0x40 + (s))

static int queue_count[VIRTIO_SLOTS];

/* §3.1.1 and §4.2.3.2: reset, negotiate VERSION_1 alone, set up every queue, DRIVER_OK. */
static void init_device(int slot) {
    u64 b = base(slot);
    wr32(b + REG_STATUS, 0);
    if (rd32(b + REG_STATUS) != 0) fail(STEP_INIT_FEATURES, rd32(b + REG_STATUS), 0);
    wr32(b + REG_STATUS, S_ACKNOWLEDGE);
    wr32(b + REG_STATUS, S_ACKNOWLEDGE | S_DRIVER);
    wr32(b + REG_DEVICE_FEATURES_SEL, 1);
    if ((rd32(b + REG_DEVICE_FEATURES) & 1) == 0) fail(STEP_INIT_FEATURES, rd32(b + REG_DEVICE_FEATURES), 1);
    wr32(b + REG_DRIVER_FEATURES_SEL, 0);
    wr32(b + REG_DRIVER_FEATURES, 0);
    wr32(b + REG_DRIVER_FEATURES_SEL, 1);
    wr32(b + REG_DRIVER_FEATURES, 1);   /* VIRTIO_F_VERSION_1 is bit 32 */
    wr32(b + REG_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
    u32 st = rd32(b + REG_STATUS);
    if ((st & S_FEATURES_OK) == 0) fail(STEP_INIT_FEATURES, st, S_FEATURES_OK);
    int n = 0;
    for (int q = 0; q < MAX_QUEUES; q++) {
        wr32(b + REG_QUEUE_SEL, (u32) q);
        if (rd32(b + REG_QUEUE_READY) != 0) fail(STEP_INIT_QUEUE, (u64) q, 0);
        u32 max = rd32(b + REG_QUEUE_NUM_MAX);
        if (max == 0) break;
        if (max < QUEUE_SIZE) fail(STEP_INIT_QUEUE, max, QUEUE_SIZE);
        struct queue_page *p = &queues[slot][q];
        memset(p, 0, sizeof *p);
        u64 desc = (u64) p->desc, avail = (u64) &p->avail_flags, used = (u64) &p->used_flags;
        wr32(b + REG_QUEUE_NUM, QUEUE_SIZE);
        wr32(b + REG_QUEUE_DESC, (u32) desc);
        wr32(b + REG_QUEUE_DESC + 4, (u32) (desc >> 32));
        wr32(b + REG_QUEUE_DRIVER, (u32) avail);
        wr32(b + REG_QUEUE_DRIVER + 4, (u32) (avail >> 32));
        wr32(b + REG_QUEUE_DEVICE, (u32) used);
        wr32(b + REG_QUEUE_DEVICE + 4, (u32) (used >> 32));
        wr32(b + REG_QUEUE_READY, 1);
        n++;
    }
    queue_count[slot] = n;
    wr32(b + REG_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

/* A request: up to three descriptors, in order; `body` is the one hostile scenarios corrupt. */
struct request {
    int queue;
    int count;
    int body;
    struct desc d[3];
};

/* Fills `r` with device `id`'s well-formed request; returns 0 for a device this driver does not know. */
static int well_formed(u32 id, struct request *r) {
    memset(r, 0, sizeof *r);
    for (int i = 0; i < 4; i++) memset(buffers[i], 0, 256);
    switch (id) {
    case 2: {   /* blk: VIRTIO_BLK_T_IN of sector 0 */
        u32 *hdr = (u32 *) buffers[0];
        hdr[0] = 0;   /* type IN */
        r->queue = 0; r->count = 3; r->body = 1;
        r->d[0] = (struct desc) { (u64) buffers[0], 16, 0, 0 };
        r->d[1] = (struct desc) { (u64) buffers[1], 512, F_WRITE, 0 };
        r->d[2] = (struct desc) { (u64) buffers[2], 1, F_WRITE, 0 };
        buffers[2][0] = 0xee;
        return 1;
    }
    case 1: {   /* net: header, then a broadcast frame of a local experimental ethertype */
        u8 *f = buffers[1];
        for (int i = 0; i < 6; i++) f[i] = 0xff;
        f[6] = 0x02; f[7] = 0x45; f[8] = 0x4d; f[9] = 0x42; f[10] = 0x52; f[11] = 0x01;
        f[12] = 0x88; f[13] = 0xb5;
        r->queue = 1; r->count = 2; r->body = 1;
        r->d[0] = (struct desc) { (u64) buffers[0], 12, 0, 0 };
        r->d[1] = (struct desc) { (u64) buffers[1], 60, 0, 0 };
        return 1;
    }
    case 3: {   /* console: a line on port 0's transmitq */
        static const char line[] = "[console ok]";
        memcpy(buffers[1], line, sizeof line - 1);
        r->queue = 1; r->count = 1; r->body = 0;
        r->d[0] = (struct desc) { (u64) buffers[1], sizeof line - 1, 0, 0 };
        return 1;
    }
    case 4:     /* rng: 64 bytes to fill */
        r->queue = 0; r->count = 1; r->body = 0;
        r->d[0] = (struct desc) { (u64) buffers[1], 64, F_WRITE, 0 };
        return 1;
    case 5: {   /* balloon: inflate one scratch page */
        *(u32 *) buffers[1] = (u32) ((u64) scratch_page >> 12);
        r->queue = 0; r->count = 1; r->body = 0;
        r->d[0] = (struct desc) { (u64) buffers[1], 4, 0, 0 };
        return 1;
    }
    case 19: {  /* vsock: OP_REQUEST from CID 3 port 5000 to CID 2 port 9999, stream */
        u8 *h = buffers[1];
        *(u64 *) (h + 0) = 3;       /* src_cid */
        *(u64 *) (h + 8) = 2;       /* dst_cid */
        *(u32 *) (h + 16) = 5000;   /* src_port */
        *(u32 *) (h + 20) = 9999;   /* dst_port */
        *(u32 *) (h + 24) = 0;      /* len */
        *(u16 *) (h + 28) = 1;      /* type STREAM */
        *(u16 *) (h + 30) = 1;      /* op REQUEST */
        *(u32 *) (h + 36) = 65536;  /* buf_alloc */
        r->queue = 1; r->count = 1; r->body = 0;
        r->d[0] = (struct desc) { (u64) buffers[1], 44, 0, 0 };
        return 1;
    }
    case 18: {  /* input: EV_LED LED_CAPSL on, on the statusq */
        u16 *e = (u16 *) buffers[1];
        e[0] = 0x11; e[1] = 1; *(u32 *) (e + 2) = 1;
        r->queue = 1; r->count = 1; r->body = 0;
        r->d[0] = (struct desc) { (u64) buffers[1], 8, 0, 0 };
        return 1;
    }
    case 26: {  /* fs: FUSE_INIT 7.31 */
        u8 *in = buffers[0];
        *(u32 *) (in + 0) = 56;     /* len */
        *(u32 *) (in + 4) = 26;     /* opcode FUSE_INIT */
        *(u64 *) (in + 8) = 1;      /* unique */
        *(u32 *) (in + 40) = 7;     /* major */
        *(u32 *) (in + 44) = 31;    /* minor */
        r->queue = 1; r->count = 2; r->body = 1;
        r->d[0] = (struct desc) { (u64) buffers[0], 56, 0, 0 };
        r->d[1] = (struct desc) { (u64) buffers[1], 256, F_WRITE, 0 };
        return 1;
    }
    default:
        return 0;
    }
}

/* Makes `r` hostile as scenario `s` says; BAD_HEAD and AHEAD are done when posting. */
static void corrupt(struct request *r, enum scenario s, int slot) {
    struct desc *body = &r->d[r->body];
    switch (s) {
    case LOOP:
        r->d[r->count - 1].flags |= F_NEXT;
        r->d[r->count - 1].next = 0;
        break;
    case OOB_MMIO:
        body->addr = UART_BASE;
        break;
    case OOB_END:
        body->addr = OOB_END_GPA;
        body->len = 4096;
        break;
    case HUGE:
        body->addr = RAM_BASE;
        body->len = HUGE_LEN;
        break;
    case BIG:
        body->addr = BIG_GPA;
        body->len = BIG_LEN;
        break;
    case OVERLAP:
        /* the queue's own descriptor table and available ring, read or written by the device */
        body->addr = (u64) queues[slot][r->queue].desc;
        body->len = 512;
        break;
    default:
        break;
    }
}

/* Posts `r` (descriptors 0..count-1, chained) and notifies; returns the used index before. */
static u16 post(int slot, const struct request *r, enum scenario s) {
    struct queue_page *p = &queues[slot][r->queue];
    for (int i = 0; i < r->count; i++) {
        struct desc d = r->d[i];
        if (i + 1 < r->count) { d.flags |= F_NEXT; d.next = (u16) (i + 1); }
        p->desc[i] = d;
    }
    u16 idx = p->avail_idx;
    p->avail_ring[idx % QUEUE_SIZE] = s == BAD_HEAD ? 999 : 0;
    u16 before = p->used_idx;
    fence();
    p->avail_idx = s == AHEAD ? (u16) (idx + 100) : (u16) (idx + 1);
    fence();
    wr32(base(slot) + REG_QUEUE_NOTIFY, (u32) r->queue);
    return before;
}

enum outcome { HELD, NEEDS_RESET, USED };

/* Waits up to 10 s for DEVICE_NEEDS_RESET or a used entry: generous, as a loaded host may be slow to serve. */
static enum outcome await(int slot, int queue, u16 before) {
    struct queue_page *p = &queues[slot][queue];
    u64 deadline = now() + 10 * TICKS_PER_S;
    do {
        if (rd32(base(slot) + REG_STATUS) & S_NEEDS_RESET) return NEEDS_RESET;
        fence();
        if (*(volatile u16 *) &p->used_idx != before) return USED;
    } while (now() < deadline);
    return HELD;
}

/* Posts the well-formed request and checks what came back; `step` names the check in a failure. */
static void check_well_formed(int slot, u32 id, u32 step) {
    struct request r;
    well_formed(id, &r);
    u16 before = post(slot, &r, LOOP + SCENARIOS);   /* no scenario: a plain post */
    enum outcome o = await(slot, r.queue, before);
    if (o != USED) fail(step, o, USED);
    struct queue_page *p = &queues[slot][r.queue];
    u32 written = p->used_ring[before % QUEUE_SIZE].len;
    switch (id) {
    case 2:
        if (buffers[2][0] != 0) fail(step, buffers[2][0], 0);
        if (*(u64 *) buffers[1] != 0x5453485245424d45UL) fail(step, *(u64 *) buffers[1], 0x5453485245424d45UL);
        break;
    case 4: {
        u64 any = 0;
        for (int i = 0; i < 64; i++) any |= buffers[1][i];
        if (written == 0 || any == 0) fail(step, written, 64);
        break;
    }
    case 26: {
        u32 len = *(u32 *) buffers[1];
        int32_t error = *(int32_t *) (buffers[1] + 4);
        u64 unique = *(u64 *) (buffers[1] + 8);
        if (error != 0 || unique != 1 || len < 16 || len > written) fail(step, ((u64) (u32) error << 32) | len, 0);
        break;
    }
    default:
        break;
    }
    wr32(base(slot) + REG_INTERRUPT_ACK, rd32(base(slot) + REG_INTERRUPT_STATUS));
}

static const char *device_name(u32 id) {
    switch (id) {
    case 1: return "net";
    case 2: return "blk";
    case 3: return "console";
    case 4: return "rng";
    case 5: return "balloon";
    case 18: return "input";
    case 19: return "vsock";
    case 26: return "fs";
    default: return "unknown";
    }
}

static void drive(int slot, u32 id) {
    current_slot = slot;
    current_scenario = -1;
    puts_("slot ");
    putc_((char) ('0' + slot));
    putc_(' ');
    puts_(device_name(id));
    init_device(slot);
    check_well_formed(slot, id, STEP_BASELINE);
    for (int s = 0; s < SCENARIOS; s++) {
        current_scenario = s;
        struct request r;
        well_formed(id, &r);
        corrupt(&r, (enum scenario) s, slot);
        if (s == BIG && id == 5) memset((void *) BIG_GPA, 0, BIG_LEN);   /* page numbers 0: none in RAM */
        u16 before = post(slot, &r, (enum scenario) s);
        enum outcome o = await(slot, r.queue, before);
        if (o == HELD) fail(STEP_HOSTILE(s), o, NEEDS_RESET);
        if (o == USED && id == 2 && (s == BIG || s == HUGE) && buffers[2][0] == 0) {
            fail(STEP_BLK_ERROR(s), buffers[2][0], 1);   /* a read past the disk's end must fail */
        }
        puts_(" ");
        puts_(scenario_names[s]);
        puts_(o == NEEDS_RESET ? "=reset" : "=used");
        /* §2.4: writing 0 resets the device; it reads back 0 once the reset is done. */
        wr32(base(slot) + REG_STATUS, 0);
        u32 st = rd32(base(slot) + REG_STATUS);
        if (st != 0) fail(STEP_RESET(s), st, 0);
        init_device(slot);
        check_well_formed(slot, id, STEP_RECOVER(s));
    }
    puts_(" recovered\n");
}

/* ---- the flood ---------------------------------------------------------------------- */

#define NET_HDR 12   /* struct virtio_net_hdr with num_buffers: VIRTIO 1.2 §5.1.6 */
#define FLOOD_FRAMES 1000000UL
#define ECHO_ID 0xe4b0
#define DNS_ID 0x4242
#define DNS_PORT 5353

static u8 tx_frames[QUEUE_SIZE][NET_HDR + FRAME_MAX] __attribute__((aligned(16)));
static u8 rx_frames[QUEUE_SIZE][NET_HDR + FRAME_MAX] __attribute__((aligned(16)));
static u16 rx_seen;
static unsigned long rx_count, rx_echo_replies, rx_dns_answers;

/* Makes every receive buffer available (§5.1.6.3: each holds a header and a whole frame). */
static void rx_post_all(int slot) {
    struct queue_page *rx = &queues[slot][0];
    for (int k = 0; k < QUEUE_SIZE; k++) {
        rx->desc[k] = (struct desc) { (u64) rx_frames[k], NET_HDR + FRAME_MAX, F_WRITE, 0 };
        rx->avail_ring[k] = (u16) k;
    }
    rx_seen = 0;
    fence();
    rx->avail_idx = QUEUE_SIZE;
    fence();
    wr32(base(slot) + REG_QUEUE_NOTIFY, 0);
}

static u32 be16_at(const u8 *p) { return (u32) p[0] << 8 | p[1]; }

/* Looks at the frames received since the last call, counts the answers it waits for, and gives the buffers back. */
static void rx_drain(int slot) {
    struct queue_page *rx = &queues[slot][0];
    fence();
    u16 used = *(volatile u16 *) &rx->used_idx;
    if (used == rx_seen) return;
    while (rx_seen != used) {
        u32 id = rx->used_ring[rx_seen % QUEUE_SIZE].id;
        if (id >= QUEUE_SIZE) fail(0x60, id, QUEUE_SIZE);
        const u8 *e = rx_frames[id] + NET_HDR;
        const u8 *ip = e + 14;
        rx_count++;
        if (be16_at(e + 12) == ETH_IPV4 && (ip[0] >> 4) == 4) {
            const u8 *l4 = ip + (ip[0] & 15) * 4;
            if (ip[9] == 1 && l4[0] == 0 && be16_at(l4 + 4) == ECHO_ID) rx_echo_replies++;
            if (ip[9] == 17 && be16_at(l4) == 53 && be16_at(l4 + 2) == DNS_PORT && be16_at(l4 + 8) == DNS_ID
                    && (l4[10] & 0x80) && (l4[11] & 15) == 0 && be16_at(l4 + 14) >= 1) {
                rx_dns_answers++;
            }
        }
        rx->avail_ring[rx->avail_idx % QUEUE_SIZE] = (u16) id;
        fence();
        rx->avail_idx++;
        rx_seen++;
    }
    fence();
    wr32(base(slot) + REG_QUEUE_NOTIFY, 0);
}

/* Sends `n` frames from tx_frames in one batch and waits until the device has used them all. */
static void tx_batch(int slot, const size_t *lengths, int n, u32 step) {
    struct queue_page *tx = &queues[slot][1];
    u16 idx = tx->avail_idx;
    for (int k = 0; k < n; k++) {
        tx->desc[k] = (struct desc) { (u64) tx_frames[k], (u32) (NET_HDR + lengths[k]), 0, 0 };
        tx->avail_ring[(u16) (idx + k) % QUEUE_SIZE] = (u16) k;
    }
    fence();
    tx->avail_idx = (u16) (idx + n);
    fence();
    wr32(base(slot) + REG_QUEUE_NOTIFY, 1);
    u64 deadline = now() + 10 * TICKS_PER_S;
    while (*(volatile u16 *) &tx->used_idx != (u16) (idx + n)) {
        u32 st = rd32(base(slot) + REG_STATUS);
        if ((st & S_NEEDS_RESET) || now() > deadline) fail(step, st, *(volatile u16 *) &tx->used_idx);
        rx_drain(slot);
    }
}

/* A DNS query for "localhost", type A, from DNS_PORT. */
static size_t dns_query(u8 *f) {
    static const u8 question[] = {9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't', 0, 0, 1, 0, 1};
    size_t n = ethernet(f, GATEWAY_MAC, ETH_IPV4);
    n += ipv4(f + n, 5, 17, GUEST_IP, DNS_IP, 8 + 12 + sizeof question, 0);
    size_t at = n + udp(f + n, DNS_PORT, 53, 12 + sizeof question);
    u8 *d = f + n + 8;
    memset(d, 0, 12);
    be16(d, DNS_ID);
    d[2] = 0x01;        /* RD */
    be16(d + 4, 1);     /* one question */
    memcpy(d + 12, question, sizeof question);
    return at < 60 ? 60 : at;
}

/*
 * Floods the network device with FLOOD_FRAMES frames of frames.h's mix, QUEUE_SIZE per
 * notification, taking in whatever the stack answers; then checks the network still works:
 * an ICMP echo to the gateway and a DNS question to the stack's resolver are answered.
 */
static void flood(int slot) {
    current_slot = slot;
    current_scenario = SCENARIOS;
    init_device(slot);
    rx_post_all(slot);
    size_t lengths[QUEUE_SIZE];
    for (unsigned long i = 0; i < FLOOD_FRAMES; i += QUEUE_SIZE) {
        for (int k = 0; k < QUEUE_SIZE; k++) {
            memset(tx_frames[k], 0, NET_HDR);
            lengths[k] = make_frame(tx_frames[k] + NET_HDR, i + (unsigned long) k);
        }
        tx_batch(slot, lengths, QUEUE_SIZE, 0x61);
        rx_drain(slot);
    }
    unsigned long flood_rx = rx_count;
    rx_echo_replies = rx_dns_answers = 0;
    u64 deadline = now() + 30 * TICKS_PER_S;
    while (rx_echo_replies == 0 || rx_dns_answers == 0) {
        memset(tx_frames[0], 0, NET_HDR);
        memset(tx_frames[1], 0, NET_HDR);
        lengths[0] = icmp_echo(tx_frames[0] + NET_HDR, ECHO_ID, 32);
        lengths[1] = dns_query(tx_frames[1] + NET_HDR);
        tx_batch(slot, lengths, 2, 0x62);
        u64 retry = now() + TICKS_PER_S / 2;
        while ((rx_echo_replies == 0 || rx_dns_answers == 0) && now() < retry) rx_drain(slot);
        if (now() > deadline) fail(0x63, rx_echo_replies, rx_dns_answers);
    }
    puts_("flood: ");
    puthex(FLOOD_FRAMES);
    puts_(" frames sent, ");
    puthex(flood_rx);
    puts_(" received; echo and dns answered after\n");
}

int main(void) {
    int devices = 0;
    int net_slot = -1;
    for (int slot = VIRTIO_SLOTS - 1; slot >= 0; slot--) {
        u64 b = base(slot);
        if (rd32(b + REG_MAGIC) != 0x74726976 || rd32(b + REG_VERSION) != 2) continue;
        u32 id = rd32(b + REG_DEVICE_ID);
        if (id == 0) continue;
        struct request probe;
        if (!well_formed(id, &probe)) {
            puts_("slot ");
            putc_((char) ('0' + slot));
            puts_(" skipped: unknown device id ");
            puthex(id);
            putc_('\n');
            continue;
        }
        drive(slot, id);
        devices++;
        if (id == 1) net_slot = slot;
    }
    if (net_slot >= 0) flood(net_slot);
    puts_("hostile-virtio: devices ");
    putc_((char) ('0' + devices));
    puts_(" all recovered\n");
    return 0;
}

void __attribute__((naked, section(".text.start"))) _start(void) {
    __asm__ volatile(
        "la sp, stack + 16384\n"
        "la t0, trap\n"
        "csrw mtvec, t0\n"
        "call main\n"
        "call exit_from_main\n");
}

void __attribute__((noreturn)) exit_from_main(u64 status) { exit_(status); }
