#!/usr/bin/env bash
# Instructions per cached tile request (see BENCHMARKS.md, issue 16), counted by callgrind:
# unlike requests per second, the count does not swing with a loaded VM, so a few percent
# of overhead can be seen. `paicha serve` runs under valgrind; after one warm pass over the
# tile paths of `paicha bench tiles`, the counters are zeroed and the paths are asked three
# times over one keep-alive connection; the server's instructions (all threads) are divided
# by the requests.
#   bash bench/tile_instructions.sh [HOUSEHOLDS] [token|cookie]   (default: 1000000 token)
# Needs valgrind (Debian package valgrind). To compare with another build, set PAICHA_BIN
# (and PAICHA_DB to a database that build wrote; AUTH=none for a build without sign-in,
# which is then sent a made-up bearer token of the same length, so that both parse
# the same request).
# CALLGRIND_OUT=FILE keeps the profile, for callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/paicha-target}"
n="${1:-1000000}"
how="${2:-token}"
bin="${PAICHA_BIN:-}"
if [ -z "$bin" ]; then cargo build --release -q; bin="$CARGO_TARGET_DIR/release/paicha"; fi
db="${PAICHA_DB:-$CARGO_TARGET_DIR/bench-data/demo-$n.duckdb}"
mkdir -p "$(dirname "$db")"
[ -f "$db" ] || "$bin" demo --households "$n" --db "$db"
work="$(mktemp -d)"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
"$bin" bench tiles --db "$db" --paths-out "$work/paths.txt" >/dev/null
auth=()
if [ "${AUTH:-}" = none ]; then
  auth=(-H "Authorization: Bearer $(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')")
elif [ "$how" = token ]; then
  auth=(-H "Authorization: Bearer $("$bin" user token analyst --label callgrind --db "$db" | tail -n 1)")
fi
port=18590
PAICHA_WEB_DIR="$PWD/web" valgrind --tool=callgrind --instr-atstart=no \
  --callgrind-out-file="$work/callgrind.out" \
  "$bin" serve --db "$db" --addr 127.0.0.1:$port --tiles-dir "$work/tiles" 2>"$work/serve.log" &
server=$!
until curl -sf "http://127.0.0.1:$port/health" >/dev/null; do
  kill -0 "$server" 2>/dev/null || { cat "$work/serve.log"; exit 1; }
  sleep 2
done
if [ "${AUTH:-}" != none ] && [ "$how" = cookie ]; then
  cookie="$(curl -s -D - -o /dev/null -H 'content-type: application/json' \
    -d '{"user":"analyst","password":"paicha-demo"}' "http://127.0.0.1:$port/api/v1/session" \
    | sed -n 's/^[Ss]et-[Cc]ookie: \(paicha_session=[^;]*\).*/\1/p')"
  auth=(-H "Cookie: $cookie")
fi
while read -r p; do printf 'url = "http://127.0.0.1:%s%s"\noutput = /dev/null\n' "$port" "$p"; done \
  < "$work/paths.txt" > "$work/once.cfg"
cat "$work/once.cfg" "$work/once.cfg" "$work/once.cfg" > "$work/thrice.cfg"
callgrind_control -i on "$server" >/dev/null 2>&1
curl -s -H "Accept-Encoding: gzip" "${auth[@]}" -K "$work/once.cfg"
callgrind_control -z "$server" >/dev/null 2>&1
codes="$(curl -s -H "Accept-Encoding: gzip" "${auth[@]}" -w '%{http_code}\n' -K "$work/thrice.cfg" | sort | uniq -c)"
callgrind_control -d "$server" >/dev/null 2>&1
requests=$((3 * $(wc -l < "$work/paths.txt")))
total="$(grep -h '^totals:' "$work"/callgrind.out.* | awk '{s += $2} END {print s}')"
[ -n "${CALLGRIND_OUT:-}" ] && cat "$work"/callgrind.out.* > "$CALLGRIND_OUT"
echo "answers: $codes"
echo "$how, $n households: $requests cached tile requests, $total instructions, $((total / requests)) per request"
