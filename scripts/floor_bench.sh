#!/usr/bin/env bash
# Whole-process instruction counts of `loadscope trace` against the floor.
#
# Dev-only; results and how to read them are in BENCHMARKS.md ("Whole
# process against the floor (plain rusqlite)"). Needs valgrind and jq.
#
#   scripts/floor_bench.sh [USERS]              # the table (default 10000 users)
#   scripts/floor_bench.sh --scaling N [N...]   # trace --strategy select at each N
#
# For each strategy, on the sample database of USERS users (seed 1, made
# once in $FLOOR_DIR, default ${TMPDIR:-/tmp}/loadscope-floor):
#   1. the statement list: `loadscope trace DB --model assets/models/blog.toml
#      --expand posts --strategy S --format json` (every user, then each
#      user's posts under S);
#   2. under `valgrind --tool=callgrind`, the "Collected" total of
#      (a) the same trace with `--format text > /dev/null`,
#      (b) the same with `--format json > /dev/null`,
#      (c) the floor, `benches/floor.rs`, on the statements of (1), with the
#          reading of the list left out (`--toggle-collect=floor::load_statements`).
# Run from the repository root. MODEL, EXPAND and STRATEGIES override the
# defaults. The whole table takes about 8 minutes at 10,000 users.
set -euo pipefail

MODEL=${MODEL:-assets/models/blog.toml}
EXPAND=${EXPAND:-posts}
STRATEGIES=${STRATEGIES:-select immediate joined joined+innerjoin subquery selectin raise raise_on_sql noload dynamic write_only}
DIR=${FLOOR_DIR:-${TMPDIR:-/tmp}/loadscope-floor}
BIN=target/release/loadscope
FLOOR=target/release/examples/floor

cargo build --release --quiet --bin loadscope --example floor
mkdir -p "$DIR"

# Instructions of one command (its stdout to /dev/null).
instructions() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
    sed -n 's/^==[0-9]*== Collected : //p'
}
# The floor less the reading of its statement list. --toggle-collect alone
# would count only that function (it implies --collect-atstart=no), so the
# start is switched back on after it.
floor_instructions() {
  instructions --toggle-collect='floor::load_statements' --collect-atstart=yes "$FLOOR" "$@"
}

database() {
  local db="$DIR/bench$1.db"
  [[ -f $db ]] || "$BIN" sample --users "$1" --out "$db" >&2
  echo "$db"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f×", a / b }'; }
commas() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<< "$1"; }

if [[ ${1:-} == --scaling ]]; then
  shift
  (($#)) || { echo "usage: $0 --scaling USERS [USERS...]" >&2; exit 2; }
  echo "| users | statements | rows | floor | trace (text) | trace / floor | trace / trace at $1 users |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
  first=
  for users in "$@"; do
    db=$(database "$users")
    list="$DIR/select-$users.json"
    "$BIN" trace "$db" --model "$MODEL" --expand "$EXPAND" --strategy select --format json > "$list"
    read -r _ stmts _ rows < <("$FLOOR" "$list" "$db")
    f=$(floor_instructions "$list" "$db")
    t=$(instructions "$BIN" trace "$db" --model "$MODEL" --expand "$EXPAND" --strategy select --format text)
    first=${first:-$t}
    echo "| $(commas "$users") | $(commas "$stmts") | $(commas "$rows") | $(commas "$f") | $(commas "$t") | $(ratio "$t" "$f") | $(ratio "$t" "$first") |"
  done
  exit 0
fi

users=${1:-10000}
db=$(database "$users")
echo "database: $db ($users users), --model $MODEL --expand $EXPAND" >&2
echo "| strategy | statements | rows | floor | text | json | text / floor | json / floor |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for s in $STRATEGIES; do
  list="$DIR/$s-$users.json"
  trace=("$BIN" trace "$db" --model "$MODEL" --expand "$EXPAND" --strategy "$s")
  "${trace[@]}" --format json > "$list"
  read -r _ stmts _ rows < <("$FLOOR" "$list" "$db")
  [[ $rows == $(jq .totals.rows "$list") ]] || { echo "$s: row totals differ" >&2; exit 1; }
  f=$(floor_instructions "$list" "$db")
  t=$(instructions "${trace[@]}" --format text)
  j=$(instructions "${trace[@]}" --format json)
  echo "| \`$s\` | $(commas "$stmts") | $(commas "$rows") | $(commas "$f") | $(commas "$t") | $(commas "$j") | $(ratio "$t" "$f") | $(ratio "$j" "$f") |"
done
