#!/usr/bin/env bash
# Village-level figures of every indicator: DuckDB alone on the file, then the
# HTTP endpoint, in one run (see BENCHMARKS.md).
#   bash bench/stats.sh [HOUSEHOLDS...]      (default: 1000000 10000000)
# Demo databases are built once under the target dir and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
# The same target directory as .ci/run, so that DuckDB is not compiled twice.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/paicha-target}"
target="$CARGO_TARGET_DIR"
cargo build --release -q
mkdir -p "$target/bench-data"
for n in "${@:-1000000 10000000}"; do
  for size in $n; do
    db="$target/bench-data/demo-$size.duckdb"
    if [ ! -f "$db" ]; then
      "$target/release/paicha" demo --households "$size" --db "$db"
    fi
    "$target/release/paicha" bench stats --db "$db"
  done
done
