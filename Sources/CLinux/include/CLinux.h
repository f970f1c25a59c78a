// The one door from Swift to Linux. Both builds (host Swift and Embedded Swift for
// aarch64) import this module instead of Glibc, so the same code runs in both.
//
// Variadic libc calls cannot be imported into Swift, so each gets a fixed-signature
// static inline wrapper here. Wrappers return -errno on failure where noted, which
// keeps errno (a thread-local macro) out of Swift.
#ifndef PLUMB_CLINUX_H
#define PLUMB_CLINUX_H

// No feature macros (_GNU_SOURCE and friends): the host build imports Foundation too, and
// clang refuses two modules that see the same system structs (fd_set) differently. The
// few calls that glibc declares only under _GNU_SOURCE or _XOPEN_SOURCE are declared
// below with their glibc signatures.

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <sched.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/i2c.h>
#include <linux/i2c-dev.h>
#include <i2c/smbus.h>
#include <gpiod.h>

int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout, const sigset_t *sigmask);
int posix_openpt(int flags);
int grantpt(int fd);
int unlockpt(int fd);
int ptsname_r(int fd, char *buf, size_t buflen);

static inline int plumb_errno(void) { return errno; }

// ---- file descriptors -------------------------------------------------------------

static inline int plumb_open(const char *path, int flags) {
    int fd = open(path, flags | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

static inline int plumb_open_mode(const char *path, int flags, unsigned mode) {
    int fd = open(path, flags | O_CLOEXEC, (mode_t)mode);
    return fd < 0 ? -errno : fd;
}

static inline int plumb_close(int fd) { return close(fd) < 0 ? -errno : 0; }

static inline long plumb_read(int fd, void *buf, unsigned long len) {
    ssize_t n = read(fd, buf, len);
    return n < 0 ? -errno : (long)n;
}

static inline long plumb_write(int fd, const void *buf, unsigned long len) {
    ssize_t n = write(fd, buf, len);
    return n < 0 ? -errno : (long)n;
}

static inline int plumb_fcntl_setfl_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) return -errno;
    return fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

static inline int plumb_fstat_mode(int fd, unsigned *mode) {
    struct stat st;
    if (fstat(fd, &st) < 0) return -errno;
    *mode = (unsigned)st.st_mode;
    return 0;
}

static inline int plumb_stat_mode(const char *path, unsigned *mode) {
    struct stat st;
    if (stat(path, &st) < 0) return -errno;
    *mode = (unsigned)st.st_mode;
    return 0;
}

static inline const char *plumb_strerror(int err) { return strerror(err); }

// ---- I2C (i2c-dev) -------------------------------------------------------------------

static inline int plumb_i2c_set_slave(int fd, unsigned addr) {
    return ioctl(fd, I2C_SLAVE, (unsigned long)addr) < 0 ? -errno : 0;
}

static inline int plumb_i2c_funcs(int fd, unsigned long *funcs) {
    return ioctl(fd, I2C_FUNCS, funcs) < 0 ? -errno : 0;
}

/// One combined transaction: an optional write then an optional read, with a repeated
/// start between them and one STOP at the end (I2C_RDWR).
static inline int plumb_i2c_rdwr(int fd, unsigned addr,
                                 const uint8_t *wbuf, unsigned wlen,
                                 uint8_t *rbuf, unsigned rlen) {
    struct i2c_msg msgs[2];
    unsigned n = 0;
    if (wlen > 0) {
        msgs[n].addr = (uint16_t)addr; msgs[n].flags = 0;
        msgs[n].len = (uint16_t)wlen; msgs[n].buf = (uint8_t *)wbuf; n++;
    }
    if (rlen > 0) {
        msgs[n].addr = (uint16_t)addr; msgs[n].flags = I2C_M_RD;
        msgs[n].len = (uint16_t)rlen; msgs[n].buf = rbuf; n++;
    }
    if (n == 0) return 0;
    struct i2c_rdwr_ioctl_data data = { msgs, n };
    return ioctl(fd, I2C_RDWR, &data) < 0 ? -errno : 0;
}

/// Probes an address the way i2cdetect does, through libi2c: SMBus quick write where
/// the adapter supports it (changes no device state), else receive byte.
static inline int plumb_i2c_probe(int fd, unsigned addr) {
    unsigned long funcs = 0;
    if (ioctl(fd, I2C_FUNCS, &funcs) < 0) return -errno;
    if (ioctl(fd, I2C_SLAVE, (unsigned long)addr) < 0) return -errno;
    int r;
    if (funcs & I2C_FUNC_SMBUS_QUICK) r = i2c_smbus_write_quick(fd, I2C_SMBUS_WRITE);
    else r = i2c_smbus_read_byte(fd);
    return r < 0 ? -errno : 0;
}

/// SMBus read-word through libi2c (little-endian word, no PEC).
static inline int plumb_i2c_smbus_read_word(int fd, unsigned addr, uint8_t reg) {
    if (ioctl(fd, I2C_SLAVE, (unsigned long)addr) < 0) return -errno;
    int r = i2c_smbus_read_word_data(fd, reg);
    return r < 0 ? -errno : r;
}

// ---- clocks, timers, signals ------------------------------------------------------------

static inline uint64_t plumb_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline int plumb_sleep_ns(uint64_t ns) {
    struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };
    return nanosleep(&ts, 0) < 0 ? -errno : 0;
}

