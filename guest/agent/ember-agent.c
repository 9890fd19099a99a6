/*
 * ember-agent: the guest side of Ember's guest agent (protocol: guest/agent/PROTOCOL.md).
 *
 * Listens on AF_VSOCK port 1024 and serves one request per host connection, each in its own
 * forked handler: SPAWN a process and relay its stdin/stdout/stderr, signals, window size and
 * exit status; MOUNT; HOSTNAME; PING; POWEROFF.
 *
 *   ember-agent               daemon in the default guest (/etc/inittab ::respawn): silent
 *                             unless something fails
 *   rdinit=/usr/bin/ember-agent
 *                             PID 1 of a container VM: mounts /proc, /sys, /dev, /dev/pts,
 *                             /dev/shm, brings lo up, reaps orphans, prints "ember-agent: ready"
 *   ember-agent --unix PATH   listens on a Unix socket instead (testing on a build host)
 *
 * Every length read from the host is checked: a frame longer than MAX_PAYLOAD, an unknown type
 * or a malformed field closes that connection (its handler exits), never the agent. The main
 * loop never exits: as PID 1 that would panic the kernel, as a respawned daemon it would spin.
 * Built static by guest/build.sh: riscv64-linux-gnu-gcc -static -Os.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#define AGENT_VERSION "ember-agent 1"
#define AGENT_PORT 1024
#define MAX_PAYLOAD (1u << 20)
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define IO_CHUNK 65536
/* After the process exited: how long output may stay silent before the agent stops waiting for it. */
#define DRAIN_IDLE_MS 100
/* ... and how long output may keep coming at most (a background grandchild that writes forever). */
#define DRAIN_MAX_MS 2000

static int is_init;             /* we are PID 1 (booted with rdinit=) */
static const char *unix_path;   /* --unix PATH: listen there instead of on vsock */

static void logmsg(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("ember-agent: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ------------------------------------------------------------------------------------------ */
/* Frames: u32 length LE | u8 type | payload                                                  */
/* ------------------------------------------------------------------------------------------ */

static int read_full(int fd, void *buf, size_t len) { /* 1: read, 0: EOF before any byte, -1: error/short */
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) return got == 0 ? 0 : -1;
        got += (size_t)n;
    }
    return 1;
}

static int write_full(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static uint32_t get_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}

static int send_frame(int sock, char type, const void *payload, uint32_t len) {
    unsigned char head[5];
    put_u32(head, len);
    head[4] = (unsigned char)type;
    if (write_full(sock, head, 5) < 0) return -1;
    return len == 0 ? 0 : write_full(sock, payload, len);
}

static int send_u32(int sock, char type, uint32_t v) {
    unsigned char b[4];
    put_u32(b, v);
    return send_frame(sock, type, b, 4);
}

static int send_text(int sock, char type, const char *text) {
    return send_frame(sock, type, text, (uint32_t)strlen(text));
}

static int known_type(int type) {
    return type != 0 && strchr("SIiKWMHQP", type) != NULL;
}

/*
 * Reads one host frame into buf (MAX_PAYLOAD bytes). Returns 1 with *type and *len set, 0 on a
 * clean EOF between frames, -1 on a short read, an oversized length or an unknown type.
 */
static int recv_frame(int sock, unsigned char *buf, int *type, uint32_t *len) {
    unsigned char head[5];
    int r = read_full(sock, head, 5);
    if (r <= 0) return r;
    *len = get_u32(head);
    *type = head[4];
    if (*len > MAX_PAYLOAD || !known_type(*type)) return -1;
    return *len == 0 ? 1 : (read_full(sock, buf, *len) == 1 ? 1 : -1);
}

/* ------------------------------------------------------------------------------------------ */
/* Request fields: u8 tag | u32 len LE | bytes, each value copied out NUL-terminated          */
/* ------------------------------------------------------------------------------------------ */

struct field { int tag; char *value; uint32_t len; };

