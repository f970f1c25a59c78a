#!/bin/sh
# Runs on the drone, copied there by flash.sh (make flash). As the login user, with sudo:
#
#   sh flash-remote.sh install DEB [BOARD]
#       dpkg -i DEB (keeping the operator's edits to the conffile), set `board = "BOARD"`
#       in /etc/plumbline/plumbd.toml if BOARD is given (only if the edited copy passes
#       plumbd --check-config), check the config, restart plumbd.service, print its status.
#   sh flash-remote.sh set-board BOARD FILE
#       only the config edit, on FILE.
#
# DRY_RUN=1 prints each command instead of running it. SUDO (default: sudo) prefixes the
# commands that need root; the tests set it empty, and point PLUMBD_CONFIG and PLUMBD_BIN
# at an installed root.
set -eu

SUDO=${SUDO-sudo}
DRY_RUN=${DRY_RUN:-0}
CONFIG=${PLUMBD_CONFIG:-/etc/plumbline/plumbd.toml}
PLUMBD=${PLUMBD_BIN:-/usr/sbin/plumbd}
UNIT=plumbd.service

say() { printf 'flash: %s\n' "$*"; }
die() { printf 'flash: %s\n' "$*" >&2; exit 1; }

# Runs a command, or prints it with DRY_RUN=1.
run() {
    if [ "$DRY_RUN" = 1 ]; then
        printf '+ %s\n' "$*"
    else
        "$@"
    fi
}

# A board is a name or an absolute path: letters, digits and . _ / - only, so it can go
# between TOML quotes and into a command line as it is. plumbd reads a relative path (one
# with a / or ending in .toml) from its working directory, / under systemd: refused.
check_board() {
    case $1 in
        ''|-*|*[!A-Za-z0-9._/-]*) die "BOARD '$1' is not a board name or path (letters, digits, . _ / - only)" ;;
        /*) ;;
        */*|*.toml) die "BOARD '$1' is a relative path: give a board name or an absolute path" ;;
    esac
}

# Writes FILE with its top-level `board` key set to BOARD on standard output. Every other
# line is kept as it is, the key's own comment too. A `board` key inside a [table] is not
# the top-level one; without a top-level key, one is added before the first table.
board_edit() {
    awk -v board="$1" '
        function line(rest) { return "board = \"" board "\"" rest }
        !done && /^[ \t]*\[/ { print line(""); print ""; done = 1 }
        !done && /^[ \t]*board[ \t]*=/ {
            rest = $0
            if (sub(/^[ \t]*board[ \t]*=[ \t]*"[^"]*"/, "", rest) == 0) rest = ""
            print line(rest)
            done = 1
            next
        }
        { print }
        END { if (!done) print line("") }
    ' "$2"
}

# Sets the board in FILE. With a third argument "check", the edited copy must pass
# plumbd --check-config before it replaces FILE; otherwise FILE is left as it was.
set_board() {
    board=$1 file=$2 check=${3:-}
    check_board "$board"
    if [ "$DRY_RUN" = 1 ]; then
        if [ "$check" = check ]; then
            printf '+ %s%s --config <copy of %s with board = "%s"> --check-config\n' \
                "${SUDO:+$SUDO }" "$PLUMBD" "$file" "$board"
        fi
        printf '+ set board = "%s" in %s (every other line kept)\n' "$board" "$file"
        return
    fi
    tmp=$(mktemp)
    if [ -e "$file" ]; then
        board_edit "$board" "$file" > "$tmp"
        mode=$(stat -c %a "$file") owner=$(stat -c %u "$file") group=$(stat -c %g "$file")
    else
        # The operator deleted the conffile; dpkg does not bring it back.
        printf 'board = "%s"\n' "$board" > "$tmp"
        mode=644 owner=0 group=0
    fi
    # Its errors go to stderr; the "ok" lines for the temporary copy are not worth showing.
    if [ "$check" = check ] && ! $SUDO "$PLUMBD" --config "$tmp" --check-config > /dev/null; then
        rm -f "$tmp"
        die "with board = \"$board\" the configuration has errors (above): $file left as it was, plumbd.service not restarted"
    fi
    if [ -e "$file" ] && cmp -s "$tmp" "$file"; then
        say "$file already has board = \"$board\""
    else
        # A new file beside the old one, then a rename: the config is never half written.
        $SUDO install -m "$mode" -o "$owner" -g "$group" "$tmp" "$file.flash-new"
        $SUDO mv "$file.flash-new" "$file"
        say "$file: board = \"$board\""
    fi
    rm -f "$tmp"
}

install_package() {
    deb=$1 board=${2:-}
    if [ -n "$board" ]; then
        check_board "$board"
    fi
    [ "$DRY_RUN" = 1 ] || [ -f "$deb" ] || die "$deb not found"
    # confdef+confold: an unchanged conffile takes the new default, an edited one is kept
    # (the new default is left beside it as plumbd.toml.dpkg-dist). Never a prompt.
    run $SUDO dpkg -i --force-confdef --force-confold "$deb"
    if [ -n "$board" ]; then
        set_board "$board" "$CONFIG" check
    fi
    if ! run $SUDO "$PLUMBD" --config "$CONFIG" --check-config; then
        die "the configuration has errors (above); plumbd.service was not restarted"
    fi
    failed=0
    run $SUDO systemctl restart "$UNIT" || failed=1
    run systemctl --no-pager --full status "$UNIT" || true
    if [ "$DRY_RUN" != 1 ] && { [ $failed = 1 ] || ! systemctl is-active --quiet "$UNIT"; }; then
        run $SUDO journalctl --no-pager -n 30 -u "$UNIT" || true
        die "$UNIT is not running"
    fi
    if [ "$DRY_RUN" != 1 ] && ! systemctl is-enabled --quiet "$UNIT"; then
        say "$UNIT is running but not enabled: it will not start at boot (sudo systemctl enable $UNIT)"
    fi
}

case ${1:-} in
    install)
        [ $# -ge 2 ] || die "usage: flash-remote.sh install DEB [BOARD]"
        install_package "$2" "${3:-}"
        ;;
    set-board)
        [ $# -eq 3 ] || die "usage: flash-remote.sh set-board BOARD FILE"
        set_board "$2" "$3"
        ;;
    *)
        die "usage: flash-remote.sh install DEB [BOARD] | set-board BOARD FILE"
        ;;
esac
