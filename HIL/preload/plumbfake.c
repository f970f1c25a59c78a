// plumbfake: an LD_PRELOAD library that makes /dev/i2c-N and /dev/gpiochipN exist for an
// unchanged program and forwards every transaction to the HIL simulator over the Unix
// stream socket named by PLUMB_HIL_SOCKET. When the simulator asks for it at connect time,
// it also virtualises the monotonic clock, sleeping, poll timeouts and timerfds so that the
// program runs in lockstep with simulation time.
//
// The wire protocol is specified in PROTOCOL.md (same directory). Build:
//   gcc -shared -fPIC -O2 -Wall -Wextra -o plumbfake.so plumbfake.c -ldl
//
// Environment:
//   PLUMB_HIL_SOCKET      path of the simulator's socket; unset = every call passes through
//   PLUMB_HIL_TIMEOUT_MS  how long to wait for any reply except SLEEP_UNTIL (default 5000)
//   PLUMB_HIL_DEBUG       1 = log every request on stderr
//
// Scope and limits (see PROTOCOL.md, "Library behaviour"): absolute paths only; fds up to
// PF_MAX_FDS; dup()ed copies of fake fds are not tracked; select/epoll are not virtualised.

#undef _FORTIFY_SOURCE
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <linux/gpio.h>
#include <linux/i2c.h>
#include <linux/i2c-dev.h>

#define PF_EXPORT __attribute__((visibility("default")))

// ---- limits -----------------------------------------------------------------------------

enum {
    PF_MAX_FDS = 4096,          // fake fds must be numbered below this
    PF_MAX_BUSES = 16,
    PF_MAX_CHIPS = 16,
    PF_MAX_LINES = 64,          // GPIOHANDLES_MAX
    PF_NAME = 32,               // GPIO_MAX_NAME_SIZE, including the NUL
    PF_HDR = 8,                 // frame header
    PF_RESP_COMMON = 12,        // status + sim time at the start of every response
    PF_MAX_PAYLOAD = 65536 + 1024,
    PF_MAX_I2C_DATA = 65536,    // sum of message lengths in one transfer
    PF_MAX_I2C_MSG = 8192,      // i2c-dev's limit per message
    PF_MAX_I2C_MSGS = 42,       // I2C_RDWR_IOCTL_MAX_MSGS
    PF_MAX_EVENTS = 16,         // kernel v1 event FIFO depth
    PF_MAX_TIMERS = 64,
    PF_MAX_POLL = 1024,
    PF_MAX_RECV_FDS = 4,
    PF_STALL_LIMIT = 1000,      // wait iterations without progress before giving up
    PF_EINTR_LIMIT = 1000,
    PF_GPIO_MAJOR = 254,
    PF_I2C_MAJOR = 89,
    PF_HIGH_FD = 900,           // where the control socket is moved to, out of the way
};

#define PF_PROTO_MAGIC 0x4C484C50u   // the bytes "PLHL" read as a little-endian u32
#define PF_PROTO_VERSION 1
#define PF_FLAG_VCLOCK 0x0001
#define PF_TIME_NONE UINT64_MAX

enum {
    T_HELLO = 0x0001,
    T_GET_TIME = 0x0002,
    T_I2C_TRANSFER = 0x0010,
    T_GPIO_LINE_INFO = 0x0020,
    T_GPIO_REQUEST_HANDLE = 0x0021,
    T_GPIO_REQUEST_EVENT = 0x0022,
    T_GPIO_GET_VALUES = 0x0023,
    T_GPIO_SET_VALUES = 0x0024,
    T_GPIO_SET_CONFIG = 0x0025,
    T_GPIO_READ_EVENTS = 0x0026,
    T_GPIO_RELEASE = 0x0027,
    T_SLEEP_UNTIL = 0x0030,
    T_CANCEL_SLEEP = 0x0031,
    T_RESPONSE = 0x8000,
};

// ---- the real functions ---------------------------------------------------------------------

static struct {
    int (*open)(const char *, int, ...);
    int (*open64)(const char *, int, ...);
    int (*openat)(int, const char *, int, ...);
    int (*openat64)(int, const char *, int, ...);
    int (*close)(int);
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*write)(int, const void *, size_t);
    int (*ioctl)(int, unsigned long, ...);
    int (*stat)(const char *, struct stat *);
    int (*lstat)(const char *, struct stat *);
    int (*fstat)(int, struct stat *);
    int (*stat64)(const char *, struct stat64 *);
    int (*lstat64)(const char *, struct stat64 *);
    int (*fstat64)(int, struct stat64 *);
    int (*fstatat)(int, const char *, struct stat *, int);
    int (*fstatat64)(int, const char *, struct stat64 *, int);
    int (*statx)(int, const char *, int, unsigned, struct statx *);
    int (*access)(const char *, int);
    int (*faccessat)(int, const char *, int, int);
    char *(*realpath)(const char *, char *);
    int (*scandir)(const char *, struct dirent ***, int (*)(const struct dirent *),
                   int (*)(const struct dirent **, const struct dirent **));
    int (*scandir64)(const char *, struct dirent64 ***, int (*)(const struct dirent64 *),
                     int (*)(const struct dirent64 **, const struct dirent64 **));
    int (*poll)(struct pollfd *, nfds_t, int);
    int (*ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
    int (*clock_gettime)(clockid_t, struct timespec *);
    int (*gettimeofday)(struct timeval *, void *);
    time_t (*time)(time_t *);
    int (*nanosleep)(const struct timespec *, struct timespec *);
    int (*clock_nanosleep)(clockid_t, int, const struct timespec *, struct timespec *);
    int (*usleep)(useconds_t);
    unsigned (*sleep)(unsigned);
    int (*timerfd_create)(int, int);
    int (*timerfd_settime)(int, int, const struct itimerspec *, struct itimerspec *);
    int (*timerfd_gettime)(int, struct itimerspec *);
    ssize_t (*getxattr)(const char *, const char *, void *, size_t);
    ssize_t (*lgetxattr)(const char *, const char *, void *, size_t);
    ssize_t (*listxattr)(const char *, char *, size_t);
    ssize_t (*llistxattr)(const char *, char *, size_t);
} real;

// Resolves the next definition of `name` once; a missing symbol fails the call with ENOSYS.
#define REAL(name) (real.name ? real.name \
    : (real.name = (__typeof__(real.name))dlsym(RTLD_NEXT, #name)))
#define NEED(name, fail) do { if (!REAL(name)) { errno = ENOSYS; return fail; } } while (0)

// ---- state ------------------------------------------------------------------------------------

enum pf_kind { K_NONE = 0, K_I2C, K_CHIP, K_HANDLE, K_EVENT, K_TIMER };

struct pf_fd {
    uint8_t kind;
    uint8_t unit;       // bus or chip number
    uint8_t nlines;     // lines of a handle
    uint8_t tenbit, pec;
    uint16_t addr;      // current I2C slave address
    uint32_t handle;    // simulator's handle id
    uint32_t gen;       // connection generation the handle belongs to
    int clock;          // timer clock
    uint64_t expiry;    // timer: next expiry in simulation ns (0 = disarmed)
    uint64_t interval;
    uint64_t ino, dev;  // identity of the object behind the fd, to notice a reused number
};

struct pf_chip {
    uint8_t num, nlines;
    char label[PF_NAME];
    char names[PF_MAX_LINES][PF_NAME];
};

enum { S_IDLE = 0, S_UP, S_FAILED, S_LOST };

static struct {
    int env_checked;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int enabled;            // PLUMB_HIL_SOCKET is set and usable
    int timeout_ms;
    int debug;
    int state;
    int sock;
    int forked;
    uint32_t gen;
    uint16_t seq;
    uint16_t flags;
    uint64_t sim_now;
    uint64_t realtime_base;
    uint64_t lost_sim, lost_real;   // clock continuation after losing the simulator
    int nbus;
    struct { uint8_t num; uint32_t funcs; } bus[PF_MAX_BUSES];
    int nchip;
    struct pf_chip chip[PF_MAX_CHIPS];
    int said_failed, said_lost, said_fdlimit, said_doorbell;
    int in_hello;
} pf = { .sock = -1 };

static struct pf_fd fdtab[PF_MAX_FDS];
static int timer_fds[PF_MAX_TIMERS];
static int ntimers;

static pthread_mutex_t pf_mutex = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static uint8_t txbuf[PF_HDR + PF_MAX_PAYLOAD];
static uint8_t rxbuf[PF_HDR + PF_MAX_PAYLOAD];
static struct pollfd pollset[PF_MAX_POLL + 1];

static void lock(void) { pthread_mutex_lock(&pf_mutex); }
static void unlock(void) { pthread_mutex_unlock(&pf_mutex); }

// ---- small helpers ------------------------------------------------------------------------------

static void pf_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void pf_log(const char *fmt, ...)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "plumbfake[%d]: ", (int)getpid());
    if (n < 0 || (size_t)n >= sizeof buf) n = 0;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0) m = 0;
    size_t len = (size_t)n + ((size_t)m < sizeof buf - (size_t)n - 1 ? (size_t)m : sizeof buf - (size_t)n - 2);
    buf[len++] = '\n';
    if (REAL(write)) {
        ssize_t w = real.write(2, buf, len);
        (void)w;
    }
}

