// Nearly everything in this module is static inline in include/CLinux.h; this unit holds
// the instruction counter below (it needs kernel headers the Swift side need not see).
#include "CLinux.h"

#include <linux/perf_event.h>
#include <sys/syscall.h>

/* A counter of the instructions this thread retires in user space (perf_event_open), for
 * the daemon's --timing report. Negative errno when the kernel or the emulator has none. */
int plumb_instructions_open(void) {
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.type = PERF_TYPE_HARDWARE;
    a.size = sizeof a;
    a.config = PERF_COUNT_HW_INSTRUCTIONS;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    long fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, (unsigned long)PERF_FLAG_FD_CLOEXEC);
    return fd < 0 ? -errno : (int)fd;
}

long long plumb_instructions_read(int fd) {
    long long v = 0;
    return read(fd, &v, sizeof v) == (ssize_t)sizeof v ? v : -1;
}

/* CPU time used by the calling thread (user and system), ns: the fallback measure of a
 * tick's cost where no instruction counter exists (virtual machines, emulators). */
long long plumb_thread_cpu_ns(void) {
    struct timespec t;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) != 0) return -1;
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* ---- the flight recorder's files ---------------------------------------------------------- */

#include <dirent.h>

#ifndef SYNC_FILE_RANGE_WRITE
#define SYNC_FILE_RANGE_WRITE 2
#endif

/* sync_file_range is declared only under _GNU_SOURCE, which this module does not set (see
 * CLinux.h); the system call is the same on every 64-bit Linux. */
int plumb_writeback_start(int fd, long long offset, long long len) {
    long r = syscall(SYS_sync_file_range, fd, (long long)offset, (long long)len, (unsigned)SYNC_FILE_RANGE_WRITE);
    return r < 0 ? -errno : 0;
}

void *plumb_dir_open(const char *path, int *err) {
    DIR *d = opendir(path);
    *err = d ? 0 : errno;
    return d;
}

int plumb_dir_next(void *dir, char *name, unsigned long cap) {
    errno = 0;
    struct dirent *e = readdir((DIR *)dir);
    if (!e) return errno ? -errno : 0;
    size_t n = strlen(e->d_name);
    if (cap == 0) return -ENAMETOOLONG;
    if (n >= cap) n = cap - 1;
    memcpy(name, e->d_name, n);
    name[n] = 0;
    return n == 0 ? 1 : (int)n;
}

void plumb_dir_close(void *dir) { closedir((DIR *)dir); }
