#!/usr/bin/env bash
# Village, township and household tiles, paicha against PostGIS's ST_AsMVT on the same data, in one
# interleaved run (issue 20; see BENCHMARKS.md, "Boundary tiles against PostGIS").
#   bash bench/postgis.sh [KIND...]      (default: county dense)
# KIND: county (the demo county, 70,000 households), dense (paicha demo --city --dense:
# about 1,100 villages of at least 300 vertices, 70,000 households), 1m and 10m (the
# demo county with 1 or 10 million households), dense1m and dense10m (the dense city
# with 1 or 10 million). Demo databases are built once under the target directory.
#
# PostgreSQL 15 and PostGIS 3 come from Debian's packages (installed if missing, with
# python3-psycopg2 for the driver): a throw-away cluster in a temporary folder on a
# loopback port, default settings. paicha serves the same database on another loopback
# port; its tiles are asked with an API token, as the web app's are. The tile list is
# `paicha bench tiles`' village tiles (z8–12, tiles that hold households, none at y = 0),
# asked of both layers; bench/postgis_tiles.py does the loading and the timing.
#
# LAYERS picks what is compared (default "boundaries households"): boundaries are the
# village and township layers; households the household layer, z12–14 (PER_ZOOM tiles
# a zoom, default 100, from the same `bench tiles` plan), with the households loaded
# into PostGIS from `paicha bench tiles --households-out`, which writes the positions
# the tiles draw (the raw export holds the recorded coordinates, before conversion and
# offset correction). The households each tile holds are checked equal.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/paicha-target}"
target="$CARGO_TARGET_DIR"
paicha="$target/release/paicha"
[ -n "${NO_BUILD:-}" ] || cargo build --release -q
pg=/usr/lib/postgresql/15/bin
[ -x "$pg/postgres" ] || apt-get install -y postgresql-15
[ -f /usr/share/postgresql/15/extension/postgis.control ] || apt-get install -y postgresql-15-postgis-3
/usr/bin/python3 -c "import psycopg2" 2>/dev/null || apt-get install -y python3-psycopg2
pg_port="${PG_BENCH_PORT:-15433}"
port="${PAICHA_BENCH_PORT:-18091}"

work="$(mktemp -d)"
chmod 755 "$work"
server=""
# initdb refuses to run as root: the cluster then belongs to the postgres user.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null
  as_pg "$pg/pg_ctl" -D "$work/pg" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/pg" "$work/socket"
[ "$(id -u)" = 0 ] && chown postgres: "$work/pg" "$work/socket"
as_pg "$pg/initdb" -D "$work/pg" -A trust -U bench >/dev/null
as_pg "$pg/pg_ctl" -D "$work/pg" -l "$work/pg/log" -w \
  -o "-p $pg_port -k $work/socket -c listen_addresses=127.0.0.1" start >/dev/null

mkdir -p "$target/bench-data"
for kind in ${@:-county dense}; do
  case "$kind" in
    county) args=(--households 70000) ;;
    dense) args=(--households 70000 --city --dense) ;;
    1m) args=(--households 1000000) ;;
    10m) args=(--households 10000000) ;;
    dense1m) args=(--households 1000000 --city --dense) ;;
    dense10m) args=(--households 10000000 --city --dense) ;;
    *) echo "unknown kind $kind (county, dense, 1m, 10m, dense1m, dense10m)" >&2; exit 2 ;;
  esac
  db="$target/bench-data/peer-$kind.duckdb"
  [ -f "$db" ] || "$paicha" demo "${args[@]}" --db "$db" 2>/dev/null
  layers="${LAYERS:-boundaries households}"
  peer_args=()
  if [[ " $layers " == *" boundaries "* ]]; then
    "$paicha" export areas --level village --db "$db" --out "$work/villages.geojson" 2>/dev/null
    "$paicha" export areas --level township --db "$db" --out "$work/townships.geojson" 2>/dev/null
    "$paicha" bench tiles --db "$db" --paths-out "$work/paths.txt" --paths-only 2>/dev/null
    grep '^/tiles/villages/' "$work/paths.txt" > "$work/tiles.txt"
    peer_args+=(--tiles "$work/tiles.txt"
      --areas "villages=village=$work/villages.geojson,townships=township=$work/townships.geojson")
  fi
  if [[ " $layers " == *" households "* ]]; then
    "$paicha" bench tiles --db "$db" --per-zoom "${PER_ZOOM:-100}" --paths-only \
      --paths-out "$work/hpaths.txt" --households-out "$work/households.csv" 2>/dev/null
    grep -E '^/tiles/households/1[2-4]/' "$work/hpaths.txt" > "$work/htiles.txt"
    peer_args+=(--households "$work/households.csv" --household-tiles "$work/htiles.txt")
  fi
  token="$("$paicha" user token analyst --label bench --db "$db" 2>/dev/null | tail -n 1)"
  "$paicha" serve --db "$db" --addr "127.0.0.1:$port" --tiles-dir "$work/tiles" \
    2>"$work/serve.log" &
  server=$!
  until curl -sf "http://127.0.0.1:$port/health" >/dev/null; do sleep 0.5; done
  # As a server does after its start, in the background: boundaries simplified per
  # zoom, the tiles of zooms 8-12 cut, and the default tables of figures built.
  until grep -q "boundary tiles cut" "$work/serve.log" \
    && grep -q "boundary tables ready" "$work/serve.log"; do sleep 0.5; done
  # And until it is idle (its CPU time growing by at most 5 ticks a second): a first start
  # on a large database has work beyond those two lines, and a 10M server was still at
  # 160% CPU, competing with PostgreSQL, when its tiles were first asked.
  cpu() { awk '{print $14 + $15}' "/proc/$server/stat"; }
  while :; do a=$(cpu); sleep 1; b=$(cpu); [ $((b - a)) -le 5 ] && break; done
  grep -E "boundaries simplified|boundary tiles cut" "$work/serve.log" | sed 's/\x1b\[[0-9;]*m//g'
  /usr/bin/python3 bench/postgis_tiles.py --label "$kind" \
    --paicha "http://127.0.0.1:$port" --token "$token" \
    --paicha-pid "$server" \
    --pg "host=$work/socket port=$pg_port user=bench dbname=postgres" \
    "${peer_args[@]}" ${PEER_JSON:+--json "$PEER_JSON"}
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
done
