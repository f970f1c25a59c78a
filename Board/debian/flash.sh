#!/usr/bin/env bash
# make flash: installs the package on a drone over ssh.
#   bash Board/debian/flash.sh HOST BOARD DEB
# HOST is user@drone (required); BOARD (may be empty) is written as `board = "BOARD"` into
# the drone's /etc/plumbline/plumbd.toml. Copies DEB and flash-remote.sh to a fresh
# directory on the drone with scp, then runs flash-remote.sh there over ssh: dpkg -i,
# the board, plumbd --check-config, systemctl restart plumbd.service, its status.
# SSH_OPTS adds options to ssh and scp (e.g. "-p 2222 -i key"). DRY_RUN=1 prints what
# would run, here and on the drone, and contacts nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."

host=${1:-} board=${2:-} deb=${3:-}
DRY_RUN=${DRY_RUN:-0}
remote_script=Board/debian/flash-remote.sh
read -r -a ssh_opts <<< "${SSH_OPTS:-}"

die() { echo "flash: $*" >&2; exit 1; }

[ -n "$host" ] || die "HOST is missing: make flash HOST=user@drone [BOARD=rpi4] [DRY_RUN=1]"
case $host in
  -*|*[[:space:]]*) die "HOST '$host' is not a user@host" ;;
esac
if [ -n "$board" ]; then
  case $board in
    -*|*[!A-Za-z0-9._/-]*) die "BOARD '$board' is not a board name or path (letters, digits, . _ / - only)" ;;
    /*) ;;
    */*|*.toml) die "BOARD '$board' is a relative path: give a board name or an absolute path on the drone" ;;
  esac
fi
[ -f "$deb" ] || die "package '$deb' not found (make deb)"

name=$(basename "$deb")
# ssh hands the remote command to a shell: quote each word for it. (Expanding it here,
# on this side, is the point: shellcheck's SC2029 is disabled below for that.)
remote_cmd() { local q; q=$(printf '%q ' "$@"); printf '%s' "${q% }"; }

# A tty for sudo's password prompt when there is one to give.
tty=()
[ -t 0 ] && tty=(-t)

if [ "$DRY_RUN" = 1 ]; then
  show() { printf '+'; printf ' %s' "$@"; printf '\n'; }
  echo "flash: dry run: nothing is copied to or run on $host"
  show ssh "${ssh_opts[@]}" "$host" mktemp -d /tmp/plumbline-flash.XXXXXX "  # -> DIR"
  show scp -q "${ssh_opts[@]}" "$deb" "$remote_script" "$host:DIR/"
  show ssh "${ssh_opts[@]}" "${tty[@]}" "$host" "$(remote_cmd sh DIR/flash-remote.sh install "DIR/$name" ${board:+"$board"})"
  echo "flash: on $host, flash-remote.sh would run:"
  DRY_RUN=1 sh "$remote_script" install "DIR/$name" ${board:+"$board"} | sed 's/^/  /'
  show ssh "${ssh_opts[@]}" "$host" rm -rf DIR
  exit 0
fi

echo "flash: $name -> $host${board:+ (board $board)}"
dir=$(ssh "${ssh_opts[@]}" "$host" mktemp -d /tmp/plumbline-flash.XXXXXX) \
  || die "cannot reach $host over ssh"
case $dir in
  /tmp/plumbline-flash.*) ;;
  *) die "unexpected answer from $host: '$dir'" ;;
esac
status=0
scp -q "${ssh_opts[@]}" "$deb" "$remote_script" "$host:$dir/" || status=$?
if [ $status = 0 ]; then
  # shellcheck disable=SC2029
  ssh "${ssh_opts[@]}" "${tty[@]}" "$host" \
    "$(remote_cmd sh "$dir/flash-remote.sh" install "$dir/$name" ${board:+"$board"})" || status=$?
fi
# shellcheck disable=SC2029
ssh "${ssh_opts[@]}" "$host" "$(remote_cmd rm -rf "$dir")" || true
[ $status = 0 ] || die "failed on $host (status $status)"
echo "flash: done"