static uint64_t real_mono_ns(void)
{
    struct timespec ts = { 0, 0 };
    if (REAL(clock_gettime)) real.clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t ts_to_ns(const struct timespec *ts)
{
    if (ts->tv_sec < 0) return 0;
    if ((uint64_t)ts->tv_sec >= UINT64_MAX / 1000000000ull - 1) return PF_TIME_NONE - 1;
    return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

static void ns_to_ts(uint64_t ns, struct timespec *ts)
{
    ts->tv_sec = (time_t)(ns / 1000000000ull);
    ts->tv_nsec = (long)(ns % 1000000000ull);
}

static int ts_valid(const struct timespec *ts)
{
    return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > PF_TIME_NONE - 1 - b ? PF_TIME_NONE - 1 : a + b;
}

// glibc marks many pointer parameters nonnull; this hides a pointer's origin from the
// optimiser so that checks against NULL survive (a NULL from the program must give EFAULT,
// never a crash inside this library).
static const void *launder(const void *p)
{
    __asm__("" : "+r"(p));
    return p;
}

// The table entry of a fake fd. An fd number closed behind this library's back (an internal
// glibc close, close_range, dup2 over it) and reused for something else is noticed by the
// identity check and forgotten.
static struct pf_fd *fd_entry(int fd)
{
    if (fd < 0 || fd >= PF_MAX_FDS || fdtab[fd].kind == K_NONE) return 0;
    struct stat st;
    int saved = errno;
    int r = real.fstat ? real.fstat(fd, &st) : -1;
    errno = saved;
    if (r < 0 || (uint64_t)st.st_ino != fdtab[fd].ino || (uint64_t)st.st_dev != fdtab[fd].dev) {
        if (fdtab[fd].kind == K_TIMER) {
            for (int i = 0; i < ntimers; i++)
                if (timer_fds[i] == fd) { timer_fds[i] = timer_fds[--ntimers]; break; }
        }
        memset(&fdtab[fd], 0, sizeof fdtab[fd]);
        return 0;
    }
    return &fdtab[fd];
}

// Records the identity of the object behind a newly registered fd.
static void fd_remember(int fd)
{
    struct stat st;
    if (real.fstat && real.fstat(fd, &st) == 0) {
        fdtab[fd].ino = (uint64_t)st.st_ino;
        fdtab[fd].dev = (uint64_t)st.st_dev;
    }
}

// Byte-order helpers for the little-endian wire format.
struct wbuf { uint8_t *p; size_t len, cap; int over; };
struct rbuf { const uint8_t *p; size_t len, pos; int bad; };

static void put_bytes(struct wbuf *w, const void *src, size_t n)
{
    if (w->over || n > w->cap - w->len) { w->over = 1; return; }
    memcpy(w->p + w->len, src, n);
    w->len += n;
}
static void put_u8(struct wbuf *w, uint8_t v) { put_bytes(w, &v, 1); }
static void put_u16(struct wbuf *w, uint16_t v) { uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) }; put_bytes(w, b, 2); }
static void put_u32(struct wbuf *w, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    put_bytes(w, b, 4);
}
static void put_u64(struct wbuf *w, uint64_t v) { put_u32(w, (uint32_t)v); put_u32(w, (uint32_t)(v >> 32)); }
// A string as one length byte and at most PF_NAME - 1 bytes (no NUL).
static void put_str(struct wbuf *w, const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    if (n > PF_NAME - 1) n = PF_NAME - 1;
    put_u8(w, (uint8_t)n);
    put_bytes(w, s, n);
}

static const uint8_t *get_bytes(struct rbuf *r, size_t n)
{
    if (r->bad || n > r->len - r->pos) { r->bad = 1; return 0; }
    const uint8_t *p = r->p + r->pos;
    r->pos += n;
    return p;
}
static uint8_t get_u8(struct rbuf *r) { const uint8_t *p = get_bytes(r, 1); return p ? p[0] : 0; }
static uint16_t get_u16(struct rbuf *r) { const uint8_t *p = get_bytes(r, 2); return p ? (uint16_t)(p[0] | p[1] << 8) : 0; }
static uint32_t get_u32(struct rbuf *r)
{
    const uint8_t *p = get_bytes(r, 4);
    return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24 : 0;
}
static uint64_t get_u64(struct rbuf *r) { uint64_t lo = get_u32(r); return lo | (uint64_t)get_u32(r) << 32; }
// Reads a length-prefixed string into dst (NUL-terminated, at most PF_NAME - 1 bytes kept).
static void get_str(struct rbuf *r, char *dst)
{
    uint8_t n = get_u8(r);
    const uint8_t *p = get_bytes(r, n);
    size_t keep = n < PF_NAME - 1 ? n : PF_NAME - 1;
    if (p) memcpy(dst, p, keep); else keep = 0;
    dst[keep] = 0;
}

// ---- environment and path classification ----------------------------------------------------------

static void pf_read_env(void)
{
    if (pf.env_checked) return;
    pf.env_checked = 1;
    const char *p = getenv("PLUMB_HIL_SOCKET");
    const char *t = getenv("PLUMB_HIL_TIMEOUT_MS");
    const char *d = getenv("PLUMB_HIL_DEBUG");
    pf.timeout_ms = 5000;
    if (t && *t) {
        long v = strtol(t, 0, 10);
        if (v >= 1 && v <= 600000) pf.timeout_ms = (int)v;
    }
    pf.debug = d && *d == '1';
    if (!p || !*p) return;
    if (strlen(p) >= sizeof pf.path) {
        pf_log("PLUMB_HIL_SOCKET is longer than %zu bytes; the simulated devices are unavailable",
               sizeof pf.path - 1);
        pf.enabled = 1;
        pf.state = S_FAILED;
        pf.said_failed = 1;
        return;
    }
    strcpy(pf.path, p);
    pf.enabled = 1;
}

static int pf_enabled(void)
{
    if (!pf.env_checked) { lock(); pf_read_env(); unlock(); }
    return pf.enabled;
}

enum pf_path { P_NONE = 0, P_I2C, P_CHIP, P_SYSFS_DEV, P_SYSFS_DIR };

// Parses 1-3 decimal digits at *s; returns -1 when there are none or the value exceeds 255.
static int parse_unit(const char **s)
{
    int v = 0, n = 0;
    while (**s >= '0' && **s <= '9' && n < 4) { v = v * 10 + (**s - '0'); (*s)++; n++; }
    return (n == 0 || n > 3 || v > 255) ? -1 : v;
}

// Which simulated object a path names, purely by its spelling.
static enum pf_path classify(const char *path, int *unit)
{
    static const char sys[] = "/sys/bus/gpio/devices/gpiochip";
    if (!path) return P_NONE;
    const char *s;
    if (!strncmp(path, "/dev/i2c-", 9)) {
        s = path + 9;
        int u = parse_unit(&s);
        if (u < 0 || *s) return P_NONE;
        *unit = u;
        return P_I2C;
    }
    if (!strncmp(path, "/dev/gpiochip", 13)) {
        s = path + 13;
        int u = parse_unit(&s);
        if (u < 0 || *s) return P_NONE;
        *unit = u;
        return P_CHIP;
    }
    if (!strncmp(path, sys, sizeof sys - 1)) {
        s = path + sizeof sys - 1;
        int u = parse_unit(&s);
        if (u < 0) return P_NONE;
        *unit = u;
        if (!strcmp(s, "/dev")) return P_SYSFS_DEV;
        if (!*s || !strcmp(s, "/")) return P_SYSFS_DIR;
    }
    return P_NONE;
}

static int find_bus(int num)
{
    for (int i = 0; i < pf.nbus; i++) if (pf.bus[i].num == num) return i;
    return -1;
}

static int find_chip(int num)
{
    for (int i = 0; i < pf.nchip; i++) if (pf.chip[i].num == num) return i;
    return -1;
}

// ---- transport ---------------------------------------------------------------------------------------

static void pf_mark_lost(const char *why, int err)
{
    if (pf.state != S_UP) return;
    if (pf.in_hello) {
        // Not connected yet as far as the program is concerned: pf_connect reports it.
        if (pf.sock >= 0) real.close(pf.sock);
        pf.sock = -1;
        pf.state = S_FAILED;
        return;
    }
    if (!pf.said_lost) {
        pf_log("lost the simulator at %s (%s: %s); simulated devices now fail with EIO%s",
               pf.path, why, strerror(err),
               (pf.flags & PF_FLAG_VCLOCK) ? ", the clock continues in real time" : "");
        pf.said_lost = 1;
    }
    pf.lost_sim = pf.sim_now;
    pf.lost_real = real_mono_ns();
    if (pf.sock >= 0 && REAL(close)) real.close(pf.sock);
    pf.sock = -1;
    pf.state = S_LOST;
}

static int send_all(const uint8_t *p, size_t n)
{
    size_t done = 0;
    int intr = 0;
    while (done < n) {
        ssize_t w = send(pf.sock, p + done, n - done, MSG_NOSIGNAL);
        if (w > 0) { done += (size_t)w; continue; }
        if (w < 0 && errno == EINTR && ++intr < PF_EINTR_LIMIT) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return ETIMEDOUT;   // SO_SNDTIMEO
        return w == 0 ? EPIPE : errno;
    }
    return 0;
}

// Receives exactly n bytes within deadline (real monotonic ns; 0 = no limit), collecting any
// SCM_RIGHTS fds into fds[*nfds].
static int recv_all(uint8_t *dst, size_t n, uint64_t deadline, int *fds, int *nfds)
{
    size_t got = 0;
    int intr = 0;
    while (got < n) {
        int wait_ms = -1;
        if (deadline) {
            uint64_t now = real_mono_ns();
            if (now >= deadline) return ETIMEDOUT;
            uint64_t left = (deadline - now + 999999) / 1000000;
            wait_ms = left > INT_MAX ? INT_MAX : (int)left;
        }
        struct pollfd p1 = { pf.sock, POLLIN, 0 };
        int r = real.poll(&p1, 1, wait_ms);
        if (r < 0) {
            if (errno == EINTR && ++intr < PF_EINTR_LIMIT) continue;
            return errno == EINTR ? EINTR : EIO;
        }
        if (r == 0) return ETIMEDOUT;
        union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int) * PF_MAX_RECV_FDS)]; } cm;
        struct iovec iov = { dst + got, n - got };
        struct msghdr mh;
        memset(&mh, 0, sizeof mh);
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = cm.buf;
        mh.msg_controllen = sizeof cm.buf;
        ssize_t k = recvmsg(pf.sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (k < 0) {
            if ((errno == EINTR || errno == EAGAIN) && ++intr < PF_EINTR_LIMIT) continue;
            return errno;
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
            size_t cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < cnt; i++) {
                int f;
                memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof f);
                if (fds && *nfds < PF_MAX_RECV_FDS) fds[(*nfds)++] = f;
                else real.close(f);
            }
        }
        if (mh.msg_flags & MSG_CTRUNC) return EPROTO;
        if (k == 0) return EPIPE;
        got += (size_t)k;
    }
    return 0;
}

static int send_frame(uint16_t type, uint16_t seq, size_t payload_len)
{
    struct wbuf h = { txbuf, 0, PF_HDR, 0 };
    put_u32(&h, (uint32_t)payload_len);
    put_u16(&h, type);
    put_u16(&h, seq);
    if (pf.debug) pf_log("-> type 0x%04x seq %u len %zu", type, seq, payload_len);
    return send_all(txbuf, PF_HDR + payload_len);
}

static void fire_timers(void);

static void adopt_time(uint64_t t)
{
    if (t != PF_TIME_NONE && t > pf.sim_now) pf.sim_now = t;
    if (pf.flags & PF_FLAG_VCLOCK) fire_timers();
}

