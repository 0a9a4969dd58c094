#!/usr/bin/env bash
# Tile speed (see BENCHMARKS.md): uncached vector and heat tiles timed in-process by
# `paicha bench tiles`, then cached tiles under load: `paicha serve` on loopback and
# wrk replaying the same tile paths once they are warm.
#   bash bench/tiles.sh [HOUSEHOLDS...]      (default: 1000000 10000000)
# Needs wrk (Debian package wrk). Demo databases are built once under the target dir.
set -euo pipefail
cd "$(dirname "$0")/.."
# The same target directory as .ci/run, so that DuckDB is not compiled twice.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/paicha-target}"
target="$CARGO_TARGET_DIR"
cargo build --release -q
mkdir -p "$target/bench-data"
work="$(mktemp -d)"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
cat > "$work/replay.lua" <<'LUA'
paths = {}
for line in io.lines(os.getenv("TILE_PATHS")) do paths[#paths + 1] = line end
i = math.random(#paths)
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], { ["Accept-Encoding"] = "gzip", ["Authorization"] = "Bearer " .. os.getenv("PAICHA_TOKEN") })
end
LUA
for n in ${@:-1000000 10000000}; do
  db="$target/bench-data/demo-$n.duckdb"
  [ -f "$db" ] || "$target/release/paicha" demo --households "$n" --db "$db"
  "$target/release/paicha" bench tiles --db "$db" --paths-out "$work/paths.txt"
  # Tiles are asked as the demo's county analyst, with an API token (sessions and
  # token checks are part of what is measured).
  export PAICHA_TOKEN="$("$target/release/paicha" user token analyst --label bench --db "$db" | tail -n 1)"
  "$target/release/paicha" serve --db "$db" --addr 127.0.0.1:18080 --tiles-dir "$work/tiles" \
    2>"$work/serve.log" &
  server=$!
  until curl -sf http://127.0.0.1:18080/health >/dev/null; do sleep 0.5; done
  # Warm every tile once, then replay them from the cache.
  while read -r p; do curl -sf -o /dev/null -H "Authorization: Bearer $PAICHA_TOKEN" "http://127.0.0.1:18080$p"; done < "$work/paths.txt"
  echo "cached tiles, $n households, $(wc -l < "$work/paths.txt") distinct tiles:"
  TILE_PATHS="$work/paths.txt" wrk -t1 -c32 -d15s --latency -s "$work/replay.lua" http://127.0.0.1:18080 \
    | grep -E "Requests/sec|Transfer/sec|^ +(50|90|99)%"
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
done
