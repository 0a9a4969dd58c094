#!/usr/bin/env bash
# The route solver on TSPLIB instances against their proven optima (see BENCHMARKS.md).
#   bash bench/tsplib.sh [DIR] [TIME_LIMIT_MS]   (default: ../shared/bench/tsplib, 1000)
# DIR holds the .tsp files and an OPTIMA.md table with rows "| name | nodes | optimum |".
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-../shared/bench/tsplib}"
limit="${2:-1000}"
# The same target directory as .ci/run, so that DuckDB is not compiled twice.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/paicha-target}"
target="$CARGO_TARGET_DIR"
cargo build --release -q
echo "| instance | nodes | optimum | paicha (${limit} ms) | gap | time |"
echo "|---|---|---|---|---|---|"
gaps=()
for f in "$dir"/*.tsp; do
  name="$(basename "$f" .tsp)"
  optimum="$(awk -F'|' -v n="$name" '{gsub(/ /, "", $2); gsub(/ /, "", $4)} $2 == n {print $4}' "$dir/OPTIMA.md")"
  line="$("$target/release/paicha" tsp "$f" --time-limit-ms "$limit")"
  python3 - "$name" "$optimum" "$line" <<'PY'
import json, sys
name, optimum, line = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
gap = 100.0 * (line["length"] - optimum) / optimum
print(f"| {name} | {line['nodes']} | {optimum} | {line['length']} | {gap:.2f}% | {line['time_ms']:.0f} ms |")
PY
done
