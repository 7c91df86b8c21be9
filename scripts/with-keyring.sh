#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked GNOME
# keyring, so that the Secret Service the desktop app stores its sign-in in
# is available on a headless Linux box (tests, CI).
#
#   scripts/with-keyring.sh COMMAND [ARGS...]
#
# Needs the Debian packages dbus and gnome-keyring. The keyring lives under
# XDG_DATA_HOME, a new temporary folder unless the caller sets one.
set -euo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

if [[ -z "${REDVEST_KEYRING_SESSION:-}" ]]; then
  export REDVEST_KEYRING_SESSION=1
  exec dbus-run-session -- "$0" "$@"
fi

export XDG_DATA_HOME="${XDG_DATA_HOME:-$(mktemp -d)}"
# The password only protects this throw-away keyring.
printf '%s' "${REDVEST_KEYRING_PASSWORD:-redvest-test}" |
  gnome-keyring-daemon --unlock --components=secrets >/dev/null
exec "$@"
