#!/usr/bin/env bash
# Runs a command inside a throw-away desktop session, the way the real-window
# tests need it:
#   - an Xvfb X server on a free display (DISPLAY exported),
#   - a fresh kernel session keyring (keyctl session -),
#   - a private D-Bus session bus (dbus-run-session), which auto-starts dunst
#     for notifications,
#   - an unlocked gnome-keyring (Secret Service) whose files live in a temp dir.
#
# Usage: scripts/with-desktop-session.sh CMD [ARGS...]
#
# Exits with CMD's exit code. Everything it started is stopped and every temp
# dir removed on exit, also on Ctrl-C / SIGTERM. Needs no root and no sudo.
# Set DESKTOP_SESSION_SCREEN (default 1280x800x24) to change the screen size.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi

for tool in Xvfb keyctl dbus-run-session gnome-keyring-daemon setsid; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "desktop session: '$tool' is missing (run scripts/install-deps.sh)" >&2
    exit 127
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/desktop-session.XXXXXX")
xvfb_pid=
child_pid=

# Whether process group $1 has a member that is not a zombie (`kill -0` also
# sees zombies, which an init that reaps slowly can leave for a while).
group_alive() {
  ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [ -n "$child_pid" ]; then
    # The command runs in its own process group (setsid). Stop what is left of
    # it, including what outlives CMD (gnome-keyring-daemon, dunst, ...), and
    # give it up to 2 s before SIGKILL.
    kill -TERM -- "-$child_pid" 2>/dev/null || true
    wait "$child_pid" 2>/dev/null || true
    local i
    for i in $(seq 20); do
      group_alive "$child_pid" || break
      sleep 0.1
    done
    kill -KILL -- "-$child_pid" 2>/dev/null || true
  fi
  if [ -n "$xvfb_pid" ]; then
    kill -TERM "$xvfb_pid" 2>/dev/null || true
    # Waiting lets Xvfb remove its lock file and socket before we return.
    wait "$xvfb_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
on_signal() {
  local sig=$1 code=$2
  if [ -n "$child_pid" ]; then kill "-$sig" -- "-$child_pid" 2>/dev/null || true; fi
  exit "$code"
}
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

# --- X server ---------------------------------------------------------------
# Try displays :90..:140. A display whose lock file or socket exists is taken.
# Xvfb writes the display number to -displayfd once it accepts connections, so
# reading it both waits for readiness and tells a lost race (Xvfb exits and
# the read hits end of file) from a start; then the next number is tried.
screen=${DESKTOP_SESSION_SCREEN:-1280x800x24}
mkfifo "$tmp/displayfd"
display=
for n in $(seq 90 140); do
  [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ] && continue
  Xvfb ":$n" -screen 0 "$screen" -nolisten tcp -displayfd 3 \
    3>"$tmp/displayfd" </dev/null >"$tmp/xvfb.log" 2>&1 &
  xvfb_pid=$!
  got=
  if read -r -t 30 got <"$tmp/displayfd" && [ "$got" = "$n" ]; then
    display=":$n"
    break
  fi
  kill "$xvfb_pid" 2>/dev/null || true
  wait "$xvfb_pid" 2>/dev/null || true
  xvfb_pid=
done
if [ -z "$display" ]; then
  echo "desktop session: could not start Xvfb on any display :90..:140" >&2
  [ -s "$tmp/xvfb.log" ] && sed 's/^/  xvfb: /' "$tmp/xvfb.log" >&2
  exit 1
fi
export DISPLAY=$display
echo "desktop session: DISPLAY=$DISPLAY" >&2

# --- session dirs -------------------------------------------------------------
mkdir -m 700 "$tmp/runtime" "$tmp/data"
export XDG_RUNTIME_DIR="$tmp/runtime" XDG_DATA_HOME="$tmp/data"
# Never talk to a bus or keyring of the calling session.
unset DBUS_SESSION_BUS_ADDRESS GNOME_KEYRING_CONTROL SSH_AUTH_SOCK

# --- keyring, bus, keyring daemon, then CMD -------------------------------------
# The inner script runs on the new bus. Its stdout and stderr are the caller's
# (passed in as fds 5 and 3) while the output of dbus-daemon and of the services
# it starts (e.g. "Failed to set fd limit" as root in a container, at-spi's
# "SpiRegistry daemon is running") goes to a log shown only if CMD never started.
# shellcheck disable=SC2016
inner='
set -eu
exec 1>&5 2>&3 3>&- 5>&-
if ! out=$(printf pw | gnome-keyring-daemon --unlock --components=secrets 2>"$DS_TMP/keyring.log"); then
  echo "desktop session: gnome-keyring-daemon failed:" >&2
  sed "s/^/  keyring: /" "$DS_TMP/keyring.log" >&2
  exit 1
fi
# It prints NAME=value lines (GNOME_KEYRING_CONTROL, ...) when they are needed.
while IFS= read -r line; do
  case $line in
    [A-Za-z_]*=*) export "$line" ;;
  esac
done <<EOF
$out
EOF
: >"$DS_TMP/started"
unset DS_TMP
exec "$@"
'
export DS_TMP="$tmp"

# setsid: own process group, so cleanup can stop the whole tree (test runner,
# drivers, the app) at once. fd 0 is handed over explicitly because a
# background job of a non-interactive shell would get /dev/null.
exec 4<&0
set +e
setsid keyctl session - \
  dbus-run-session -- sh -c "$inner" desktop-session "$@" \
  <&4 4<&- 5>&1 3>&2 >"$tmp/dbus.log" 2>&1 &
child_pid=$!
exec 4<&-
wait "$child_pid"
rc=$?
# `wait` returns early (>128) when a trapped signal arrives; the trap exits.
set -e
unset DS_TMP

if [ ! -e "$tmp/started" ]; then
  echo "desktop session: the session did not start (exit $rc)" >&2
  [ -s "$tmp/dbus.log" ] && sed 's/^/  dbus: /' "$tmp/dbus.log" >&2
  [ "$rc" -eq 0 ] && rc=1
fi
exit "$rc"
