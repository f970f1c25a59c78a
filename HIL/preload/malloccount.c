/*
 * malloccount: counts the heap allocations of a program (malloc, calloc, realloc,
 * memalign, posix_memalign, aligned_alloc, valloc) into a shared counter file, so that a
 * simulator running the program in lockstep can read the count between two moments and
 * divide by the ticks in between. Loaded with LD_PRELOAD beside plumbfake.so.
 *
 *   PLUMB_MALLOC_COUNT_FILE=path   the file: 8 bytes, a little-endian u64, created by the
 *                                  reader (the library only maps and increments it)
 *
 * It forwards to glibc's own entry points (__libc_malloc and friends), so it needs no
 * dlsym and works from the first allocation of the process.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static volatile uint64_t *counter;
static int state; /* 0 not tried, 1 mapping, 2 mapped, 3 unavailable */

static void count(void) {
    if (state == 2) {
        __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
        return;
    }
    if (state != 0) return;
    state = 1;
    const char *path = getenv("PLUMB_MALLOC_COUNT_FILE");
    int fd = path ? open(path, O_RDWR | O_CLOEXEC) : -1;
    if (fd >= 0) {
        void *p = mmap(NULL, 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        if (p != MAP_FAILED) {
            counter = (volatile uint64_t *)p;
            state = 2;
            __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
            return;
        }
    }
    state = 3;
}

void *malloc(size_t n) { count(); return __libc_malloc(n); }
void *calloc(size_t n, size_t m) { count(); return __libc_calloc(n, m); }
void *realloc(void *p, size_t n) { count(); return __libc_realloc(p, n); }
void *memalign(size_t a, size_t n) { count(); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { count(); return __libc_memalign(a, n); }
void *valloc(size_t n) { count(); return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), n); }
int posix_memalign(void **out, size_t a, size_t n) {
    count();
    if (a < sizeof(void *) || (a & (a - 1)) != 0) return 22; /* EINVAL */
    void *p = __libc_memalign(a, n);
    if (!p) return 12; /* ENOMEM */
    *out = p;
    return 0;
}
