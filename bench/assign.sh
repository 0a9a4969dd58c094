#!/usr/bin/env bash
# Runs `paicha bench assign` and the GeoPandas peer on the same files, in one run.
#   bash bench/assign.sh [HOUSEHOLDS]      (default 1,000,000)
# GeoPandas is installed from PyPI into a virtual environment under the target dir.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
# The same target directory as .ci/run, so that DuckDB is not compiled twice.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/paicha-target}"
target="$CARGO_TARGET_DIR"
venv="$target/bench-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q geopandas pyogrio
fi
cargo build --release -q
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
"$target/release/paicha" bench assign --households "$n" --export-dir "$dir"
"$venv/bin/python" bench/assign_geopandas.py "$dir"
