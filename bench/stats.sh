#!/usr/bin/env bash
# Village-level figures of every indicator: DuckDB alone on the file, then the
# HTTP endpoint, in one run (see BENCHMARKS.md).
#   bash bench/stats.sh [HOUSEHOLDS...]      (default: 1000000 10000000)
# Demo databases are built once under the target dir and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
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