/* Splits a payload into fields; returns the count, or -1 if a field runs past the end. */
static int parse_fields(const unsigned char *p, uint32_t len, struct field **out) {
    size_t cap = 16, n = 0;
    struct field *f = malloc(cap * sizeof *f);
    uint32_t off = 0;
    if (!f) return -1;
    while (off < len) {
        if (len - off < 5) goto bad;
        uint32_t flen = get_u32(p + off + 1);
        if (flen > len - off - 5) goto bad;
        if (n == cap) {
            cap *= 2;
            struct field *g = realloc(f, cap * sizeof *f);
            if (!g) goto bad;
            f = g;
        }
        f[n].tag = p[off];
        f[n].len = flen;
        f[n].value = malloc(flen + 1);
        if (!f[n].value) goto bad;
        memcpy(f[n].value, p + off + 5, flen);
        f[n].value[flen] = '\0';
        n++;
        off += 5 + flen;
    }
    *out = f;
    return (int)n;
bad:
    free(f);   /* the handler exits right after; the values go with it */
    return -1;
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *out) {
    char *end;
    if (*s < '0' || *s > '9') return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max) return -1;
    *out = v;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* SPAWN                                                                                       */
/* ------------------------------------------------------------------------------------------ */

struct rlimit_entry { int resource; struct rlimit lim; };

struct spawn {
    char **argv, **envp;
    int argc, envc;
    const char *cwd, *root;
    uid_t uid;
    gid_t gid;
    gid_t *groups;
    int ngroups;
    int has_groups;
    int tty;
    struct winsize ws;
    struct rlimit_entry *limits;
    int nlimits;
};

