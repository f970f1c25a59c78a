#!/usr/bin/env bash
# make deb-check: the Debian package from make deb, checked without a drone.
#   bash Tests/deb/test_deb.sh DEB [FIRMWARE]
#
# 1. Its control data, file list, modes and conffiles, and that Depends covers every
#    library plumbd needs (each NEEDED entry's arm64 package).
# 2. lintian: no errors, no warnings but those in Board/debian/lintian-accepted.
# 3. dpkg --root into an empty root with its own dpkg database, the maintainer scripts
#    run chrootless with DPKG_ROOT (so useradd/groupadd work on that root's files and the
#    host is left alone): the installed files equal their sources, the plumbline user
#    and its groups, the service not enabled.
# 4. The installed plumbd under qemu-aarch64: --version; and with qemu's -L set to the
#    root, so that absolute paths resolve inside it, --check-config exactly as the unit
#    starts it (default config, board found by name in the installed boards directory).
# 5. make flash: no HOST fails at once; DRY_RUN=1 prints the steps and contacts nothing;
#    flash-remote.sh's config edit on copies; its install step run for real against the
#    root (dpkg and systemctl are stand-ins that act on the root and record calls).
# 6. Removal (stops nothing here, but disables an enabled unit) and purge.
# 7. shellcheck on every script of the package and on this one.
#
# Not covered (no drone, no booted arm64 system here): systemd actually starting the
# unit as the plumbline user with its sandbox, the device permissions of the gpio, i2c
# and dialout groups, getent/NSS lookups on a real system, sudo and ssh to a drone.
#
# `A && B || fail ...` is meant: fail unless both hold.
# shellcheck disable=SC2015
set -euo pipefail
cd "$(dirname "$0")/../.."

deb=${1:?usage: test_deb.sh DEB [FIRMWARE]}
firmware=${2:-build/aarch64/plumbd}
started=$(date +%s%N)
checks=0

fail() { echo "deb-check: FAIL: $*" >&2; exit 1; }
ok() { checks=$((checks + 1)); echo "deb-check: ok: $*"; }

[ "$(id -u)" = 0 ] || fail "needs root (dpkg --root, and useradd on the test root's files), as make deps does"
for tool in dpkg-deb lintian shellcheck qemu-aarch64 aarch64-linux-gnu-readelf; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (make deps)"
done
[ -f "$deb" ] || fail "$deb not found (make deb)"

version=$(sed -n 's/^let version = "\(.*\)"$/\1/p' Sources/plumbd/Daemon.swift)
[ -n "$version" ] || fail "no version string in Sources/plumbd/Daemon.swift"
work=build/deb/check
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")
boards=()
for b in Board/*.toml; do [ "$b" = Board/plumbd.toml ] || boards+=("$(basename "$b" .toml)"); done

# --- 1. control data and contents ---------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = plumbline ] || fail "Package is '$(field Package)'"
[ "$(field Architecture)" = arm64 ] || fail "Architecture is '$(field Architecture)'"
deb_version=$(field Version)
[[ $deb_version == "$version"-* ]] || fail "Version $deb_version is not plumbd's $version with a Debian revision"
ok "control: plumbline $deb_version arm64 (plumbd $version)"

depends=$(field Depends)
needed=$(aarch64-linux-gnu-readelf -d "$firmware" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ -n "$needed" ] || fail "no NEEDED libraries in $firmware"
for soname in $needed; do
  owner=$(dpkg -S "aarch64-linux-gnu/$soname" 2>/dev/null | sed -n 's/^\([^:,]*\):arm64: .*/\1/p' | sort -u | head -n 1)
  [ -n "$owner" ] || fail "no arm64 package ships $soname on this host"
  [[ ", $depends," == *", $owner "* || ", $depends," == *", $owner,"* ]] \
    || fail "Depends ($depends) lacks $owner, which ships $soname"
done
[[ ", $depends," == *", passwd,"* ]] || fail "Depends lacks passwd (useradd in postinst)"
ok "Depends covers every NEEDED library ($(echo "$needed" | tr '\n' ' '| sed 's/ $//')) and passwd"

