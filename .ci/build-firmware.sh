#!/usr/bin/env bash
# Compiles every module linked into plumbd in Embedded Swift for aarch64, then links.
# SwiftPM's own link step for the bare-metal triple is expected to fail (it passes
# bare-metal linker flags); any other error is a real compile failure.
set -uo pipefail
scratch=$1 out=$2
log=$(mktemp)
EMBEDDED=1 swift build -c release --triple aarch64-none-none-elf \
  --toolset Board/aarch64-toolset.json --product plumbd --scratch-path "$scratch" >"$log" 2>&1
real_errors=$(grep -E 'error:' "$log" | grep -v -E 'link command failed|linker command failed|crt0\.o|unsupported ELF machine' || true)
if [ -n "$real_errors" ]; then
  cat "$log"
  echo "firmware: Embedded Swift compile failed" >&2
  rm -f "$log"
  exit 1
fi
grep -E '^\[[0-9]+/[0-9]+\] Compiling' "$log" | sed 's/^/  /'
rm -f "$log"
exec bash .ci/link-firmware.sh "$scratch" "$out"
