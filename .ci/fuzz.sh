#!/usr/bin/env bash
# Builds and runs the libFuzzer targets in Tests/Fuzz on the host.
#   fuzz.sh build DIR TARGET...
#   fuzz.sh run DIR SECONDS TARGET...
# Each target is compiled as one module from the sources it needs (our own module
# imports are dropped, since they become one module), with -sanitize=fuzzer,address.
set -euo pipefail
mode=$1 dir=$2; shift 2

sources_for() {
  case $1 in
    toml) echo Sources/PlumbCore ;;
    board) echo Sources/PlumbCore Sources/PlumbHAL ;;
    cobs) echo Sources/PlumbLink ;;
    ubx) echo Sources/PlumbCore Sources/PlumbHAL Sources/PlumbDevices ;;
    link) echo Sources/PlumbLink ;;
    *) echo "fuzz: unknown target $1" >&2; exit 1 ;;
  esac
}

if [ "$mode" = build ]; then
  for t in "$@"; do
    src="$dir/src-$t"
    rm -rf "$src"; mkdir -p "$src"
    for d in $(sources_for "$t"); do
      for f in "$d"/*.swift; do
        sed -E 's/^import (PlumbCore|PlumbHAL|PlumbLink|PlumbDevices)$//' "$f" > "$src/$(basename "$d")-$(basename "$f")"
      done
    done
    cp "Tests/Fuzz/$t.swift" "$src/fuzz-entry.swift"
    swiftc -sanitize=fuzzer,address -use-ld=lld -parse-as-library -O -module-name "Fuzz_$t" \
      -I Sources/CSodium/include "$src"/*.swift -lsodium -o "$dir/fuzz-$t"
    echo "fuzz: built $dir/fuzz-$t"
  done
  exit 0
fi

seconds=$1; shift
for t in "$@"; do
  corpus="$dir/corpus-$t"
  mkdir -p "$corpus"
  seeds="Tests/Fuzz/seeds/$t"
  [ -d "$seeds" ] || seeds=""
  limit="-max_total_time=$seconds"
  # The link's frame decoder must show a million clean executions: bounded by count,
  # with a time cap well above what it needs on this machine (about 15 s).
  [ "$t" = link ] && limit="-runs=1100000 -max_total_time=180"
  echo "fuzz: $t ($limit)"
  if ! "$dir/fuzz-$t" $limit -max_len=4096 -timeout=5 -rss_limit_mb=2048 \
        -print_final_stats=1 "$corpus" $seeds > "$dir/fuzz-$t.log" 2>&1; then
    tail -40 "$dir/fuzz-$t.log"
    echo "fuzz: $t FAILED (crash input saved by libFuzzer in the working directory)"
    exit 1
  fi
  grep -E 'stat::number_of_executed_units|cov:' "$dir/fuzz-$t.log" | tail -2
  if [ "$t" = link ]; then
    runs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$dir/fuzz-$t.log" | awk '{print $2}')
    if [ "${runs:-0}" -lt 1000000 ]; then
      echo "fuzz: link ran ${runs:-0} executions, fewer than the 1000000 required"; exit 1
    fi
  fi
done