expected=(
  etc/plumbline/plumbd.toml
  lib/systemd/system/plumbd.service
  usr/sbin/plumbd
  usr/share/doc/plumbline/board-files.md.gz
  usr/share/doc/plumbline/changelog.Debian.gz
  usr/share/doc/plumbline/config.md.gz
  usr/share/doc/plumbline/copyright
  usr/share/doc/plumbline/mission-format.md.gz
  usr/share/man/man8/plumbd.8.gz
)
for b in "${boards[@]}"; do expected+=("usr/share/plumbline/boards/$b.toml"); done
dpkg-deb -c "$deb" > "$work/contents"
grep -v '^d' "$work/contents" | awk '{print $6}' | sed 's|^\./||' | LC_ALL=C sort > "$work/files"
printf '%s\n' "${expected[@]}" | LC_ALL=C sort > "$work/files.expected"
diff -u "$work/files.expected" "$work/files" || fail "the package's files differ from the expected list (above)"
awk '$2 != "root/root" {print; bad=1} END {exit bad}' "$work/contents" || fail "files not owned by root (above)"
grep -q '^-rwxr-xr-x .* \./usr/sbin/plumbd$' "$work/contents" || fail "usr/sbin/plumbd is not mode 755"
if grep -v '^d' "$work/contents" | grep -v ' \./usr/sbin/plumbd$' | grep -v '^-rw-r--r-- '; then
  fail "data files not mode 644 (above)"
fi
mkdir -p "$work/control"
dpkg-deb -e "$deb" "$work/control"
[ "$(cat "$work/control/conffiles")" = /etc/plumbline/plumbd.toml ] \
  || fail "conffiles is '$(cat "$work/control/conffiles")', not /etc/plumbline/plumbd.toml"
for s in postinst prerm postrm; do [ -x "$work/control/$s" ] || fail "no executable $s"; done
ok "contents: ${#expected[@]} files (${#boards[@]} boards), modes, owner root, conffile /etc/plumbline/plumbd.toml"

# --- 2. lintian -------------------------------------------------------------------------
status=0
lintian --fail-on error "$deb" > "$work/lintian" 2>&1 || status=$?
grep -v 'running with root privileges is not recommended' "$work/lintian" | sed 's/^/  lintian: /' || true
grep -q '^E: ' "$work/lintian" && fail "lintian reports errors"
[ $status = 0 ] || fail "lintian exited $status"
accepted=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' Board/debian/lintian-accepted)
while read -r tag; do
  [ -n "$tag" ] || continue
  grep -qxF "$tag" <<< "$accepted" || fail "lintian warning '$tag' is not in Board/debian/lintian-accepted"
done < <(sed -n 's/^W: [^ ]*: \([^ ]*\).*/\1/p' "$work/lintian")
ok "lintian: no errors, warnings only from Board/debian/lintian-accepted"

# --- 3. install into an empty root ------------------------------------------------------
root=$work/root
mkdir -p "$root/etc" "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status"
# A base system's accounts: root, and dialout (gid 20 in Debian); no gpio, no i2c.
printf 'root:x:0:0:root:/root:/bin/bash\n' > "$root/etc/passwd"
printf 'root:*:19000:0:99999:7:::\n' > "$root/etc/shadow"
printf 'root:x:0:\ndialout:x:20:\nvideo:x:44:\n' > "$root/etc/group"
printf 'root:*::\ndialout:*::\nvideo:*::\n' > "$root/etc/gshadow"
chmod 600 "$root/etc/shadow" "$root/etc/gshadow"
host_accounts=$(cat /etc/passwd /etc/group | md5sum)

dpkg_root() { dpkg --root="$root" --force-script-chrootless "$@"; }
dpkg --root="$root" --add-architecture arm64
# The libraries it depends on are not in this root: --force-depends.
dpkg_root --force-depends -i "$deb" > "$work/install.log" 2>&1 || { cat "$work/install.log"; fail "dpkg -i into $root failed"; }
dpkg --root="$root" -s plumbline | grep -qx 'Status: install ok installed' || fail "not 'install ok installed'"
ok "dpkg --root: installed, maintainer scripts run with DPKG_ROOT"

cmp "$firmware" "$root/usr/sbin/plumbd" || fail "installed plumbd differs from $firmware"
cmp Board/systemd/plumbd.service "$root/lib/systemd/system/plumbd.service" || fail "installed unit differs"
cmp Board/plumbd.toml "$root/etc/plumbline/plumbd.toml" || fail "installed config differs"
for b in "${boards[@]}"; do
  cmp "Board/$b.toml" "$root/usr/share/plumbline/boards/$b.toml" || fail "installed board $b differs"
