/*
 * ember-nvm: a minimal KVM VMM for a riscv64 Linux guest, run inside an Ember guest whose hart
 * has the H extension (issue 13: a nested VM).
 *
 *   ember-nvm [--mem MiB] [--cmdline S] [--mark S] KERNEL INITRD
 *
 * One vCPU, one memory slot (--mem MiB, default 64, at guest physical 0x80000000, reserved
 * lazily: MAP_NORESERVE), the Linux Image (RISC-V boot image header checked) at RAM +
 * text_offset, the initramfs near the top of RAM and a device tree written here (memory, one
 * cpu with its riscv,isa from the vCPU's config.isa register, plus _sstc when KVM offers Sstc,
 * the cpu's interrupt controller, /chosen, an ns16550a UART at 0x10000000 without an interrupt:
 * Linux polls it). Console: the nested kernel's SBI console (legacy putchar/getchar, forwarded
 * by KVM as KVM_EXIT_RISCV_SBI) and the UART's transmit register (KVM_EXIT_MMIO) both go to
 * stdout. KVM serves the rest of SBI (timer, IPI, fences, HSM, SRST) in the kernel; SRST and the
 * legacy shutdown become KVM_EXIT_SYSTEM_EVENT.
 *
 * Output besides the guest's console (stdout): "ember-nvm: ..." lines. When a console line
 * contains the --mark string (default "ember-nested: userspace up", guest/tools/nested-init.c's
 * marker) it prints the time since start; at the end a one-line summary of the exits by reason
 * and the total time. Exit status: 0 when the guest powered off or asked for a reset, 1 on any
 * failure (no /dev/kvm, bad image, an exit it cannot handle, KVM_RUN failing: it then prints the
 * vCPU's pc and trap CSRs), 2 on a usage error.
 *
 * Interfaces: Linux 6.1 KVM API (Documentation/virt/kvm/api.rst; include/uapi/linux/kvm.h,
 * arch/riscv/include/uapi/asm/kvm.h), the RISC-V Linux boot image header
 * (Documentation/riscv/boot-image-header.rst), the Devicetree Specification v0.4 §5 (flattened
 * format), RISC-V SBI v2.0 §5 (legacy extensions).
 * Built static by guest/build.sh (riscv64-linux-gnu-gcc -static -Os); shipped in
 * guest/out/nested.ext4, not in the default initramfs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#define RAM_BASE 0x80000000UL
#define UART_BASE 0x10000000UL
#define UART_SIZE 0x100UL
#define UART_CLOCK 3686400U
#define MIB (1024UL * 1024UL)
#define DEFAULT_CMDLINE "console=hvc0 earlycon=sbi loglevel=6"
#define DEFAULT_MARK "ember-nested: userspace up"

/* RISC-V SBI v2.0 §5: legacy console extensions; §3: standard error codes */
#define SBI_EXT_0_1_CONSOLE_PUTCHAR 0x01
#define SBI_EXT_0_1_CONSOLE_GETCHAR 0x02
#define SBI_ERR_NOT_SUPPORTED (-2L)

static const char *prog = "ember-nvm";
static struct timespec t_start;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void usage(void) {
    fprintf(stderr, "usage: %s [--mem MiB] [--cmdline S] [--mark S] KERNEL INITRD\n"
                    "  --mem MiB     guest RAM at 0x%lx (16..2048, default 64)\n"
                    "  --cmdline S   kernel command line (default \"%s\")\n"
                    "  --mark S      report the time when a console line contains S\n"
                    "                (default \"%s\")\n",
            prog, RAM_BASE, DEFAULT_CMDLINE, DEFAULT_MARK);
    exit(2);
}

static double elapsed_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t_start.tv_sec) * 1e3 + (double)(now.tv_nsec - t_start.tv_nsec) / 1e6;
}

/* ------------------------------------------------------------------------------------------ */
/* Guest memory and image loading                                                             */
/* ------------------------------------------------------------------------------------------ */