static const struct { const char *name; int resource; } RLIMITS[] = {
    {"RLIMIT_CPU", RLIMIT_CPU}, {"RLIMIT_FSIZE", RLIMIT_FSIZE}, {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_STACK", RLIMIT_STACK}, {"RLIMIT_CORE", RLIMIT_CORE}, {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC}, {"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_AS", RLIMIT_AS}, {"RLIMIT_LOCKS", RLIMIT_LOCKS}, {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE}, {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

static int parse_limit_value(const char *s, rlim_t *out) {
    unsigned long v;
    if (strcmp(s, "unlimited") == 0) { *out = RLIM_INFINITY; return 0; }
    if (parse_ulong(s, ULONG_MAX, &v) < 0) return -1;
    *out = (rlim_t)v;
    return 0;
}

static int parse_rlimit(char *text, struct rlimit_entry *e) {
    char *save, *name = strtok_r(text, " ", &save), *soft = strtok_r(NULL, " ", &save),
         *hard = strtok_r(NULL, " ", &save);
    if (!name || !soft || !hard || strtok_r(NULL, " ", &save)) return -1;
    for (size_t i = 0; i < sizeof RLIMITS / sizeof RLIMITS[0]; i++) {
        if (strcmp(name, RLIMITS[i].name) == 0) {
            e->resource = RLIMITS[i].resource;
            return parse_limit_value(soft, &e->lim.rlim_cur) < 0 || parse_limit_value(hard, &e->lim.rlim_max) < 0 ? -1 : 0;
        }
    }
    return -1;
}

/* Fills s from the fields; on a bad field writes a message to err and returns -1. */
static int parse_spawn(struct field *f, int n, struct spawn *s, char *err, size_t errlen) {
    unsigned long v;
    memset(s, 0, sizeof *s);
    s->cwd = "/";
    s->argv = calloc((size_t)n + 1, sizeof *s->argv);
    s->envp = calloc((size_t)n + 1, sizeof *s->envp);
    s->groups = calloc((size_t)n + 1, sizeof *s->groups);
    s->limits = calloc((size_t)n + 1, sizeof *s->limits);
    if (!s->argv || !s->envp || !s->groups || !s->limits) { snprintf(err, errlen, "out of memory"); return -1; }
    for (int i = 0; i < n; i++) {
        char *val = f[i].value;
        if (strlen(val) != f[i].len) {
            snprintf(err, errlen, "field '%c' contains a NUL byte", f[i].tag);
            return -1;
        }
        switch (f[i].tag) {
        case 'a': s->argv[s->argc++] = val; break;
        case 'e': s->envp[s->envc++] = val; break;
        case 'd': s->cwd = val; break;
        case 'r': s->root = val; break;
        case 'u':
            if (parse_ulong(val, UINT32_MAX - 1, &v) < 0) { snprintf(err, errlen, "bad uid '%s'", val); return -1; }
            s->uid = (uid_t)v; break;
        case 'g':
            if (parse_ulong(val, UINT32_MAX - 1, &v) < 0) { snprintf(err, errlen, "bad gid '%s'", val); return -1; }
            s->gid = (gid_t)v; break;
        case 'G':
            if (parse_ulong(val, UINT32_MAX - 1, &v) < 0) { snprintf(err, errlen, "bad group '%s'", val); return -1; }
            s->groups[s->ngroups++] = (gid_t)v; s->has_groups = 1; break;
        case 't': {
            unsigned rows, cols;
            char extra;
            if (sscanf(val, "%u %u%c", &rows, &cols, &extra) != 2 || rows > 65535 || cols > 65535) {
                snprintf(err, errlen, "bad terminal size '%.40s'", val); return -1;
            }
            s->tty = 1; s->ws.ws_row = (unsigned short)rows; s->ws.ws_col = (unsigned short)cols; break;
        }
        case 'l':
            if (parse_rlimit(val, &s->limits[s->nlimits]) < 0) {
                snprintf(err, errlen, "bad rlimit (want NAME SOFT HARD)"); return -1;
            }
            s->nlimits++; break;
        default:
            snprintf(err, errlen, "unknown spawn field '%c'", f[i].tag); return -1;
        }
    }
    if (s->argc == 0) { snprintf(err, errlen, "no program to run (no 'a' field)"); return -1; }
    return 0;
}

/* Looks argv[0] up in PATH of the process's own environment (or the default) and execs it. */
static void exec_in_path(struct spawn *s) {
    const char *prog = s->argv[0], *path = DEFAULT_PATH;
    if (strchr(prog, '/')) { execve(prog, s->argv, s->envp); return; }
    for (int i = 0; i < s->envc; i++) {
        if (strncmp(s->envp[i], "PATH=", 5) == 0) path = s->envp[i] + 5;
    }
    int saved = ENOENT;
    char buf[PATH_MAX];
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t dlen = colon ? (size_t)(colon - path) : strlen(path);
        if ((size_t)snprintf(buf, sizeof buf, "%.*s%s%s", (int)dlen, path, dlen ? "/" : "", prog) < sizeof buf) {
            execve(buf, s->argv, s->envp);
            if (errno != ENOENT && errno != ENOTDIR) saved = errno;   /* e.g. EACCES: remember, keep looking */
        }
        if (!colon) break;
        path = colon + 1;
    }
    errno = saved;
}

/* In the forked child: reports "what: strerror" through errfd (CLOEXEC pipe) and exits. */
static void child_fail(int errfd, const char *what, const char *arg) {
    char msg[512];
    int e = errno;
    /* 'N': the program was not found (exit 127); 'O': any other failure (exit 126). */
    char kind = e == ENOENT && strcmp(what, "exec") == 0 ? 'N' : 'O';
    int len = snprintf(msg, sizeof msg, "%c%s %s: %s", kind, what, arg, strerror(e));
    if (len > (int)sizeof msg - 1) len = sizeof msg - 1;
    if (write(errfd, msg, (size_t)len) < 0) { /* the parent reports a generic failure */ }
    _exit(127);
}

static void child_setup(struct spawn *s, int in_fd, int out_fd, int err_fd, const char *pts, int errfd) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
    setsid();
    if (pts) {
        int t = open(pts, O_RDWR);
        if (t < 0) child_fail(errfd, "open", pts);
        if (ioctl(t, TIOCSCTTY, 0) < 0) child_fail(errfd, "ioctl TIOCSCTTY", pts);
        in_fd = out_fd = err_fd = t;
    }
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) child_fail(errfd, "dup2", "stdio");
    for (int i = 0; i < s->nlimits; i++) {
        if (setrlimit(s->limits[i].resource, &s->limits[i].lim) < 0) child_fail(errfd, "setrlimit", "");
    }
    if (s->root && (chroot(s->root) < 0)) child_fail(errfd, "chroot", s->root);
    if (chdir(s->cwd) < 0) child_fail(errfd, "chdir", s->cwd);
    if (setgroups(s->has_groups ? (size_t)s->ngroups : 0, s->groups) < 0) child_fail(errfd, "setgroups", "");
    if (setgid(s->gid) < 0) child_fail(errfd, "setgid", "");
    if (setuid(s->uid) < 0) child_fail(errfd, "setuid", "");
    exec_in_path(s);
    child_fail(errfd, "exec", s->argv[0]);
}

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000;
}

