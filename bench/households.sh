#!/usr/bin/env bash
# Household import speed (issue 15): the demo county at N households (default 370,000,
# about 1.01 million persons) exported in the 防返贫 layout as one XLSX sheet, then
# `paicha import households` timed as a dry run and as a commit (each with its peak
# resident memory), against pandas `read_excel` plus the same checks in Python
# (bench/households_pandas.py) on the same file; interleaved, 3 rounds, medians.
#   bash bench/households.sh [N] [ROUNDS]
# Needs python3-pandas and python3-openpyxl (apt; run by /usr/bin/python3), and GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-370000}"
rounds="${2:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/paicha-target}"
cargo build --release -q
paicha="$CARGO_TARGET_DIR/release/paicha"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$paicha" demo --households "$n" --db "$work/base.duckdb" >/dev/null 2>&1
"$paicha" export --db "$work/base.duckdb" persons --out "$work/persons.xlsx"
echo "file: $(du -m "$work/persons.xlsx" | cut -f1) MB"
# Seconds and peak RSS (MB) of a command.
timed() { /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%s %d\n", $1, $2 / 1024}'; }
dry=(); dry_mb=(); commit=(); commit_mb=(); read=(); check=()
for round in $(seq "$rounds"); do
  cp "$work/base.duckdb" "$work/ours.duckdb"
  read -r s mb < <(timed "$paicha" import --db "$work/ours.duckdb" households "$work/persons.xlsx")
  dry+=("$s"); dry_mb+=("$mb")
  read -r s mb < <(timed "$paicha" import --db "$work/ours.duckdb" households "$work/persons.xlsx" --commit)
  commit+=("$s"); commit_mb+=("$mb")
  line=$(/usr/bin/python3 bench/households_pandas.py "$work/persons.xlsx" data/xinbin/divisions.csv)
  echo "round $round: paicha dry run ${dry[-1]} s (${dry_mb[-1]} MB), dry run + commit ${commit[-1]} s (${commit_mb[-1]} MB); pandas $line"
  read+=("$(echo "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["read_s"])')")
  check+=("$(echo "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["check_s"])')")
done
median() { printf '%s\n' "$@" | sort -g | sed -n "$((($# + 1) / 2))p"; }
echo "median: paicha dry run $(median "${dry[@]}") s, peak $(median "${dry_mb[@]}") MB; dry run + commit $(median "${commit[@]}") s, peak $(median "${commit_mb[@]}") MB; pandas read_excel $(median "${read[@]}") s + checks $(median "${check[@]}") s"
