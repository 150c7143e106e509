#!/usr/bin/env bash
# The source pipelines' topic layouts against the mock cluster: web events on one
# topic, customer profiles and purchases as table rows on their own topics (plain
# JSON rows and Debezium change events, produced with kcat) land in silver as
# identify and Order Completed events; a delete maps to nothing; a row missing its
# customer is a dead letter naming the topic, partition and offset.
set -euo pipefail
source "$(dirname "$0")/net.sh"
bin=$1
tmp=$(mktemp -d)
free_ports 20 port
pids=()
trap 'for p in "${pids[@]}"; do kill -9 $p 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if "${@:2}"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }

"$bin" kafka-mock --partitions 1 --set kafka.topics=web,customers=customers,purchases=purchases > "$tmp/bs" &
pids+=($!)
wait_file "$tmp/bs"
bs=$(head -1 "$tmp/bs")
p() { printf '%s' "$2" | kcat -P -b "$bs" -t "$1"; }
p web '{"type":"page","anonymousId":"a-1","userId":"cus_1","messageId":"w-1","timestamp":"2026-10-02T09:59:00Z","properties":{"path":"/p/lamp"}}'
p customers '{"customer_id":"cus_1","name":"Ava Moreau","email":"ava@gmx.de","country":"BR","signup_date":"2026-10-01"}'
p customers '{"schema":{},"payload":{"before":{"customer_id":"cus_1"},"after":{"customer_id":"cus_1","name":"Ava Moreau","email":"ava@new.example","country":"BR"},"op":"u"}}'
p customers '{"before":{"customer_id":"cus_2"},"after":null,"op":"d"}'
p purchases '{"order_id":"o-1","customer_id":"cus_1","purchase_date":"2026-10-02T10:00:00Z","currency":"EUR","total_amount":"64.90","lines":[{"product_id":"p-1","name":"Lamp","quantity":2,"price":29.95},{"product_id":"p-2","quantity":1,"price":5}]}'
p purchases '{"after":{"order_id":"o-2","customer_id":"cus_1","purchase_date":"2026-10-03T08:00:00Z","product_id":"p-3","quantity":3,"price":2.5},"op":"c"}'
p purchases '{"order_id":"o-3","purchase_date":"2026-10-03T09:00:00Z"}'
p purchases '{"order_id":"o-1","customer_id":"cus_1","total_amount":"64.90"}'

"$bin" run --set data_dir="$tmp/data" --set collector.listen=127.0.0.1:$port \
  --set dashboard.listen=127.0.0.1:$((port + 1)) --set kafka.brokers="$bs" \
  --set kafka.topics=web,customers=customers,purchases=purchases --set logging.level=error 2>"$tmp/run.log" &
daemon=$!
pids+=($!)
q() { "$bin" query --wait 60000 --set data_dir="$tmp/data" --set dashboard.listen=127.0.0.1:$((port + 1)) --format csv "$1" | tail -n +2; }
all_in() { [ "$(q "SELECT count(*) FROM events" 2>/dev/null) $(q "SELECT count(*) FROM dead_letters" 2>/dev/null)" = "5 1" ]; }
check "five events and one dead letter" wait_for 60 all_in
check "events by kind and source" test "$(q "SELECT string_agg(source || ':' || kind, '|' ORDER BY source, kind) FROM events")" = \
  "kafka:customers:identify|kafka:customers:identify|kafka:purchases:order_completed|kafka:purchases:order_completed|kafka:web:page"
check "profiles: both changes, latest e-mail last" test "$(q "SELECT string_agg(email, '|' ORDER BY \"offset\") FROM events WHERE kind = 'identify'")" = "ava@gmx.de|ava@new.example"
check "profile country" test "$(q "SELECT count(*) FROM events WHERE kind = 'identify' AND country = 'BR'")" = 2
check "order o-1: revenue, lines, units" test "$(q "SELECT revenue, items, units, currency FROM orders WHERE order_id = 'o-1'")" = "64.90,2,3,EUR"
check "order o-1 items" test "$(q "SELECT string_agg(product_id || 'x' || quantity || '@' || price, '|' ORDER BY line) FROM order_items WHERE order_id = 'o-1'")" = "p-1x2@29.95|p-2x1@5.00"
check "order o-2 from a Debezium row, one flat line" test "$(q "SELECT revenue, units, strftime(event_time, '%Y-%m-%d %H:%M') FROM orders WHERE order_id = 'o-2'")" = "7.50,3,2026-10-03 08:00"
# the last message of its topic, after the dead letter: all_in does not cover it
duplicate() { [ "$(q "SELECT count(*) FROM duplicates WHERE message_id = 'order:o-1'")" = 1 ]; }
check "the same order again is a duplicate" wait_for 60 duplicate
check "a row without its customer: dead letter with topic, partition, offset" test \
  "$(q "SELECT source, delivery, reason, detail FROM dead_letters")" = "kafka:purchases,0/2,missing_field,purchases row: customer_id: missing"
kill "$daemon"; wait "$daemon" 2>/dev/null || true

# Settings librdkafka refuses, or a topic layout that does not exist: the daemon says which.
refused() { ! "$bin" run --set data_dir="$tmp/bad" --set collector.listen=127.0.0.1:$((port + 2)) \
  --set dashboard.listen=127.0.0.1:$((port + 3)) --set kafka.brokers="$bs" "$@" 2>"$tmp/bad.err"; }
check "kafka.properties not name=value" refused --set kafka.properties=nonsense
check "its message" grep -q "kafka.properties: 'nonsense' is not name=value" "$tmp/bad.err"
check "a property librdkafka does not know" refused --set kafka.properties=no.such.thing=1
check "librdkafka's message" grep -q "kafka.properties: No such configuration property" "$tmp/bad.err"
check "an unknown layout" refused --set kafka.topics=x=orders
check "its message too" grep -q "kafka.topics: 'x=orders': expected a topic, or topic=events|customers|purchases" "$tmp/bad.err"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