static int set_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int exit_code(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 255;
}

/* Forwards what one output fd has: 1 data sent, 0 nothing now (EAGAIN), -1 EOF/closed. Exits if the host is gone. */
static int forward_output(int sock, int fd, char type, pid_t pid, int pgroup) {
    static char buf[IO_CHUNK];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    if (n <= 0) return -1;   /* EOF, or EIO from a pty master whose slave side closed */
    if (send_frame(sock, type, buf, (uint32_t)n) < 0) {
        kill(pgroup ? -pid : pid, SIGKILL);
        kill(pid, SIGKILL);
        _exit(0);
    }
    return 1;
}

static void serve_spawn(int sock, unsigned char *buf, uint32_t len) {
    struct field *f;
    struct spawn s;
    char err[600];
    int n = parse_fields(buf, len, &f);
    if (n < 0) _exit(0);
    if (parse_spawn(f, n, &s, err, sizeof err) < 0) {
        send_text(sock, 'f', err);
        send_u32(sock, 'x', 126);
        _exit(0);
    }

    int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1}, status_pipe[2];
    int master = -1;
    char pts[64] = "";
    if (pipe2(status_pipe, O_CLOEXEC) < 0) goto setup_failed;
    if (s.tty) {
        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 || ptsname_r(master, pts, sizeof pts) != 0)
            goto setup_failed;
        ioctl(master, TIOCSWINSZ, &s.ws);
    } else if (pipe2(in_pipe, O_CLOEXEC) < 0 || pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0) {
        goto setup_failed;
    }
    pid_t pid = fork();
    if (pid < 0) goto setup_failed;
    if (pid == 0) {
        close(status_pipe[0]);
        child_setup(&s, in_pipe[0], out_pipe[1], err_pipe[1], s.tty ? pts : NULL, status_pipe[1]);
    }
    close(status_pipe[1]);
    int in_fd, out_fd, err_fd;
    if (s.tty) {
        in_fd = out_fd = master;
        err_fd = -1;
    } else {
        close(in_pipe[0]); close(out_pipe[1]); close(err_pipe[1]);
        in_fd = in_pipe[1]; out_fd = out_pipe[0]; err_fd = err_pipe[0];
    }

    /* The exec status: EOF means exec succeeded; a message means the child failed before it. */
    char msg[512];
    ssize_t mlen;
    do mlen = read(status_pipe[0], msg, sizeof msg - 1); while (mlen < 0 && errno == EINTR);
    close(status_pipe[0]);
    if (mlen > 0) {
        int st;
        msg[mlen] = '\0';
        waitpid(pid, &st, 0);
        send_text(sock, 'f', msg + 1);
        send_u32(sock, 'x', msg[0] == 'N' ? 127 : 126);
        _exit(0);
    }
    if (send_u32(sock, 'p', (uint32_t)pid) < 0) { kill(-pid, SIGKILL); kill(pid, SIGKILL); _exit(0); }

    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    set_nonblock(out_fd);
    if (err_fd >= 0) set_nonblock(err_fd);
    set_nonblock(in_fd);

    unsigned char *pending = NULL;      /* stdin bytes not yet taken by the process */
    uint32_t pending_len = 0, pending_off = 0;
    int stdin_end = 0, sock_open = 1, exited = 0, status = 0;
    int pgroup = s.tty;                 /* signals go to the process group on a terminal */
    long drain_deadline = 0;            /* once exited: when to stop forwarding output */
    for (;;) {
        if (exited && ((out_fd < 0 && err_fd < 0) || now_ms() > drain_deadline)) break;
        struct pollfd p[5];
        int np = 0, i_sock = -1, i_in = -1, i_out = -1, i_err = -1;
        if (sock_open && pending_len == 0) { i_sock = np; p[np++] = (struct pollfd){ .fd = sock, .events = POLLIN }; }
        if (pending_len > 0 && in_fd >= 0) { i_in = np; p[np++] = (struct pollfd){ .fd = in_fd, .events = POLLOUT }; }
        if (out_fd >= 0) { i_out = np; p[np++] = (struct pollfd){ .fd = out_fd, .events = POLLIN }; }
        if (err_fd >= 0) { i_err = np; p[np++] = (struct pollfd){ .fd = err_fd, .events = POLLIN }; }
        if (!exited && pidfd >= 0) p[np++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
        /* Without a pidfd (older kernel): look at the child every 100 ms. */
        int r = poll(p, (nfds_t)np, exited ? DRAIN_IDLE_MS : (pidfd < 0 ? 100 : -1));
        if (r < 0 && errno != EINTR) break;
        if (r == 0 && exited) break;    /* the process is gone and its output stayed silent */
        if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
            exited = 1;
            drain_deadline = now_ms() + DRAIN_MAX_MS;
        }
        if (r <= 0) continue;
        if (i_out >= 0 && p[i_out].revents && forward_output(sock, out_fd, 'O', pid, pgroup) < 0) {
            if (out_fd != master) close(out_fd);
            out_fd = -1;
        }
        if (i_err >= 0 && p[i_err].revents && forward_output(sock, err_fd, 'E', pid, pgroup) < 0) {
            close(err_fd);
            err_fd = -1;
        }
        if (i_in >= 0 && p[i_in].revents) {
            ssize_t w = write(in_fd, pending + pending_off, pending_len - pending_off);
            if (w > 0) pending_off += (uint32_t)w;
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || pending_off == pending_len) {
                if (w < 0) pending_off = pending_len;    /* the process closed its stdin: drop the rest */
                pending_len = pending_off = 0;
                if (stdin_end && in_fd != master) { close(in_fd); in_fd = -1; }
            }
        }
        if (i_sock >= 0 && p[i_sock].revents) {
            int type;
            uint32_t flen;
            if (recv_frame(sock, buf, &type, &flen) != 1) {
                /* The host went away (or broke the protocol): the process goes with it. */
                kill(pgroup ? -pid : pid, SIGKILL);
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                _exit(0);
            }
            if (type == 'I' && flen > 0 && in_fd >= 0 && !stdin_end) {
                if (!pending && !(pending = malloc(MAX_PAYLOAD))) _exit(0);
                memcpy(pending, buf, flen);
                pending_len = flen;
            } else if (type == 'i' && !stdin_end) {
                stdin_end = 1;
                if (s.tty) {
                    /* A terminal has no "close": it reads the EOF character (^D) at line start. */
                    static unsigned char eof = 4;
                    if (!pending) pending = malloc(MAX_PAYLOAD);
                    if (pending) { pending[0] = eof; pending_len = 1; }
                } else if (in_fd >= 0) {
                    close(in_fd); in_fd = -1;
                }
            } else if (type == 'K' && flen == 4) {
                uint32_t sig = get_u32(buf);
                if (sig > 0 && sig < (uint32_t)NSIG) kill(pgroup ? -pid : pid, (int)sig);
            } else if (type == 'W' && flen == 4 && master >= 0) {
                struct winsize ws = { .ws_row = (unsigned short)(buf[0] | buf[1] << 8),
                                      .ws_col = (unsigned short)(buf[2] | buf[3] << 8) };
                ioctl(master, TIOCSWINSZ, &ws);
            } else if (type != 'I') {
                _exit(0);   /* a request frame in the middle of a process: protocol violation */
            }
        }
    }
    send_u32(sock, 'x', (uint32_t)exit_code(status));
    _exit(0);

