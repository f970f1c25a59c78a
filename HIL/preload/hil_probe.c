// hil_probe: exercises the faked bus through exactly the calls plumbd makes (the CLinux shim's
// inline wrappers plus libgpiod 1.6 and libi2c), so that the preload library is tested on the
// daemon's own paths, on the host and, cross-compiled, under qemu-aarch64.
//
//   hil_probe devices   I2C and GPIO against fake_sim.py (real-time clock)
//   hil_probe clock     lockstep clock checks against fake_sim.py --virtual-clock
//
// It drives the simulator's inputs itself through the control socket PLUMB_HIL_SOCKET.ctl.
// Prints one "ok"/"FAIL" line per check; exit status 0 only if every check passed.

#include "CLinux.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/un.h>

static int failures;

static void check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", ok ? "ok  " : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
    if (!ok) failures++;
}

// One command to the simulator's control socket; the reply line goes to out.
static int sim_ctl(const char *cmd, char *out, size_t cap)
{
    const char *base = getenv("PLUMB_HIL_SOCKET");
    if (!base || cap == 0) return -1;
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (snprintf(a.sun_path, sizeof a.sun_path, "%s.ctl", base) >= (int)sizeof a.sun_path) return -1;
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    struct timeval tv = { 5, 0 };
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int rc = -1;
    size_t got = 0;
    if (connect(s, (struct sockaddr *)&a, sizeof a) == 0 && send(s, cmd, strlen(cmd), MSG_NOSIGNAL) > 0
        && send(s, "\n", 1, MSG_NOSIGNAL) == 1) {
        while (got + 1 < cap) {
            ssize_t k = recv(s, out + got, cap - 1 - got, 0);
            if (k <= 0) break;
            got += (size_t)k;
            if (memchr(out, '\n', got)) break;
        }
        rc = 0;
    }
    out[got] = 0;
    char *nl = strchr(out, '\n');
    if (nl) *nl = 0;
    plumb_close(s);
    return rc == 0 && !strncmp(out, "ok", 2) ? 0 : -1;
}

static struct gpiod_line *request_events(struct gpiod_chip *chip, unsigned off, int rising_only)
{
    struct gpiod_line *l = gpiod_chip_get_line(chip, off);
    if (!l) return 0;
    int r = rising_only ? gpiod_line_request_rising_edge_events_flags(l, "hil-probe", 0)
                        : gpiod_line_request_both_edges_events_flags(l, "hil-probe", 0);
    return r < 0 ? 0 : l;
}

// Waits (bounded) for one edge on an event line the way plumbd's event loop does.
static int wait_edge(struct gpiod_line *l, int64_t timeout_ns, struct gpiod_line_event *ev)
{
    struct pollfd p = { gpiod_line_event_get_fd(l), plumb_pollin(), 0 };
    int r = plumb_ppoll(&p, 1, timeout_ns);
    if (r <= 0) return r < 0 ? r : -ETIMEDOUT;
    struct timespec zero = { 0, 0 };
    if (gpiod_line_event_wait(l, &zero) != 1) return -EIO;
    return gpiod_line_event_read(l, ev) < 0 ? -plumb_errno() : 0;
}