static inline int plumb_timerfd_create(void) {
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

static inline int plumb_timerfd_arm(int fd, uint64_t first_ns, uint64_t period_ns) {
    struct itimerspec its;
    its.it_value.tv_sec = (time_t)(first_ns / 1000000000ull);
    its.it_value.tv_nsec = (long)(first_ns % 1000000000ull);
    its.it_interval.tv_sec = (time_t)(period_ns / 1000000000ull);
    its.it_interval.tv_nsec = (long)(period_ns % 1000000000ull);
    return timerfd_settime(fd, 0, &its, 0) < 0 ? -errno : 0;
}

/// Blocks SIGTERM, SIGINT and SIGHUP for the process and returns a signalfd for them.
static inline int plumb_signalfd_standard(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, 0) < 0) return -errno;
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

/// Reads one pending signal from a signalfd; returns its number, 0 when none, or -errno.
static inline int plumb_signalfd_read(int fd) {
    struct signalfd_siginfo si;
    ssize_t n = read(fd, &si, sizeof si);
    if (n < 0) return errno == EAGAIN ? 0 : -errno;
    if (n != (ssize_t)sizeof si) return 0;
    return (int)si.ssi_signo;
}

static inline int plumb_raise(int sig) { return raise(sig); }
static inline int plumb_sigterm(void) { return SIGTERM; }
static inline int plumb_sigint(void) { return SIGINT; }
static inline int plumb_sighup(void) { return SIGHUP; }

// ---- poll -------------------------------------------------------------------------------

/// ppoll with a relative timeout in nanoseconds (negative = wait forever).
static inline int plumb_ppoll(struct pollfd *fds, unsigned n, int64_t timeout_ns) {
    struct timespec ts, *tsp = 0;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000ll);
        ts.tv_nsec = (long)(timeout_ns % 1000000000ll);
        tsp = &ts;
    }
    int r = ppoll(fds, (nfds_t)n, tsp, 0);
    return r < 0 ? -errno : r;
}

static inline short plumb_pollin(void) { return POLLIN; }
static inline short plumb_pollerr_mask(void) { return POLLERR | POLLHUP | POLLNVAL; }

// ---- scheduling and memory ----------------------------------------------------------------

static inline int plumb_sched_fifo(int priority) {
    struct sched_param p;
    memset(&p, 0, sizeof p);
    p.sched_priority = priority;
    return sched_setscheduler(0, SCHED_FIFO, &p) < 0 ? -errno : 0;
}

static inline int plumb_mlockall(void) {
    return mlockall(MCL_CURRENT | MCL_FUTURE) < 0 ? -errno : 0;
}

// ---- UDP ------------------------------------------------------------------------------------

/// Opens a non-blocking IPv4 UDP socket bound to host:port (host in network order).
static inline int plumb_udp_open(uint32_t host_be, uint16_t port) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -errno;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = host_be;
    a.sin_port = htons(port);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) { int e = errno; close(fd); return -e; }
    return fd;
}

static inline int plumb_udp_local_port(int fd) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &len) < 0) return -errno;
    return ntohs(a.sin_port);
}

static inline long plumb_udp_send(int fd, const void *buf, unsigned long len,
                                  uint32_t host_be, uint16_t port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = host_be;
    a.sin_port = htons(port);
    ssize_t n = sendto(fd, buf, len, 0, (struct sockaddr *)&a, sizeof a);
    return n < 0 ? -errno : (long)n;
}

/// Receives one datagram; returns its length, 0 when none is waiting, or -errno.
/// A datagram longer than the buffer is reported as -EMSGSIZE (and dropped).
static inline long plumb_udp_recv(int fd, void *buf, unsigned long cap,
                                  uint32_t *host_be, uint16_t *port) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    ssize_t n = recvfrom(fd, buf, cap, MSG_TRUNC, (struct sockaddr *)&a, &len);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    *host_be = a.sin_addr.s_addr;
    *port = ntohs(a.sin_port);
    if ((unsigned long)n > cap) return -EMSGSIZE;
    return (long)n;
}

static inline uint32_t plumb_htonl(uint32_t v) { return htonl(v); }

// ---- serial (termios) -------------------------------------------------------------------

static inline int plumb_baud_constant(unsigned baud) {
    switch (baud) {
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 115200: return B115200;
    case 230400: return B230400;
    case 460800: return B460800;
    case 921600: return B921600;
    default: return -1;
    }
}

