#!/usr/bin/env bash
# Starts the desktop console (built by `make app`) on the built-in simulated
# hospital (WARDWATCH_SIMULATE, default `all`: its inventory and its traffic
# over real sockets to the console's own loopback listeners). With
# WARDWATCH_SIMULATE set empty, it sends a few sample alerts with logger
# instead. With no display (a headless machine), it runs under Xvfb and saves
# a screenshot to artifacts/run/console.png.
set -euo pipefail
export WARDWATCH_SIMULATE=${WARDWATCH_SIMULATE-all}
samples() {
  if [ -z "$WARDWATCH_SIMULATE" ]; then "$repo/scripts/send-samples.sh" 127.0.0.1 "$port"; fi
}
export -f samples
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${WARDWATCH_APP_BIN:-$repo/target/debug/wardwatch-app}
[ -x "$bin" ] || { echo "no console at $bin: run 'make app'"; exit 1; }

# The TCP port samples go to: the first tcp:// listener in WARDWATCH_LISTEN, else 5514.
port=$(printf '%s' "${WARDWATCH_LISTEN:-}" | tr ',' '\n' | sed -n 's|^ *tcp://[^ ]*:\([0-9]*\).*|\1|p' | head -n1)
port=${port:-5514}

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  samples &
  exec "$bin"
fi

echo "No display here: running the console under Xvfb (Ctrl-C to stop)."
shot="$repo/artifacts/run/console.png"
mkdir -p "$(dirname "$shot")"
exec "$repo/scripts/with-desktop-session.sh" bash -c '
  "$1" & app=$!
  trap "kill $app 2>/dev/null" EXIT INT TERM
  repo=$2 port=$3 samples
  # The first frames can take seconds on a cold machine: keep taking
  # pictures until two in a row, a second apart, agree and show more than a
  # blank background.
  prev="$4.prev.png"
  for _ in $(seq 1 30); do
    sleep 1
    import -window root "$4"
    if [ -f "$prev" ] && [ "$(convert "$4" -format %k info:)" -gt 50 ] &&
       [ "$(compare -metric AE "$4" "$prev" null: 2>&1)" = 0 ]; then break; fi
    cp "$4" "$prev"
  done
  rm -f "$prev"
  echo "screenshot: $4"
  wait $app
' run "$bin" "$repo" "$port" "$shot"