static uint8_t *ram;
static uint64_t ram_size;

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

/* Reads all of PATH into guest memory at guest physical GPA, at most MAX bytes; returns its size. */
static uint64_t load_file(const char *path, const char *what, uint64_t gpa, uint64_t max) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("cannot open %s %s: %s", what, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) fail("cannot stat %s %s: %s", what, path, strerror(errno));
    if (!S_ISREG(st.st_mode)) fail("%s %s is not a regular file", what, path);
    if ((uint64_t)st.st_size > max)
        fail("%s %s (%lld bytes) does not fit: %llu bytes free at 0x%llx (try a larger --mem)", what, path,
             (long long)st.st_size, (unsigned long long)max, (unsigned long long)gpa);
    uint8_t *dst = ram + (gpa - RAM_BASE);
    uint64_t done = 0;
    while (done < (uint64_t)st.st_size) {
        ssize_t n = read(fd, dst + done, (size_t)((uint64_t)st.st_size - done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail("cannot read %s %s: %s", what, path, strerror(errno));
        if (n == 0) fail("%s %s shrank while being read", what, path);
        done += (uint64_t)n;
    }
    close(fd);
    return done;
}

/* Documentation/riscv/boot-image-header.rst: the 64-byte header at the start of an Image. */
struct riscv_image_header {
    uint32_t code0, code1;
    uint64_t text_offset, image_size, flags;
    uint32_t version, res1;
    uint64_t res2;
    uint64_t magic;  /* "RISCV\0\0\0", deprecated but still written by 6.1 */
    uint32_t magic2; /* "RSC\x05" */
    uint32_t res3;
};

/* Checks the Image header of PATH; returns the kernel's text_offset and (via size) image_size. */
static uint64_t read_image_header(const char *path, uint64_t *image_size) {
    struct riscv_image_header h;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("cannot open kernel %s: %s", path, strerror(errno));
    ssize_t n = read(fd, &h, sizeof h);
    if (n < 0) fail("cannot read kernel %s: %s", path, strerror(errno));
    close(fd);
    if (n != (ssize_t)sizeof h || memcmp(&h.magic2, "RSC\x05", 4) != 0 || memcmp(&h.magic, "RISCV\0\0\0", 8) != 0)
        fail("kernel %s is not a RISC-V Linux Image (no \"RISCV\"/\"RSC\\x05\" magic at offset 48/56;"
             " pass arch/riscv/boot/Image, not vmlinux or a compressed image)", path);
    if (h.text_offset % (2 * MIB) != 0 || h.text_offset >= ram_size)
        fail("kernel %s: unusable text_offset 0x%llx (want a 2 MiB multiple inside RAM)", path,
             (unsigned long long)h.text_offset);
    if (h.image_size == 0) fail("kernel %s: image_size is 0 in its header", path);
    *image_size = h.image_size;
    return h.text_offset;
}

/* ------------------------------------------------------------------------------------------ */
/* Flattened device tree writer (Devicetree Specification v0.4 §5)                            */
/* ------------------------------------------------------------------------------------------ */

#define FDT_MAGIC 0xd00dfeedU
#define FDT_BEGIN_NODE 1U
#define FDT_END_NODE 2U
#define FDT_PROP 3U
#define FDT_END 9U

struct fdt {
    uint8_t structs[8192];
    size_t nstructs;
    char strings[1024];
    size_t nstrings;
};

static void fdt_bytes(struct fdt *f, const void *p, size_t n) {
    size_t padded = (n + 3) & ~(size_t)3;
    if (f->nstructs + padded > sizeof f->structs) fail("device tree too large (command line too long?)");
    memcpy(f->structs + f->nstructs, p, n);
    memset(f->structs + f->nstructs + n, 0, padded - n);
    f->nstructs += padded;
}

static void fdt_u32(struct fdt *f, uint32_t v) {
    uint32_t be = __builtin_bswap32(v);
    fdt_bytes(f, &be, 4);
}

static void fdt_begin(struct fdt *f, const char *name) {
    fdt_u32(f, FDT_BEGIN_NODE);
    fdt_bytes(f, name, strlen(name) + 1);
}

static void fdt_end(struct fdt *f) { fdt_u32(f, FDT_END_NODE); }

/* Offset of NAME in the strings block, added on first use. */
static uint32_t fdt_string(struct fdt *f, const char *name) {
    for (size_t i = 0; i < f->nstrings; i += strlen(f->strings + i) + 1)
        if (strcmp(f->strings + i, name) == 0) return (uint32_t)i;
    size_t n = strlen(name) + 1;
    if (f->nstrings + n > sizeof f->strings) fail("device tree strings block full");
    memcpy(f->strings + f->nstrings, name, n);
    f->nstrings += n;
    return (uint32_t)(f->nstrings - n);
}

static void fdt_prop(struct fdt *f, const char *name, const void *value, size_t len) {
    fdt_u32(f, FDT_PROP);
    fdt_u32(f, (uint32_t)len);
    fdt_u32(f, fdt_string(f, name));
    fdt_bytes(f, value, len);
}

static void fdt_prop_str(struct fdt *f, const char *name, const char *s) { fdt_prop(f, name, s, strlen(s) + 1); }

static void fdt_prop_u32(struct fdt *f, const char *name, uint32_t v) {
    uint32_t be = __builtin_bswap32(v);
    fdt_prop(f, name, &be, 4);
}

static void fdt_prop_u64(struct fdt *f, const char *name, uint64_t v) {
    uint64_t be = __builtin_bswap64(v);
    fdt_prop(f, name, &be, 8);
}

/* A reg of one (address, size) pair with #address-cells = #size-cells = 2. */
static void fdt_prop_reg(struct fdt *f, uint64_t addr, uint64_t size) {
    uint64_t be[2] = {__builtin_bswap64(addr), __builtin_bswap64(size)};
    fdt_prop(f, "reg", be, sizeof be);
}

/* Writes the blob (header, empty reservation map, structure block, strings) to DST; returns its size. */
static size_t fdt_finish(struct fdt *f, uint8_t *dst, size_t room) {
    fdt_u32(f, FDT_END);
    uint32_t off_rsv = 40, off_struct = off_rsv + 16, off_strings = off_struct + (uint32_t)f->nstructs;
    uint32_t total = off_strings + (uint32_t)f->nstrings;
    if (total > room) fail("device tree does not fit in guest memory");
    uint32_t hdr[10] = {FDT_MAGIC, total, off_struct, off_strings, off_rsv, 17, 16, 0,
                        (uint32_t)f->nstrings, (uint32_t)f->nstructs};
    for (int i = 0; i < 10; i++) hdr[i] = __builtin_bswap32(hdr[i]);
    memcpy(dst, hdr, sizeof hdr);
    memset(dst + off_rsv, 0, 16); /* the reservation map's terminating {0, 0} entry */
    memcpy(dst + off_struct, f->structs, f->nstructs);
    memcpy(dst + off_strings, f->strings, f->nstrings);
    return total;
}

struct board {
    uint64_t ram_size, initrd_start, initrd_end, timebase;
    const char *isa, *cmdline;
};

static size_t write_device_tree(const struct board *b, uint8_t *dst, size_t room) {
    static struct fdt f; /* 9 KiB: not on the stack */
    const uint32_t intc_phandle = 1;
    char uart_path[64];
    snprintf(uart_path, sizeof uart_path, "/uart@%lx", UART_BASE);

    fdt_begin(&f, "");
    fdt_prop_u32(&f, "#address-cells", 2);
    fdt_prop_u32(&f, "#size-cells", 2);
    fdt_prop_str(&f, "compatible", "linux,dummy-virt");
    fdt_prop_str(&f, "model", "ember-nvm");

    fdt_begin(&f, "chosen");
    fdt_prop_str(&f, "bootargs", b->cmdline);
    fdt_prop_u64(&f, "linux,initrd-start", b->initrd_start);
    fdt_prop_u64(&f, "linux,initrd-end", b->initrd_end);
    fdt_prop_str(&f, "stdout-path", uart_path);
    fdt_end(&f);

    fdt_begin(&f, "memory@80000000");
    fdt_prop_str(&f, "device_type", "memory");
    fdt_prop_reg(&f, RAM_BASE, b->ram_size);
    fdt_end(&f);

    fdt_begin(&f, "cpus");
    fdt_prop_u32(&f, "#address-cells", 1);
    fdt_prop_u32(&f, "#size-cells", 0);
    fdt_prop_u32(&f, "timebase-frequency", (uint32_t)b->timebase);
    fdt_begin(&f, "cpu@0");
    fdt_prop_str(&f, "device_type", "cpu");
    fdt_prop_u32(&f, "reg", 0);
    fdt_prop_str(&f, "status", "okay");
    fdt_prop_str(&f, "compatible", "riscv");
    fdt_prop_str(&f, "riscv,isa", b->isa);
    fdt_prop_str(&f, "mmu-type", "riscv,sv39"); /* 6.1 probes satp itself; kept for older kernels */
    fdt_begin(&f, "interrupt-controller");
    fdt_prop_u32(&f, "#interrupt-cells", 1);
    fdt_prop(&f, "interrupt-controller", NULL, 0);
    fdt_prop_str(&f, "compatible", "riscv,cpu-intc");
    fdt_prop_u32(&f, "phandle", intc_phandle);
    fdt_end(&f);
    fdt_end(&f);
    fdt_end(&f);

    /* No interrupts property: 8250_of then uses irq 0 and the 8250 core polls the port. */
    fdt_begin(&f, uart_path + 1);
    fdt_prop_str(&f, "compatible", "ns16550a");
    fdt_prop_reg(&f, UART_BASE, UART_SIZE);
    fdt_prop_u32(&f, "clock-frequency", UART_CLOCK);
    fdt_end(&f);

    fdt_end(&f);
    return fdt_finish(&f, dst, room);
}

/* ------------------------------------------------------------------------------------------ */
/* vCPU registers                                                                             */
/* ------------------------------------------------------------------------------------------ */

static int vcpu_fd;

#define REG_U64(type, index) (KVM_REG_RISCV | KVM_REG_SIZE_U64 | (type) | (uint64_t)(index))
#define REG_CONFIG_ISA REG_U64(KVM_REG_RISCV_CONFIG, KVM_REG_RISCV_CONFIG_REG(isa))
#define REG_CORE(name) REG_U64(KVM_REG_RISCV_CORE, KVM_REG_RISCV_CORE_REG(name))
#define REG_CSR(name) REG_U64(KVM_REG_RISCV_CSR, KVM_REG_RISCV_CSR_REG(name))
#define REG_TIMER_FREQUENCY REG_U64(KVM_REG_RISCV_TIMER, KVM_REG_RISCV_TIMER_REG(frequency))
#define REG_ISA_EXT(ext) REG_U64(KVM_REG_RISCV_ISA_EXT, ext)

static int get_reg(uint64_t id, uint64_t *value) {
    struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)value};
    return ioctl(vcpu_fd, KVM_GET_ONE_REG, &r);
}