done
zcat "$root/usr/share/doc/plumbline/changelog.Debian.gz" | cmp - Board/debian/changelog || fail "changelog.Debian.gz differs"
zcat "$root/usr/share/man/man8/plumbd.8.gz" | grep -q "^\.TH PLUMBD 8 .*\"plumbline $version\"" || fail "man page lacks the version"
exec_start=$(sed -n 's/^ExecStart=//p' "$root/lib/systemd/system/plumbd.service")
read -r exec_path exec_args <<< "$exec_start"
[ -x "$root$exec_path" ] || fail "the unit's ExecStart $exec_path is not installed"
[ "$exec_args" = "--config /etc/plumbline/plumbd.toml" ] || fail "the unit's ExecStart arguments are '$exec_args'"
ok "installed files equal their sources; the unit's ExecStart ($exec_path) is the installed daemon"

entry=$(grep '^plumbline:' "$root/etc/passwd") || fail "no plumbline user in the root's /etc/passwd"
IFS=: read -r _ _ uid gid _ home shell <<< "$entry"
[ "$uid" -lt 1000 ] || fail "plumbline uid $uid is not a system uid"
[ "$home" = /var/lib/plumbline ] && [ "$shell" = /usr/sbin/nologin ] || fail "plumbline: home $home, shell $shell"
[ "$(awk -F: '$1 == "plumbline" {print $3}' "$root/etc/group")" = "$gid" ] || fail "plumbline's primary group is not plumbline"
groups_of() { awk -F: -v u=plumbline '{n = split($4, m, ","); for (i = 1; i <= n; i++) if (m[i] == u) print $1}' "$root/etc/group" | sort | tr '\n' ' '; }
[ "$(groups_of)" = "dialout gpio i2c " ] || fail "plumbline's other groups are '$(groups_of)', not 'dialout gpio i2c'"
[ "$(awk -F: '$1 == "dialout" {print $3}' "$root/etc/group")" = 20 ] || fail "dialout's gid changed"
for g in gpio i2c; do
  g_id=$(awk -F: -v g=$g '$1 == g {print $3}' "$root/etc/group")
  [ -n "$g_id" ] && [ "$g_id" -lt 1000 ] || fail "group $g missing or not a system group ($g_id)"
done
awk -F: '$1 == "plumbline" && $2 ~ /^[!*]/ {found=1} END {exit !found}' "$root/etc/shadow" || fail "plumbline's password is not locked"
[ ! -e "$root/etc/systemd" ] || fail "installing enabled something: $(find "$root/etc/systemd")"
[ "$(cat /etc/passwd /etc/group | md5sum)" = "$host_accounts" ] || fail "the host's /etc/passwd or /etc/group changed"
ok "user plumbline (uid $uid, nologin, locked) in dialout gpio i2c only; gpio, i2c created; service not enabled; host untouched"

# --- 4. the installed daemon under qemu --------------------------------------------------
out=$(qemu-aarch64 -L /usr/aarch64-linux-gnu "$root/usr/sbin/plumbd" --version)
[ "$out" = "plumbd $version" ] || fail "installed plumbd --version printed '$out'"
ok "qemu-aarch64 -L /usr/aarch64-linux-gnu <root>/usr/sbin/plumbd --version: $out"

# With -L <root>, qemu looks every absolute path up inside the root first, so the daemon
# sees the installed /etc/plumbline and /usr/share/plumbline. The host must have neither,
# or a lookup could fall through to it; run from / so ./Board is not found either.
for p in /etc/plumbline /usr/share/plumbline /Board; do
  [ ! -e "$p" ] || fail "$p exists on this host: the installed-paths check cannot tell it from the root's"
done
in_root() { (cd / && qemu-aarch64 -L "$root" "$root/usr/sbin/plumbd" "$@"); }
status=0
out=$(in_root --check-config 2>&1) || status=$?
[ $status = 0 ] || fail "plumbd --check-config with the installed defaults exited $status: $out"
grep -qx '/etc/plumbline/plumbd.toml: ok' <<< "$out" || fail "the default config was not read: $out"
grep -q "^/usr/share/plumbline/boards/rpi4.toml: ok (board 'rpi4'" <<< "$out" || fail "board rpi4 not found in /usr/share/plumbline/boards: $out"
for b in "${boards[@]}"; do
  out=$(in_root --board "$b" --check-config 2>&1) || fail "--board $b --check-config: $out"
  grep -q "^/usr/share/plumbline/boards/$b.toml: ok" <<< "$out" || fail "board $b not found by name: $out"
