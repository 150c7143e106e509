#!/usr/bin/env bash
# The differential test: the simulator's messiest output, three seeds of over 50,000
# lines each, and the reference's own file of documented corner cases, through the engine
# (ingest, models) and through the independent reference (tests/reference/, written from
# the docs alone); every silver figure and every mart compared exactly. Any difference
# fails: the docs decide which side is wrong.
source "$(dirname "$0")/lib.sh"
ref=$(cd "$(dirname "$0")/../reference" && pwd)
compare() {
  "$bin" ingest --quiet --set data_dir="$tmp/d" "$1"
  "$bin" models run --set data_dir="$tmp/d" >/dev/null
  python3 "$ref/compare.py" "$bin" "$tmp/d" "$1" --now engine --max-lines 10
  local rc=$?
  rm -rf "$tmp/d"
  return $rc
}
for seed in 1 2 3; do
  "$bin" simulate --customers 1000 --days 14 --seed "$seed" --profile messy --out "$tmp/s$seed" --quiet
  lines=$(wc -l <"$tmp/s$seed/events.jsonl")
  check "seed $seed: over 50,000 lines ($lines)" test "$lines" -gt 50000
  check "seed $seed: engine = reference" compare "$tmp/s$seed/events.jsonl"
  rm -rf "$tmp/s$seed"
done
python3 "$ref/edge_cases.py" "$tmp/edge.jsonl"
check "corner cases: engine = reference" compare "$tmp/edge.jsonl"
finish