static void set_reg(uint64_t id, uint64_t value, const char *name) {
    struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)&value};
    if (ioctl(vcpu_fd, KVM_SET_ONE_REG, &r) < 0) fail("KVM_SET_ONE_REG %s: %s", name, strerror(errno));
}

/* riscv,isa for the device tree: "rv64" + the single-letter extensions of config.isa, in the
 * canonical order of the ISA manual's naming chapter, + "_sstc" when the vCPU may use Sstc.
 * s, u, x and z are left out (Linux reads them as the start of a multi-letter name), h too
 * (KVM never gives it to a guest). */
static void build_isa(char *out, size_t room) {
    static const char order[] = "iemafdqclbjtpvnk";
    uint64_t isa = 0, sstc = 0;
    if (get_reg(REG_CONFIG_ISA, &isa) < 0) fail("KVM_GET_ONE_REG config.isa: %s", strerror(errno));
    if (get_reg(REG_ISA_EXT(KVM_RISCV_ISA_EXT_SSTC), &sstc) < 0) sstc = 0; /* not known to this KVM */
    size_t n = (size_t)snprintf(out, room, "rv64");
    for (const char *c = order; *c != '\0' && n + 1 < room; c++)
        if (isa & (1UL << (*c - 'a'))) out[n++] = *c;
    out[n] = '\0';
    if (sstc) snprintf(out + n, room - n, "_sstc");
    if (!(isa & (1UL << ('i' - 'a')))) fail("vCPU config.isa 0x%llx has no 'i'", (unsigned long long)isa);
}

