/*
 * hostile-guest: a static riscv64 Linux program that does what a hostile tenant would, for
 * Ember's tests (HostileGuestProgramsTest). The test compiles it with riscv64-linux-gnu-gcc
 * -static and sends it into the default guest through the guest agent, so the default guest
 * stays as small as it is.
 *
 *   hostile-guest flood IFACE N      sends N Ethernet frames on IFACE through AF_PACKET, a fixed
 *                                    mix of valid and garbage frames (below); prints
 *                                    "flood: N sent, E errors"
 *   hostile-guest bomb SECONDS MIB   forks without end until SECONDS have passed, every process
 *                                    but the first touching MIB MiB more fresh memory each round;
 *                                    every process asks to be the OOM killer's first choice; the
 *                                    first prints "bomb: F forks, R refused" (forks it made, and
 *                                    forks the kernel refused it)
 *   hostile-guest write DEV SECONDS  writes DEV with O_DIRECT in 1 MiB blocks from the start,
 *                                    wrapping at its end, as fast as it can for SECONDS; prints
 *                                    "write: B bytes"
 *
 * The flood's mix is frames.h's (from baremetal/, pasted in by the test).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frames.h"

static int flood(const char *iface, unsigned long count) {
    int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (s < 0) { perror("socket(AF_PACKET)"); return 1; }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, iface, IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0) { perror("SIOCGIFHWADDR"); return 1; }
    memcpy(own_mac, ifr.ifr_hwaddr.sa_data, 6);
    struct sockaddr_ll to;
    memset(&to, 0, sizeof to);
    to.sll_family = AF_PACKET;
    to.sll_ifindex = (int) if_nametoindex(iface);
    to.sll_halen = 6;
    if (to.sll_ifindex == 0) { perror("if_nametoindex"); return 1; }
    /* Frames skip the qdisc: the driver's ring is the only queue, as a hostile guest would want. */
    int one = 1;
    setsockopt(s, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    static uint8_t frame[FRAME_MAX];
    unsigned long sent = 0, errors = 0;
    for (unsigned long i = 0; i < count; i++) {
        size_t n = make_frame(frame, i);
        if (sendto(s, frame, n, 0, (struct sockaddr *) &to, sizeof to) == (ssize_t) n) {
            sent++;
        } else if (errno == ENOBUFS || errno == EAGAIN) {
            errors++;
            i--;   /* the ring is full: the same frame again */
            sched_yield();
        } else {
            errors++;
        }
    }
    printf("flood: %lu sent, %lu errors\n", sent, errors);
    return 0;
}

/* Maps `mib` MiB of fresh memory, populated at once (one call, not a fault per page). */
static void grow(int mib) {
    if (mmap(NULL, (size_t) mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0)
            == MAP_FAILED) {
        usleep(1000);
    }
}

static int bomb(int seconds, int mib) {
    time_t deadline = time(NULL) + seconds;
    unsigned long forks = 0, refused = 0;
    pid_t top = getpid();
    int devnull = open("/dev/null", O_WRONLY);
    int fd = open("/proc/self/oom_score_adj", O_WRONLY);
    if (fd >= 0) { if (write(fd, "1000", 4) < 0) { } close(fd); }
    while (time(NULL) < deadline) {
        pid_t p = fork();
        if (p == 0) {
            /* The child lets go of the caller's output, so that only the first process holds it. */
            dup2(devnull, 1);
            dup2(devnull, 2);
        } else if (p < 0) {
            refused++;
            usleep(1000);
        } else {
            forks++;
        }
        /* Every process but the first grows without end, and all go on forking. */
        if (getpid() != top) grow(mib);
        while (waitpid(-1, NULL, WNOHANG) > 0) { }
    }
    if (getpid() == top) printf("bomb: %lu forks, %lu refused\n", forks, refused);
    return 0;
}

static int write_disk(const char *dev, int seconds) {
    int fd = open(dev, O_WRONLY | O_DIRECT);
    if (fd < 0) { perror(dev); return 1; }
    off_t size = lseek(fd, 0, SEEK_END);
    if (size < (1 << 20)) { fprintf(stderr, "%s is smaller than 1 MiB\n", dev); return 1; }
    void *block;
    if (posix_memalign(&block, 4096, 1 << 20) != 0) { perror("posix_memalign"); return 1; }
    memset(block, 0xa5, 1 << 20);
    time_t deadline = time(NULL) + seconds;
    unsigned long long bytes = 0;
    off_t at = 0;
    while (time(NULL) < deadline) {
        if (at + (1 << 20) > size) at = 0;
        ssize_t n = pwrite(fd, block, 1 << 20, at);
        if (n <= 0) { perror("pwrite"); return 1; }
        at += n;
        bytes += (unsigned long long) n;
    }
    fsync(fd);
    printf("write: %llu bytes\n", bytes);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "flood") == 0) return flood(argv[2], strtoul(argv[3], NULL, 10));
    if (argc == 4 && strcmp(argv[1], "bomb") == 0) return bomb(atoi(argv[2]), atoi(argv[3]));
    if (argc == 4 && strcmp(argv[1], "write") == 0) return write_disk(argv[2], atoi(argv[3]));
    fprintf(stderr, "usage: hostile-guest flood IFACE N | bomb SECONDS MIB | write DEV SECONDS\n");
    return 2;
}