// Reads one response frame for (type, seq). On success *body holds the type-specific part.
// Returns 0, the simulator's errno, or a transport errno (after which the link is lost).
static int recv_response(uint16_t type, uint16_t seq, uint64_t deadline, struct rbuf *body,
                         int *fds, int *nfds)
{
    int e = recv_all(rxbuf, PF_HDR, deadline, fds, nfds);
    if (e) {
        pf_mark_lost(e == ETIMEDOUT ? "no reply in time" : e == EPIPE ? "the simulator closed the connection" : "receive", e);
        return e == ETIMEDOUT ? ETIMEDOUT : EIO;
    }
    struct rbuf h = { rxbuf, PF_HDR, 0, 0 };
    uint32_t len = get_u32(&h);
    uint16_t rtype = get_u16(&h), rseq = get_u16(&h);
    if (len > PF_MAX_PAYLOAD || len < PF_RESP_COMMON || rtype != (type | T_RESPONSE) || rseq != seq) {
        pf_log("protocol error: expected reply 0x%04x seq %u, got 0x%04x seq %u length %u",
               type | T_RESPONSE, seq, rtype, rseq, len);
        pf_mark_lost("protocol error", EPROTO);
        return EIO;
    }
    e = recv_all(rxbuf + PF_HDR, len, deadline, fds, nfds);
    if (e) { pf_mark_lost("receive", e); return EIO; }
    struct rbuf r = { rxbuf + PF_HDR, len, 0, 0 };
    uint32_t status = get_u32(&r);
    uint64_t t = get_u64(&r);
    adopt_time(t);
    if (pf.debug) pf_log("<- type 0x%04x seq %u status %u time %llu", rtype, rseq, status, (unsigned long long)t);
    if (status > 4095) {
        pf_log("protocol error: status %u is not an errno", status);
        pf_mark_lost("protocol error", EPROTO);
        return EIO;
    }
    *body = (struct rbuf){ r.p + r.pos, r.len - r.pos, 0, 0 };
    return (int)status;
}

static int pf_connect(void);

// Ensures a live connection. Returns 0 or the errno for an operation on a simulated device.
static int pf_ensure(void)
{
    if (!pf.enabled) return ENODEV;
    if (pf.forked) {
        // A forked child must not share its parent's stream: start its own connection.
        pf.forked = 0;
        if (pf.sock >= 0) real.close(pf.sock);
        pf.sock = -1;
        if (pf.state == S_UP) pf.state = S_IDLE;
        pf.gen++;
    }
    if (pf.state == S_UP) return 0;
    if (pf.state == S_LOST) return EIO;
    return pf_connect();
}

// Sends the request in txbuf[PF_HDR..PF_HDR+len) and waits for its reply.
static int pf_call(uint16_t type, size_t len, struct rbuf *body, int *fds, int *nfds)
{
    int e = pf_ensure();
    if (e) return e;
    uint16_t seq = ++pf.seq;
    e = send_frame(type, seq, len);
    if (e) { pf_mark_lost("send", e); return EIO; }
    uint64_t deadline = real_mono_ns() + (uint64_t)pf.timeout_ms * 1000000ull;
    return recv_response(type, seq, deadline, body, fds, nfds);
}

static struct wbuf req_begin(void) { return (struct wbuf){ txbuf + PF_HDR, 0, PF_MAX_PAYLOAD, 0 }; }

static int pf_connect(void)
{
    if (!REAL(close) || !REAL(poll) || !REAL(read) || !REAL(write)) return ENOSYS;
    if (!pf.path[0]) return ECONNREFUSED;
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return errno;
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    memcpy(a.sun_path, pf.path, strlen(pf.path));
    int r, intr = 0;
    do r = connect(s, (struct sockaddr *)&a, sizeof a); while (r < 0 && errno == EINTR && ++intr < PF_EINTR_LIMIT);
    if (r < 0) {
        int e = errno;
        real.close(s);
        if (!pf.said_failed) {
            pf_log("cannot reach the simulator at %s: %s (is it running? simulated devices fail with ECONNREFUSED)",
                   pf.path, strerror(e));
            pf.said_failed = 1;
        }
        pf.state = S_FAILED;
        return ECONNREFUSED;
    }
    struct timeval stv = { pf.timeout_ms / 1000, (pf.timeout_ms % 1000) * 1000 };
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &stv, sizeof stv);   // bounds every send
    int high = fcntl(s, F_DUPFD_CLOEXEC, PF_HIGH_FD);
    if (high >= 0) { real.close(s); s = high; }
    pf.sock = s;
    pf.state = S_UP;
    pf.gen++;

    char prog[PF_NAME] = "";
    const char *inv = program_invocation_short_name;
    if (inv) snprintf(prog, sizeof prog, "%s", inv);
    struct wbuf w = req_begin();
    put_u32(&w, PF_PROTO_MAGIC);
    put_u16(&w, PF_PROTO_VERSION);
    put_u16(&w, 0);
    put_u32(&w, (uint32_t)getpid());
    put_str(&w, prog, sizeof prog);
    struct rbuf b;
    pf.in_hello = 1;
    int e = pf_call(T_HELLO, w.len, &b, 0, 0);
    pf.in_hello = 0;
    if (e) {
        if (!pf.said_failed) {
            pf_log("the simulator at %s did not accept HELLO: %s", pf.path, strerror(e));
            if (e == EPROTONOSUPPORT) pf_log("this library speaks protocol version %d", PF_PROTO_VERSION);
            pf.said_failed = 1;
        }
        if (pf.sock >= 0) real.close(pf.sock);
        pf.sock = -1;
        pf.state = S_FAILED;
        return ECONNREFUSED;
    }
    uint16_t version = get_u16(&b);
    uint16_t flags = get_u16(&b);
    uint64_t rt = get_u64(&b);
    int nbus = get_u8(&b);
    if (version != PF_PROTO_VERSION || nbus > PF_MAX_BUSES) b.bad = 1;
    for (int i = 0; i < nbus && !b.bad; i++) {
        pf.bus[i].num = get_u8(&b);
        pf.bus[i].funcs = get_u32(&b);
    }
    int nchip = get_u8(&b);
    if (nchip > PF_MAX_CHIPS) b.bad = 1;
    for (int i = 0; i < nchip && !b.bad; i++) {
        struct pf_chip *c = &pf.chip[i];
        c->num = get_u8(&b);
        get_str(&b, c->label);
        c->nlines = get_u8(&b);
        if (c->nlines == 0 || c->nlines > PF_MAX_LINES) { b.bad = 1; break; }
        for (int l = 0; l < c->nlines; l++) get_str(&b, c->names[l]);
    }
    if (b.bad) {
        pf_log("protocol error: malformed HELLO reply (version %u) from %s", version, pf.path);
        real.close(pf.sock);
        pf.sock = -1;
        pf.state = S_FAILED;
        pf.said_failed = 1;
        return ECONNREFUSED;
    }
    pf.nbus = nbus;
    pf.nchip = nchip;
    pf.flags = flags;
    pf.realtime_base = rt;
    if (pf.debug) pf_log("connected to %s: %d bus(es), %d chip(s)%s", pf.path, nbus, nchip,
                         (flags & PF_FLAG_VCLOCK) ? ", virtual clock" : "");
    return 0;
}

static void pf_child_after_fork(void)
{
    pthread_mutex_t fresh = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
    pf_mutex = fresh;
    if (pf.state == S_UP) pf.forked = 1;
}

__attribute__((constructor)) static void pf_init(void)
{
    // Resolve everything up front so that no later path meets a null pointer.
    REAL(open); REAL(open64); REAL(openat); REAL(openat64); REAL(close); REAL(read);
    REAL(write); REAL(ioctl); REAL(stat); REAL(lstat); REAL(fstat); REAL(stat64);
    REAL(lstat64); REAL(fstat64); REAL(fstatat); REAL(fstatat64); REAL(statx); REAL(access);
    REAL(faccessat); REAL(realpath); REAL(scandir); REAL(scandir64); REAL(poll); REAL(ppoll);
    REAL(clock_gettime); REAL(gettimeofday); REAL(time); REAL(nanosleep);
    REAL(clock_nanosleep); REAL(usleep); REAL(sleep); REAL(timerfd_create);
    REAL(timerfd_settime); REAL(timerfd_gettime);
    pf_read_env();
    pthread_atfork(0, 0, pf_child_after_fork);
}

// ---- fake fds ---------------------------------------------------------------------------------------------

static int new_fake_fd(int efd_flags, enum pf_kind kind)
{
    int fd = eventfd(0, efd_flags);
    if (fd < 0) return -1;
    if (fd >= PF_MAX_FDS) {
        real.close(fd);
        if (!pf.said_fdlimit) { pf_log("fd %d is beyond the %d fds this library tracks", fd, PF_MAX_FDS); pf.said_fdlimit = 1; }
        errno = EMFILE;
        return -1;
    }
    memset(&fdtab[fd], 0, sizeof fdtab[fd]);
    fdtab[fd].kind = (uint8_t)kind;
    fdtab[fd].gen = pf.gen;
    fd_remember(fd);
    return fd;
}

static void fill_stat(struct stat *st, enum pf_path kind, int unit)
{
    memset(st, 0, sizeof *st);
    st->st_dev = makedev(0, 5);
    st->st_nlink = 1;
    st->st_blksize = 4096;
    st->st_ino = 0x504c0000u + ((unsigned)kind << 8) + (unsigned)unit;
    switch (kind) {
    case P_I2C: st->st_mode = S_IFCHR | 0660; st->st_rdev = makedev(PF_I2C_MAJOR, unit); break;
    case P_CHIP: st->st_mode = S_IFCHR | 0660; st->st_rdev = makedev(PF_GPIO_MAJOR, unit); break;
    case P_SYSFS_DEV: st->st_mode = S_IFREG | 0444; st->st_size = 4096; st->st_dev = makedev(0, 21); break;
    case P_SYSFS_DIR: st->st_mode = S_IFDIR | 0755; st->st_nlink = 2; st->st_size = 0; st->st_dev = makedev(0, 21); break;
    default: break;
    }
    struct timespec now = { 0, 0 };
    if (REAL(clock_gettime)) real.clock_gettime(CLOCK_REALTIME, &now);
    st->st_atim = st->st_mtim = st->st_ctim = now;
}

