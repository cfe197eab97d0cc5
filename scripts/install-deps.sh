#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, only when some are missing.
# Idempotent; uses sudo when not root. Called by `make deps`.
set -euo pipefail

PACKAGES=(
  build-essential pkg-config file libssl-dev
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  libfontconfig1-dev libfreetype-dev libdbus-1-dev
  xvfb xauth x11-utils dbus dbus-x11 webkit2gtk-driver imagemagick
  gnome-keyring keyutils dunst libnotify-bin bsdutils procps curl
  nodejs npm
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

# Node and npm may come from elsewhere than Debian (a newer Node is fine).
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all Debian packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
for i in 1 2 3 4 5 6; do
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -q && break
  sleep 10
done
$SUDO apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}"
