#!/usr/bin/env bash
# Builds plumbfake (host and, when the cross compiler is there, aarch64), starts fake_sim.py and
# checks the faked /dev with the real libgpiod and i2c-tools programs under LD_PRELOAD, then the
# daemon's own call paths (hil_probe, built on the CLinux shim), then the virtual clock, then the
# aarch64 build under qemu-aarch64.
#
#   HIL/preload/test.sh            build into a temporary directory, removed afterwards
#   BUILD_DIR=dir HIL/preload/test.sh   keep the built libraries in dir
#
# Prints PASS/FAIL/SKIP per check; exits 1 if any check failed.

set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SHIM="$HERE/../../Sources/CLinux/include"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/plumbfake-test.XXXXXX")" || { echo "cannot create a temp dir" >&2; exit 1; }
OUT="${BUILD_DIR:-$TMP/build}"
mkdir -p "$OUT"
SIM_PIDS=()
FAILED=0
PASSED=0
SKIPPED=0
T=10            # seconds any one command may take

cleanup() {
    local pid i
    for pid in "${SIM_PIDS[@]}"; do
        kill "$pid" 2>/dev/null
        for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        kill -9 "$pid" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { PASSED=$((PASSED + 1)); printf 'PASS  %s\n' "$1"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL  %s\n' "$1"; [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/      | /'; }
skip() { SKIPPED=$((SKIPPED + 1)); printf 'SKIP  %s\n' "$1"; }
# check NAME COMMAND...: PASS when the command succeeds.
check() { local name="$1"; shift; if "$@"; then pass "$name"; else fail "$name" "${DETAIL:-}"; fi; DETAIL=""; }
DETAIL=""

# ---- build ------------------------------------------------------------------------------------

CFLAGS=(-O2 -Wall -Wextra -Werror)
if gcc -shared -fPIC "${CFLAGS[@]}" -o "$OUT/plumbfake.so" "$HERE/plumbfake.c" -ldl 2>"$TMP/cc.log"; then
    pass "build plumbfake.so (host)"
else
    fail "build plumbfake.so (host)" "$(cat "$TMP/cc.log")"
    exit 1
fi
LIB="$OUT/plumbfake.so"
if gcc "${CFLAGS[@]}" -I"$SHIM" -o "$OUT/hil_probe" "$HERE/hil_probe.c" -lgpiod -li2c 2>"$TMP/cc.log"; then
    pass "build hil_probe (host, CLinux shim + libgpiod + libi2c)"
else
    fail "build hil_probe (host)" "$(cat "$TMP/cc.log")"
fi

ARM_LIB=""
ARM_PROBE=""
if command -v aarch64-linux-gnu-gcc >/dev/null; then
    if aarch64-linux-gnu-gcc -shared -fPIC "${CFLAGS[@]}" -o "$OUT/plumbfake-aarch64.so" "$HERE/plumbfake.c" -ldl 2>"$TMP/cc.log"; then
        pass "build plumbfake-aarch64.so (aarch64-linux-gnu-gcc)"
        ARM_LIB="$OUT/plumbfake-aarch64.so"
    else
        fail "build plumbfake-aarch64.so" "$(cat "$TMP/cc.log")"
    fi
    if [ -e /usr/lib/aarch64-linux-gnu/libgpiod.so ] && [ -e /usr/lib/aarch64-linux-gnu/libi2c.so ]; then
        if aarch64-linux-gnu-gcc "${CFLAGS[@]}" -I"$SHIM" -idirafter /usr/include -o "$OUT/hil_probe-aarch64" \
            "$HERE/hil_probe.c" -L/usr/lib/aarch64-linux-gnu -Wl,-rpath-link,/usr/lib/aarch64-linux-gnu \
            -lgpiod -li2c 2>"$TMP/cc.log"; then
            pass "build hil_probe-aarch64"
            ARM_PROBE="$OUT/hil_probe-aarch64"
        else
            fail "build hil_probe-aarch64" "$(cat "$TMP/cc.log")"
        fi
    else
        skip "build hil_probe-aarch64 (libgpiod-dev:arm64 / libi2c-dev:arm64 not installed)"
    fi
else
    skip "aarch64 build (aarch64-linux-gnu-gcc not installed)"
fi

# ---- simulator helpers ------------------------------------------------------------------------------

# start_sim SOCKET [--virtual-clock]: starts fake_sim.py and waits (bounded) for its sockets.
start_sim() {
    local sock="$1"; shift
    python3 "$HERE/fake_sim.py" serve --socket "$sock" "$@" >"$sock.log" 2>&1 &
    SIM_PIDS+=($!)
    local i
    for i in $(seq 100); do
        [ -S "$sock" ] && [ -S "$sock.ctl" ] && return 0
        kill -0 "${SIM_PIDS[-1]}" 2>/dev/null || break
        sleep 0.05
    done
    echo "fake_sim.py did not come up on $sock:" >&2
    cat "$sock.log" >&2
    return 1
}

ctl() { timeout 5 python3 "$HERE/fake_sim.py" ctl --socket "$SOCK" "$@"; }
# run COMMAND...: the command under the preload library, against $SOCK, bounded by $T seconds.
run() { timeout "$T" env PLUMB_HIL_SOCKET="$SOCK" LD_PRELOAD="$LIB" "$@"; }

# wait_handles N: until the simulator has N GPIO lines requested (bounded).
wait_handles() {
    local i
    for i in $(seq 100); do
        [ "$(ctl handles 2>/dev/null)" = "ok $1" ] && return 0
        sleep 0.05
    done
    return 1
}

# ---- real tools against the simulator ---------------------------------------------------------------

SOCK="$TMP/sim.sock"
if ! start_sim "$SOCK"; then fail "start fake_sim.py"; exit 1; fi
pass "start fake_sim.py"

out="$(run gpiodetect 2>&1)"
DETAIL="$out"; check "gpiodetect lists the simulated chip" grep -qx 'gpiochip0 \[plumb-sim\] (8 lines)' <<<"$out"

out="$(run gpioinfo gpiochip0 2>&1)"
names_ok() {
    local i=0 n
    grep -q '^gpiochip0 - 8 lines:' <<<"$out" || return 1
    for n in hook_latched drum_home gnss_pps brake cutter_arm cutter_fire status_led spare; do
        grep -Eq "line +$i: +\"$n\" +unused +input +active-high" <<<"$out" || return 1
        i=$((i + 1))
    done
}
DETAIL="$out"; check "gpioinfo gpiochip0 shows the 8 named lines" names_ok

ctl set hook_latched 1 >/dev/null
out1="$(run gpioget gpiochip0 0 2>&1)"
ctl set hook_latched 0 >/dev/null
out0="$(run gpioget gpiochip0 0 2>&1)"
DETAIL="after set 1: $out1; after set 0: $out0"
check "gpioget gpiochip0 0 reads the level the simulator set" test "$out1/$out0" = "1/0"

run gpioset gpiochip0 4=1 >"$TMP/o" 2>&1
s1="$(ctl get cutter_arm)"
run gpioset gpiochip0 4=0 >>"$TMP/o" 2>&1
s0="$(ctl get cutter_arm)"
DETAIL="$(cat "$TMP/o")simulator saw: '$s1' then '$s0'"
check "gpioset on an output line is seen by the simulator" test "$s1/$s0" = "ok 1 out -/ok 0 out -"

out="$(run gpioinfo gpiochip0 2>&1)"
DETAIL="$out"; check "gpioinfo shows cutter_arm as an output afterwards" grep -Eq 'line +4: +"cutter_arm" +unused +output' <<<"$out"

# Edges: gpiomon waits in poll() on the event fd and reads gpioevent_data records.
run gpiomon -n 2 -F '%e %o' gpiochip0 1 >"$TMP/mon" 2>&1 &
mon=$!
if wait_handles 1; then
    ctl set drum_home 1 >/dev/null
    ctl set drum_home 0 >/dev/null
fi
wait "$mon"; rc=$?
DETAIL="exit $rc: $(cat "$TMP/mon")"
check "gpiomon sees a rising then a falling edge made by the simulator" test "$rc:$(tr '\n' ' ' <"$TMP/mon")" = "0:1 1 0 1 "

out="$(run i2cget -y 1 0x36 0x0c 2>&1)"
DETAIL="$out"; check "i2cget -y 1 0x36 0x0c returns the simulated register (0x0a)" test "$out" = "0x0a"

out="$(run i2cget -y 1 0x0b 0x09 w 2>&1)"
DETAIL="$out"; check "i2cget -y 1 0x0b 0x09 w returns the battery voltage word (0x6270)" test "$out" = "0x6270"

ctl reg 0x36 0x0c 0x5b >/dev/null
out="$(run i2cget -y 1 0x36 0x0c 2>&1)"
ctl reg 0x36 0x0c 0x0a >/dev/null
DETAIL="$out"; check "a register changed in the simulator reads back (0x5b)" test "$out" = "0x5b"

detect_ok() {
    grep -Eq '^00: .* 0b( |$)' <<<"$out" && grep -Eq '^30: (-- ){6}36 ' <<<"$out" \
        && [ "$(grep -Eo ' [0-9a-f]{2}' <<<"$(sed 1d <<<"$out" | cut -c4-)" | wc -l)" -eq 2 ]
}
out="$(run i2cdetect -y 1 2>&1)"
DETAIL="$out"; check "i2cdetect -y 1 finds exactly 0x0b and 0x36 (quick write / read byte)" detect_ok
out="$(run i2cdetect -y -r 1 2>&1)"
DETAIL="$out"; check "i2cdetect -y -r 1 finds exactly 0x0b and 0x36 (read byte)" detect_ok

ctl nack 0x36 1 >/dev/null
out="$(run i2cget -y 1 0x36 0x0c 2>&1)"; rc=$?
ctl nack 0x36 0 >/dev/null
DETAIL="exit $rc: $out"
check "an injected NACK makes i2cget fail cleanly" eval '[ "$rc" -ge 1 ] && [ "$rc" -lt 124 ] && [ "$out" = "Error: Read failed" ]'

if [ -x "$OUT/hil_probe" ]; then
    out="$(run "$OUT/hil_probe" devices 2>&1)"; rc=$?
    DETAIL="$out"; check "plumbd's call paths (hil_probe devices: $(grep -c '^ok' <<<"$out") checks)" test "$rc" = 0
fi

out="$(timeout "$T" env PLUMB_HIL_SOCKET="$TMP/absent.sock" LD_PRELOAD="$LIB" gpioinfo gpiochip0 2>&1)"; rc=$?
DETAIL="exit $rc: $out"
check "an unreachable simulator: clear message and an errno, no crash" \
    eval '[ "$rc" -ge 1 ] && [ "$rc" -lt 124 ] && grep -q "cannot reach the simulator at" <<<"$out" && grep -q "Connection refused" <<<"$out"'

out="$(timeout "$T" env PLUMB_HIL_SOCKET="$TMP/absent.sock" LD_PRELOAD="$LIB" i2cget -y 1 0x36 0x0c 2>&1)"; rc=$?
DETAIL="exit $rc: $out"
check "an unreachable simulator: i2cget cannot open /dev/i2c-1 (ECONNREFUSED)" \
    eval '[ "$rc" -ge 1 ] && [ "$rc" -lt 124 ] && grep -q "Connection refused" <<<"$out"'

plain="$(timeout "$T" gpiodetect 2>&1; echo "exit $?")"
out="$(timeout "$T" env -u PLUMB_HIL_SOCKET LD_PRELOAD="$LIB" gpiodetect 2>&1; echo "exit $?")"
DETAIL="without the library: $plain; with it: $out"
check "PLUMB_HIL_SOCKET unset: the library stays out of the way" test "$out" = "$plain"

# ---- virtual clock --------------------------------------------------------------------------------------

VSOCK="$TMP/vsim.sock"
if start_sim "$VSOCK" --virtual-clock; then
    SOCK="$VSOCK"
    t0=$(date +%s%N)
    run sleep 30; rc=$?
    t1=$(date +%s%N)
    simt="$(ctl time)"
    wall_ms=$(( (t1 - t0) / 1000000 ))
    DETAIL="exit $rc, wall ${wall_ms} ms, simulator: $simt"
    check "sleep 30 returns at once and moves simulation time by 30 s" \
        eval '[ "$rc" = 0 ] && [ "$wall_ms" -lt 3000 ] && [ "${simt#ok }" -ge 31000000000 ]'

    out="$(run gpiomon -n 3 -r -F '%e %s.%n' gpiochip0 2 2>&1)"; rc=$?
    DETAIL="exit $rc: $out"
    check "gpiomon sees gnss_pps rise at whole seconds of simulation time" \
        eval '[ "$rc" = 0 ] && [ "$(grep -Ec "^1 [0-9]+\.0$" <<<"$out")" = 3 ]'

    if [ -x "$OUT/hil_probe" ]; then
        t0=$(date +%s%N)
        out="$(run "$OUT/hil_probe" clock 2>&1)"; rc=$?
        t1=$(date +%s%N)
        DETAIL="$out"
        check "lockstep timerfd/ppoll/nanosleep (hil_probe clock: $(grep -c '^ok' <<<"$out") checks, $(( (t1 - t0) / 1000000 )) ms wall)" test "$rc" = 0
    fi
else
    fail "start fake_sim.py --virtual-clock"
fi

# ---- aarch64 under qemu ----------------------------------------------------------------------------------

if [ -n "$ARM_LIB" ] && [ -n "$ARM_PROBE" ] && command -v qemu-aarch64 >/dev/null; then
    qemu_run() {
        timeout 30 qemu-aarch64 -L /usr/aarch64-linux-gnu -E PLUMB_HIL_SOCKET="$1" -E LD_PRELOAD="$ARM_LIB" "$ARM_PROBE" "$2"
    }
    SOCK="$TMP/sim.sock"
    out="$(qemu_run "$SOCK" devices 2>&1)"; rc=$?
    DETAIL="$out"; check "qemu-aarch64 -E LD_PRELOAD=plumbfake-aarch64.so: hil_probe devices" test "$rc" = 0
    out="$(qemu_run "$VSOCK" clock 2>&1)"; rc=$?
    DETAIL="$out"; check "qemu-aarch64 -E LD_PRELOAD=plumbfake-aarch64.so: hil_probe clock" test "$rc" = 0
else
    skip "aarch64 under qemu (needs aarch64-linux-gnu-gcc, arm64 libgpiod/libi2c and qemu-aarch64)"
fi

echo
echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
[ -n "${BUILD_DIR:-}" ] && echo "libraries in $OUT"
[ "$FAILED" = 0 ]