// Is this path ours, and does the simulator have it? Returns 1 (fills *kind, *unit),
// 0 (not ours: pass through) or -1 with errno set.
static int claim(const char *path, enum pf_path *kind, int *unit)
{
    int u = -1;
    enum pf_path k = classify(launder(path), &u);
    if (k == P_NONE || !pf_enabled()) return 0;
    int saved = errno;
    lock();
    int e = pf_ensure();
    int found = 0;
    if (!e) found = (k == P_I2C) ? find_bus(u) >= 0 : find_chip(u) >= 0;
    unlock();
    if (e) { errno = e; return -1; }
    if (!found) { errno = ENOENT; return -1; }
    errno = saved;
    *kind = k;
    *unit = u;
    return 1;
}

static int fake_open(enum pf_path kind, int unit, int flags)
{
    if (flags & O_DIRECTORY) { errno = ENOTDIR; return -1; }
    if (kind == P_SYSFS_DIR) { errno = EISDIR; return -1; }
    if (kind == P_SYSFS_DEV) {
        if ((flags & O_ACCMODE) != O_RDONLY) { errno = EACCES; return -1; }
        char text[16];
        int n = snprintf(text, sizeof text, "%u:%u\n", PF_GPIO_MAJOR, unit);
        int fd = memfd_create("plumbfake-sysfs", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
        if (fd < 0) return -1;
        if (real.write(fd, text, (size_t)n) != n || lseek(fd, 0, SEEK_SET) != 0) {
            int e = errno;
            real.close(fd);
            errno = e ? e : EIO;
            return -1;
        }
        return fd;
    }
    int efl = ((flags & O_CLOEXEC) ? EFD_CLOEXEC : 0) | ((flags & O_NONBLOCK) ? EFD_NONBLOCK : 0);
    lock();
    int fd = new_fake_fd(efl, kind == P_I2C ? K_I2C : K_CHIP);
    if (fd >= 0) fdtab[fd].unit = (uint8_t)unit;
    unlock();
    return fd;
}

#define OPEN_BODY(realname, dirfd, path, flags)                                              \
    mode_t mode = 0;                                                                         \
    if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {                             \
        va_list ap; va_start(ap, flags); mode = (mode_t)va_arg(ap, unsigned); va_end(ap);    \
    }                                                                                        \
    enum pf_path kind; int unit;                                                             \
    int c = claim(path, &kind, &unit);                                                       \
    if (c < 0) return -1;                                                                    \
    if (c > 0) return fake_open(kind, unit, flags);                                          \
    NEED(realname, -1);

PF_EXPORT int open(const char *path, int flags, ...)
{
    OPEN_BODY(open, AT_FDCWD, path, flags)
    return real.open(path, flags, mode);
}

PF_EXPORT int open64(const char *path, int flags, ...)
{
    OPEN_BODY(open64, AT_FDCWD, path, flags)
    return real.open64(path, flags, mode);
}

PF_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    OPEN_BODY(openat, dirfd, path, flags)
    return real.openat(dirfd, path, flags, mode);
}

PF_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    OPEN_BODY(openat64, dirfd, path, flags)
    return real.openat64(dirfd, path, flags, mode);
}

PF_EXPORT int __open_2(const char *path, int flags) { return open(path, flags); }
PF_EXPORT int __open64_2(const char *path, int flags) { return open64(path, flags); }
PF_EXPORT int __openat_2(int dirfd, const char *path, int flags) { return openat(dirfd, path, flags); }
PF_EXPORT int __openat64_2(int dirfd, const char *path, int flags) { return openat64(dirfd, path, flags); }

static void release_handle(struct pf_fd *e)
{
    if (e->gen != pf.gen || pf.state != S_UP) return;
    struct wbuf w = req_begin();
    put_u32(&w, e->handle);
    struct rbuf b;
    (void)pf_call(T_GPIO_RELEASE, w.len, &b, 0, 0);
}

static void timer_forget(int fd)
{
    for (int i = 0; i < ntimers; i++) {
        if (timer_fds[i] == fd) { timer_fds[i] = timer_fds[--ntimers]; return; }
    }
}

PF_EXPORT int close(int fd)
{
    NEED(close, -1);
    if (fd >= 0 && fd == pf.sock) return 0;   // the program must not take the link away
    struct pf_fd *e = fd_entry(fd);
    if (e) {
        int saved = errno;  // programs read errno after releasing lines; keep theirs
        lock();
        if (e->kind == K_HANDLE || e->kind == K_EVENT) release_handle(e);
        if (e->kind == K_TIMER) timer_forget(fd);
        memset(e, 0, sizeof *e);
        unlock();
        errno = saved;
    }
    return real.close(fd);
}

// ---- I2C ------------------------------------------------------------------------------------------------

struct xmsg { uint16_t addr, flags, len; uint8_t *buf; };

static int i2c_transfer(int bus, struct xmsg *m, unsigned n)
{
    if (n == 0 || n > PF_MAX_I2C_MSGS) return EINVAL;
    size_t total = 0, rd = 0;
    for (unsigned i = 0; i < n; i++) {
        if (m[i].len > PF_MAX_I2C_MSG) return EINVAL;
        if (m[i].len && !m[i].buf) return EFAULT;
        total += m[i].len;
        if (m[i].flags & I2C_M_RD) rd += m[i].len;
    }
    if (total > PF_MAX_I2C_DATA) return EINVAL;
    struct wbuf w = req_begin();
    put_u8(&w, (uint8_t)bus);
    put_u8(&w, (uint8_t)n);
    put_u16(&w, 0);
    for (unsigned i = 0; i < n; i++) { put_u16(&w, m[i].addr); put_u16(&w, m[i].flags); put_u16(&w, m[i].len); }
    for (unsigned i = 0; i < n; i++) if (!(m[i].flags & I2C_M_RD)) put_bytes(&w, m[i].buf, m[i].len);
    if (w.over) return EINVAL;
    struct rbuf b;
    int e = pf_call(T_I2C_TRANSFER, w.len, &b, 0, 0);
    if (e) return e;
    if (b.len != rd) {
        pf_log("protocol error: I2C reply carries %zu bytes, %zu were read", b.len, rd);
        return EIO;
    }
    for (unsigned i = 0; i < n; i++) {
        if (!(m[i].flags & I2C_M_RD)) continue;
        const uint8_t *p = get_bytes(&b, m[i].len);
        if (p) memcpy(m[i].buf, p, m[i].len);
    }
    return 0;
}

static uint8_t crc8_update(uint8_t crc, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++) crc = (uint8_t)((crc & 0x80) ? (crc << 1) ^ 0x07 : crc << 1);
    }
    return crc;
}

static uint8_t addr_byte(uint16_t addr, int read) { return (uint8_t)((addr << 1) | (read ? 1 : 0)); }

// SMBus over plain I2C messages, the way the kernel emulates it for I2C-only adapters.
static int smbus_xfer(struct pf_fd *e, uint8_t rw, uint8_t cmd, uint32_t size, union i2c_smbus_data *data)
{
    uint8_t w0[I2C_SMBUS_BLOCK_MAX + 3], r1[I2C_SMBUS_BLOCK_MAX + 2];
    struct xmsg m[2] = {
        { e->addr, (uint16_t)(e->tenbit ? I2C_M_TEN : 0), 1, w0 },
        { e->addr, (uint16_t)((e->tenbit ? I2C_M_TEN : 0) | I2C_M_RD), 0, r1 },
    };
    unsigned n = (rw == I2C_SMBUS_READ) ? 2 : 1;
    w0[0] = cmd;
    if (rw != I2C_SMBUS_READ && rw != I2C_SMBUS_WRITE) return EINVAL;
    if (size != I2C_SMBUS_QUICK && !(size == I2C_SMBUS_BYTE && rw == I2C_SMBUS_WRITE) && !data) return EINVAL;
    switch (size) {
    case I2C_SMBUS_QUICK:
        n = 1;
        m[0].len = 0;
        m[0].flags |= (rw == I2C_SMBUS_READ) ? I2C_M_RD : 0;
        break;
    case I2C_SMBUS_BYTE:
        if (rw == I2C_SMBUS_READ) { n = 1; m[0] = m[1]; m[0].len = 1; }
        break;
    case I2C_SMBUS_BYTE_DATA:
        if (rw == I2C_SMBUS_READ) m[1].len = 1;
        else { m[0].len = 2; w0[1] = data->byte; }
        break;
    case I2C_SMBUS_WORD_DATA:
        if (rw == I2C_SMBUS_READ) m[1].len = 2;
        else { m[0].len = 3; w0[1] = (uint8_t)data->word; w0[2] = (uint8_t)(data->word >> 8); }
        break;
    case I2C_SMBUS_PROC_CALL:
        n = 2; rw = I2C_SMBUS_READ;
        m[0].len = 3; w0[1] = (uint8_t)data->word; w0[2] = (uint8_t)(data->word >> 8);
        m[1].len = 2;
        break;
    case I2C_SMBUS_BLOCK_DATA:
        if (rw == I2C_SMBUS_READ) {
            m[1].flags |= I2C_M_RECV_LEN;
            m[1].len = 1 + I2C_SMBUS_BLOCK_MAX;
        } else {
            if (data->block[0] == 0 || data->block[0] > I2C_SMBUS_BLOCK_MAX) return EINVAL;
            m[0].len = (uint16_t)(data->block[0] + 2);
            memcpy(w0 + 1, data->block, (size_t)data->block[0] + 1);
        }
        break;
    case I2C_SMBUS_BLOCK_PROC_CALL:
        if (data->block[0] == 0 || data->block[0] > I2C_SMBUS_BLOCK_MAX) return EINVAL;
        n = 2; rw = I2C_SMBUS_READ;
        m[0].len = (uint16_t)(data->block[0] + 2);
        memcpy(w0 + 1, data->block, (size_t)data->block[0] + 1);
        m[1].flags |= I2C_M_RECV_LEN;
        m[1].len = 1 + I2C_SMBUS_BLOCK_MAX;
        break;
    case I2C_SMBUS_I2C_BLOCK_BROKEN:
    case I2C_SMBUS_I2C_BLOCK_DATA:
        if (size == I2C_SMBUS_I2C_BLOCK_BROKEN && rw == I2C_SMBUS_READ) data->block[0] = I2C_SMBUS_BLOCK_MAX;
        if (data->block[0] == 0 || data->block[0] > I2C_SMBUS_BLOCK_MAX) return EINVAL;
        if (rw == I2C_SMBUS_READ) m[1].len = data->block[0];
        else { m[0].len = (uint16_t)(data->block[0] + 1); memcpy(w0 + 1, data->block + 1, data->block[0]); }
        break;
    default:
        return EOPNOTSUPP;
    }
    int pec = e->pec && size != I2C_SMBUS_QUICK && size != I2C_SMBUS_I2C_BLOCK_DATA
              && size != I2C_SMBUS_I2C_BLOCK_BROKEN;
    struct xmsg *last = &m[n - 1];
    if (pec) {
        if (last->flags & I2C_M_RD) last->len++;
        else {
            uint8_t crc = crc8_update(0, (uint8_t[]){ addr_byte(m[0].addr, 0) }, 1);
            crc = crc8_update(crc, w0, m[0].len);
            w0[m[0].len++] = crc;
        }
    }
    int err = i2c_transfer(e->unit, m, n);
    if (err) return err;
    if (!(last->flags & I2C_M_RD)) return 0;
    size_t got = last->len - (pec ? 1 : 0);
    if (last->flags & I2C_M_RECV_LEN) {
        if (r1[0] == 0 || r1[0] > I2C_SMBUS_BLOCK_MAX) return EPROTO;
        got = 1 + r1[0];
    }
    if (pec) {
        uint8_t crc = 0;
        if (n == 2) {
            crc = crc8_update(crc, (uint8_t[]){ addr_byte(m[0].addr, 0) }, 1);
            crc = crc8_update(crc, w0, m[0].len);
        }
        crc = crc8_update(crc, (uint8_t[]){ addr_byte(last->addr, 1) }, 1);
        crc = crc8_update(crc, last->buf, got);
        if (crc != last->buf[got]) return EBADMSG;
    }
    uint8_t *rb = last->buf;
    switch (size) {
    case I2C_SMBUS_QUICK: break;
    case I2C_SMBUS_BYTE:
    case I2C_SMBUS_BYTE_DATA: data->byte = rb[0]; break;
    case I2C_SMBUS_WORD_DATA:
    case I2C_SMBUS_PROC_CALL: data->word = (uint16_t)(rb[0] | rb[1] << 8); break;
    case I2C_SMBUS_BLOCK_DATA:
    case I2C_SMBUS_BLOCK_PROC_CALL: memcpy(data->block, rb, got); break;
    default: memcpy(data->block + 1, rb, data->block[0]); break;
    }
    return 0;
}

