/*
 * frames.h: the hostile network traffic of Ember's flood tests, shared by the bare-metal driver
 * (hostile_virtio.c, straight into virtio-net's transmit queue) and the Linux program
 * (guestprograms/hostile-guest.c, through AF_PACKET). Freestanding: it needs only memcpy and
 * memset. The tests paste it in where a program says #include "frames.h".
 *
 * make_frame(f, i) writes frame i of the mix into f (at least FRAME_MAX bytes) and returns its
 * length, 60..FRAME_MAX. By i % 16 (valid ones carry correct checksums; addresses are those of
 * the user-mode network, QEMU slirp's: guest 10.0.2.15, host 10.0.2.2, DNS 10.0.2.3):
 *   0 ARP who-has 10.0.2.2           1 ARP with random hardware/protocol sizes and opcode
 *   2 UDP to 10.0.2.2:9 from a fresh source port (a new flow each time)
 *   3 IPv4 with 40 bytes of random options    4 IPv4 fragment at a random offset, MF set
 *   5 IPv4 with a header length under 5 and a total length past the frame
 *   6 TCP SYN to 10.0.2.2:1 (closed)           7 TCP with random flags and a bad checksum
 *   8 DHCP port 67 with a random payload       9 DNS port 53 with a random payload
 *   10 random ethertype and bytes              11 ICMP echo to 10.0.2.2
 *   12 UDP to 10.0.2.99, an address nobody has 13 IPv6 ethertype, random bytes
 *   14 1514-byte UDP to 10.0.2.2:9             15 IPv4 whose total length is 0
 */
#include <stddef.h>
#include <stdint.h>

#define FRAME_MAX 1514
#define GUEST_IP  0x0a00020fu   /* 10.0.2.15 */
#define HOST_IP   0x0a000202u   /* 10.0.2.2 */
#define DNS_IP    0x0a000203u   /* 10.0.2.3 */
#define NOBODY_IP 0x0a000263u   /* 10.0.2.99 */
#define ETH_ARP   0x0806
#define ETH_IPV4  0x0800
#define ETH_IPV6  0x86dd

