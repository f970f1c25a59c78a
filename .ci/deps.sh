#!/usr/bin/env bash
# Installs what the build, the tests and the firmware need, and only what is missing.
# Quick when everything is there. Works as root or through sudo.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: not root and no sudo" >&2; exit 1; }
  SUDO="sudo"
fi

command -v swift >/dev/null || {
  echo "deps: Swift 6.3 is not on PATH; install the Swift toolchain for Debian 12 first" >&2
  exit 1
}

packages=(
  gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user file python3-pip
  gpiod i2c-tools tshark systemd stress-ng
  dpkg-dev lintian shellcheck
  libgpiod-dev libi2c-dev libsodium-dev
  libgpiod-dev:arm64 libi2c-dev:arm64 libsodium-dev:arm64
  ${EXTRA_DEBS:-}
)

# tshark asks whether non-root users may capture; answer before apt does.
if command -v debconf-set-selections >/dev/null; then
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
fi

added_arch=0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $SUDO dpkg --add-architecture arm64
  added_arch=1
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ] || [ $added_arch -eq 1 ]; then
  echo "deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  if [ ${#missing[@]} -gt 0 ]; then
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

# pyubx2: an independent UBX implementation that the GNSS parser tests check against.
# cryptography: an independent ChaCha20-Poly1305 that checks the dispatch link's vectors.
if ! python3 -c "import cryptography" 2>/dev/null; then
  echo "deps: installing cryptography (PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore cryptography \
    || python3 -m pip install --quiet --break-system-packages cryptography
fi

if ! python3 -c "import pyubx2" 2>/dev/null; then
  echo "deps: installing pyubx2 (PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore pyubx2 \
    || python3 -m pip install --quiet --break-system-packages pyubx2
fi
# pymavlink: an independent MAVLink implementation that the autopilot link's frames are
# checked against, both ways.
if ! python3 -c "import pymavlink" 2>/dev/null; then
  echo "deps: installing pymavlink (PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore pymavlink \
    || python3 -m pip install --quiet --break-system-packages pymavlink
fi