static int i2c_ioctl(struct pf_fd *e, unsigned long req, unsigned long arg)
{
    int bi = find_bus(e->unit);
    switch (req) {
    case I2C_SLAVE:
    case I2C_SLAVE_FORCE:
        if (arg > 0x3ff || (!e->tenbit && arg > 0x7f)) return EINVAL;
        e->addr = (uint16_t)arg;
        return 0;
    case I2C_TENBIT: e->tenbit = arg != 0; return 0;
    case I2C_PEC: e->pec = arg != 0; return 0;
    case I2C_RETRIES:
    case I2C_TIMEOUT: return 0;
    case I2C_FUNCS:
        if (!arg) return EFAULT;
        *(unsigned long *)arg = bi >= 0 ? pf.bus[bi].funcs : 0;
        return 0;
    case I2C_RDWR: {
        struct i2c_rdwr_ioctl_data *d = (struct i2c_rdwr_ioctl_data *)arg;
        if (!d || !d->msgs) return EFAULT;
        if (d->nmsgs == 0 || d->nmsgs > PF_MAX_I2C_MSGS) return EINVAL;
        struct xmsg m[PF_MAX_I2C_MSGS];
        for (unsigned i = 0; i < d->nmsgs; i++) {
            if (d->msgs[i].flags & I2C_M_RECV_LEN) return EINVAL;
            m[i] = (struct xmsg){ d->msgs[i].addr, d->msgs[i].flags, d->msgs[i].len, d->msgs[i].buf };
        }
        int err = i2c_transfer(e->unit, m, d->nmsgs);
        return err ? err : -(int)d->nmsgs;   // negative = success count, see i2c caller
    }
    case I2C_SMBUS: {
        struct i2c_smbus_ioctl_data *d = (struct i2c_smbus_ioctl_data *)arg;
        if (!d) return EFAULT;
        return smbus_xfer(e, d->read_write, d->command, d->size, d->data);
    }
    default:
        return ENOTTY;
    }
}

// ---- GPIO ---------------------------------------------------------------------------------------------

static int chip_ioctl(struct pf_fd *e, unsigned long req, void *arg)
{
    int ci = find_chip(e->unit);
    if (ci < 0) return ENODEV;
    struct pf_chip *c = &pf.chip[ci];
    if (!arg) return EFAULT;
    switch (req) {
    case GPIO_GET_CHIPINFO_IOCTL: {
        struct gpiochip_info *info = arg;
        memset(info, 0, sizeof *info);
        snprintf(info->name, sizeof info->name, "gpiochip%u", c->num);
        snprintf(info->label, sizeof info->label, "%s", c->label);
        info->lines = c->nlines;
        return 0;
    }
    case GPIO_GET_LINEINFO_IOCTL: {
        struct gpioline_info *info = arg;
        if (info->line_offset >= c->nlines) return EINVAL;
        struct wbuf w = req_begin();
        put_u8(&w, c->num);
        put_u8(&w, (uint8_t)info->line_offset);
        struct rbuf b;
        int err = pf_call(T_GPIO_LINE_INFO, w.len, &b, 0, 0);
        if (err) return err;
        uint32_t flags = get_u32(&b);
        char consumer[PF_NAME];
        get_str(&b, consumer);
        if (b.bad) return EIO;
        uint32_t off = info->line_offset;
        memset(info, 0, sizeof *info);
        info->line_offset = off;
        info->flags = flags;
        snprintf(info->name, sizeof info->name, "%s", c->names[off]);
        snprintf(info->consumer, sizeof info->consumer, "%s", consumer);
        return 0;
    }
    case GPIO_GET_LINEHANDLE_IOCTL: {
        struct gpiohandle_request *r = arg;
        if (r->lines == 0 || r->lines > GPIOHANDLES_MAX) return EINVAL;
        for (unsigned i = 0; i < r->lines; i++) if (r->lineoffsets[i] >= c->nlines) return EINVAL;
        struct wbuf w = req_begin();
        put_u8(&w, c->num);
        put_u8(&w, (uint8_t)r->lines);
        put_u16(&w, 0);
        put_u32(&w, r->flags);
        for (unsigned i = 0; i < r->lines; i++) put_u8(&w, (uint8_t)r->lineoffsets[i]);
        for (unsigned i = 0; i < r->lines; i++) put_u8(&w, r->default_values[i] ? 1 : 0);
        put_str(&w, r->consumer_label, sizeof r->consumer_label);
        struct rbuf b;
        int err = pf_call(T_GPIO_REQUEST_HANDLE, w.len, &b, 0, 0);
        if (err) return err;
        uint32_t handle = get_u32(&b);
        if (b.bad) return EIO;
        int fd = new_fake_fd(EFD_CLOEXEC, K_HANDLE);
        if (fd < 0) {
            int saved = errno;
            struct pf_fd tmp = { .kind = K_HANDLE, .handle = handle, .gen = pf.gen };
            release_handle(&tmp);
            return saved;
        }
        fdtab[fd].unit = c->num;
        fdtab[fd].nlines = (uint8_t)r->lines;
        fdtab[fd].handle = handle;
        r->fd = fd;
        return 0;
    }
    case GPIO_GET_LINEEVENT_IOCTL: {
        struct gpioevent_request *r = arg;
        if (r->lineoffset >= c->nlines) return EINVAL;
        if (r->handleflags & GPIOHANDLE_REQUEST_OUTPUT) return EINVAL;
        struct wbuf w = req_begin();
        put_u8(&w, c->num);
        put_u8(&w, (uint8_t)r->lineoffset);
        put_u16(&w, 0);
        put_u32(&w, r->handleflags);
        put_u32(&w, r->eventflags);
        put_str(&w, r->consumer_label, sizeof r->consumer_label);
        struct rbuf b;
        int fds[PF_MAX_RECV_FDS], nfds = 0;
        int err = pf_call(T_GPIO_REQUEST_EVENT, w.len, &b, fds, &nfds);
        for (int i = (err ? 0 : 1); i < nfds; i++) real.close(fds[i]);
        if (err) return err;
        uint32_t handle = get_u32(&b);
        struct pf_fd tmp = { .kind = K_EVENT, .handle = handle, .gen = pf.gen };
        if (b.bad || nfds < 1) {
            pf_log("protocol error: GPIO_REQUEST_EVENT reply without %s", nfds < 1 ? "a doorbell fd" : "a handle");
            if (nfds >= 1) real.close(fds[0]);
            release_handle(&tmp);
            return EIO;
        }
        int fd = fds[0];
        if (fd >= PF_MAX_FDS) {
            real.close(fd);
            release_handle(&tmp);
            return EMFILE;
        }
        memset(&fdtab[fd], 0, sizeof fdtab[fd]);
        fdtab[fd].kind = K_EVENT;
        fdtab[fd].unit = c->num;
        fdtab[fd].nlines = 1;
        fdtab[fd].handle = handle;
        fdtab[fd].gen = pf.gen;
        fd_remember(fd);
        r->fd = fd;
        return 0;
    }
    default:
        return ENOTTY;
    }
}

static int handle_ioctl(struct pf_fd *e, unsigned long req, void *arg)
{
    int err0 = pf_ensure();     // a forked child reconnects here, making inherited handles stale
    if (err0) return err0;
    if (e->gen != pf.gen) return EIO;
    if (!arg) return EFAULT;
    struct wbuf w = req_begin();
    struct rbuf b;
    put_u32(&w, e->handle);
    switch (req) {
    case GPIOHANDLE_GET_LINE_VALUES_IOCTL: {
        struct gpiohandle_data *d = arg;
        int err = pf_call(T_GPIO_GET_VALUES, w.len, &b, 0, 0);
        if (err) return err;
        uint8_t n = get_u8(&b);
        const uint8_t *v = get_bytes(&b, n);
        if (!v || n != e->nlines) return EIO;
        memset(d, 0, sizeof *d);
        for (unsigned i = 0; i < n; i++) d->values[i] = v[i] ? 1 : 0;
        return 0;
    }
    case GPIOHANDLE_SET_LINE_VALUES_IOCTL: {
        if (e->kind != K_HANDLE) return EINVAL;
        struct gpiohandle_data *d = arg;
        put_u8(&w, e->nlines);
        for (unsigned i = 0; i < e->nlines; i++) put_u8(&w, d->values[i] ? 1 : 0);
        return pf_call(T_GPIO_SET_VALUES, w.len, &b, 0, 0);
    }
    case GPIOHANDLE_SET_CONFIG_IOCTL: {
        if (e->kind != K_HANDLE) return EINVAL;
        struct gpiohandle_config *cfg = arg;
        put_u32(&w, cfg->flags);
        put_u8(&w, e->nlines);
        for (unsigned i = 0; i < e->nlines; i++) put_u8(&w, cfg->default_values[i] ? 1 : 0);
        return pf_call(T_GPIO_SET_CONFIG, w.len, &b, 0, 0);
    }
    default:
        return e->kind == K_EVENT ? EINVAL : ENOTTY;
    }
}

