#!/usr/bin/env bash
# Runs `paicha bench assign` and the GeoPandas peer on the same files, in one run.
#   bash bench/assign.sh [HOUSEHOLDS] [LAYER]      (default 1,000,000 over the demo county)
# LAYER is a GeoJSON file of village polygons with a `code` property (as `paicha export
# areas --level village` writes), a paicha database (.duckdb: its villages), or `dense`:
# the dense city demo (1,155 villages of 300 to 4,103 vertices), built once into
# $CARGO_TARGET_DIR/bench-data/peer-dense.duckdb. Positions are synthetic, drawn over the
# layer; paicha exports the layer and the positions, and GeoPandas reads those files.
# GeoPandas is installed from PyPI into a virtual environment under the target dir.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
layer="${2:-}"
# The same target directory as .ci/run, so that DuckDB is not compiled twice.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/paicha-target}"
target="$CARGO_TARGET_DIR"
venv="$target/bench-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q geopandas pyogrio
fi
cargo build --release -q
paicha="$target/release/paicha"
case "$layer" in
  "") source=() ;;
  dense)
    db="$target/bench-data/peer-dense.duckdb"
    if [ ! -f "$db" ]; then
      mkdir -p "$target/bench-data"
      "$paicha" demo --city --dense --households 70000 --db "$db"
    fi
    source=(--db "$db") ;;
  *.duckdb) source=(--db "$layer") ;;
  *) source=(--villages "$layer") ;;
esac
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
"$paicha" bench assign --households "$n" "${source[@]}" --export-dir "$dir"
"$venv/bin/python" bench/assign_geopandas.py "$dir"
