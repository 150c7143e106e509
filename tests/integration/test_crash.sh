#!/usr/bin/env bash
# kill -9 the ingesting process at random moments, at least 20 times, restarting
# it each time; afterwards silver equals the ground truth and the independent reference
# (tests/reference/) exactly: nothing lost, nothing doubled. The input holds, besides the simulator's mess, amounts silver cannot
# hold (refused out_of_range) and byte-identical re-deliveries 60,000 lines after their
# first (past the dedup table's growth): each one more duplicate.
set -euo pipefail
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" simulate --customers 8000 --days 10 --seed 5 --duplicate-rate 0.02 --late-rate 0.02 \
  --malformed-rate 0.005 --out "$tmp/sim" --quiet
# The lines accepted as first deliveries (by a clean ingest), then the planted ones.
"$bin" ingest --quiet --set data_dir="$tmp/clean" "$tmp/sim/events.jsonl"
"$bin" query --set data_dir="$tmp/clean" --format csv "SELECT message_id FROM events" >"$tmp/accepted.csv"
python3 - "$tmp/sim/events.jsonl" "$tmp/sim/truth.json" "$tmp/accepted.csv" <<'PY'
import json, sys
events, truth_path, accepted_path = sys.argv[1:4]
accepted = set(open(accepted_path).read().split("\n")[1:])
lines = open(events, "rb").read().split(b"\n")[:-1]
first = {}
for i, l in enumerate(lines):
    try:
        m = json.loads(l).get("messageId")
    except Exception:
        continue
    if m in accepted and m not in first:
        first[m] = i
copies = {}  # a copy of line i goes after line i + 60000
for m, i in first.items():
    if i % 9000 == 17 and i + 60000 < len(lines):
        copies.setdefault(i + 60000, []).append(lines[i])
out, poison = [], 0
for i, l in enumerate(lines):
    out.append(l)
    out.extend(copies.get(i, []))
    if i % 25000 == 24999:
        poison += 1
        out.append(b'{"type":"track","event":"Checkout Started","userId":"u-poison","messageId":"poison-%d",'
                   b'"timestamp":"2026-10-01T11:00:00Z","properties":{"order_id":"o2","revenue":1e16}}' % i)
open(events, "wb").write(b"\n".join(out) + b"\n")
t = json.load(open(truth_path))
n = sum(len(v) for v in copies.values())
t["totals"]["duplicates"] += n
t["totals"]["rejects_by_reason"]["out_of_range"] = poison
json.dump(t, open(truth_path, "w"))
print("planted %d far re-deliveries and %d amounts out of range" % (n, poison))
PY
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
# and the independent reference, from the same raw input, gets the same silver
if python3 "$here/../reference/compare.py" "$bin" "$tmp/data" "$tmp/sim/events.jsonl" --only-silver \
  --now engine --max-lines 10; then pass=$((pass+1)); else echo "FAIL: silver = reference"; fail=$((fail+1)); fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
