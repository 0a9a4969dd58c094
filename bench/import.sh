#!/usr/bin/env bash
# Boundary import speed (issue 14): the demo county's 194 villages densified to about
# 1,600 vertices each (312,000 in all, as land-survey boundaries are), written by GDAL as
# a GBK Shapefile in CGCS2000 Gauss-Kruger zone 42 (EPSG:4530) with 19-digit ZLDWDM codes.
# Times `paicha import boundaries` (dry run, then commit) against `ogr2ogr` converting the
# same file to WGS-84 GeoJSON, interleaved, 5 rounds; prints the medians. Then a new
# office's first day: the division table into a new database, and the same boundaries
# committed onto it (townships and the county drawn as their villages' union).
#   bash bench/import.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/paicha-target}"
cargo build --release -q
paicha="$CARGO_TARGET_DIR/release/paicha"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$paicha" demo --households 2000 --seed 4 --db "$work/theirs.duckdb" >/dev/null 2>&1
"$paicha" export --db "$work/theirs.duckdb" areas --level village --out "$work/theirs.geojson" 2>/dev/null
ogr2ogr -f "ESRI Shapefile" -t_srs EPSG:4530 -lco ENCODING=GBK -segmentize 0.00012 \
  -dialect SQLite -sql "SELECT code || '0000000' AS ZLDWDM, name AS ZLDWMC, geometry FROM theirs" \
  "$work/dense.shp" "$work/theirs.geojson"
vertices=$(ogr2ogr -f GeoJSON /vsistdout/ "$work/dense.shp" | python3 -c "
import json, sys
d = json.load(sys.stdin)
rings = lambda g: g['coordinates'] if g['type'] == 'Polygon' else [r for p in g['coordinates'] for r in p]
print(sum(len(r) for f in d['features'] for r in rings(f['geometry'])))")
echo "villages: 194, vertices: $vertices"
"$paicha" demo --households 2000 --seed 3 --db "$work/base.duckdb" >/dev/null 2>&1
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
dry=(); commit=(); ogr=(); divisions=(); office=()
for round in 1 2 3 4 5; do
  cp "$work/base.duckdb" "$work/ours.duckdb"
  dry+=("$(ms "$paicha" import --db "$work/ours.duckdb" boundaries "$work/dense.shp" --level village)")
  commit+=("$(ms "$paicha" import --db "$work/ours.duckdb" boundaries "$work/dense.shp" --level village --commit)")
  rm -f "$work/out.geojson"
  ogr+=("$(ms ogr2ogr -f GeoJSON -t_srs EPSG:4326 "$work/out.geojson" "$work/dense.shp")")
  rm -f "$work/office.duckdb"*
  divisions+=("$(ms "$paicha" import --db "$work/office.duckdb" divisions data/xinbin/divisions.csv --commit)")
  office+=("$(ms "$paicha" import --db "$work/office.duckdb" boundaries "$work/dense.shp" --level village --commit)")
done
median() { printf '%s\n' "$@" | sort -n | sed -n 3p; }
echo "paicha import, dry run (read, reproject, match, check, report): median $(median "${dry[@]}") ms"
echo "paicha import --commit (all of that, then write a new data version): median $(median "${commit[@]}") ms"
echo "ogr2ogr to WGS-84 GeoJSON (read and reproject only): median $(median "${ogr[@]}") ms"
echo "paicha import divisions --commit (210 divisions into a new database): median $(median "${divisions[@]}") ms"
echo "paicha import --commit onto them (and draw 15 townships and the county as unions): median $(median "${office[@]}") ms"
