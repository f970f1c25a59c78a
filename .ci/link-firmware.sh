#!/usr/bin/env bash
# SwiftPM compiles the Embedded Swift objects for aarch64-none-none-elf but cannot link
# them into a Linux program; this links them with the Debian cross toolchain against
# arm64 glibc (lld: GNU ld refuses the protected symbols). The C-callable entry point
# plumbd_c_main (Sources/plumbd/main.swift) becomes main.
set -euo pipefail
scratch=$1 out=$2
list="$scratch/aarch64-none-none-elf/release/plumbd.product/Objects.LinkFileList"
[ -f "$list" ] || { echo "link-firmware: $list not found (did the compile step run?)" >&2; exit 1; }
swiftbin=$(dirname "$(command -v swiftc)")
toolchain=$(dirname "$swiftbin")
unicode="$toolchain/lib/swift/embedded/aarch64-none-none-elf/libswiftUnicodeDataTables.a"
mkdir -p "$(dirname "$out")"
mapfile -t objects < <(grep -v '^$' "$list")
aarch64-linux-gnu-gcc -fuse-ld=lld -B"$swiftbin" "${objects[@]}" "$unicode" \
  -Wl,--defsym=main=plumbd_c_main -Wl,--gc-sections -Wl,--icf=all -Wl,-z,pack-relative-relocs -lgpiod -li2c -lsodium -lm -o "$out.unstripped"
aarch64-linux-gnu-strip -o "$out" "$out.unstripped"
size=$(stat -c %s "$out")
echo "firmware: $out $(( (size + 1023) / 1024 )) KB stripped (target < 512 KB)"