setup_failed:
    snprintf(err, sizeof err, "spawn %s: %s", s.argv[0], strerror(errno));
    send_text(sock, 'f', err);
    send_u32(sock, 'x', 126);
    _exit(0);
}

/* ------------------------------------------------------------------------------------------ */
/* MOUNT, HOSTNAME, POWEROFF                                                                   */
/* ------------------------------------------------------------------------------------------ */

static int mkdir_p(const char *path, char *err, size_t errlen) {
    char buf[PATH_MAX];
    if (strlen(path) >= sizeof buf) { snprintf(err, errlen, "mkdir %.60s...: path too long", path); return -1; }
    strcpy(buf, path);
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
                snprintf(err, errlen, "mkdir %s: %s", buf, strerror(errno));
                return -1;
            }
            *p = c;
            if (c == '\0') break;
        }
    }
    return 0;
}

static void serve_mount(int sock, unsigned char *buf, uint32_t len) {
    struct field *f;
    char err[PATH_MAX + 200];
    const char *source = "", *target = NULL, *fstype = "", *data = NULL;
    unsigned long flags = 0;
    int n = parse_fields(buf, len, &f);
    if (n < 0) _exit(0);
    for (int i = 0; i < n; i++) {
        if (f[i].tag == 'F') {
            if (f[i].len != 8) { send_text(sock, 'f', "mount flags must be 8 bytes"); _exit(0); }
            unsigned char *b = (unsigned char *)f[i].value;
            flags = (unsigned long)get_u32(b) | (unsigned long)get_u32(b + 4) << 32;
            continue;
        }
        if (strlen(f[i].value) != f[i].len) { send_text(sock, 'f', "mount field contains a NUL byte"); _exit(0); }
        switch (f[i].tag) {
        case 's': source = f[i].value; break;
        case 't': target = f[i].value; break;
        case 'f': fstype = f[i].value; break;
        case 'o': data = f[i].value; break;
        default: snprintf(err, sizeof err, "unknown mount field '%c'", f[i].tag); send_text(sock, 'f', err); _exit(0);
        }
    }
    if (!target || target[0] != '/') { send_text(sock, 'f', "mount needs an absolute target ('t')"); _exit(0); }
    struct stat st;
    if (stat(target, &st) < 0) {
        struct stat src;
        int file_bind = (flags & MS_BIND) && stat(source, &src) == 0 && !S_ISDIR(src.st_mode);
        if (file_bind) {
            char parent[PATH_MAX];
            snprintf(parent, sizeof parent, "%s", target);
            char *slash = strrchr(parent, '/');
            if (slash && slash != parent) { *slash = '\0'; if (mkdir_p(parent, err, sizeof err) < 0) goto fail_msg; }
            int fd = open(target, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
            if (fd < 0) { snprintf(err, sizeof err, "create %s: %s", target, strerror(errno)); goto fail_msg; }
            close(fd);
        } else if (mkdir_p(target, err, sizeof err) < 0) {
            goto fail_msg;
        }
    }
    if (mount(source, target, fstype[0] ? fstype : NULL, flags, data) < 0) {
        snprintf(err, sizeof err, "mount %s on %s (%s): %s", source, target, fstype[0] ? fstype : "bind", strerror(errno));
        goto fail_msg;
    }
    /* A bind mount ignores MS_RDONLY; only a remount of the bind makes it read-only. */
    if ((flags & MS_BIND) && (flags & MS_RDONLY)
        && mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | (flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC)), NULL) < 0) {
        snprintf(err, sizeof err, "remount %s read-only: %s", target, strerror(errno));
        goto fail_msg;
    }
    send_frame(sock, 'k', NULL, 0);
    _exit(0);