static void report_vcpu_state(void) {
    static const struct { const char *name; uint64_t id; } regs[] = {
        {"pc", REG_CORE(regs.pc)},     {"sepc", REG_CSR(sepc)}, {"scause", REG_CSR(scause)},
        {"stval", REG_CSR(stval)},     {"sstatus", REG_CSR(sstatus)}, {"satp", REG_CSR(satp)},
        {"mode", REG_CORE(mode)},
    };
    fprintf(stderr, "%s: vCPU state:", prog);
    for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++) {
        uint64_t v;
        if (get_reg(regs[i].id, &v) == 0) fprintf(stderr, " %s=0x%llx", regs[i].name, (unsigned long long)v);
        else fprintf(stderr, " %s=(%s)", regs[i].name, strerror(errno));
    }
    fputc('\n', stderr);
}

/* ------------------------------------------------------------------------------------------ */
/* Console: the nested guest's SBI console and UART, both to stdout                            */
/* ------------------------------------------------------------------------------------------ */

static const char *mark = DEFAULT_MARK;

/* One console line being assembled per source, to spot the --mark string. */
struct line {
    char buf[256];
    size_t len;
};
static struct line sbi_line, uart_line;
static int mark_seen;

static void console_out(struct line *l, uint8_t c) {
    putchar(c);
    if (c == '\n' || l->len + 1 == sizeof l->buf) {
        l->buf[l->len] = '\0';
        if (!mark_seen && mark[0] != '\0' && strstr(l->buf, mark) != NULL) {
            mark_seen = 1;
            printf("%s: '%s' after %.0f ms\n", prog, mark, elapsed_ms());
        }
        l->len = 0;
    } else if (c != '\r') {
        l->buf[l->len++] = (char)c;
    }
}

