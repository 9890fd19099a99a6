/*
 * vsock-cat: copy between stdin/stdout and one AF_VSOCK stream connection.
 *
 *   vsock-cat listen PORT        accept one connection on VMADDR_CID_ANY:PORT
 *   vsock-cat connect CID PORT   connect to CID:PORT (the host is CID 2)
 *
 * Then copy socket -> stdout and stdin -> socket. On stdin EOF the socket's write side is
 * shut down, so the peer sees EOF. Exit when both directions reached EOF, or as soon as the
 * peer has closed the connection (close(), not just shutdown(SHUT_WR): vsock then reports
 * POLLHUP; a write then fails with EPIPE) and its data has been read. Only the data
 * received goes to stdout; diagnostics go to stderr. Exit status: 0 on success, 1 on an
 * error, 2 on a usage error. A backgrounded listener on an interactive shell should get
 * `</dev/null` (or other input) so that it does not read the terminal.
 * Built static by guest/build.sh: riscv64-linux-gnu-gcc -static -Os.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static const char *prog = "vsock-cat";

static void die(const char *what) {
    fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
    exit(1);
}

static void usage(void) {
    fprintf(stderr, "usage: %s listen PORT\n       %s connect CID PORT\n", prog, prog);
    exit(2);
}

static unsigned int parse_u32(const char *s, const char *name) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || *s == '-' || v > UINT_MAX) {
        fprintf(stderr, "%s: invalid %s: '%s' (want a number 0..%u)\n", prog, name, s, UINT_MAX);
        exit(2);
    }
    return (unsigned int)v;
}

/* Writes all of buf; returns 0, or -1 with errno set. */
static int write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Copies until both directions reached EOF or the peer is gone. */
static void relay(int sock) {
    static char buf[65536];
    int in_open = 1, sock_open = 1;
    while (sock_open || in_open) {
        struct pollfd p[2] = {
            { .fd = sock, .events = sock_open ? POLLIN : 0 },
            { .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN },
        };
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            die("poll");
        }
        if (sock_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = read(sock, buf, sizeof buf);
            if (n < 0 && errno != EINTR) die("read from socket");
            if (n == 0) {
                sock_open = 0;
                continue;   /* a closed peer shows as POLLHUP on the next round */
            }
            if (n > 0 && write_all(STDOUT_FILENO, buf, (size_t)n) < 0) die("write to stdout");
        } else if (!sock_open && (p[0].revents & (POLLHUP | POLLERR))) {
            break;          /* peer closed both directions: stdin has nowhere to go */
        }
        if (in_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
            if (n < 0 && errno != EINTR) die("read from stdin");
            if (n == 0) {
                in_open = 0;
                if (shutdown(sock, SHUT_WR) < 0 && errno != ENOTCONN) die("shutdown");
            } else if (n > 0 && write_all(sock, buf, (size_t)n) < 0) {
                if (errno != EPIPE && errno != ECONNRESET) die("write to socket");
                in_open = 0;    /* peer is gone: drop the rest of stdin */
            }
        }
    }
}

int main(int argc, char **argv) {
    struct sockaddr_vm addr;
    char what[64];
    int sock;

    signal(SIGPIPE, SIG_IGN);   /* a closed peer shows up as EPIPE instead */
    memset(&addr, 0, sizeof addr);
    addr.svm_family = AF_VSOCK;
    if (argc == 3 && strcmp(argv[1], "listen") == 0) {
        addr.svm_cid = VMADDR_CID_ANY;
        addr.svm_port = parse_u32(argv[2], "PORT");
        int lsock = socket(AF_VSOCK, SOCK_STREAM, 0);
        if (lsock < 0) die("socket(AF_VSOCK)");
        snprintf(what, sizeof what, "bind to port %u", addr.svm_port);
        if (bind(lsock, (struct sockaddr *)&addr, sizeof addr) < 0) die(what);
        if (listen(lsock, 1) < 0) die("listen");
        do {
            sock = accept(lsock, NULL, NULL);
        } while (sock < 0 && errno == EINTR);
        if (sock < 0) die("accept");
        close(lsock);
        relay(sock);
    } else if (argc == 4 && strcmp(argv[1], "connect") == 0) {
        addr.svm_cid = parse_u32(argv[2], "CID");
        addr.svm_port = parse_u32(argv[3], "PORT");
        sock = socket(AF_VSOCK, SOCK_STREAM, 0);
        if (sock < 0) die("socket(AF_VSOCK)");
        snprintf(what, sizeof what, "connect to CID %u port %u", addr.svm_cid, addr.svm_port);
        if (connect(sock, (struct sockaddr *)&addr, sizeof addr) < 0) die(what);
        relay(sock);
    } else {
        usage();
    }
    close(sock);
    return 0;
}