PF_EXPORT int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    unsigned long arg = va_arg(ap, unsigned long);
    va_end(ap);
    NEED(ioctl, -1);
    struct pf_fd *e = fd_entry(fd);
    if (!e || e->kind == K_TIMER) return real.ioctl(fd, req, arg);
    int saved = errno;
    lock();
    int r;
    switch (e->kind) {
    case K_I2C: r = i2c_ioctl(e, req, arg); break;
    case K_CHIP: r = chip_ioctl(e, req, (void *)arg); break;
    default: r = handle_ioctl(e, req, (void *)arg); break;
    }
    unlock();
    if (r > 0) { errno = r; return -1; }
    errno = saved;
    return -r;   // I2C_RDWR reports its message count as a negative number
}

// ---- read / write -------------------------------------------------------------------------------------------

static int pf_vwait(struct pollfd *fds, nfds_t n, int64_t timeout_ns, const sigset_t *mask);
static int vclock_on(void);

static ssize_t event_read(int fd, struct pf_fd *e, void *buf, size_t count)
{
    if (count < sizeof(struct gpioevent_data)) { errno = EINVAL; return -1; }
    unsigned max = (unsigned)(count / sizeof(struct gpioevent_data));
    if (max > PF_MAX_EVENTS) max = PF_MAX_EVENTS;
    uint8_t junk[PF_MAX_EVENTS];
    int saved = errno;
    // Wait for the doorbell unless the fd is non-blocking.
    for (int attempt = 0; ; attempt++) {
        ssize_t k = recv(fd, junk, 1, MSG_PEEK | MSG_DONTWAIT);
        if (k > 0) break;
        if (k == 0) { errno = EIO; return -1; }             // simulator released the line
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0 && (fl & O_NONBLOCK)) { errno = EAGAIN; return -1; }
        if (attempt >= PF_EINTR_LIMIT) { errno = EINTR; return -1; }
        struct pollfd p1 = { fd, POLLIN, 0 };
        int r = vclock_on() ? pf_vwait(&p1, 1, -1, 0) : (REAL(poll) ? real.poll(&p1, 1, -1) : -1);
        if (r < 0) return -1;
    }
    lock();
    int err0 = pf_ensure();
    if (err0 || e->gen != pf.gen) { unlock(); errno = err0 ? err0 : EIO; return -1; }
    struct wbuf w = req_begin();
    put_u32(&w, e->handle);
    put_u8(&w, (uint8_t)max);
    struct rbuf b;
    int err = pf_call(T_GPIO_READ_EVENTS, w.len, &b, 0, 0);
    if (err) { unlock(); errno = err; return -1; }
    unsigned n = get_u8(&b);
    if (n > max) { unlock(); errno = EIO; return -1; }
    struct gpioevent_data out[PF_MAX_EVENTS];
    memset(out, 0, sizeof out);
    for (unsigned i = 0; i < n; i++) {
        out[i].timestamp = get_u64(&b);
        out[i].id = get_u32(&b);
    }
    if (b.bad) { unlock(); errno = EIO; return -1; }
    if (n > 0) {
        ssize_t k = recv(fd, junk, n, MSG_DONTWAIT);
        if (k != (ssize_t)n && !pf.said_doorbell) {
            pf_log("protocol warning: %u event(s) read but %zd doorbell byte(s) pending", n, k);
            pf.said_doorbell = 1;
        }
    }
    unlock();
    if (n == 0) {
        // The doorbell rang for nothing: take its byte so that poll does not spin.
        ssize_t k = recv(fd, junk, 1, MSG_DONTWAIT);
        (void)k;
        if (!pf.said_doorbell) { pf_log("protocol warning: doorbell rang with no event queued"); pf.said_doorbell = 1; }
        errno = EAGAIN;
        return -1;
    }
    memcpy(buf, out, n * sizeof out[0]);
    errno = saved;
    return (ssize_t)(n * sizeof out[0]);
}

static ssize_t i2c_rw(struct pf_fd *e, void *buf, size_t count, int rd)
{
    if (count > PF_MAX_I2C_MSG) count = PF_MAX_I2C_MSG;
    struct xmsg m = { e->addr, (uint16_t)((e->tenbit ? I2C_M_TEN : 0) | (rd ? I2C_M_RD : 0)), (uint16_t)count, buf };
    lock();
    int err = i2c_transfer(e->unit, &m, 1);
    unlock();
    if (err) { errno = err; return -1; }
    return (ssize_t)count;
}

static ssize_t timer_read(int fd, void *buf, size_t count);

PF_EXPORT ssize_t read(int fd, void *buf, size_t count)
{
    NEED(read, -1);
    struct pf_fd *e = fd_entry(fd);
    if (!e) return real.read(fd, buf, count);
    switch (e->kind) {
    case K_EVENT: return event_read(fd, e, buf, count);
    case K_I2C: return i2c_rw(e, buf, count, 1);
    case K_TIMER: return timer_read(fd, buf, count);
    default: errno = EINVAL; return -1;
    }
}

PF_EXPORT ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen)
{
    if (count > buflen) abort();
    return read(fd, buf, count);
}

PF_EXPORT ssize_t write(int fd, const void *buf, size_t count)
{
    NEED(write, -1);
    struct pf_fd *e = fd_entry(fd);
    if (!e) return real.write(fd, buf, count);
    if (e->kind == K_I2C) return i2c_rw(e, (void *)buf, count, 0);
    errno = EINVAL;
    return -1;
}

// ---- stat, access, realpath, scandir --------------------------------------------------------------------------

static int stat_path(const char *path, struct stat *st)
{
    enum pf_path kind;
    int unit;
    int c = claim(path, &kind, &unit);
    if (c <= 0) return c;
    fill_stat(st, kind, unit);
    return 1;
}

// For fds of simulated devices.
static int stat_fd(int fd, struct stat *st)
{
    struct pf_fd *e = fd_entry(fd);
    if (!e || (e->kind != K_I2C && e->kind != K_CHIP)) return 0;
    fill_stat(st, e->kind == K_I2C ? P_I2C : P_CHIP, e->unit);
    return 1;
}

PF_EXPORT int stat(const char *path, struct stat *st)
{
    int c = stat_path(path, st);
    if (c) return c < 0 ? -1 : 0;
    NEED(stat, -1);
    return real.stat(path, st);
}

PF_EXPORT int lstat(const char *path, struct stat *st)
{
    int c = stat_path(path, st);
    if (c) return c < 0 ? -1 : 0;
    NEED(lstat, -1);
    return real.lstat(path, st);
}

PF_EXPORT int fstat(int fd, struct stat *st)
{
    if (stat_fd(fd, st)) return 0;
    NEED(fstat, -1);
    return real.fstat(fd, st);
}

PF_EXPORT int stat64(const char *path, struct stat64 *st)
{
    int c = stat_path(path, (struct stat *)st);
    if (c) return c < 0 ? -1 : 0;
    NEED(stat64, -1);
    return real.stat64(path, st);
}

PF_EXPORT int lstat64(const char *path, struct stat64 *st)
{
    int c = stat_path(path, (struct stat *)st);
    if (c) return c < 0 ? -1 : 0;
    NEED(lstat64, -1);
    return real.lstat64(path, st);
}

PF_EXPORT int fstat64(int fd, struct stat64 *st)
{
    if (stat_fd(fd, (struct stat *)st)) return 0;
    NEED(fstat64, -1);
    return real.fstat64(fd, st);
}

PF_EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
    if (launder(path) && !*path && (flags & AT_EMPTY_PATH) && stat_fd(dirfd, st)) return 0;
    int c = stat_path(path, st);
    if (c) return c < 0 ? -1 : 0;
    NEED(fstatat, -1);
    return real.fstatat(dirfd, path, st, flags);
}

PF_EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
    if (launder(path) && !*path && (flags & AT_EMPTY_PATH) && stat_fd(dirfd, (struct stat *)st)) return 0;
    int c = stat_path(path, (struct stat *)st);
    if (c) return c < 0 ? -1 : 0;
    NEED(fstatat64, -1);
    return real.fstatat64(dirfd, path, st, flags);
}

// The pre-2.33 glibc entry points, for programs linked against older glibc.
PF_EXPORT int __xstat(int ver, const char *path, struct stat *st) { (void)ver; return stat(path, st); }
PF_EXPORT int __lxstat(int ver, const char *path, struct stat *st) { (void)ver; return lstat(path, st); }
PF_EXPORT int __fxstat(int ver, int fd, struct stat *st) { (void)ver; return fstat(fd, st); }
PF_EXPORT int __xstat64(int ver, const char *path, struct stat64 *st) { (void)ver; return stat64(path, st); }
PF_EXPORT int __lxstat64(int ver, const char *path, struct stat64 *st) { (void)ver; return lstat64(path, st); }
PF_EXPORT int __fxstat64(int ver, int fd, struct stat64 *st) { (void)ver; return fstat64(fd, st); }
PF_EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{ (void)ver; return fstatat(dirfd, path, st, flags); }
PF_EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags)
{ (void)ver; return fstatat64(dirfd, path, st, flags); }

static void fill_statx(struct statx *sx, const struct stat *st)
{
    memset(sx, 0, sizeof *sx);
    sx->stx_mask = STATX_BASIC_STATS;
    sx->stx_blksize = (uint32_t)st->st_blksize;
    sx->stx_nlink = (uint32_t)st->st_nlink;
    sx->stx_mode = (uint16_t)st->st_mode;
    sx->stx_ino = st->st_ino;
    sx->stx_size = (uint64_t)st->st_size;
    sx->stx_rdev_major = major(st->st_rdev);
    sx->stx_rdev_minor = minor(st->st_rdev);
    sx->stx_dev_major = major(st->st_dev);
    sx->stx_dev_minor = minor(st->st_dev);
    sx->stx_atime.tv_sec = sx->stx_mtime.tv_sec = sx->stx_ctime.tv_sec = st->st_mtim.tv_sec;
    sx->stx_atime.tv_nsec = sx->stx_mtime.tv_nsec = sx->stx_ctime.tv_nsec = (uint32_t)st->st_mtim.tv_nsec;
}