done
mkdir -p "$root/etc/plumbline/boards"
cp Board/rpi5.toml "$root/etc/plumbline/boards/rpi4.toml"
out=$(in_root --check-config 2>&1) || fail "--check-config with a local board: $out"
grep -q "^/etc/plumbline/boards/rpi4.toml: ok (board 'rpi5'" <<< "$out" || fail "a board in /etc/plumbline/boards does not take precedence: $out"
rm -r "$root/etc/plumbline/boards"
ok "installed plumbd --check-config as the unit runs it: default config, every board by name, /etc/plumbline/boards first"

# --- 5. make flash ------------------------------------------------------------------------
# make as a user would call it, not with this make's own command-line variables.
user_make() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u HOST -u BOARD -u DRY_RUN make --no-print-directory "$@"; }
# ssh and scp that record being called: the dry run must call neither.
stubs=$work/stubs
mkdir -p "$stubs"
for t in ssh scp; do
  printf '#!/bin/sh\necho "%s $*" >> "%s/calls"\nexit 1\n' "$t" "$stubs" > "$stubs/$t"
  chmod +x "$stubs/$t"
done
status=0
out=$(PATH="$stubs:$PATH" user_make flash 2>&1) || status=$?
[ $status != 0 ] && grep -q 'HOST is missing' <<< "$out" || fail "make flash without HOST: status $status, '$out'"
status=0
out=$(PATH="$stubs:$PATH" user_make -o deb flash HOST=pilot@drone.invalid BOARD=rpi5 DRY_RUN=1 2>&1) || status=$?
[ $status = 0 ] || fail "make flash DRY_RUN=1 exited $status: $out"
printf '  %s\n' "${out//$'\n'/$'\n'  }"
name=$(basename "$deb")
for want in \
    "+ scp -q ${deb#"$PWD"/} Board/debian/flash-remote.sh pilot@drone.invalid:DIR/" \
    "+ ssh pilot@drone.invalid sh DIR/flash-remote.sh install DIR/$name rpi5" \
    "  + sudo dpkg -i --force-confdef --force-confold DIR/$name" \
    "  + sudo /usr/sbin/plumbd --config <copy of /etc/plumbline/plumbd.toml with board = \"rpi5\"> --check-config" \
    "  + set board = \"rpi5\" in /etc/plumbline/plumbd.toml (every other line kept)" \
    "  + sudo /usr/sbin/plumbd --config /etc/plumbline/plumbd.toml --check-config" \
    "  + sudo systemctl restart plumbd.service" \
    "  + systemctl --no-pager --full status plumbd.service"; do
  grep -qxF -- "$want" <<< "$out" || fail "make flash DRY_RUN=1 does not print '$want'"
done
[ ! -e "$stubs/calls" ] || fail "the dry run called: $(cat "$stubs/calls")"
status=0
out=$(PATH="$stubs:$PATH" user_make -o deb flash HOST=pilot@drone.invalid 'BOARD=rpi4";x' DRY_RUN=1 2>&1) || status=$?
[ $status != 0 ] && grep -q 'is not a board name' <<< "$out" || fail "a bad BOARD was not refused: $out"
[ ! -e "$stubs/calls" ] || fail "make flash called: $(cat "$stubs/calls")"
ok "make flash: no HOST refused, a bad BOARD refused, DRY_RUN=1 prints every step and contacts nothing"

remote() { SUDO='' sh Board/debian/flash-remote.sh "$@"; }
# The operator's edits: another rate, a comment of their own, a stricter mode.
conf=$work/plumbd.toml
sed -E 's/^rate_hz = [0-9]+/rate_hz = 50/' Board/plumbd.toml > "$conf"
grep -q '^rate_hz = 50 ' "$conf" || fail "could not make the operator's edit (no top-level rate_hz line in Board/plumbd.toml?)"
echo "# tuned for the winter fleet" >> "$conf"
chmod 640 "$conf"
cp "$conf" "$conf.before"
remote set-board rpi5 "$conf" > /dev/null
[ "$(stat -c %a "$conf")" = 640 ] || fail "set-board changed the file's mode"
diff "$conf.before" "$conf" > "$work/board.diff" || true
want_line=$(sed -n 's/^board = "rpi4"/board = "rpi5"/p' Board/plumbd.toml)
[ "$(grep -c '^[<>]' "$work/board.diff")" = 2 ] && grep -qxF "> $want_line" "$work/board.diff" \
  || fail "set-board changed more than the board line, or lost its comment: $(cat "$work/board.diff")"
