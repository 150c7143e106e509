#!/usr/bin/env bash
# The sinks against real servers on loopback — PostgreSQL (initdb, pg_ctl as postgres),
# ClickHouse (Debian's 18.16) and InfluxDB 1.x, each with a temporary configuration:
# while a simulated shop streams into the daemon, all three are stopped and started
# again; ingestion goes on, the sinks say they are down and catch up once the servers
# are back; refunds follow. Afterwards every silver table and every gold mart in PostgreSQL and in
# ClickHouse equals the store's exactly, and InfluxDB has each minute of rt_minute.
# Delivering again with the positions forgotten duplicates nothing.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/servers.sh"
here=$(cd "$(dirname "$0")" && pwd)
free_ports 20 base
port=$base; api=http://127.0.0.1:$((base + 1)); pgp=$((base + 2)); chp=$((base + 3)); ifp=$((base + 5))
pid=; sim=
at_exit() {
  [ -n "$pid" ] && kill -9 $pid 2>/dev/null; [ -n "$sim" ] && kill $sim 2>/dev/null
  stop_servers "$tmp"; true
}
data="$tmp/data"
common=(--set data_dir="$data"
  --set "sinks.postgres.dsn=host=127.0.0.1 port=$pgp user=postgres dbname=postgres"
  --set sinks.clickhouse.url=http://127.0.0.1:$chp/
  --set "sinks.influx.url=http://127.0.0.1:$ifp/write?db=shop")
q() { "$bin" query --wait 60000 --format csv "$1" --set data_dir="$data" --set dashboard.listen=127.0.0.1:$((base + 1)) 2>/dev/null | tail -1; }
metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
pg_count() { psql_at "$tmp" $pgp "SELECT count(*) FROM clickpulse.$1" 2>/dev/null || echo -1; }
ch_count() { ch_at $chp "SELECT count() FROM clickpulse.$1" 2>/dev/null || echo -1; }
runs_ok() { q "SELECT count(*) FROM job_runs WHERE job = '$1' AND status = 'ok'"; }
run_job() {
  local before; before=$(runs_ok "$1")
  curl -sf -H "$(api_auth "$data")" -X POST "$api/api/v1/jobs/$1/run" > /dev/null
  ran() { [ "$(runs_ok "$1")" -gt "$before" ]; }
  wait_for 300 ran "$1"
}

check "PostgreSQL starts" start_postgres "$tmp" $pgp
check "ClickHouse starts" start_clickhouse "$tmp" $chp
check "InfluxDB starts" start_influx "$tmp" $ifp

"$bin" run "${common[@]}" --set dashboard.listen=127.0.0.1:$((base + 1)) \
  --set collector.listen=127.0.0.1:$port --set collector.write_keys=wk_sink \
  --set sinks.poll=100ms --set sinks.retry_min=100ms --set sinks.retry_max=500ms \
  --set sinks.replace_interval=1s --set jobs.sessions.schedule="0 0 1 1 *" \
  --set jobs.models.schedule="0 0 1 1 *" --set jobs.tests.schedule="0 0 1 1 *" \
  2> "$tmp/run.log" &
pid=$!
check "the daemon starts" wait_for 100 curl -sf http://127.0.0.1:$port/health -o /dev/null
[ "$fail" = 0 ] || cat "$tmp/run.log" >&2
# a stream longer than the test, stopped once it has run across the restart
"$bin" simulate --customers 800 --days 60 --seed 21 --http http://127.0.0.1:$port \
  --write-key wk_sink --rate 1200 --quiet > "$tmp/sim.out" 2>&1 &
sim=$!
delivering() { [ "$(pg_count events)" -gt 0 ] && [ "$(ch_count events)" -gt 0 ]; }
check "events arrive in PostgreSQL and ClickHouse while the stream runs" wait_for 100 delivering

stop_postgres "$tmp"; stop_clickhouse "$tmp"; stop_influx "$tmp"
down() { [ "$(metric 'clickpulse_sink_up{sink="postgres"}')" = 0 ] &&
         [ "$(metric 'clickpulse_sink_up{sink="clickhouse"}')" = 0 ] &&
         [ "$(metric 'clickpulse_sink_up{sink="influx"}')" = 0 ]; }