static const uint8_t GATEWAY_MAC[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};
static const uint8_t BROADCAST_MAC[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static uint8_t own_mac[6] = {0x02, 0x45, 0x4d, 0x42, 0x52, 0x01};
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t next_random(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void random_bytes(uint8_t *p, size_t n) {
    while (n >= 8) { uint64_t r = next_random(); memcpy(p, &r, 8); p += 8; n -= 8; }
    while (n--) *p++ = (uint8_t) next_random();
}

static void be16(uint8_t *p, uint32_t v) { p[0] = (uint8_t) (v >> 8); p[1] = (uint8_t) v; }
static void be32(uint8_t *p, uint32_t v) { be16(p, v >> 16); be16(p + 2, v); }

/* The Internet checksum of n bytes at p, starting from the partial sum `sum`, stored big-endian at out. */
static void checksum(const uint8_t *p, size_t n, uint32_t sum, uint8_t *out) {
    for (; n > 1; p += 2, n -= 2) sum += (uint32_t) (p[0] << 8 | p[1]);
    if (n) sum += (uint32_t) p[0] << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    be16(out, ~sum & 0xffff);
}

static size_t ethernet(uint8_t *f, const uint8_t *dst, uint32_t type) {
    memcpy(f, dst, 6);
    memcpy(f + 6, own_mac, 6);
    be16(f + 12, type);
    return 14;
}

/* An IPv4 header of `ihl` words (random options past 5) before `payload` bytes; returns its length. */
static size_t ipv4(uint8_t *f, int ihl, uint8_t proto, uint32_t src, uint32_t dst, size_t payload, uint32_t frag) {
    size_t hl = (size_t) ihl * 4;
    f[0] = (uint8_t) (0x40 | ihl);
    f[1] = 0;
    be16(f + 2, (uint32_t) (hl + payload));
    be16(f + 4, (uint32_t) next_random());
    be16(f + 6, frag);
    f[8] = 64;
    f[9] = proto;
    f[10] = f[11] = 0;
    be32(f + 12, src);
    be32(f + 16, dst);
    if (hl > 20) random_bytes(f + 20, hl - 20);
    checksum(f, hl, 0, f + 10);
    return hl;
}

/* A UDP header and `payload` random bytes, checksum 0 (none, RFC 768). */
static size_t udp(uint8_t *f, uint32_t sport, uint32_t dport, size_t payload) {
    be16(f, sport);
    be16(f + 2, dport);
    be16(f + 4, (uint32_t) (8 + payload));
    be16(f + 6, 0);
    random_bytes(f + 8, payload);
    return 8 + payload;
}

static size_t tcp(uint8_t *f, uint32_t sport, uint32_t dport, uint8_t flags, int good_sum) {
    memset(f, 0, 20);
    be16(f, sport);
    be16(f + 2, dport);
    be32(f + 4, (uint32_t) next_random());
    f[12] = 5 << 4;
    f[13] = flags;
    be16(f + 14, 65535);
    uint32_t pseudo = (GUEST_IP >> 16) + (GUEST_IP & 0xffff) + (HOST_IP >> 16) + (HOST_IP & 0xffff) + 6 + 20;
    if (good_sum) checksum(f, 20, pseudo, f + 16);
    else be16(f + 16, (uint32_t) next_random());
    return 20;
}

static size_t arp(uint8_t *a, int garbage) {
    be16(a, 1);              /* Ethernet */
    be16(a + 2, ETH_IPV4);
    a[4] = 6;
    a[5] = 4;
    be16(a + 6, 1);          /* request */
    memcpy(a + 8, own_mac, 6);
    be32(a + 14, GUEST_IP);
    memset(a + 18, 0, 6);
    be32(a + 24, HOST_IP);
    if (garbage) random_bytes(a + 2, 6);
    return 28;
}

/* An ICMP echo request of `payload` random bytes to 10.0.2.2, with identifier `id`. */
static size_t icmp_echo(uint8_t *f, uint32_t id, size_t payload) {
    size_t n = ethernet(f, GATEWAY_MAC, ETH_IPV4);
    n += ipv4(f + n, 5, 1, GUEST_IP, HOST_IP, 8 + payload, 0);
    memset(f + n, 0, 8);
    f[n] = 8;
    be16(f + n + 4, id);
    random_bytes(f + n + 8, payload);
    checksum(f + n, 8 + payload, 0, f + n + 2);
    return n + 8 + payload;
}

static size_t make_frame_unpadded(uint8_t *f, unsigned long i) {
    size_t n;
    uint32_t sport = (uint32_t) (1024 + next_random() % 60000);
    switch (i % 16) {
    case 0:
    case 1:
        n = ethernet(f, BROADCAST_MAC, ETH_ARP);
        return n + arp(f + n, i % 16 == 1);
    case 2:
    case 12:
        n = ethernet(f, GATEWAY_MAC, ETH_IPV4);
        n += ipv4(f + n, 5, 17, GUEST_IP, i % 16 == 2 ? HOST_IP : NOBODY_IP, 8 + 32, 0);
        return n + udp(f + n, sport, 9, 32);
    case 3:
        n = ethernet(f, GATEWAY_MAC, ETH_IPV4);
        n += ipv4(f + n, 15, 17, GUEST_IP, HOST_IP, 8 + 16, 0);
        return n + udp(f + n, sport, 9, 16);
    case 4:
        n = ethernet(f, GATEWAY_MAC, ETH_IPV4);
        n += ipv4(f + n, 5, 17, GUEST_IP, HOST_IP, 8 + 64, (uint32_t) (0x2000 | (next_random() & 0x1fff)));
        return n + udp(f + n, sport, 9, 64);
    case 5:
        n = ethernet(f, GATEWAY_MAC, ETH_IPV4);
        n += ipv4(f + n, 5, 17, GUEST_IP, HOST_IP, 1400, 0);
        f[14] = (uint8_t) (0x40 | (next_random() % 5));
        return n + udp(f + n, sport, 9, 8);
    case 6:
    case 7:
        n = ethernet(f, GATEWAY_MAC, ETH_IPV4);
        n += ipv4(f + n, 5, 6, GUEST_IP, HOST_IP, 20, 0);
        return i % 16 == 6 ? n + tcp(f + n, sport, 1, 0x02, 1)
                : n + tcp(f + n, sport, (uint32_t) next_random() & 0xffff, (uint8_t) next_random(), 0);
    case 8:
        n = ethernet(f, BROADCAST_MAC, ETH_IPV4);
        n += ipv4(f + n, 5, 17, 0, 0xffffffffu, 8 + 300, 0);
        return n + udp(f + n, 68, 67, 300);
    case 9:
        n = ethernet(f, GATEWAY_MAC, ETH_IPV4);
        n += ipv4(f + n, 5, 17, GUEST_IP, DNS_IP, 8 + 48, 0);
        return n + udp(f + n, sport, 53, 48);
    case 10: {
        size_t len = 46 + next_random() % 1000;
        n = ethernet(f, GATEWAY_MAC, (uint32_t) next_random() & 0xffff);
        random_bytes(f + n, len);
        return n + len;
    }
    case 11:
        return icmp_echo(f, (uint32_t) i & 0xffff, 32);
    case 13:
        n = ethernet(f, GATEWAY_MAC, ETH_IPV6);
        random_bytes(f + n, 80);
        return n + 80;
    case 14:
        n = ethernet(f, GATEWAY_MAC, ETH_IPV4);
        n += ipv4(f + n, 5, 17, GUEST_IP, HOST_IP, 1480, 0);
        return n + udp(f + n, sport, 9, 1472);
    default:
        n = ethernet(f, GATEWAY_MAC, ETH_IPV4);
        n += ipv4(f + n, 5, 17, GUEST_IP, HOST_IP, 8 + 16, 0);
        f[16] = f[17] = 0;
        return n + udp(f + n, sport, 9, 16);
    }
}

/* Frame i of the mix, padded to Ethernet's 60-byte minimum. */
static size_t make_frame(uint8_t *f, unsigned long i) {
    size_t n = make_frame_unpadded(f, i);
    if (n < 60) { memset(f + n, 0, 60 - n); n = 60; }
    return n;
}
