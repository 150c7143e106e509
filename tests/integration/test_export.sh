#!/usr/bin/env bash
# clickpulse export: silver's tables (refunds too) Hive-partitioned by day and the gold marts as Parquet,
# read back by DuckDB equal to the store exactly; a later export writes only the days with
# new events; --full and an emptied directory write everything again; the export job.
source "$(dirname "$0")/lib.sh"
cp_() { "$bin" "$@" --set data_dir="$tmp/data"; }
q() { cp_ query --format csv "$1" | tail -1; }
ex=$tmp/data/exports
pq() { echo "read_parquet('$ex/$1/*/*.parquet', hive_partitioning = true)"; }

"$bin" simulate --customers 600 --days 4 --seed 21 --out "$tmp/sim4" --outputs events --quiet
"$bin" simulate --customers 600 --days 1 --start 2026-10-06 --seed 22 --out "$tmp/sim5" --outputs events --quiet
cp_ ingest --quiet "$tmp/sim4/events.jsonl"
# refunds of four orders, a minute after each (the same day)
cp_ query --format json "SELECT order_id, user_id, CAST(revenue AS VARCHAR) AS revenue,
  strftime(event_time + INTERVAL 1 MINUTE, '%Y-%m-%dT%H:%M:%SZ') AS t FROM orders
  WHERE hour(event_time) < 23 ORDER BY order_id LIMIT 4" |
  python3 -c '
import json, sys
for i, o in enumerate(json.load(sys.stdin)):
    print(json.dumps({"type": "track", "event": "Order Refunded", "userId": o["user_id"], "messageId": "rf-%d" % i,
                      "timestamp": o["t"], "receivedAt": o["t"], "properties": {"order_id": o["order_id"], "total": o["revenue"]}}))
' > "$tmp/refunds.jsonl"
cp_ ingest --quiet "$tmp/refunds.jsonl"
check "four refunds" test "$(q "SELECT count(*) FROM refunds")" = 4
cp_ jobs run sessions > /dev/null
cp_ models run > /dev/null
check "export" bash -c "'$bin' export --set data_dir='$tmp/data' | grep -q '^exported 4 days and 12 marts'"
same() { # silver and the export agree on every table's signature
  test "$(q "SELECT count(*), sum(\"offset\"), count(DISTINCT message_id), count(*) FILTER (dt <> event_date) FROM $(pq events)")" = "$(q "SELECT count(*), sum(\"offset\"), count(DISTINCT message_id), 0 FROM events")" &&
  test "$(q "SELECT count(*), sum(revenue), count(DISTINCT order_id) FROM $(pq orders)")" = "$(q "SELECT count(*), sum(revenue), count(DISTINCT order_id) FROM orders")" &&
  test "$(q "SELECT count(*), sum(quantity), sum(price) FROM $(pq order_items)")" = "$(q "SELECT count(*), sum(quantity), sum(price) FROM order_items")" &&
  test "$(q "SELECT count(*), sum(amount), count(*) FILTER (dt <> event_date) FROM $(pq refunds)")" = "$(q "SELECT count(*), sum(amount), 0 FROM refunds")" &&
  test "$(q "SELECT count(*), sum(pageviews), count(DISTINCT session_id) FROM $(pq sessions)")" = "$(q "SELECT count(*), sum(pageviews), count(DISTINCT session_id) FROM sessions")"
}
check "silver tables equal the store" same
for m in daily_sales_summary dim_customers funnel_daily; do
  check "gold $m equals the store" test "$(q "SELECT (SELECT count(*) FROM (SELECT * FROM read_parquet('$ex/gold/$m.parquet') EXCEPT ALL SELECT * FROM gold.$m)) + (SELECT count(*) FROM (SELECT * FROM gold.$m EXCEPT ALL SELECT * FROM read_parquet('$ex/gold/$m.parquet')))")" = 0
done
check "one partition a day" test "$(ls "$ex/events" | tr '\n' ' ')" = "dt=2026-10-01 dt=2026-10-02 dt=2026-10-03 dt=2026-10-04 "
check "no temporary files left" test -z "$(find "$ex" -name '*.tmp')"
# A later day: only it (and the day before, when there is one, for sessions that grew) is
# written again.
touch -d '2001-01-01' "$ex"/*/dt=*/data.parquet
cp_ ingest --quiet "$tmp/sim5/events.jsonl"
cp_ jobs run sessions > /dev/null
cp_ models run > /dev/null
check "incremental export" bash -c "'$bin' export --set data_dir='$tmp/data' | grep -q '^exported 1 days'"
old=$(find "$ex" -path '*dt=*' -name data.parquet ! -newermt '2002-01-01' | sed "s|$ex/||" | sort | tr '\n' ' ')
check "the first four days untouched" test "$(echo "$old" | wc -w)" = 20
check "  and the new day written" test -s "$ex/events/dt=2026-10-06/data.parquet"
check "after the new day, silver tables equal the store" same
check "nothing new: nothing written" bash -c "'$bin' export --set data_dir='$tmp/data' | grep -q '^exported 0 days'"
check "--full writes every day" bash -c "'$bin' export --full --set data_dir='$tmp/data' | grep -q '^exported 5 days'"
rm -rf "$ex"
check "an emptied directory is written in full" bash -c "'$bin' export --set data_dir='$tmp/data' | grep -q '^exported 5 days'"
check "and equals the store" same
check "the export job" bash -c "'$bin' jobs run export --set data_dir='$tmp/data' | grep -q '^export: ok'"
check "an unwritable directory fails clearly" bash -c "! '$bin' export --dir /proc/nope --set data_dir='$tmp/data' 2> '$tmp/err' && grep -q 'cannot create' '$tmp/err'"
finish
