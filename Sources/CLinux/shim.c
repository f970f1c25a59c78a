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
