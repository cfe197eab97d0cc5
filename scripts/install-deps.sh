#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, only when some are missing.
# Idempotent; uses sudo when not root. Called by `make deps`.
# Also unpacks syslog-ng's `loggen` (a test client) into $WARDWATCH_SYSLOG_NG_DIR
# (default ~/.cache/wardwatch/syslog-ng), without installing syslog-ng: see the end.
set -euo pipefail

PACKAGES=(
  build-essential pkg-config file libssl-dev
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  libfontconfig1-dev libfreetype-dev libdbus-1-dev
  xvfb xauth x11-utils dbus dbus-x11 webkit2gtk-driver imagemagick
  gnome-keyring keyutils dunst libnotify-bin bsdutils procps curl
  nodejs npm
  openssl gnutls-bin rsyslog rsyslog-gnutls libglib2.0-0
)

# PyPI tools the integration tests drive as real clients, installed after
# the Debian packages: python-hl7's `mllp_send` (HL7 over MLLP, tests/it/mllp.rs).
pypi_deps() {
  command -v mllp_send >/dev/null && return 0
  if ! python3 -m pip --version >/dev/null 2>&1; then
    apt_update
    $SUDO apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 python3-pip
  fi
  echo "deps: pip install hl7 (for mllp_send)"
  # Debian's own Python refuses pip installs without --break-system-packages.
  python3 -m pip install --quiet --disable-pip-version-check hl7 2>/dev/null \
    || $SUDO python3 -m pip install --quiet --disable-pip-version-check --break-system-packages hl7
}

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

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

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
apt_updated=""
apt_update() {
  [ -n "$apt_updated" ] && return 0
  for i in 1 2 3 4 5 6; do
    $SUDO apt-get -o DPkg::Lock::Timeout=600 update -q && break
    sleep 10
  done
  apt_updated=1
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all Debian packages present"
else
  echo "deps: installing ${missing[*]}"
  apt_update
  $SUDO apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}"
fi

# syslog-ng's loggen, a real syslog client for the tests (tests/it/clients.rs).
# syslog-ng-core conflicts with rsyslog, so it is never installed: the package
# is downloaded and unpacked into a private directory (its loggen needs only
# its own libraries, which the package carries, plus glib and OpenSSL). Run it as
#   SYSLOGNG_PREFIX=$DIR/usr LD_LIBRARY_PATH=$DIR/usr/lib/syslog-ng $DIR/usr/bin/loggen
SYSLOG_NG_DIR="${WARDWATCH_SYSLOG_NG_DIR:-$HOME/.cache/wardwatch/syslog-ng}"
if [ -x "$SYSLOG_NG_DIR/usr/bin/loggen" ]; then
  echo "deps: loggen present in $SYSLOG_NG_DIR"
else
  echo "deps: unpacking syslog-ng-core's loggen into $SYSLOG_NG_DIR"
  download=$(mktemp -d)
  trap 'rm -rf "$download"' EXIT
  # apt's download user must be able to write there.
  chmod 0777 "$download"
  if ! (cd "$download" && apt-get download -q syslog-ng-core); then
    apt_update
    (cd "$download" && apt-get download -q syslog-ng-core)
  fi
  mkdir -p "$SYSLOG_NG_DIR"
  dpkg -x "$download"/syslog-ng-core_*.deb "$SYSLOG_NG_DIR"
  test -x "$SYSLOG_NG_DIR/usr/bin/loggen"
fi

pypi_deps
