#!/usr/bin/env bash
# Checks the Wireshark dissector (Board/wireshark/plumbline.lua) with tshark on captures
# written by Tests/link/make_capture.py: headers always; message fields with the key;
# the tag check (a tampered frame fails, a wrong key fails everything); Decode As on
# other ports; ChaCha20 and Poly1305 over every length class. Needs tshark (Debian
# package `tshark`) and python3 with `cryptography`. Exits non-zero on the first failure.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
lua="$root/Board/wireshark/plumbline.lua"
key=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f   # the spec vectors' key
tmp=$(mktemp -d "${TMPDIR:-/tmp}/plumbline-dissector.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail() { echo "test_dissector: FAIL: $*" >&2; exit 1; }

command -v tshark >/dev/null || fail "tshark is not installed (as root: echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections; DEBIAN_FRONTEND=noninteractive apt-get install -y tshark)"
python3 -c 'import cryptography' 2>/dev/null || fail "python3 cannot import cryptography (make deps installs it)"
echo "test_dissector: $(tshark -v 2>/dev/null | head -1)"
tshark -v 2>/dev/null | tr '\n' ' ' | grep -o 'with Lua [0-9.]*[0-9]' | sed 's/^/test_dissector: tshark built /'

# tshark, bounded; stdout to $tmp/$1.out; a Lua error anywhere fails the test.
run() {
  local name=$1; shift
  timeout 60 tshark -X "lua_script:$lua" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" \
    || fail "tshark ($name) exited with $?: $(grep -v 'Running as user' "$tmp/$name.err" | head -5)"
  if grep -qi 'lua' "$tmp/$name.err"; then fail "tshark ($name) reported a Lua error: $(head -5 "$tmp/$name.err")"; fi
  if grep -q 'Lua Error' "$tmp/$name.out"; then fail "the dissector failed ($name): $(grep -m1 'Lua Error' "$tmp/$name.out")"; fi
}
has() {  # has NAME TEXT...: every text appears in the output
  local name=$1; shift
  for text in "$@"; do grep -qF -- "$text" "$tmp/$name.out" || fail "$name: '$text' not in the output"; done
}
count() {  # count NAME TEXT EXPECTED
  local n
  n=$(grep -cF -- "$2" "$tmp/$1.out")
  [ "$n" -eq "$3" ] || fail "$1: '$2' appears $n time(s), expected $3"
}

timeout 60 python3 "$root/Tests/link/make_capture.py" "$tmp/link.pcap" >"$tmp/frames.txt" || fail "make_capture.py failed"
frames=$(grep -c '^[0-9]' "$tmp/frames.txt")
[ "$frames" -eq 17 ] || fail "make_capture.py wrote $frames frames, expected 17"

# 1. With the key: 15 frames authenticate and decode, the tampered one fails, the
#    version-0 one is flagged and not opened.
run keyed -o "plumbline.key:$key" -r "$tmp/link.pcap" -V
count keyed "Plumbline dispatch link" 17
count keyed "[Tag: verified]" 15
count keyed "Tag: FAILED" 1
count keyed "[Expert Info (Warning/Security): Not version 1" 1
has keyed "Version: 1" "Direction: drone to ground (0)" "Direction: ground to drone (1)" \
  "Drone ID: 4660 (0x1234)" "Key ID: 1" "Epoch: 7" "Counter: 42" "Epoch: 3" \
  "Message type: Telemetry (0x01)" "Latitude (deg x 1e7): 438765432 (43.8765432°)" \
  "Longitude (deg x 1e7): 1253245678 (125.3245678°)" "Height above home (dm): 1205 (120.5 m)" \
  "Velocity north (cm/s): -150" "Heading (cdeg): 27015 (270.15°)" "Battery (%): 64" \
  "Voltage (10 mV): 2231 (22.31 V)" "Temperature (°C): -18" "Mission state: 5" \
  "Rope paid out (mm): 12500" "Rope tension (0.1 N): 2453 (245.3 N)" "Health bits (set = unhealthy): 0x0001" \
  "= battery unhealthy: True" "= GNSS unhealthy: True" \
  "Command ID: 77" "Command: set parameter (7)" "Parameter ID: 12" "Value: 2.5" \
  "Command ID: 78" "Command: return (5)" "Result: accepted (0)" "Duplicate (answered from the stored result): 1" \
  "Event ID: 9" "Event: delivery confirmed (2)" "Parcel ID (a): 4711" "Event ID: 10" "a: 1286" "= From state: 5" "= To state: 6" \
  "Message type: Event ack (0x31)" "Message type: Heartbeat (0x02)" "Ground time (us): 1700000000123456" \
  "Drone receive time (us): 125010500" "Mission ID: 5" "Chunk count: 1" "Kind: station (3)" \
  "Rope drop to the roof (dm): 120 (12.0 m)" "Mission ack"

# 2. The fields can be filtered on.
run filter -o "plumbline.key:$key" -r "$tmp/link.pcap" -Y "plumbline.cmd.id == 77" -T fields -e plumbline.counter
got=$(tr '\n' ' ' <"$tmp/filter.out")
[ "$got" = "0 43 " ] || fail "filter: plumbline.cmd.id == 77 matched counters '$got', expected 0 (the command) and 43 (its ack)"
run filter2 -o "plumbline.key:$key" -r "$tmp/link.pcap" -Y "plumbline.event.id == 9 && plumbline.direction == 0" -T fields -e plumbline.event.parcel
[ "$(tr -d '\n' <"$tmp/filter2.out")" = "4711" ] || fail "filter2: the delivery event was not found by its id"

# 3. Without the key: every header still decodes, no payload does.
run keyless -r "$tmp/link.pcap" -V
count keyless "Drone ID: 4660 (0x1234)" 17
count keyless "[Expert Info (Note/Undecoded): Payload not decrypted: no key" 16
has keyless "Epoch: 7" "Counter: 42" "Key ID: 1" "Direction: ground to drone (1)" "Tag (Poly1305): b2646352fcf2120da0dbdfd9c3804aca"
grep -qF "43.8765432" "$tmp/keyless.out" && fail "keyless: a payload was decoded without the key"

# 4. A wrong key: every version-1 frame fails its tag; nothing is decoded.
run wrongkey -o "plumbline.key:$(printf '07%.0s' {1..32})" -r "$tmp/link.pcap" -V
count wrongkey "Tag: FAILED" 16
count wrongkey "[Tag: verified]" 0

# 5. Decode As on other ports.
timeout 60 python3 "$root/Tests/link/make_capture.py" "$tmp/other.pcap" --ports 40000 40001 >/dev/null || fail "make_capture.py --ports failed"
run other -o "plumbline.key:$key" -r "$tmp/other.pcap" -V
count other "Plumbline dispatch link" 0
run decodeas -o "plumbline.key:$key" -d "udp.port==40000,plumbline" -r "$tmp/other.pcap" -V
count decodeas "[Tag: verified]" 15

# 6. ChaCha20 and Poly1305 over payloads of 0...1172 bytes (block and pad boundaries).
timeout 60 python3 "$root/Tests/link/make_capture.py" "$tmp/random.pcap" --random 48 >/dev/null || fail "make_capture.py --random failed"
run random -o "plumbline.key:$key" -r "$tmp/random.pcap" -V
count random "[Tag: verified]" 48

echo "test_dissector: OK ($frames frames with and without the key, a wrong key, Decode As, 48 random lengths)"
