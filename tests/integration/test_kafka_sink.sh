#!/usr/bin/env bash
# The Kafka sink against the mock cluster: events sent to the collector come out on
# the events topic as cleaned silver rows keyed by identity, and the per-minute
# rollups on the minutes topic keyed by minute (the latest value of each minute
# adds up to what was sent); a restart continues from the sink's cursor without
# publishing anything twice. Read back with Debian's kcat.
set -euo pipefail
source "$(dirname "$0")/net.sh"
bin=$1
tmp=$(mktemp -d)
free_ports 20 port
pids=()
trap 'for p in "${pids[@]}"; do kill -9 $p 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if "${@:2}"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }

"$bin" kafka-mock --partitions 2 --topics clickpulse.events,clickpulse.minutes > "$tmp/bs" &
pids+=($!)
wait_file "$tmp/bs"
bs=$(head -1 "$tmp/bs")
start() {
  "$bin" run --set data_dir="$tmp/data" --set collector.listen=127.0.0.1:$port \
    --set dashboard.listen=127.0.0.1:$((port + 1)) --set collector.write_keys=wk=web \
    --set sinks.kafka.brokers="$bs" --set logging.level=error 2>>"$tmp/run.log" &
  daemon=$!
  pids+=($!)
  wait_up "http://127.0.0.1:$port/health" "$daemon" || { cat "$tmp/run.log" >&2; return 1; }
}
send() { # send FROM TO: users u<i>, one page and one order each
  python3 - "$1" "$2" > "$tmp/batch.json" <<'PY'
import json, sys
a, b = int(sys.argv[1]), int(sys.argv[2])
batch = []
for i in range(a, b):
    batch.append({"type": "page", "userId": f"u{i}", "messageId": f"p-{i}", "properties": {"path": "/"}})
    batch.append({"type": "track", "event": "Order Completed", "userId": f"u{i}", "messageId": f"o-{i}",
                  "properties": {"order_id": f"order-{i}", "revenue": 10}})
print(json.dumps({"batch": batch}))
PY
  curl -s -o /dev/null -w '%{http_code}' -u wk: --data-binary @"$tmp/batch.json" http://127.0.0.1:$port/v1/batch
}
published() { curl -s http://127.0.0.1:$port/metrics | awk '$1 == "clickpulse_sink_rows_total{sink=\"kafka\",table=\"events\"}" {print $2}'; }
topic() { kcat -C -b "$bs" -t "$1" -o beginning -e -q -f '%k\t%s\n'; }

start
check "first batch accepted" test "$(send 0 50)" = 200
events_out() { [ "$(topic clickpulse.events | wc -l)" -ge "$1" ]; }
check "the events are published" wait_for 60 events_out 100
kill "$daemon"; wait "$daemon" 2>/dev/null || true
start # the cursor carries over
check "second batch accepted" test "$(send 50 80)" = 200
check "the rest is published" wait_for 60 events_out 160
sleep 1
topic clickpulse.events > "$tmp/events.tsv"
check "each event exactly once (160)" test "$(wc -l < "$tmp/events.tsv")" = 160 -a \
  "$(cut -f2 "$tmp/events.tsv" | python3 -c "import json,sys; print(len({json.loads(l)['message_id'] for l in sys.stdin}))")" = 160
check "keyed by identity" python3 -c "
import json, sys
for line in open('$tmp/events.tsv'):
    key, value = line.rstrip('\n').split('\t', 1)
    e = json.loads(value)
    assert key == e['identity'] == e['user_id'], (key, e['identity'])
    assert e['kind'] in ('page', 'order_completed'), e['kind']
"
check "cleaned rows: revenue and kind as in silver" python3 -c "
import json
rows = [json.loads(l.split('\t', 1)[1]) for l in open('$tmp/events.tsv')]
orders = [r for r in rows if r['kind'] == 'order_completed']
assert len(orders) == 80 and all(float(r['revenue']) == 10 for r in orders) and all(r['order_id'] for r in orders)
"
# the rollups are a table of their own, published apart from the events: waited for
minutes_add_up() {
  topic clickpulse.minutes > "$tmp/minutes.tsv"
  python3 -c "
import json
latest = {}
for line in open('$tmp/minutes.tsv'):
    key, value = line.rstrip('\n').split('\t', 1)
    latest[key] = json.loads(value)
assert sum(m['events'] for m in latest.values()) == 160, latest
assert sum(m['orders'] for m in latest.values()) == 80
assert abs(sum(m['revenue'] for m in latest.values()) - 800) < 1e-6
assert all(k.endswith(':00Z') for k in latest)
" 2> /dev/null
}
check "per-minute rollups: the latest value of each minute adds up" wait_for 60 minutes_add_up
counted() { [ "$(published)" -ge 1 ] 2> /dev/null; } # counted once the broker confirmed the batch
check "published counter" wait_for 60 counted
kill "$daemon"; wait "$daemon" 2>/dev/null || true
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