PF_EXPORT int statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *sx)
{
    struct stat st;
    if (launder(path) && !*path && (flags & AT_EMPTY_PATH) && stat_fd(dirfd, &st)) { fill_statx(sx, &st); return 0; }
    int c = stat_path(path, &st);
    if (c < 0) return -1;
    if (c > 0) { fill_statx(sx, &st); return 0; }
    NEED(statx, -1);
    return real.statx(dirfd, path, flags, mask, sx);
}

static int access_fake(const char *path, int mode)
{
    enum pf_path kind;
    int unit;
    int c = claim(path, &kind, &unit);
    if (c <= 0) return c;
    if ((mode & X_OK) && kind != P_SYSFS_DIR) { errno = EACCES; return -1; }
    if ((mode & W_OK) && (kind == P_SYSFS_DEV || kind == P_SYSFS_DIR)) { errno = EACCES; return -1; }
    return 1;
}

PF_EXPORT int access(const char *path, int mode)
{
    int c = access_fake(path, mode);
    if (c) return c < 0 ? -1 : 0;
    NEED(access, -1);
    return real.access(path, mode);
}

PF_EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
    int c = access_fake(path, mode);
    if (c) return c < 0 ? -1 : 0;
    NEED(faccessat, -1);
    return real.faccessat(dirfd, path, mode, flags);
}

// Extended attributes: the simulated nodes have none (keeps `ls -l` quiet about them).
static int xattr_fake(const char *path)
{
    enum pf_path kind;
    int unit;
    return claim(path, &kind, &unit);
}

#define XATTR_GET(name)                                                                    \
    PF_EXPORT ssize_t name(const char *path, const char *attr, void *value, size_t size)   \
    {                                                                                      \
        int c = xattr_fake(path);                                                          \
        if (c < 0) return -1;                                                              \
        if (c > 0) { errno = ENODATA; return -1; }                                         \
        NEED(name, -1);                                                                    \
        return real.name(path, attr, value, size);                                         \
    }
#define XATTR_LIST(name)                                                                   \
    PF_EXPORT ssize_t name(const char *path, char *list, size_t size)                      \
    {                                                                                      \
        int c = xattr_fake(path);                                                          \
        if (c < 0) return -1;                                                              \
        if (c > 0) return 0;                                                               \
        NEED(name, -1);                                                                    \
        return real.name(path, list, size);                                                \
    }
XATTR_GET(getxattr)
XATTR_GET(lgetxattr)
XATTR_LIST(listxattr)
XATTR_LIST(llistxattr)

PF_EXPORT char *realpath(const char *path, char *resolved)
{
    enum pf_path kind;
    int unit;
    int c = claim(path, &kind, &unit);
    if (c < 0) return 0;
    if (c > 0) {
        size_t n = strlen(path);
        if (n >= PATH_MAX) { errno = ENAMETOOLONG; return 0; }
        if (kind == P_SYSFS_DIR && n > 1 && path[n - 1] == '/') n--;
        char *out = resolved ? resolved : malloc(PATH_MAX);
        if (!out) { errno = ENOMEM; return 0; }
        memcpy(out, path, n);
        out[n] = 0;
        return out;
    }
    NEED(realpath, 0);
    return real.realpath(path, resolved);
}

PF_EXPORT char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen)
{
    if (resolved && resolvedlen < PATH_MAX) abort();
    return realpath(path, resolved);
}

// Appends the simulated device nodes to a listing of /dev. Entries are struct dirent, which has
// the same layout as struct dirent64 on the 64-bit targets this library is built for.
static int add_fake_entries(struct dirent ***list, int n, int (*filter)(const struct dirent *),
                            int (*compar)(const struct dirent **, const struct dirent **))
{
    char names[PF_MAX_BUSES + PF_MAX_CHIPS][PF_NAME];
    unsigned char types[PF_MAX_BUSES + PF_MAX_CHIPS];
    int nf = 0;
    lock();
    if (!pf_ensure()) {
        for (int i = 0; i < pf.nbus; i++) { snprintf(names[nf], PF_NAME, "i2c-%u", pf.bus[i].num); types[nf++] = DT_CHR; }
        for (int i = 0; i < pf.nchip; i++) { snprintf(names[nf], PF_NAME, "gpiochip%u", pf.chip[i].num); types[nf++] = DT_CHR; }
    }
    unlock();
    struct dirent **out = realloc(*list, sizeof(*out) * (size_t)(n + nf + 1));
    if (!out) return n;
    *list = out;
    for (int i = 0; i < nf; i++) {
        int dup = 0;
        for (int j = 0; j < n && !dup; j++) dup = !strcmp(out[j]->d_name, names[i]);
        if (dup) continue;
        struct dirent *d = calloc(1, sizeof *d);
        if (!d) break;
        d->d_ino = 0x504c0000u + (unsigned)i;
        d->d_reclen = sizeof *d;
        d->d_type = types[i];
        memcpy(d->d_name, names[i], strnlen(names[i], PF_NAME - 1));
        if (filter && !filter(d)) { free(d); continue; }
        out[n++] = d;
    }
    if (compar && n > 1) qsort(out, (size_t)n, sizeof *out, (int (*)(const void *, const void *))compar);
    return n;
}

static int is_dev_dir(const char *dir) { return dir && (!strcmp(dir, "/dev") || !strcmp(dir, "/dev/")); }

PF_EXPORT int scandir(const char *dir, struct dirent ***list, int (*filter)(const struct dirent *),
                      int (*compar)(const struct dirent **, const struct dirent **))
{
    NEED(scandir, -1);
    if (!is_dev_dir(dir) || !pf_enabled()) return real.scandir(dir, list, filter, compar);
    int n = real.scandir(dir, list, filter, 0);
    if (n < 0) return n;
    return add_fake_entries(list, n, filter, compar);
}

PF_EXPORT int scandir64(const char *dir, struct dirent64 ***list, int (*filter)(const struct dirent64 *),
                        int (*compar)(const struct dirent64 **, const struct dirent64 **))
{
    _Static_assert(sizeof(struct dirent) == sizeof(struct dirent64), "dirent layouts differ");
    NEED(scandir64, -1);
    if (!is_dev_dir(dir) || !pf_enabled()) return real.scandir64(dir, list, filter, compar);
    int n = real.scandir64(dir, list, filter, 0);
    if (n < 0) return n;
    return add_fake_entries((struct dirent ***)list, n, (int (*)(const struct dirent *))filter,
                            (int (*)(const struct dirent **, const struct dirent **))compar);
}

// ---- virtual clock -------------------------------------------------------------------------------------------

static int vclock_on(void)
{
    if (!pf_enabled()) return 0;
    if (pf.state == S_FAILED) return 0;
    int saved = errno;
    lock();
    int on = 0;
    if (pf.state == S_IDLE || pf.forked) (void)pf_ensure();
    if (pf.state == S_UP || pf.state == S_LOST) on = (pf.flags & PF_FLAG_VCLOCK) != 0;
    unlock();
    errno = saved;
    return on;
}

static uint64_t vnow(void)
{
    if (pf.state == S_LOST) return pf.lost_sim + (real_mono_ns() - pf.lost_real);
    return pf.sim_now;
}

static int is_vclock(clockid_t c)
{
    return c == CLOCK_MONOTONIC || c == CLOCK_MONOTONIC_RAW || c == CLOCK_MONOTONIC_COARSE
        || c == CLOCK_BOOTTIME || c == CLOCK_REALTIME || c == CLOCK_REALTIME_COARSE;
}

static int is_realtime(clockid_t c) { return c == CLOCK_REALTIME || c == CLOCK_REALTIME_COARSE || c == CLOCK_REALTIME_ALARM; }

static void fire_timers(void)
{
    uint64_t now = vnow();
    for (int i = ntimers - 1; i >= 0; i--) {   // backwards: fd_entry may drop entry i
        struct pf_fd *t = fd_entry(timer_fds[i]);
        if (!t || t->kind != K_TIMER || !t->expiry || t->expiry > now) continue;
        uint64_t count = 1;
        if (t->interval) {
            count += (now - t->expiry) / t->interval;
            t->expiry += count * t->interval;
        } else {
            t->expiry = 0;
        }
        ssize_t w = real.write(timer_fds[i], &count, sizeof count);
        (void)w;
    }
}

// Waits until the simulator answers SLEEP_UNTIL(target), one of the program's fds becomes
// ready (the sleep is then cancelled) or a signal arrives (EINTR). Time is adopted from the reply.
static int sim_sleep(uint64_t target, struct pollfd *fds, nfds_t n, const sigset_t *mask)
{
    struct wbuf w = req_begin();
    put_u64(&w, target);
    uint16_t seq = ++pf.seq;
    int e = send_frame(T_SLEEP_UNTIL, seq, w.len);
    if (e) { pf_mark_lost("send", e); return 0; }
    for (nfds_t i = 0; i < n; i++) { pollset[i] = fds[i]; pollset[i].revents = 0; }
    pollset[n] = (struct pollfd){ pf.sock, POLLIN, 0 };
    int interrupted = 0, cancelled = 0;
    for (int spins = 0; spins < PF_STALL_LIMIT; spins++) {
        int r = real.ppoll(pollset, n + 1, 0, mask);
        if (r < 0 && errno != EINTR) { pf_mark_lost("poll", errno); return 0; }
        if (r < 0) interrupted = 1;
        int reply = r > 0 && (pollset[n].revents & (POLLIN | POLLHUP | POLLERR));
        if (!reply && !cancelled && (interrupted || r > 0)) {
            struct wbuf c = req_begin();
            put_u16(&c, seq);
            e = send_frame(T_CANCEL_SLEEP, ++pf.seq, c.len);
            if (e) { pf_mark_lost("send", e); return 0; }
            cancelled = 1;
        }
        if (reply || cancelled) {
            uint64_t deadline = real_mono_ns() + (uint64_t)pf.timeout_ms * 1000000ull;
            struct rbuf b;
            e = recv_response(T_SLEEP_UNTIL, seq, deadline, &b, 0, 0);
            if (e && pf.state != S_UP) return 0;
            if (interrupted) { errno = EINTR; return -1; }
            return 0;
        }
    }
    pf_mark_lost("wait", EPROTO);
    return 0;
}

