#!/usr/bin/env bash
# kill -9 the ingesting process at random moments, at least 20 times, restarting
# it each time; afterwards silver equals the ground truth exactly: nothing lost,
# nothing doubled.
set -euo pipefail
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" simulate --customers 8000 --days 10 --seed 5 --duplicate-rate 0.02 --late-rate 0.02 \
  --malformed-rate 0.005 --out "$tmp/sim" --quiet
RANDOM=42
kills=0; mid=0
while [ "$kills" -lt 20 ]; do
  "$bin" ingest --quiet --set data_dir="$tmp/data" --set logging.level=error "$tmp/sim/events.jsonl" &
  pid=$!
  sleep "0.$(( RANDOM % 6 + 1 ))$(( RANDOM % 10 ))"
  if kill -9 "$pid" 2>/dev/null; then
    kills=$((kills + 1))
    wait "$pid" 2>/dev/null || true
    # Did the kill land part-way (log written, file not finished)?
    if [ -d "$tmp/data/log" ] && [ -n "$(ls "$tmp/data/log")" ]; then mid=$((mid + 1)); fi
  else
    wait "$pid" || true
    break # finished before the kill: the remaining work is done
  fi
done
"$bin" ingest --quiet --set data_dir="$tmp/data" "$tmp/sim/events.jsonl"
echo "killed $kills times ($mid after the log had data)"
pass=0; fail=0
if [ "$kills" -ge 20 ]; then pass=$((pass+1)); else echo "FAIL: only $kills kills landed before the ingest finished"; fail=$((fail+1)); fi
if python3 "$here/silver_vs_truth.py" "$bin" "$tmp/data" "$tmp/sim/truth.json"; then pass=$((pass+1)); else fail=$((fail+1)); fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
