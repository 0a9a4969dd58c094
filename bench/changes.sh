#!/usr/bin/env bash
# Versions compared (issue 15, 数据变化): the demo county at N households (default
# 300,000) exported, changed as a next quarter's export (every 97th household gone,
# every 50th ordinary one newly monitored, a new data date), committed as a second
# version; then, against a real server on a loopback port, the time of each request
# the 数据变化 view makes: the county compared (first: both versions' figures and the
# registry's difference computed; then from memory), a township, every village of one
# indicator, a township's changed households, and the trend.
#   bash bench/changes.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-300000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/paicha-target}"
cargo build --release -q
paicha="$CARGO_TARGET_DIR/release/paicha"
work="$(mktemp -d)"
port=18791
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
"$paicha" demo --db "$work/c.duckdb" --households "$n" >/dev/null 2>&1
"$paicha" export --db "$work/c.duckdb" persons --layout fpf --out "$work/p.csv" >/dev/null 2>&1
/usr/bin/python3 - "$work/p.csv" "$work/q.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], encoding='utf-8-sig')))
rows[0][0] = rows[0][0].replace('2019-07-01', '2019-10-01')
h = rows[1]
no, cat, risk, r1 = (h.index(c) for c in ('户编号', '监测对象类别', '风险是否已消除', '致贫/返贫风险1'))
seen = {}
for r in rows[2:]:
    k = seen.setdefault(r[no], len(seen))
    if k % 50 == 0 and not r[cat]:
        r[cat], r[risk], r[r1] = '边缘易致贫户', '否', '因病'
out = rows[:2] + [r for r in rows[2:] if seen[r[no]] % 97 != 1]
csv.writer(open(sys.argv[2], 'w', encoding='utf-8'), lineterminator='\n').writerows(out)
PY
/usr/bin/time -f "import of the next quarter (dry run + commit): %e s, %M KB peak" \
  "$paicha" import --db "$work/c.duckdb" households "$work/q.csv" --commit 2>&1 >/dev/null | tail -1
token=$("$paicha" user --db "$work/c.duckdb" token analyst 2>/dev/null | grep -oE '[A-Za-z0-9_-]{30,}' | head -1)
"$paicha" serve --db "$work/c.duckdb" --addr "127.0.0.1:$port" >/dev/null 2>&1 &
server=$!
until curl -sf "127.0.0.1:$port/health" >/dev/null; do sleep 0.5; done
ask() {
  curl -s -o /dev/null -w "$1: %{http_code} %{time_total} s\n" \
    -H "Authorization: Bearer $token" "127.0.0.1:$port$2"
}
ask "county compared, first" "/api/v1/changes"
for i in 1 2 3; do ask "county compared, again" "/api/v1/changes"; done
ask "a township" "/api/v1/changes?within=210422100"
ask "every village, one indicator (the map)" "/api/v1/changes?level=village&indicators=monitored"
ask "a township's changed households" "/api/v1/changes/households?within=210422100"
ask "trend of an indicator" "/api/v1/trend?indicator=monitored"
ask "trend as PNG" "/api/v1/trend?indicator=monitored&format=png"
