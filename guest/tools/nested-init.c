/*
 * nested-init: /init of the nested guest's initramfs (guest/out/nested.ext4:/nested.cpio), run
 * by the nested kernel that guest/tools/ember-nvm.c boots under KVM (issue 13).
 *
 * 1. prints "ember-nested: userspace up" on /dev/console (hvc0: the SBI console, one
 *    KVM_EXIT_RISCV_SBI per byte) and, if the 8250 driver found the UART, on /dev/ttyS0 (two
 *    or more KVM_EXIT_MMIO per byte);
 * 2. if the kernel command line has ember.mmio=N (N > 0), reads the UART's line status
 *    register N times through a mapping of /dev/mem at 0x10000000, each read a guest-page
 *    fault that KVM turns into a KVM_EXIT_MMIO round trip to ember-nvm, and prints
 *    "ember-nested: N mmio reads in T ns (X ns each)";
 * 3. prints "ember-nested: uptime S s" (the nested kernel's /proc/uptime) and powers off
 *    (reboot(RB_POWER_OFF): SBI SRST, which KVM reports as KVM_EXIT_SYSTEM_EVENT).
 * It needs the guest kernel's DEVMEM (without STRICT_DEVMEM), SERIAL_OF_PLATFORM and
 * HVC_RISCV_SBI (guest/kernel.config). Built static by guest/build.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define UART_BASE 0x10000000UL
#define UART_LSR 5
#define MARKER "ember-nested: userspace up\n"

static void say(const char *fmt, const char *arg) {
    printf(fmt, arg);
    fflush(stdout);
}

/* N from "ember.mmio=N" in /proc/cmdline; 0 when absent or malformed. */
static unsigned long mmio_count(void) {
    char buf[4096];
    FILE *f = fopen("/proc/cmdline", "r");
    if (f == NULL) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    for (char *tok = strtok(buf, " \n"); tok != NULL; tok = strtok(NULL, " \n")) {
        if (strncmp(tok, "ember.mmio=", 11) == 0) {
            char *end;
            unsigned long v = strtoul(tok + 11, &end, 10);
            if (end != tok + 11 && *end == '\0' && v <= 100000000UL) return v;
            say("ember-nested: ignoring malformed %s\n", tok);
        }
    }
    return 0;
}

static void mmio_loop(unsigned long n) {
    int fd = open("/dev/mem", O_RDWR | O_SYNC | O_CLOEXEC);
    if (fd < 0) {
        say("ember-nested: cannot open /dev/mem: %s\n", strerror(errno));
        return;
    }
    volatile uint8_t *uart = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, UART_BASE);
    close(fd);
    if (uart == MAP_FAILED) {
        say("ember-nested: cannot map the UART through /dev/mem: %s\n", strerror(errno));
        return;
    }
    struct timespec t0, t1;
    unsigned int acc = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned long i = 0; i < n; i++) acc |= uart[UART_LSR];
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long ns = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    printf("ember-nested: %lu mmio reads in %lld ns (%lld ns each; LSR 0x%02x)\n", n, ns, ns / (long long)n, acc);
    fflush(stdout);
    munmap((void *)uart, 4096);
}

int main(void) {
    /* The kernel opened /dev/console as fds 0-2 before running us. */
    fputs(MARKER, stdout);
    fflush(stdout);
    mkdir("/dev", 0755);
    mkdir("/proc", 0555);
    if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) < 0 && errno != EBUSY)
        say("ember-nested: cannot mount devtmpfs: %s\n", strerror(errno));
    if (mount("proc", "/proc", "proc", 0, NULL) < 0)
        say("ember-nested: cannot mount /proc: %s\n", strerror(errno));

    int tty = open("/dev/ttyS0", O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (tty >= 0) {
        if (write(tty, MARKER, strlen(MARKER)) < 0) say("ember-nested: write to /dev/ttyS0: %s\n", strerror(errno));
        tcdrain(tty); /* until the polled 8250 has sent it (close waits only on the last close) */
        close(tty);
    } else {
        say("ember-nested: no /dev/ttyS0 (%s): UART path not exercised\n", strerror(errno));
    }

    unsigned long n = mmio_count();
    if (n > 0) mmio_loop(n);

    char up[64] = "?";
    FILE *f = fopen("/proc/uptime", "r");
    if (f != NULL) {
        if (fscanf(f, "%63s", up) != 1) strcpy(up, "?");
        fclose(f);
    }
    say("ember-nested: uptime %s s\n", up);

    /* The console's output may still sit in its tty buffer (a polled 8250 as console=ttyS0 sends it
     * from a timer): power off only once it has gone out. */
    tcdrain(STDOUT_FILENO);
    sync();
    reboot(RB_POWER_OFF);
    say("ember-nested: power off failed: %s\n", strerror(errno));
    for (;;) pause();
}