// poll/ppoll/sleep in simulation time. timeout_ns < 0 waits without limit.
static int pf_vwait(struct pollfd *fds, nfds_t n, int64_t timeout_ns, const sigset_t *mask)
{
    static const struct timespec zero = { 0, 0 };
    if (n > PF_MAX_POLL) { errno = EINVAL; return -1; }
    int r = real.ppoll(fds, n, &zero, mask);
    if (r != 0 || timeout_ns == 0) return r;
    lock();
    uint64_t deadline = timeout_ns < 0 ? PF_TIME_NONE : sat_add(vnow(), (uint64_t)timeout_ns);
    int stall = 0;
    for (;;) {
        uint64_t now = vnow();
        if (now >= deadline) { r = 0; break; }
        uint64_t target = deadline;
        for (nfds_t i = 0; i < n; i++) {
            struct pf_fd *t = fd_entry(fds[i].fd);
            if (t && t->kind == K_TIMER && t->expiry && t->expiry < target) target = t->expiry;
        }
        if (pf.state == S_UP) {
            if (sim_sleep(target, fds, n, mask) < 0) { r = -1; break; }
        } else {
            struct timespec ts;
            uint64_t left = target == PF_TIME_NONE ? 0 : target - now;
            ns_to_ts(left, &ts);
            int rr = real.ppoll(fds, n, target == PF_TIME_NONE ? 0 : &ts, mask);
            if (rr < 0) { r = -1; break; }
            fire_timers();
        }
        r = real.ppoll(fds, n, &zero, 0);
        if (r != 0) break;
        if (vnow() == now) {
            if (++stall >= PF_STALL_LIMIT) {
                pf_log("simulator woke the program %d times without advancing time or making an fd ready", stall);
                errno = EINTR;
                r = -1;
                break;
            }
        } else {
            stall = 0;
        }
    }
    unlock();
    return r;
}

PF_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *timeout, const sigset_t *mask)
{
    NEED(ppoll, -1);
    NEED(poll, -1);
    if ((timeout && (timeout->tv_sec == 0 && timeout->tv_nsec == 0)) || !vclock_on())
        return real.ppoll(fds, n, timeout, mask);
    if (timeout && !ts_valid(timeout)) { errno = EINVAL; return -1; }
    return pf_vwait(fds, n, timeout ? (int64_t)ts_to_ns(timeout) : -1, mask);
}

PF_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
    NEED(poll, -1);
    NEED(ppoll, -1);
    if (timeout_ms == 0 || !vclock_on()) return real.poll(fds, n, timeout_ms);
    return pf_vwait(fds, n, timeout_ms < 0 ? -1 : (int64_t)timeout_ms * 1000000, 0);
}

PF_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout_ms, size_t fdslen)
{
    if (fdslen / sizeof(*fds) < n) abort();
    return poll(fds, n, timeout_ms);
}

PF_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
                          const sigset_t *mask, size_t fdslen)
{
    if (fdslen / sizeof(*fds) < n) abort();
    return ppoll(fds, n, timeout, mask);
}

PF_EXPORT int clock_gettime(clockid_t clk, struct timespec *ts)
{
    NEED(clock_gettime, -1);
    if (!is_vclock(clk) || !vclock_on()) return real.clock_gettime(clk, ts);
    if (!launder(ts)) { errno = EFAULT; return -1; }
    lock();
    uint64_t t = vnow();
    if (is_realtime(clk)) t += pf.realtime_base;
    unlock();
    ns_to_ts(t, ts);
    return 0;
}

PF_EXPORT int gettimeofday(struct timeval *tv, void *tz)
{
    NEED(gettimeofday, -1);
    if (!vclock_on()) return real.gettimeofday(tv, tz);
    if (tz) memset(tz, 0, sizeof(struct timezone));
    if (launder(tv)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        tv->tv_sec = ts.tv_sec;
        tv->tv_usec = ts.tv_nsec / 1000;
    }
    return 0;
}

PF_EXPORT time_t time(time_t *out)
{
    NEED(time, (time_t)-1);
    if (!vclock_on()) return real.time(out);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (out) *out = ts.tv_sec;
    return ts.tv_sec;
}

// Sleeps in simulation time; returns 0 or an errno (EINTR fills rem).
static int vsleep_ns(uint64_t ns, struct timespec *rem)
{
    lock();
    uint64_t start = vnow();
    unlock();
    int r = pf_vwait(0, 0, ns > INT64_MAX ? INT64_MAX : (int64_t)ns, 0);
    if (r < 0) {
        int e = errno;
        if (rem) {
            lock();
            uint64_t done = vnow() - start;
            unlock();
            ns_to_ts(done >= ns ? 0 : ns - done, rem);
        }
        return e;
    }
    return 0;
}

PF_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
    NEED(nanosleep, -1);
    NEED(ppoll, -1);
    if (!vclock_on()) return real.nanosleep(req, rem);
    if (!req) { errno = EFAULT; return -1; }
    if (!ts_valid(req)) { errno = EINVAL; return -1; }
    int e = vsleep_ns(ts_to_ns(req), rem);
    if (e) { errno = e; return -1; }
    return 0;
}

PF_EXPORT int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req, struct timespec *rem)
{
    NEED(clock_nanosleep, EINVAL);
    NEED(ppoll, EINVAL);
    if (!is_vclock(clk) || clk == CLOCK_MONOTONIC_RAW || !vclock_on()) return real.clock_nanosleep(clk, flags, req, rem);
    if (!req) return EFAULT;
    if (!ts_valid(req)) return EINVAL;
    uint64_t ns = ts_to_ns(req);
    if (flags & TIMER_ABSTIME) {
        lock();
        uint64_t now = vnow() + (is_realtime(clk) ? pf.realtime_base : 0);
        unlock();
        ns = ns > now ? ns - now : 0;
        rem = 0;
    }
    return vsleep_ns(ns, rem);
}

PF_EXPORT int usleep(useconds_t us)
{
    NEED(usleep, -1);
    NEED(ppoll, -1);
    if (!vclock_on()) return real.usleep(us);
    int e = vsleep_ns((uint64_t)us * 1000ull, 0);
    if (e) { errno = e; return -1; }
    return 0;
}

PF_EXPORT unsigned sleep(unsigned s)
{
    NEED(sleep, s);
    NEED(ppoll, s);
    if (!vclock_on()) return real.sleep(s);
    struct timespec rem = { 0, 0 };
    int e = vsleep_ns((uint64_t)s * 1000000000ull, &rem);
    return e ? (unsigned)rem.tv_sec + (rem.tv_nsec > 0) : 0;
}

PF_EXPORT int timerfd_create(int clk, int flags)
{
    NEED(timerfd_create, -1);
    int ok_clock = clk == CLOCK_MONOTONIC || clk == CLOCK_REALTIME || clk == CLOCK_BOOTTIME
                   || clk == CLOCK_REALTIME_ALARM || clk == CLOCK_BOOTTIME_ALARM;
    if (!ok_clock || !vclock_on()) return real.timerfd_create(clk, flags);
    if (flags & ~(TFD_NONBLOCK | TFD_CLOEXEC)) { errno = EINVAL; return -1; }
    lock();
    int fd = -1;
    if (ntimers >= PF_MAX_TIMERS) {
        pf_log("more than %d timerfds", PF_MAX_TIMERS);
        errno = EMFILE;
    } else {
        fd = new_fake_fd(((flags & TFD_NONBLOCK) ? EFD_NONBLOCK : 0) | ((flags & TFD_CLOEXEC) ? EFD_CLOEXEC : 0), K_TIMER);
        if (fd >= 0) { fdtab[fd].clock = clk; timer_fds[ntimers++] = fd; }
    }
    unlock();
    return fd;
}

static void timer_remaining(struct pf_fd *t, struct itimerspec *out)
{
    uint64_t now = vnow();
    memset(out, 0, sizeof *out);
    if (t->expiry) ns_to_ts(t->expiry > now ? t->expiry - now : 1, &out->it_value);
    ns_to_ts(t->interval, &out->it_interval);
}

// Clears the expiration count of a timer's eventfd without blocking.
static void timer_drain(int fd)
{
    struct pollfd p1 = { fd, POLLIN, 0 };
    uint64_t v;
    if (real.poll(&p1, 1, 0) > 0) { ssize_t k = real.read(fd, &v, sizeof v); (void)k; }
}

PF_EXPORT int timerfd_settime(int fd, int flags, const struct itimerspec *nv, struct itimerspec *old)
{
    NEED(timerfd_settime, -1);
    struct pf_fd *t = fd_entry(fd);
    if (!t || t->kind != K_TIMER) return real.timerfd_settime(fd, flags, nv, old);
    if (!nv) { errno = EFAULT; return -1; }
    if (!ts_valid(&nv->it_value) || !ts_valid(&nv->it_interval)) { errno = EINVAL; return -1; }
    lock();
    if (old) timer_remaining(t, old);
    timer_drain(fd);
    uint64_t v = ts_to_ns(&nv->it_value), now = vnow();
    if (v == 0) {
        t->expiry = 0;
    } else if (flags & TFD_TIMER_ABSTIME) {
        uint64_t base = is_realtime(t->clock) ? pf.realtime_base : 0;
        uint64_t at = v > base ? v - base : 0;
        t->expiry = at == 0 ? 1 : at;
    } else {
        t->expiry = sat_add(now, v);
    }
    t->interval = ts_to_ns(&nv->it_interval);
    fire_timers();
    unlock();
    return 0;
}

PF_EXPORT int timerfd_gettime(int fd, struct itimerspec *cur)
{
    NEED(timerfd_gettime, -1);
    struct pf_fd *t = fd_entry(fd);
    if (!t || t->kind != K_TIMER) return real.timerfd_gettime(fd, cur);
    if (!cur) { errno = EFAULT; return -1; }
    lock();
    timer_remaining(t, cur);
    unlock();
    return 0;
}

static ssize_t timer_read(int fd, void *buf, size_t count)
{
    if (count < sizeof(uint64_t)) { errno = EINVAL; return -1; }
    lock();
    fire_timers();
    unlock();
    struct pollfd p1 = { fd, POLLIN, 0 };
    if (real.poll(&p1, 1, 0) == 0) {
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0 && (fl & O_NONBLOCK)) { errno = EAGAIN; return -1; }
        if (pf_vwait(&p1, 1, -1, 0) < 0) return -1;
    }
    return real.read(fd, buf, count);
}