fail_msg:
    send_text(sock, 'f', err);
    _exit(0);
}

static void serve(int sock) {
    static unsigned char buf[MAX_PAYLOAD];
    int type;
    uint32_t len;
    if (recv_frame(sock, buf, &type, &len) != 1) _exit(0);
    switch (type) {
    case 'S': serve_spawn(sock, buf, len); break;
    case 'M': serve_mount(sock, buf, len); break;
    case 'H':
        if (sethostname((const char *)buf, len) < 0) {
            char err[128];
            snprintf(err, sizeof err, "sethostname: %s", strerror(errno));
            send_text(sock, 'f', err);
        } else {
            send_frame(sock, 'k', NULL, 0);
        }
        break;
    case 'Q': send_text(sock, 'k', AGENT_VERSION); break;
    case 'P':
        send_frame(sock, 'k', NULL, 0);
        close(sock);
        sync();
        /* Under busybox init, SIGUSR2 asks it to power off cleanly (rcK, then reboot(2)). */
        if (!is_init && kill(1, SIGUSR2) == 0) _exit(0);
        reboot(RB_POWER_OFF);
        break;
    default: break;   /* 'I', 'i', 'K', 'W' only make sense after a SPAWN */
    }
    _exit(0);
}

/* ------------------------------------------------------------------------------------------ */
/* PID 1 setup and the accept loop                                                             */
/* ------------------------------------------------------------------------------------------ */