/* 16550 registers (offset = register index, reg-shift 0): THR output, a latched IER/LCR/MCR/SCR
 * and divisor, LSR "transmitter empty", IIR "THR empty" whenever that interrupt is enabled (the
 * 8250 core's poll timer transmits only when IIR reports a pending interrupt). */
static uint8_t uart_ier, uart_lcr, uart_mcr, uart_scr, uart_dll, uart_dlm;
#define UART_LCR_DLAB 0x80

static void uart_access(uint64_t offset, uint8_t *data, uint32_t len, int is_write) {
    int dlab = uart_lcr & UART_LCR_DLAB;
    if (is_write) {
        uint8_t v = data[0];
        switch (offset) {
        case 0: if (dlab) uart_dll = v; else console_out(&uart_line, v); break;
        case 1: if (dlab) uart_dlm = v; else uart_ier = v & 0x0f; break;
        case 3: uart_lcr = v; break;
        case 4: uart_mcr = v; break;
        case 7: uart_scr = v; break;
        default: break; /* FCR and the read-only registers */
        }
        return;
    }
    uint8_t v = 0;
    switch (offset) {
    case 0: v = dlab ? uart_dll : 0; break;            /* RBR: no input */
    case 1: v = dlab ? uart_dlm : uart_ier; break;
    case 2: v = (uart_ier & 0x02) ? 0x02 : 0x01; break; /* IIR */
    case 3: v = uart_lcr; break;
    case 4: v = uart_mcr; break;
    case 5: v = 0x60; break;                            /* LSR: THRE | TEMT */
    case 7: v = uart_scr; break;
    default: break;                                     /* MSR */
    }
    memset(data, 0, len);
    data[0] = v;
}

