#!/usr/bin/env bash
# The web app's first view: from navigation to interactive (map loaded and idle, legend
# and ranking filled, handlers wired), in a fresh headless Chromium each run (cold
# cache), against `paicha serve` on the demo database. Target: under 2 s on localhost.
#
#   bench/web.sh [runs]   (default 10; needs chromium and node, as the tests do)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/paicha-target}"
runs="${1:-10}"
cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/paicha"
port=18181
"$bin" serve --addr "127.0.0.1:$port" >/tmp/paicha-bench-web.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.5
done
households=$(curl -s "http://127.0.0.1:$port/health" | sed -n 's/.*"households":\([0-9]*\).*/\1/p')
# The browser starts signed in as the demo's county analyst.
export PAICHA_COOKIES="$(curl -s -D - -o /dev/null -H 'content-type: application/json' \
  -d '{"user":"analyst","password":"paicha-demo"}' "http://127.0.0.1:$port/api/v1/session" \
  | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' | paste -sd ';' -)"
echo "first view of the demo county ($households households), $runs cold runs"
times=()
for _ in $(seq 1 "$runs"); do
  out=$(node web/tests/browser.mjs first-view "http://127.0.0.1:$port")
  ms=$(echo "$out" | sed -n 's/.*"interactiveMs":\([0-9.]*\).*/\1/p')
  [ -n "$ms" ] || { echo "run failed: $out"; exit 1; }
  times+=("$ms")
done
printf '%s\n' "${times[@]}" | sort -n | awk '
  { t[NR] = $1 }
  END { printf "interactive after navigation: min %.0f ms, median %.0f ms, max %.0f ms\n", t[1], t[int((NR + 1) / 2)], t[NR] }'