static void init_mount(const char *source, const char *target, const char *type, unsigned long flags, const char *data) {
    mkdir(target, 0755);
    if (mount(source, target, type, flags, data) < 0 && errno != EBUSY) logmsg("mount %s: %s", target, strerror(errno));
}

static void init_setup(void) {
    init_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    init_mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    init_mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
    init_mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    init_mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
    mkdir("/run", 0755);
    mkdir("/tmp", 01777);
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s >= 0) {
        struct ifreq ifr;
        memset(&ifr, 0, sizeof ifr);
        strcpy(ifr.ifr_name, "lo");
        if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
            ifr.ifr_flags |= IFF_UP;
            ioctl(s, SIOCSIFFLAGS, &ifr);
        }
        close(s);
    }
}

static int listen_socket(void) {
    static int warned;
    int s;
    if (unix_path) {
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        snprintf(a.sun_path, sizeof a.sun_path, "%s", unix_path);
        unlink(unix_path);
        s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 64) < 0) goto fail;
        return s;
    }
    struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = AGENT_PORT };
    s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 64) < 0) goto fail;
    return s;
fail:
    if (!warned) {   /* once: a guest without a vsock device must not fill its console */
        logmsg("cannot listen on %s: %s (retrying every 5 s)", unix_path ? unix_path : "vsock port 1024", strerror(errno));
        warned = 1;
    }
    if (s >= 0) close(s);
    return -1;
}

static void on_sigchld(int sig) { (void)sig; }

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--unix") == 0) {
        unix_path = argv[2];
    } else if (argc != 1) {
        fprintf(stderr, "usage: ember-agent [--unix PATH]\n");
        return 2;
    }
    is_init = getpid() == 1;
    signal(SIGPIPE, SIG_IGN);   /* a closed host connection shows up as EPIPE */
    struct sigaction sa = { .sa_handler = on_sigchld, .sa_flags = SA_NOCLDSTOP };
    sigaction(SIGCHLD, &sa, NULL);
    if (is_init) {
        setsid();
        init_setup();
    }
    int lsock;
    while ((lsock = listen_socket()) < 0) sleep(5);
    if (is_init) {
        printf("ember-agent: ready\n");
        fflush(stdout);
    }
    for (;;) {
        /* Reap handlers, and as PID 1 every orphan; SIGCHLD interrupts the poll, the timeout covers a race. */
        while (waitpid(-1, NULL, WNOHANG) > 0) { }
        struct pollfd p = { .fd = lsock, .events = POLLIN };
        if (poll(&p, 1, 1000) <= 0) continue;
        int c = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) continue;
        pid_t pid = fork();
        if (pid == 0) {
            close(lsock);
            serve(c);
        }
        if (pid < 0) logmsg("fork: %s", strerror(errno));
        close(c);
    }
}