check "the sinks report their servers down" wait_for 50 down
n1=$(q "SELECT count(*) FROM events")
grows() { [ "$(q "SELECT count(*) FROM events")" -gt "$n1" ]; }
check "ingestion goes on meanwhile (more than $n1 events)" wait_for 60 grows
check "the collector stays healthy" curl -sf http://127.0.0.1:$port/health -o /dev/null
health() { curl -s "http://127.0.0.1:$((base + 1))/health"; }
degraded() { python3 -c '
import json, sys
h = json.loads(sys.argv[1])
assert h["status"] == "degraded", h
assert all(not h["sinks"][s]["up"] and h["sinks"][s]["reason"] for s in ("postgres", "clickhouse", "influx")), h
' "$(health)" 2> /dev/null; }
check "the daemon's health says which sinks are down, and why" wait_for 60 degraded
check "the failures are logged" grep -q 'postgres: .*retrying; ingestion goes on' "$tmp/run.log"
check "PostgreSQL starts again" start_postgres "$tmp" $pgp
check "ClickHouse starts again" start_clickhouse "$tmp" $chp
check "InfluxDB starts again" start_influx "$tmp" $ifp
up() { [ "$(metric 'clickpulse_sink_up{sink="postgres"}')" = 1 ] &&
       [ "$(metric 'clickpulse_sink_up{sink="clickhouse"}')" = 1 ] &&
       [ "$(metric 'clickpulse_sink_up{sink="influx"}')" = 1 ]; }
check "the sinks deliver again" wait_for 100 up
healthy() { python3 -c '
import json, sys
h = json.loads(sys.argv[1])
assert h["status"] == "ok" and all(v["up"] for v in h["sinks"].values()), h
' "$(health)" 2> /dev/null; }
check "and health is ok again" wait_for 60 healthy
still=$(kill -0 $sim 2>/dev/null && echo yes || echo no)
check "the stream was still running across the restart" test "$still" = yes
kill $sim; wait $sim 2>/dev/null || true; sim=
# refunds of six orders, in full and in part, through the collector
"$bin" query --wait 60000 --format json --set data_dir="$data" --set dashboard.listen=127.0.0.1:$((base + 1)) \
  "SELECT order_id, user_id, CAST(revenue AS VARCHAR) AS revenue FROM orders ORDER BY order_id LIMIT 6" |
  python3 -c '
import json, sys
batch = [{"type": "track", "event": "Order Refunded", "userId": o["user_id"], "messageId": "refund-%d" % i,
          "properties": {"order_id": o["order_id"], "total": o["revenue"] if i % 2 else "1.00"}}
         for i, o in enumerate(json.load(sys.stdin))]
print(json.dumps({"batch": batch}))' > "$tmp/refunds.json"
check "six refunds accepted" curl -sf -u wk_sink: -H 'Content-Type: application/json' \
  --data-binary @"$tmp/refunds.json" http://127.0.0.1:$port/v1/batch -o /dev/null
refunded() { [ "$(q "SELECT count(*) FROM refunds")" = 6 ]; }
check "six refunds in silver" wait_for 100 refunded
check "sessions" run_job sessions
check "models" run_job models
caught_up() { local n; n=$(q "SELECT count(*) FROM events")
  [ "$(pg_count events)" = "$n" ] && [ "$(ch_count events)" = "$n" ] &&
  [ "$(pg_count refunds)" = 6 ] && [ "$(ch_count refunds)" = 6 ] &&
  [ "$(pg_count daily_sales_summary)" -gt 0 ] && [ "$(ch_count daily_sales_summary)" -gt 0 ]; }
check "the sinks catch up" wait_for 150 caught_up
sleep 1.5 # one more look at the tables delivered whole
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
check "failures were counted" test "$(grep -c 'retrying; ingestion goes on' "$tmp/run.log")" -ge 3

# Every table, exactly.
marts=$(q "SELECT string_agg(table_name, ' ' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'gold' AND table_name NOT LIKE 'stg\_%' ESCAPE '\' AND table_name NOT LIKE 'int\_%' ESCAPE '\'")
check "the gold layer was built ($marts)" test "$(echo "$marts" | wc -w)" -ge 12
compare_all() {
  for t in events orders order_items refunds customers sessions $(for m in $marts; do echo gold.$m; done); do
    local n=${t#gold.}
    psql -h 127.0.0.1 -p $pgp -U postgres -d postgres -X -q \
      -c "\\copy clickpulse.$n TO '$tmp/pg_$n.csv' WITH (FORMAT csv, HEADER, NULL '\\N')"
    check "PostgreSQL $t equals the store" python3 "$here/sink_compare.py" "$bin" "$data" "$t" "$tmp/pg_$n.csv"
    ch_at $chp "SELECT * FROM clickpulse.$n FORMAT CSVWithNames" > "$tmp/ch_$n.csv"
    check "ClickHouse $t equals the store (to the second)" python3 "$here/sink_compare.py" "$bin" "$data" "$t" "$tmp/ch_$n.csv" --seconds
  done
}
compare_all
check "ClickHouse: silver's events in a MergeTree" test \
  "$(ch_at $chp "SELECT engine FROM system.tables WHERE database = 'clickpulse' AND name = 'events' FORMAT TSV")" = MergeTree
"$bin" query --format csv --set data_dir="$data" \
  "SELECT epoch_ms(minute) * 1000000 AS time, * EXCLUDE (minute, updated_at, visitors_hll) FROM rt_minute ORDER BY 1" > "$tmp/rt.csv"
influx_at $ifp shop "SELECT * FROM clickpulse_minute" > "$tmp/influx.csv"
check "InfluxDB has every minute of rt_minute, each KPI equal" python3 - "$tmp/rt.csv" "$tmp/influx.csv" <<'EOF'
import csv, sys
store = {r["time"]: r for r in csv.DictReader(open(sys.argv[1]))}
influx = {r["time"]: r for r in csv.DictReader(open(sys.argv[2]))}
assert store.keys() == influx.keys(), (len(store), len(influx))
for t, row in store.items():
    for k, v in row.items():
        if k != "time" and v != "":
            assert float(influx[t][k]) == float(v), (t, k, v, influx[t][k])
print(len(store), "minutes")
EOF

# Forgotten positions: PostgreSQL and ClickHouse know what they hold; InfluxDB overwrites.
# Meanwhile the destinations' tables drifted: a column gone, a mart's column of another type.
psql_at "$tmp" $pgp "ALTER TABLE clickpulse.events DROP COLUMN locale; ALTER TABLE clickpulse.daily_sales_summary ALTER COLUMN orders TYPE text"
ch_at $chp "ALTER TABLE clickpulse.events DROP COLUMN locale"
rm -f "$data"/sinks/*.positions
"$bin" sinks "${common[@]}" > "$tmp/again.out" 2>&1
check "delivering again succeeds" grep -q '^postgres: ' "$tmp/again.out"
check "PostgreSQL: no event twice" test "$(psql_at "$tmp" $pgp 'SELECT count(*) - count(DISTINCT "offset") FROM clickpulse.events')" = 0
check "ClickHouse: no event twice" test "$(ch_at $chp 'SELECT count() - uniqExact(offset) FROM clickpulse.events')" = 0
check "PostgreSQL events equal the store after the redelivery" test "$(pg_count events)" = "$(q "SELECT count(*) FROM events")"
check "PostgreSQL: the dropped column is added again" test "$(psql_at "$tmp" $pgp "SELECT data_type FROM information_schema.columns WHERE table_schema = 'clickpulse' AND table_name = 'events' AND column_name = 'locale'")" = text
check "ClickHouse: the dropped column is added again" test "$(ch_at $chp "SELECT type FROM system.columns WHERE database = 'clickpulse' AND table = 'events' AND name = 'locale'")" = "Nullable(String)"
psql -h 127.0.0.1 -p $pgp -U postgres -d postgres -X -q \
  -c "\\copy clickpulse.daily_sales_summary TO '$tmp/pg_dss.csv' WITH (FORMAT csv, HEADER, NULL '\\N')"
check "PostgreSQL: the mart with a changed type is made again, equal to the store" python3 "$here/sink_compare.py" "$bin" "$data" gold.daily_sales_summary "$tmp/pg_dss.csv"
check "InfluxDB: one point a minute still" test "$(influx_at $ifp shop "SELECT count(events) FROM clickpulse_minute" | tail -1 | cut -d, -f4)" = "$(q "SELECT count(*) FROM rt_minute")"
finish
