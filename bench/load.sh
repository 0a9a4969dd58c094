#!/usr/bin/env bash
# The service under load (see BENCHMARKS.md, issue 19): 60 s of wrk at 64 connections on
# cached tiles, on /api/v1/stats, and on uncached household tiles (random tiles over the
# county at zooms 16-18, almost never asked twice); then /health's latency while 500
# slow clients trickle their headers a byte a second, with the open-file limit at 1,024.
#   bash bench/load.sh [HOUSEHOLDS]      (default 1000000)
# Needs wrk and python3. The demo database is built once under the target dir.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/paicha-target}"
target="$CARGO_TARGET_DIR"
n="${1:-1000000}"
seconds="${LOAD_SECONDS:-60}"
cargo build --release -q
mkdir -p "$target/bench-data"
db="$target/bench-data/demo-$n.duckdb"
[ -f "$db" ] || "$target/release/paicha" demo --households "$n" --db "$db"
# Everything is asked as the demo's county analyst, with an API token.
export PAICHA_TOKEN="$("$target/release/paicha" user token analyst --label bench --db "$db" | tail -n 1)"
auth="Authorization: Bearer $PAICHA_TOKEN"
work="$(mktemp -d)"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
port=18181
base="http://127.0.0.1:$port"

start_server() {
  # The open-file limit of a default Debian login, which the server raises itself.
  (ulimit -n 1024; exec "$target/release/paicha" serve --db "$db" --addr "127.0.0.1:$port" \
    --tiles-dir "$work/tiles" 2>"$work/serve.log") &
  server=$!
  until curl -sf "$base/health" >/dev/null; do sleep 0.5; done
}

report() { grep -E "Requests/sec|Non-2xx|Socket errors|^ +(50|90|99)%|requests in"; }

# The tiles that hold households, about 20 a zoom (bench tiles also times them once).
"$target/release/paicha" bench tiles --db "$db" --paths-out "$work/paths.txt" >/dev/null
start_server
while read -r p; do curl -sf -o /dev/null -H "$auth" "$base$p"; done < "$work/paths.txt"

cat > "$work/replay.lua" <<'LUA'
paths = {}
for line in io.lines(os.getenv("TILE_PATHS")) do paths[#paths + 1] = line end
i = math.random(#paths)
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], { ["Accept-Encoding"] = "gzip", ["Authorization"] = "Bearer " .. os.getenv("PAICHA_TOKEN") })
end
LUA
echo "== cached tiles, $(wc -l < "$work/paths.txt") distinct, $seconds s, 64 connections"
TILE_PATHS="$work/paths.txt" wrk -t2 -c64 -d"${seconds}s" --latency -s "$work/replay.lua" "$base" | report

echo "== /api/v1/stats?level=village (all indicators), $seconds s, 64 connections"
wrk -t2 -c64 -d"${seconds}s" --latency -H "$auth" "$base/api/v1/stats?level=village" | report

# Random household tiles inside the county's box at zooms 16-18: about a million
# tiles, so a cache of 20,000 answers few requests and nearly every one is made anew.
bounds=$(curl -sf -H "$auth" "$base/tiles/households.json" | python3 -c 'import json,sys; print(*json.load(sys.stdin)["bounds"], sep=", ")')
cat > "$work/random.lua" <<LUA
local w, s, e, n = $bounds
math.randomseed(19)
local function tile(lon, lat, z)
  local k = 2 ^ z
  local x = math.floor((lon + 180) / 360 * k)
  local r = math.rad(lat)
  local y = math.floor((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * k)
  return x, y
end
request = function()
  local z = math.random(16, 18)
  local x, y = tile(w + math.random() * (e - w), s + math.random() * (n - s), z)
  return wrk.format("GET", "/tiles/households/" .. z .. "/" .. x .. "/" .. y .. ".mvt", { ["Accept-Encoding"] = "gzip", ["Authorization"] = "Bearer " .. os.getenv("PAICHA_TOKEN") })
end
LUA
echo "== uncached household tiles z16-18 (random over the county), $seconds s, 64 connections"
wrk -t2 -c64 -d"${seconds}s" --latency -s "$work/random.lua" "$base" | report

cat > "$work/slow.py" <<'PY'
import socket, sys, threading, time, urllib.request
host, port, clients, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
stop = time.time() + seconds
dropped = [0]
def slow():
    # Sends a request's headers a byte a second, reconnecting when the server drops it.
    while time.time() < stop:
        try:
            s = socket.create_connection((host, port))
            for b in b"GET /api/v1/stats HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200:
                s.send(bytes([b]))
                time.sleep(1)
                if time.time() > stop:
                    break
        except OSError:
            dropped[0] += 1
            time.sleep(0.5)
threads = [threading.Thread(target=slow, daemon=True) for _ in range(clients)]
for t in threads: t.start()
time.sleep(2)
latencies, failures = [], 0
while time.time() < stop:
    t = time.time()
    try:
        urllib.request.urlopen(f"http://{host}:{port}/health", timeout=10).read()
        latencies.append((time.time() - t) * 1000)
    except Exception:
        failures += 1
    time.sleep(0.2)
latencies.sort()
q = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))]
print(f"/health with {clients} slow clients: {len(latencies)} answered, {failures} failed, "
      f"p50 {q(0.5):.1f} ms, p99 {q(0.99):.1f} ms, max {latencies[-1]:.1f} ms; "
      f"slow connections dropped and reopened: {dropped[0]}")
PY
echo "== /health while 500 slow clients trickle headers, $seconds s"
python3 "$work/slow.py" 127.0.0.1 "$port" 500 "$seconds"
echo "== errors in the server's log"
grep -c " ERROR " "$work/serve.log" || true