out=$(in_root --config "$conf" --check-config 2>&1) || fail "the edited config does not check: $out"
grep -q "^/usr/share/plumbline/boards/rpi5.toml: ok (board 'rpi5'" <<< "$out" || fail "edited config: $out"
grep -v '^board' "$conf.before" > "$conf"
remote set-board jetson-orin-nano "$conf" > /dev/null
out=$(in_root --config "$conf" --check-config 2>&1) || fail "a board key added to a config without one does not check: $out"
grep -q "boards/jetson-orin-nano.toml: ok" <<< "$out" || fail "added board key: $out"
printf '# top\nrate = 1\n\n[t]\nboard = "inner"\n' > "$work/t.toml"
remote set-board rpi4 "$work/t.toml" > /dev/null
[ "$(cat "$work/t.toml")" = "$(printf '# top\nrate = 1\n\nboard = "rpi4"\n\n[t]\nboard = "inner"')" ] \
  || fail "set-board with only a table's board key gave: $(cat "$work/t.toml")"
cp "$conf.before" "$conf"
status=0
remote set-board 'rpi4" x' "$conf" > /dev/null 2>&1 || status=$?
[ $status != 0 ] && cmp -s "$conf" "$conf.before" || fail "set-board accepted a bad board name"
status=0
remote set-board rpi4.toml "$conf" > /dev/null 2>&1 || status=$?
[ $status != 0 ] && cmp -s "$conf" "$conf.before" || fail "set-board accepted a relative board path"
remote set-board /usr/share/plumbline/boards/rpi5.toml "$conf" > /dev/null
out=$(in_root --config "$conf" --check-config 2>&1) || fail "a config with an absolute board path does not check: $out"
ok "flash-remote.sh set-board: only the board line changes (comment and mode kept), key added when missing, table keys left alone"

# The install step for real against the root: dpkg acts on the root, systemctl records.
cat > "$stubs/dpkg" <<EOF
#!/bin/sh
exec /usr/bin/dpkg --root="$root" --force-script-chrootless --force-depends "\$@"
EOF
cat > "$stubs/systemctl" <<EOF
#!/bin/sh
echo "systemctl \$*" >> "$stubs/calls"
case "\$1" in is-enabled) exit 1 ;; esac
exit 0
EOF
printf '#!/bin/sh\nexec qemu-aarch64 -L "%s" "%s/usr/sbin/plumbd" "$@"\n' "$root" "$root" > "$stubs/plumbd"
chmod +x "$stubs/dpkg" "$stubs/systemctl" "$stubs/plumbd"
installed_conf=$root/etc/plumbline/plumbd.toml
sed -i -E 's/^rate_hz = [0-9]+/rate_hz = 50/' "$installed_conf"
grep -q '^rate_hz = 50 ' "$installed_conf" || fail "could not make the operator's edit in the installed config"
# Drift since the first install: plumbline lost i2c; the administrator added video.
sed -i -e 's/^i2c:\(.*\):plumbline$/i2c:\1:/' -e 's/^video:\(.*\):$/video:\1:plumbline/' "$root/etc/group"
remote_install() {
  (cd / && PATH="$stubs:$PATH" SUDO='' PLUMBD_BIN="$stubs/plumbd" PLUMBD_CONFIG="$installed_conf" \
    sh "$OLDPWD/Board/debian/flash-remote.sh" install "$deb" "$@")
}
remote_install rpi5 > "$work/flash.log" 2>&1 || { cat "$work/flash.log"; fail "flash-remote.sh install failed"; }
grep -q '^board = "rpi5"' "$installed_conf" && grep -q '^rate_hz = 50 ' "$installed_conf" \
  || fail "after install: board not set, or the operator's rate_hz lost"
