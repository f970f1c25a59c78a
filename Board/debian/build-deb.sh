#!/usr/bin/env bash
# Builds the arm64 Debian package of plumbd with dpkg's own tools, no debhelper:
#   bash Board/debian/build-deb.sh FIRMWARE OUT.deb
# FIRMWARE is the aarch64 plumbd (make firmware). The staging tree is
# build/deb/debian/plumbline; dpkg-shlibdeps computes the library dependencies from the
# arm64 libraries installed on this host (make deps), dpkg-gencontrol writes the control
# file from Board/debian/control and Board/debian/changelog, and dpkg-deb builds the
# package with every file owned by root.
set -euo pipefail
cd "$(dirname "$0")/../.."

firmware=$1 out=$2
src=Board/debian
work=build/deb
pkg=plumbline
stage=$work/debian/$pkg

[ -x "$firmware" ] || { echo "deb: $firmware not found or not executable (make firmware)" >&2; exit 1; }

# The package version is VERSION-REVISION: VERSION must be the daemon's own version
# string; REVISION counts packagings of it (Board/debian/changelog).
swift_version=$(sed -n 's/^let version = "\(.*\)"$/\1/p' Sources/plumbd/Daemon.swift)
deb_version=$(dpkg-parsechangelog -l "$src/changelog" -S Version)
if [ -z "$swift_version" ] || [ "${deb_version%-*}" != "$swift_version" ]; then
  echo "deb: Board/debian/changelog is at $deb_version but plumbd's version (Sources/plumbd/Daemon.swift) is '$swift_version':" >&2
  echo "deb: add a changelog entry for $swift_version-1 (dch -c Board/debian/changelog -v $swift_version-1)" >&2
  exit 1
fi
# Every file gets the time of the changelog entry, so the same sources give the same package.
SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l "$src/changelog" -S Timestamp)
export SOURCE_DATE_EPOCH

rm -rf "$work/debian"
install -d -m 0755 "$stage"

# The daemon: a system program, so /usr/sbin (the unit's ExecStart).
install -D -m 0755 "$firmware" "$stage/usr/sbin/plumbd"

# The unit: /lib/systemd/system, where bookworm's packages put theirs.
install -D -m 0644 Board/systemd/plumbd.service "$stage/lib/systemd/system/plumbd.service"

# The default config, a conffile: dpkg keeps the operator's edits on upgrade.
install -D -m 0644 Board/plumbd.toml "$stage/etc/plumbline/plumbd.toml"

# Board files: /usr/share/plumbline/boards is in plumbd's board search path
# (boardSearchPath in Sources/PlumbLinux/Setup.swift); local ones go in /etc/plumbline/boards.
boards=()
for b in Board/*.toml; do
  [ "$b" = Board/plumbd.toml ] || boards+=("$b")
done
[ ${#boards[@]} -gt 0 ] || { echo "deb: no board files in Board/" >&2; exit 1; }
install -d -m 0755 "$stage/usr/share/plumbline/boards"
install -m 0644 "${boards[@]}" "$stage/usr/share/plumbline/boards/"

# Manual page and documentation, compressed as policy asks.
install -d -m 0755 "$stage/usr/share/man/man8" "$stage/usr/share/doc/$pkg"
sed "s/@VERSION@/$swift_version/" "$src/plumbd.8" | gzip -9n > "$stage/usr/share/man/man8/plumbd.8.gz"
gzip -9n < "$src/changelog" > "$stage/usr/share/doc/$pkg/changelog.Debian.gz"
install -m 0644 "$src/copyright" "$stage/usr/share/doc/$pkg/copyright"
for d in config board-files mission-format; do
  gzip -9n < "docs/$d.md" > "$stage/usr/share/doc/$pkg/$d.md.gz"
done
chmod 0644 "$stage"/usr/share/man/man8/* "$stage/usr/share/doc/$pkg"/*

# Control area: maintainer scripts, conffiles, and the control file.
install -d -m 0755 "$stage/DEBIAN"
for s in postinst prerm postrm; do
  install -m 0755 "$src/$s" "$stage/DEBIAN/$s"
done
echo /etc/plumbline/plumbd.toml > "$stage/DEBIAN/conffiles"
chmod 0644 "$stage/DEBIAN/conffiles"
cp "$src/control" "$src/changelog" "$work/debian/"
(
  cd "$work"
  export DEB_HOST_ARCH=arm64
  dpkg-shlibdeps -T"debian/$pkg.substvars" "debian/$pkg/usr/sbin/plumbd"
  dpkg-gencontrol -p"$pkg" -P"debian/$pkg" -T"debian/$pkg.substvars" -f"debian/files"
)

# md5sums of the installed files, for dpkg --verify on the drone.
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) \
  > "$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums"

find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$(dirname "$out")"
rm -f "$out"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$out" >/dev/null
echo "deb: $out ($(dpkg-deb -f "$out" Version), $(( ($(stat -c %s "$out") + 1023) / 1024 )) KB)"