/// Opens a serial port raw, 8N1, non-blocking, at the given baud rate.
static inline int plumb_serial_open(const char *path, unsigned baud) {
    int speed = plumb_baud_constant(baud);
    if (speed < 0) return -EINVAL;
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -errno;
    struct termios t;
    if (tcgetattr(fd, &t) < 0) { int e = errno; close(fd); return -e; }
    cfmakeraw(&t);
    t.c_cflag |= CLOCAL | CREAD;
    t.c_cflag &= ~(CSTOPB | PARENB | CRTSCTS);
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    cfsetispeed(&t, (speed_t)speed);
    cfsetospeed(&t, (speed_t)speed);
    if (tcsetattr(fd, TCSANOW, &t) < 0) { int e = errno; close(fd); return -e; }
    return fd;
}

// ---- GPIO (libgpiod 1.6) ------------------------------------------------------------------

static inline int plumb_gpiod_flag_active_low(void) { return GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW; }
static inline int plumb_gpiod_event_rising(void) { return GPIOD_LINE_EVENT_RISING_EDGE; }

static inline uint64_t plumb_gpiod_event_ns(const struct gpiod_line_event *e) {
    return (uint64_t)e->ts.tv_sec * 1000000000ull + (uint64_t)e->ts.tv_nsec;
}

#endif

// ---- durable files (the link journal and key) ---------------------------------------

static inline int plumb_fsync(int fd) { return fsync(fd) < 0 ? -errno : 0; }

static inline int plumb_ftruncate(int fd, long len) { return ftruncate(fd, (off_t)len) < 0 ? -errno : 0; }

static inline long plumb_lseek_end(int fd) {
    off_t r = lseek(fd, 0, SEEK_END);
    return r < 0 ? -errno : (long)r;
}

static inline int plumb_rename(const char *from, const char *to) { return rename(from, to) < 0 ? -errno : 0; }

/// fsyncs the directory holding `path`, so a rename or a new file survives power loss.
static inline int plumb_fsync_dir_of(const char *path) {
    char dir[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof dir) return -ENAMETOOLONG;
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = 0; else if (slash) *slash = 0; else { dir[0] = '.'; dir[1] = 0; }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -errno;
    int r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r;
}

/// Opens a pseudo-terminal pair's master (raw, non-blocking) and writes the slave's path
/// into `name`: the HIL offers serial devices (the radio, the autopilot) this way.
static inline int plumb_open_pty(char *name, unsigned long cap) {
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return -errno;
    if (grantpt(fd) < 0 || unlockpt(fd) < 0 || ptsname_r(fd, name, cap) != 0) {
        int e = errno; close(fd); return -e;
    }
    struct termios t;
    if (tcgetattr(fd, &t) == 0) { cfmakeraw(&t); tcsetattr(fd, TCSANOW, &t); }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    return fd;
}

// ---- systemd notification (sd_notify without libsystemd) ---------------------------------

#include <sys/un.h>

/// Sends `msg` to $NOTIFY_SOCKET (an abstract name when it starts with '@'). Returns 0 when
/// sent, 1 when not running under a notify service, or -errno.
static inline int plumb_sd_notify(const char *msg) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !path[0]) return 1;
    size_t n = strlen(path);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (n >= sizeof a.sun_path) return -ENAMETOOLONG;
    memcpy(a.sun_path, path, n);
    if (a.sun_path[0] == '@') a.sun_path[0] = 0;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    ssize_t r = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&a,
                       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
    int e = errno;
    close(fd);
    return r < 0 ? -e : 0;
}

/// User-space instruction counter of the calling thread (shim.c): fd, or a negative errno.
int plumb_instructions_open(void);
/// The count so far, or -1.
long long plumb_instructions_read(int fd);
/// CPU time of the calling thread in ns (shim.c), or -1.
long long plumb_thread_cpu_ns(void);

/// The watchdog interval systemd asked for ($WATCHDOG_USEC, for this process), or 0.
static inline unsigned long long plumb_sd_watchdog_usec(void) {
    const char *u = getenv("WATCHDOG_USEC");
    if (!u) return 0;
    const char *p = getenv("WATCHDOG_PID");
    if (p && (pid_t)strtol(p, 0, 10) != getpid()) return 0;
    return strtoull(u, 0, 10);
}

// ---- the flight recorder's files ----------------------------------------------------------

static inline int plumb_fdatasync(int fd) { return fdatasync(fd) < 0 ? -errno : 0; }

static inline int plumb_mkdir(const char *path, unsigned mode) { return mkdir(path, (mode_t)mode) < 0 ? -errno : 0; }

static inline int plumb_unlink(const char *path) { return unlink(path) < 0 ? -errno : 0; }

/// Wall-clock time in ns since 1970 (CLOCK_REALTIME): only to date a flight log.
static inline uint64_t plumb_realtime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/// Starts the write-out of a file's dirty pages in [offset, offset + len) without waiting
/// for it (sync_file_range with SYNC_FILE_RANGE_WRITE; shim.c). 0 or -errno.
int plumb_writeback_start(int fd, long long offset, long long len);

/// A directory listing (shim.c): open returns a handle or NULL with *err set; next copies
/// the next entry's name (NUL-terminated) and returns its length, 0 at the end, -errno on error.
void *plumb_dir_open(const char *path, int *err);
int plumb_dir_next(void *dir, char *name, unsigned long cap);
void plumb_dir_close(void *dir);