/* ------------------------------------------------------------------------------------------ */
/* main                                                                                       */
/* ------------------------------------------------------------------------------------------ */

static unsigned long parse_mib(const char *s) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || *s == '-' || v < 16 || v > 2048) {
        fprintf(stderr, "%s: invalid --mem '%s' (want MiB, 16..2048)\n", prog, s);
        exit(2);
    }
    return v;
}

static int kvm_ioctl_or_die(int fd, unsigned long req, unsigned long arg, const char *name) {
    int r = ioctl(fd, req, arg);
    if (r < 0) fail("%s: %s", name, strerror(errno));
    return r;
}

enum { EXIT_MMIO_IDX, EXIT_SBI_IDX, EXIT_SYSTEM_IDX, EXIT_INTR_IDX, EXIT_KINDS };
static unsigned long exit_counts[EXIT_KINDS];
static unsigned long exits_total;

static void print_summary(void) {
    printf("%s: %lu exits (mmio %lu, sbi %lu, system-event %lu, interrupted %lu) in %.0f ms\n", prog, exits_total,
           exit_counts[EXIT_MMIO_IDX], exit_counts[EXIT_SBI_IDX], exit_counts[EXIT_SYSTEM_IDX],
           exit_counts[EXIT_INTR_IDX], elapsed_ms());
    fflush(stdout);
}