grep -qx 'systemctl restart plumbd.service' "$stubs/calls" || fail "no restart: $(cat "$stubs/calls")"
grep -q 'not enabled' "$work/flash.log" || fail "no notice that the service is not enabled"
[ "$(groups_of)" = "dialout gpio i2c video " ] || fail "after reinstall plumbline's groups are '$(groups_of)'"
[ "$(grep -c '^plumbline:' "$root/etc/passwd")" = 1 ] || fail "reinstall added a second plumbline user"
rm "$stubs/calls"
cp "$installed_conf" "$work/conf.before-bad-board"
status=0
remote_install no-such-board > "$work/flash.log" 2>&1 || status=$?
[ $status != 0 ] && grep -q 'left as it was, plumbd.service not restarted' "$work/flash.log" \
  || { cat "$work/flash.log"; fail "a board that fails the config check did not stop the flash"; }
cmp -s "$installed_conf" "$work/conf.before-bad-board" || fail "a board that fails the check was written to the config"
! grep -q restart "$stubs/calls" 2>/dev/null || fail "restarted with a failing config"
# A config that is already broken (no board edit asked for) also stops before the restart.
sed -i 's/^rate_hz = 50 /rate_hz = 5000 /' "$installed_conf"
grep -q '^rate_hz = 5000 ' "$installed_conf" || fail "could not break the installed config"
status=0
remote_install > "$work/flash.log" 2>&1 || status=$?
[ $status != 0 ] && grep -q 'plumbd.service was not restarted' "$work/flash.log" \
  || { cat "$work/flash.log"; fail "a config that fails its check did not stop the flash"; }
! grep -q restart "$stubs/calls" 2>/dev/null || fail "restarted with a failing config"
ok "flash-remote.sh install on the root: reinstall keeps edits, sets the board, restarts; a board or config failing the check changes nothing and restarts nothing; postinst restores lost groups, keeps added ones"

# --- 6. removal and purge --------------------------------------------------------------------
# The operator enabled the unit, the daemon wrote its journal, a link key was put in place.
mkdir -p "$root/etc/systemd/system/multi-user.target.wants" "$root/var/lib/plumbline"
ln -s /lib/systemd/system/plumbd.service "$root/etc/systemd/system/multi-user.target.wants/plumbd.service"
echo journal > "$root/var/lib/plumbline/link.journal"
echo key > "$root/etc/plumbline/link.key"
dpkg_root -r plumbline > "$work/remove.log" 2>&1 || { cat "$work/remove.log"; fail "dpkg -r failed"; }
[ ! -e "$root/usr/sbin/plumbd" ] && [ ! -e "$root/lib/systemd/system/plumbd.service" ] || fail "remove left the daemon or the unit"
[ ! -L "$root/etc/systemd/system/multi-user.target.wants/plumbd.service" ] || fail "remove did not disable the unit"
[ -f "$installed_conf" ] && [ -f "$root/var/lib/plumbline/link.journal" ] || fail "remove deleted the config or the state"
dpkg --root="$root" -s plumbline | grep -qx 'Status: deinstall ok config-files' || fail "not 'deinstall ok config-files' after remove"
dpkg_root -P plumbline > "$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg -P failed"; }
[ ! -e "$installed_conf" ] && [ ! -e "$root/var/lib/plumbline" ] || fail "purge left the conffile or /var/lib/plumbline"
[ -f "$root/etc/plumbline/link.key" ] || fail "purge deleted the operator's link key"
! dpkg --root="$root" -s plumbline > /dev/null 2>&1 || fail "still known to dpkg after purge"
grep -q '^plumbline:' "$root/etc/passwd" || fail "purge removed the plumbline user"
[ "$(cat /etc/passwd /etc/group | md5sum)" = "$host_accounts" ] || fail "the host's /etc/passwd or /etc/group changed"
ok "remove: daemon and unit gone, unit disabled, config and state kept; purge: config and state gone, operator's key and user kept"

# --- 7. shellcheck -----------------------------------------------------------------------------
shellcheck -s sh Board/debian/postinst Board/debian/prerm Board/debian/postrm Board/debian/flash-remote.sh \
  || fail "shellcheck (sh scripts)"
shellcheck Board/debian/build-deb.sh Board/debian/flash.sh Tests/deb/test_deb.sh || fail "shellcheck (bash scripts)"
ok "shellcheck: maintainer scripts, build-deb.sh, flash.sh, flash-remote.sh, this test"

ms=$(( ($(date +%s%N) - started) / 1000000 ))
echo "deb-check: $checks passed, 0 failed ($ms ms)"
