#!/usr/bin/env bash
# Smoke test of the real desktop window. It starts a real server with demo
# data on 127.0.0.1 and opens the app under Xvfb with a keyring. Then it signs
# in as a demo volunteer and clocks on with xdotool clicks, and checks that
# the server acknowledged the clock-in. Screenshots are kept in ARTIFACTS
# (target/desktop-smoke unless set).
#
# The click positions fit the 480x860 window as laid out by assets/redvest.css;
# override them with REDVEST_SMOKE_*_Y when the layout changes.
#
# Needs: xvfb, xauth, xdotool, imagemagick, dbus, gnome-keyring, sqlite3,
# fonts-noto-cjk (Debian packages). Builds the app and the server first.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
artifacts="${ARTIFACTS:-$root/target/desktop-smoke}"
bin_dir="${CARGO_TARGET_DIR:-$root/target}/debug"
title="红马甲 Redvest"
phone="${REDVEST_SMOKE_PHONE:-13800000002}"
password="redvest-demo"

if [[ "${1:-}" != "--inside" ]]; then
  cd "$root"
  cargo build -p redvest -p redvest-server
  mkdir -p "$artifacts"
  exec xvfb-run -a -s "-screen 0 1024x1000x24" "$root/scripts/with-keyring.sh" "$0" --inside
fi

work="$(mktemp -d)"
server_pid=""
app_pid=""
cleanup() {
  [[ -n "$app_pid" ]] && kill "$app_pid" 2>/dev/null || true
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

fail() {
  echo "desktop smoke: FAILED: $*" >&2
  import -window root "$artifacts/failure.png" 2>/dev/null || true
  echo "0 passed, 1 failed"
  exit 1
}

# A real server with demo data on a free loopback port.
mkfifo "$work/server.out"
"$bin_dir/redvest-server" serve --seed-demo --data "$work/server" --listen 127.0.0.1:0 \
  >"$work/server.out" 2>"$artifacts/server.log" &
server_pid=$!
read -r -t 30 first_line <"$work/server.out" || fail "server did not start (see server.log)"
cat "$work/server.out" >/dev/null &
server_url="${first_line#listening on }"
echo "server at $server_url"

# A short walk inside the first demo school gate's fence, replayed as the location source.
cat >"$work/walk.gpx" <<'GPX'
<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="redvest desktop smoke"><trk><trkseg>
<trkpt lat="36.64320" lon="117.96610"><time>2026-09-01T07:20:00Z</time></trkpt>
<trkpt lat="36.64325" lon="117.96615"><time>2026-09-01T07:20:05Z</time></trkpt>
<trkpt lat="36.64330" lon="117.96620"><time>2026-09-01T07:20:10Z</time></trkpt>
</trkseg></trk></gpx>
GPX

export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_CACHE_HOME="$work/home/.cache"
mkdir -p "$HOME"
export WEBKIT_DISABLE_DMABUF_RENDERER=1
export REDVEST_SERVER="$server_url" REDVEST_DATA="$work/app" REDVEST_GPX="$work/walk.gpx"
"$bin_dir/redvest" >"$artifacts/app.log" 2>&1 &
app_pid=$!

window="$(timeout 60 xdotool search --sync --name "$title" | head -n1)" || fail "window did not appear"
xdotool windowmove "$window" 0 0
xdotool windowsize "$window" 480 860
sleep 3
import -window root "$artifacts/1-sign-in.png"

# Click a point of the window, in window coordinates.
click() { xdotool mousemove --window "$window" "$1" "$2" click 1; sleep 0.4; }
type_text() { xdotool type --delay 80 "$1"; sleep 0.3; }

click 240 "${REDVEST_SMOKE_PHONE_Y:-371}"
type_text "$phone"
click 240 "${REDVEST_SMOKE_PASSWORD_Y:-468}"
type_text "$password"
import -window root "$artifacts/2-filled.png"
click 240 "${REDVEST_SMOKE_SIGN_IN_Y:-540}"
sleep 5
import -window root "$artifacts/3-home.png"

click 240 "${REDVEST_SMOKE_CLOCK_ON_Y:-372}"
sleep 5
import -window root "$artifacts/4-clocked-on.png"

db="$work/app/redvest.sqlite3"
clock_ins="$(sqlite3 "$db" "SELECT COUNT(*) FROM records WHERE kind = 'clock_in'" 2>/dev/null || echo 0)"
[[ "$clock_ins" == "1" ]] || fail "expected 1 clock-in in the local store, found $clock_ins"

for _ in $(seq 1 20); do
  state="$(sqlite3 "$db" "SELECT state FROM records WHERE kind = 'clock_in'")"
  [[ "$state" == "sent" ]] && break
  sleep 1
done
[[ "$state" == "sent" ]] || fail "clock-in still $state after 20 s: the server did not acknowledge it"
import -window root "$artifacts/5-synced.png"

# Switch to English and open the lead screen and the submissions list.
click 149 "${REDVEST_SMOKE_LANG_Y:-111}"
click 298 "${REDVEST_SMOKE_TABS_Y:-250}"
sleep 1
import -window root "$artifacts/6-lead-english.png"
click 413 "${REDVEST_SMOKE_TABS_Y:-250}"
sleep 2
import -window root "$artifacts/7-submissions-english.png"

echo "desktop smoke: signed in as $phone, clocked on, clock-in acknowledged by the server"
echo "screenshots in $artifacts"
echo "1 passed, 0 failed"