static int devices(void)
{
    char reply[128];
    unsigned mode = 0;

    // I2C, as LinuxI2CBus does it.
    int fd = plumb_open("/dev/i2c-1", O_RDWR);
    check(fd >= 0, "open /dev/i2c-1 (%s)", fd < 0 ? strerror(-fd) : "fd");
    if (fd < 0) return 1;
    check(plumb_fstat_mode(fd, &mode) == 0 && S_ISCHR(mode), "fstat says /dev/i2c-1 is a character device");
    check(plumb_stat_mode("/dev/i2c-1", &mode) == 0 && S_ISCHR(mode), "stat says /dev/i2c-1 is a character device");
    unsigned long funcs = 0;
    int fr = plumb_i2c_funcs(fd, &funcs);
    check(fr == 0 && (funcs & I2C_FUNC_I2C), "I2C_FUNCS reports plain I2C (0x%lx)", funcs);
    check(plumb_i2c_probe(fd, 0x36) == 0, "probe 0x36 acknowledges");
    int r = plumb_i2c_probe(fd, 0x37);
    check(r == -ENXIO, "probe 0x37 NACKs with ENXIO (%d)", r);
    sim_ctl("reg 0x36 0x0d 0xbc", reply, sizeof reply);
    uint8_t reg = 0x0c, angle[2] = { 0, 0 };
    r = plumb_i2c_rdwr(fd, 0x36, &reg, 1, angle, 2);
    check(r == 0 && angle[0] == 0x0a && angle[1] == 0xbc, "I2C_RDWR write-then-read of 0x36 reg 0x0c = %02x %02x", angle[0], angle[1]);
    sim_ctl("reg 0x36 0x0d 0x42", reply, sizeof reply);
    r = plumb_i2c_rdwr(fd, 0x36, &reg, 1, angle, 2);
    check(r == 0 && angle[1] == 0x42, "a register changed by the simulator reads back (%02x)", angle[1]);
    uint8_t wr[2] = { 0x01, 0x5a };
    r = plumb_i2c_rdwr(fd, 0x36, wr, 2, 0, 0);
    check(r == 0 && sim_ctl("reg 0x36 0x01", reply, sizeof reply) == 0 && !strcmp(reply, "ok 0x5a"),
          "an I2C write reaches the simulator's register (%s)", reply);
    r = plumb_i2c_smbus_read_word(fd, 0x0b, 0x09);
    check(r == 25200, "SMBus read word 0x0b cmd 0x09 = %d", r);
    sim_ctl("nack 0x36 1", reply, sizeof reply);
    r = plumb_i2c_rdwr(fd, 0x36, &reg, 1, angle, 2);
    check(r == -ENXIO, "an injected NACK comes back as ENXIO (%d)", r);
    sim_ctl("nack 0x36 0", reply, sizeof reply);
    check(plumb_close(fd) == 0, "close /dev/i2c-1");
    r = plumb_open("/dev/i2c-7", O_RDWR);
    check(r == -ENOENT, "a bus the simulator does not have is ENOENT (%d)", r);

    // GPIO, as LinuxGPIOChip and friends do it.
    struct gpiod_chip *chip = gpiod_chip_open_lookup("gpiochip0");
    check(chip != 0, "gpiod_chip_open_lookup(\"gpiochip0\")");
    if (!chip) return 1;
    check(gpiod_chip_num_lines(chip) == 8, "8 lines (%u)", gpiod_chip_num_lines(chip));
    struct gpiod_chip *bylabel = gpiod_chip_open_lookup("plumb-sim");
    check(bylabel != 0, "gpiod_chip_open_lookup(\"plumb-sim\") by label");
    if (bylabel) gpiod_chip_close(bylabel);

    struct gpiod_line *hook = gpiod_chip_get_line(chip, 0);
    check(hook && !strcmp(gpiod_line_name(hook) ? gpiod_line_name(hook) : "", "hook_latched"), "line 0 is hook_latched");
    sim_ctl("set hook_latched 1", reply, sizeof reply);
    int v = hook && gpiod_line_request_input_flags(hook, "hil-probe", 0) == 0 ? gpiod_line_get_value(hook) : -1;
    check(v == 1, "hook_latched reads the level the simulator set (%d)", v);
    sim_ctl("set hook_latched 0", reply, sizeof reply);
    v = hook ? gpiod_line_get_value(hook) : -1;
    check(v == 0, "and follows it (%d)", v);
    if (hook) gpiod_line_release(hook);

    struct gpiod_line *al = gpiod_chip_get_line(chip, 7);
    v = al && gpiod_line_request_input_flags(al, "hil-probe", plumb_gpiod_flag_active_low()) == 0 ? gpiod_line_get_value(al) : -1;
    check(v == 1, "an active-low input at physical 0 reads 1 (%d)", v);
    if (al) gpiod_line_release(al);

    struct gpiod_line *fire = gpiod_chip_get_line(chip, 5);
    r = fire ? gpiod_line_request_output_flags(fire, "hil-probe", 0, 0) : -1;
    check(r == 0 && sim_ctl("get cutter_fire", reply, sizeof reply) == 0 && !strcmp(reply, "ok 0 out hil-probe"),
          "cutter_fire requested as output at its safe level (%s)", reply);
    r = fire ? gpiod_line_set_value(fire, 1) : -1;
    check(r == 0 && sim_ctl("get cutter_fire", reply, sizeof reply) == 0 && !strcmp(reply, "ok 1 out hil-probe"),
          "gpiod_line_set_value reaches the simulator (%s)", reply);
    if (fire) gpiod_line_release(fire);

    struct gpiod_line *drum = request_events(chip, 1, 0);
    check(drum != 0, "both-edge events on drum_home");
    if (drum) {
        struct gpiod_line_event ev;
        struct timespec zero = { 0, 0 };
        check(gpiod_line_event_wait(drum, &zero) == 0, "no edge pending before the simulator moves");
        sim_ctl("set drum_home 1", reply, sizeof reply);
        r = wait_edge(drum, 2000000000, &ev);
        check(r == 0 && ev.event_type == plumb_gpiod_event_rising(), "rising edge arrives through ppoll + read (%d)", r);
        sim_ctl("set drum_home 0", reply, sizeof reply);
        r = wait_edge(drum, 2000000000, &ev);
        check(r == 0 && ev.event_type == GPIOD_LINE_EVENT_FALLING_EDGE, "falling edge follows (%d)", r);
        r = wait_edge(drum, 100000000, &ev);
        check(r == -ETIMEDOUT, "then nothing (%d)", r);
        v = gpiod_line_get_value(drum);
        check(v == 0, "an event line's value reads too (%d)", v);
        gpiod_line_release(drum);
    }
    check(sim_ctl("handles", reply, sizeof reply) == 0 && !strcmp(reply, "ok 0"), "all lines released (%s)", reply);
    gpiod_chip_close(chip);
    return 0;
}