int main(int argc, char **argv) {
    unsigned long mem_mib = 64;
    const char *cmdline = DEFAULT_CMDLINE;
    int i = 1;
    clock_gettime(CLOCK_MONOTONIC, &t_start);
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (strcmp(argv[i], "--") == 0) { i++; break; }
        if (i + 1 >= argc) usage();
        if (strcmp(argv[i], "--mem") == 0) mem_mib = parse_mib(argv[++i]);
        else if (strcmp(argv[i], "--cmdline") == 0) cmdline = argv[++i];
        else if (strcmp(argv[i], "--mark") == 0) mark = argv[++i];
        else usage();
    }
    if (argc - i != 2) usage();
    const char *kernel = argv[i], *initrd = argv[i + 1];
    ram_size = (uint64_t)mem_mib * MIB;

    /* 1. /dev/kvm, API version, capabilities (api.rst §4.1, §4.4) */
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        fail("cannot open /dev/kvm: %s (no KVM here: the kernel needs CONFIG_KVM and the hart the H extension;"
             " dmesg says 'kvm [1]: hypervisor extension available' when both are there)", strerror(errno));
    int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) fail("KVM API version %d, want %d", api, KVM_API_VERSION);
    if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0) fail("KVM lacks KVM_CAP_USER_MEMORY");
    if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_ONE_REG) <= 0) fail("KVM lacks KVM_CAP_ONE_REG");

    /* 2. VM and its RAM: one slot */
    int vm = kvm_ioctl_or_die(kvm, KVM_CREATE_VM, 0, "KVM_CREATE_VM");
    ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (ram == MAP_FAILED) fail("cannot map %lu MiB of guest memory: %s", mem_mib, strerror(errno));
    struct kvm_userspace_memory_region region = {
        .slot = 0, .flags = 0, .guest_phys_addr = RAM_BASE, .memory_size = ram_size,
        .userspace_addr = (uint64_t)(uintptr_t)ram};
    kvm_ioctl_or_die(vm, KVM_SET_USER_MEMORY_REGION, (unsigned long)&region, "KVM_SET_USER_MEMORY_REGION");

    /* 3. vCPU 0 and its shared kvm_run page */
    vcpu_fd = kvm_ioctl_or_die(vm, KVM_CREATE_VCPU, 0, "KVM_CREATE_VCPU");
    int run_size = kvm_ioctl_or_die(kvm, KVM_GET_VCPU_MMAP_SIZE, 0, "KVM_GET_VCPU_MMAP_SIZE");
    if ((size_t)run_size < sizeof(struct kvm_run)) fail("KVM_GET_VCPU_MMAP_SIZE %d is too small", run_size);
    struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd, 0);
    if (run == MAP_FAILED) fail("cannot map the vCPU's kvm_run: %s", strerror(errno));

    /* 4. Layout: kernel at RAM + text_offset, device tree at the next 2 MiB boundary after the
     * kernel's image_size (which includes its bss), initramfs page-aligned at the top of the
     * first 256 MiB of RAM (Linux's lowmem rule in kvmtool) or of RAM if smaller. */
    uint64_t image_size;
    uint64_t kernel_gpa = RAM_BASE + read_image_header(kernel, &image_size);
    if (kernel_gpa + image_size > RAM_BASE + ram_size)
        fail("kernel %s needs %llu bytes from 0x%llx: more than --mem %lu MiB", kernel,
             (unsigned long long)image_size, (unsigned long long)kernel_gpa, mem_mib);
    uint64_t kernel_bytes = load_file(kernel, "kernel", kernel_gpa, image_size);
    uint64_t fdt_gpa = align_up(kernel_gpa + image_size, 2 * MIB);
    const uint64_t fdt_room = 64 * 1024;
    if (fdt_gpa + fdt_room > RAM_BASE + ram_size) fail("no room for the device tree: raise --mem");

    int initrd_fd = open(initrd, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (initrd_fd < 0 || fstat(initrd_fd, &st) < 0) fail("cannot open initrd %s: %s", initrd, strerror(errno));
    close(initrd_fd);
    uint64_t lowmem_end = RAM_BASE + (ram_size < 256 * MIB ? ram_size : 256 * MIB);
    if ((uint64_t)st.st_size + fdt_gpa + fdt_room > lowmem_end)
        fail("initrd %s (%lld bytes) does not fit between the device tree and the end of RAM: raise --mem",
             initrd, (long long)st.st_size);
    uint64_t initrd_gpa = (lowmem_end - (uint64_t)st.st_size) & ~0xfffULL;
    uint64_t initrd_bytes = load_file(initrd, "initrd", initrd_gpa, lowmem_end - initrd_gpa);

    /* 5. The device tree, from what KVM says the vCPU has */
    char isa[64];
    build_isa(isa, sizeof isa);
    uint64_t timebase;
    if (get_reg(REG_TIMER_FREQUENCY, &timebase) < 0) fail("KVM_GET_ONE_REG timer.frequency: %s", strerror(errno));
    if (timebase == 0 || timebase > UINT32_MAX) fail("vCPU timer frequency %llu Hz is unusable", (unsigned long long)timebase);
    struct board b = {.ram_size = ram_size, .initrd_start = initrd_gpa, .initrd_end = initrd_gpa + initrd_bytes,
                      .timebase = timebase, .isa = isa, .cmdline = cmdline};
    size_t fdt_size = write_device_tree(&b, ram + (fdt_gpa - RAM_BASE), fdt_room);

    /* 6. Boot registers (Documentation/riscv/boot.rst): a0 = hart id, a1 = device tree, S-mode */
    set_reg(REG_CORE(regs.pc), kernel_gpa, "pc");
    set_reg(REG_CORE(regs.a0), 0, "a0");
    set_reg(REG_CORE(regs.a1), fdt_gpa, "a1");
    printf("%s: %lu MiB at 0x%lx, kernel %llu bytes at 0x%llx, initrd %llu bytes at 0x%llx, device tree %zu bytes"
           " at 0x%llx, %s, timebase %llu Hz, setup %.1f ms\n",
           prog, mem_mib, RAM_BASE, (unsigned long long)kernel_bytes, (unsigned long long)kernel_gpa,
           (unsigned long long)initrd_bytes, (unsigned long long)initrd_gpa, fdt_size, (unsigned long long)fdt_gpa,
           isa, (unsigned long long)timebase, elapsed_ms());

    /* 7. Run: api.rst §5 "The kvm_run structure" */
    int logged_unknown_mmio = 0;
    for (;;) {
        if (ioctl(vcpu_fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                exits_total++;
                exit_counts[EXIT_INTR_IDX]++;
                continue;
            }
            int err = errno;
            fflush(stdout);
            fprintf(stderr, "%s: KVM_RUN failed: %s (errno %d; exit reason %u)%s\n", prog, strerror(err), err,
                    run->exit_reason,
                    err == EFAULT ? " - the nested guest took a trap KVM does not handle" : "");
            report_vcpu_state();
            print_summary();
            return 1;
        }
        exits_total++;
        switch (run->exit_reason) {
        case KVM_EXIT_MMIO: {
            exit_counts[EXIT_MMIO_IDX]++;
            uint64_t a = run->mmio.phys_addr;
            uint32_t len = run->mmio.len;
            if (len == 0 || len > sizeof run->mmio.data) fail("MMIO exit with length %u", len);
            if (a >= UART_BASE && a + len <= UART_BASE + UART_SIZE) {
                uart_access(a - UART_BASE, run->mmio.data, len, run->mmio.is_write);
            } else {
                if (!run->mmio.is_write) memset(run->mmio.data, 0, len);
                if (!logged_unknown_mmio) {
                    logged_unknown_mmio = 1;
                    fprintf(stderr, "%s: %s of %u bytes at unassigned address 0x%llx ignored (logged once)\n",
                            prog, run->mmio.is_write ? "write" : "read", len, (unsigned long long)a);
                }
            }
            break;
        }
        case KVM_EXIT_RISCV_SBI:
            exit_counts[EXIT_SBI_IDX]++;
            run->riscv_sbi.ret[1] = 0;
            switch (run->riscv_sbi.extension_id) {
            case SBI_EXT_0_1_CONSOLE_PUTCHAR:
                console_out(&sbi_line, (uint8_t)run->riscv_sbi.args[0]);
                run->riscv_sbi.ret[0] = 0;
                break;
            case SBI_EXT_0_1_CONSOLE_GETCHAR:
                run->riscv_sbi.ret[0] = (unsigned long)-1L; /* no input */
                break;
            default:
                run->riscv_sbi.ret[0] = (unsigned long)SBI_ERR_NOT_SUPPORTED;
                break;
            }
            break;
        case KVM_EXIT_SYSTEM_EVENT:
            exit_counts[EXIT_SYSTEM_IDX]++;
            fflush(stdout);
            if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
                printf("%s: nested VM powered off\n", prog);
            } else if (run->system_event.type == KVM_SYSTEM_EVENT_RESET) {
                printf("%s: nested VM asked for a reset; stopping (no reboot support)\n", prog);
            } else {
                fprintf(stderr, "%s: unexpected system event type %u\n", prog, run->system_event.type);
                report_vcpu_state();
                print_summary();
                return 1;
            }
            print_summary();
            return 0;
        default:
            fflush(stdout);
            fprintf(stderr, "%s: unhandled exit reason %u\n", prog, run->exit_reason);
            report_vcpu_state();
            print_summary();
            return 1;
        }
    }
}