static int clock_checks(void)
{
    char reply[128];
    uint64_t t0 = plumb_monotonic_ns();
    int r = plumb_sleep_ns(2500000000ull);
    uint64_t t1 = plumb_monotonic_ns();
    check(r == 0 && t1 - t0 == 2500000000ull, "nanosleep 2.5 s advances the monotonic clock by exactly 2.5 s (%llu ns)",
          (unsigned long long)(t1 - t0));

    int tfd = plumb_timerfd_create();
    check(tfd >= 0, "timerfd_create");
    if (tfd < 0) return 1;
    check(plumb_timerfd_arm(tfd, 10000000, 10000000) == 0, "arm a 10 ms periodic timer");
    uint64_t start = plumb_monotonic_ns(), ticks = 0;
    int loops = 0;
    while (ticks < 100 && loops++ < 1000) {
        struct pollfd p = { tfd, plumb_pollin(), 0 };
        if (plumb_ppoll(&p, 1, -1) < 1) break;
        uint64_t n = 0;
        if (plumb_read(tfd, &n, sizeof n) == (long)sizeof n) ticks += n;
    }
    uint64_t end = plumb_monotonic_ns();
    check(ticks == 100 && end - start == 1000000000ull, "100 ticks of 10 ms take exactly 1 s of simulation time (%llu ticks, %llu ns)",
          (unsigned long long)ticks, (unsigned long long)(end - start));
    uint64_t n = 0;
    long k = plumb_read(tfd, &n, sizeof n);
    check(k == -EAGAIN, "a non-blocking timerfd with no expiry gives EAGAIN (%ld)", k);
    struct pollfd p = { tfd, plumb_pollin(), 0 };
    r = plumb_ppoll(&p, 1, 35000000);
    k = plumb_read(tfd, &n, sizeof n);
    check(r == 1 && k == 8 && n == 1, "ppoll with a 35 ms timeout returns at the next 10 ms tick (r=%d n=%llu)", r, (unsigned long long)n);
    plumb_close(tfd);

    struct gpiod_chip *chip = gpiod_chip_open_lookup("gpiochip0");
    struct gpiod_line *pps = chip ? request_events(chip, 2, 1) : 0;
    check(pps != 0, "rising-edge events on gnss_pps");
    if (pps) {
        uint64_t prev = 0;
        int exact = 1, got = 0;
        for (int i = 0; i < 3; i++) {
            struct gpiod_line_event ev;
            if (wait_edge(pps, 5000000000ll, &ev) != 0) break;
            uint64_t ts = plumb_gpiod_event_ns(&ev);
            if (ts % 1000000000ull != 0 || (prev && ts - prev != 1000000000ull)) exact = 0;
            prev = ts;
            got++;
        }
        check(got == 3 && exact, "three PPS edges at whole seconds of simulation time, 1 s apart (%d)", got);
        uint64_t now = plumb_monotonic_ns();
        check(now == prev, "the clock stopped at the edge that woke the program (%llu vs %llu)",
              (unsigned long long)now, (unsigned long long)prev);
        gpiod_line_release(pps);
    }
    if (chip) gpiod_chip_close(chip);
    check(sim_ctl("time", reply, sizeof reply) == 0, "simulator time: %s", reply);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "devices") && strcmp(argv[1], "clock"))) {
        fprintf(stderr, "usage: hil_probe devices|clock\n");
        return 2;
    }
    if (!strcmp(argv[1], "devices")) devices();
    else clock_checks();
    return failures ? 1 : 0;
}
