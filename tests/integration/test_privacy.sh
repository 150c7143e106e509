#!/usr/bin/env bash
# Privacy controls: 'clickpulse forget USER' erases a person from the bronze log,
# silver, the ML tables and gold — offline and through the daemon — and a replay
# does not bring them back; silver retention by age; IP anonymisation at the
# collector, for the connection's address and for an address the event carries.
source "$(dirname "$0")/lib.sh"
data=$tmp/data
cp_() { "$bin" "$@" --set data_dir="$data" --set logging.level=error; }
q() { cp_ query --wait 60000 --format csv "$1" | tail -n +2; } # (the wait: when the daemon runs)

"$bin" simulate --customers 200 --days 60 --start 2026-01-01 --seed 11 --out "$tmp/sim" \
  --outputs events --quiet
cp_ ingest --quiet "$tmp/sim/events.jsonl"
cp_ jobs run sessions > /dev/null
cp_ models run > /dev/null
cp_ segment --k 3 --snapshot 2026-03-01 > /dev/null
cp_ churn --snapshot 2026-03-01 > /dev/null

# ---- forget, offline ----
# the person: the customer with the most orders, who also browsed anonymously
u=$(q "SELECT o.user_id FROM orders o WHERE o.user_id IN (SELECT user_id FROM identity_map)
       GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
ids="(SELECT anonymous_id FROM identity_map WHERE user_id = '$u'
      UNION SELECT anonymous_id FROM events WHERE user_id = '$u')"
mine="(user_id = '$u' OR (coalesce(user_id, '') = '' AND anonymous_id IN $ids))"
total=$(q "SELECT count(*) FROM events")
want_events=$(q "SELECT count(*) FROM events WHERE $mine")
want_orders=$(q "SELECT count(*) FROM orders WHERE $mine")
want_sessions=$(q "SELECT count(*) FROM sessions WHERE user_id = '$u' OR identity = '$u'
                   OR (coalesce(user_id, '') = '' AND identity IN $ids)")
others=$(q "SELECT count(*) || '/' || sum(hash(\"offset\", message_id, event_time)) FROM events
            WHERE NOT coalesce($mine, false)")
gold_sql="SELECT 0 AS n"
declare -A gold_where  # a table's rows naming the person in any of its columns, once
while IFS=, read -r t c; do
  gold_where[$t]+="${gold_where[$t]:+ OR }\"$c\" = '$u' OR \"$c\" IN $ids"
done < <(q "SELECT table_name, column_name FROM duckdb_columns() JOIN duckdb_tables()
            USING (database_name, schema_name, table_name) WHERE schema_name = 'gold'
            AND column_name IN ('user_id', 'anonymous_id', 'identity', 'customer_id')")
for t in "${!gold_where[@]}"; do
  gold_sql+=" UNION ALL SELECT count(*) FROM gold.\"$t\" WHERE ${gold_where[$t]}"
done
want_gold=$(q "SELECT sum(n) FROM ($gold_sql)")
logged=$(zstdcat "$data"/log/*.jsonl.zst | grep -c "\"$u\"")
check "the person has events, orders, sessions, gold rows and log lines ($want_events, $want_orders, $want_sessions, $want_gold, $logged)" \
  test "$want_events" -gt 100 -a "$want_orders" -gt 0 -a "$want_sessions" -gt 0 -a "$want_gold" -gt 0 -a "$logged" -gt 0
check "segments and churn scores name them" test "$(q "SELECT (SELECT count(*) FROM customer_segments WHERE user_id = '$u') + (SELECT count(*) FROM churn_scores WHERE user_id = '$u')")" = 2

out=$(cp_ forget "$u")
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
check "forget reports the log events it erased ($(field "$out" log_events) / $want_events)" test "$(field "$out" log_events)" = "$want_events"
check "and the silver events" test "$(field "$out" events)" = "$want_events"
check "and the orders" test "$(field "$out" orders)" = "$want_orders"
check "and the sessions" test "$(field "$out" sessions)" = "$want_sessions"
check "and the customer" test "$(field "$out" customers)" = 1
check "and the gold rows ($(field "$out" gold_rows) / $want_gold)" test "$(field "$out" gold_rows)" = "$want_gold"

check "silver holds nothing of them" test "$(q "SELECT (SELECT count(*) FROM events WHERE user_id = '$u' OR identity = '$u')
  + (SELECT count(*) FROM orders WHERE user_id = '$u') + (SELECT count(*) FROM sessions WHERE user_id = '$u')
  + (SELECT count(*) FROM customers WHERE user_id = '$u') + (SELECT count(*) FROM identity_map WHERE user_id = '$u')
  + (SELECT count(*) FROM customer_segments WHERE user_id = '$u') + (SELECT count(*) FROM churn_scores WHERE user_id = '$u')")" = 0
check "gold holds nothing of them" test "$(q "SELECT count(*) FROM gold.dim_customers WHERE user_id = '$u'")" = 0
check "everyone else's events are untouched" test "$(q "SELECT count(*) || '/' || sum(hash(\"offset\", message_id, event_time)) FROM events")" = "$others"
check "no line of the bronze log names them" test "$(zstdcat "$data"/log/*.jsonl.zst | grep -c "\"$u\"" || true)" = 0
check "their lines are tombstones" test "$(zstdcat "$data"/log/*.jsonl.zst | grep -c '"event":null}$')" = "$want_events"
check "the log keeps every offset, in order" test "$(q "SELECT count(*) || ' ' || min(\"offset\") || ' ' || max(\"offset\")
  FROM read_json('$data/log/*.jsonl.zst', format = 'newline_delimited')")" = "$total 0 $((total - 1))"
again=$(cp_ forget "$u")
check "forgetting again finds nothing" test "$(field "$again" log_events)/$(field "$again" events)" = "0/0"
cp_ replay 2> /dev/null
check "a replay of the log does not bring them back" test "$(q "SELECT count(*) FROM events")/$(q "SELECT count(*) FROM events WHERE user_id = '$u'")" = "$((total - want_events))/0"

# ---- forget, through the daemon ----
free_ports 20 port; api=$((port + 1))
"$bin" run --set data_dir="$data" --set collector.listen=127.0.0.1:$port --set dashboard.listen=127.0.0.1:$api \
  --set collector.write_keys=k --set collector.anonymize_ip=true --set collector.trusted_proxies=127.0.0.1 \
  --set logging.level=error 2> "$tmp/run.log" &
pid=$!
at_exit() { kill -9 $pid 2> /dev/null || true; }
wait_up "http://127.0.0.1:$port/health"
auth=$(api_auth "$data")
v=$(q "SELECT user_id FROM orders WHERE user_id <> '$u' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
want_v=$(q "SELECT count(*) FROM events WHERE user_id = '$v' OR (coalesce(user_id, '') = '' AND anonymous_id IN
  (SELECT anonymous_id FROM identity_map WHERE user_id = '$v' UNION SELECT anonymous_id FROM events WHERE user_id = '$v'))")
out=$(cp_ forget "$v" --set dashboard.listen=127.0.0.1:$api)
check "forget goes through the running daemon ($out)" test "$(field "$out" events)/$(field "$out" log_events)" = "$want_v/$want_v"
check "the daemon's silver has nothing of them" test "$(q "SELECT count(*) FROM events WHERE user_id = '$v'")" = 0
code=$(curl -s -o "$tmp/body" -w '%{http_code}' -H "$auth" -X POST http://127.0.0.1:$api/api/v1/forget)
check "forget without a user id: 400 with a reason" test "$code $(cat "$tmp/body")" = '400 {"error":"the form field user_id names the person to forget"}'
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d user_id=x http://127.0.0.1:$api/api/v1/forget)
check "forget needs a login" test "$code" = 401

# ---- IP anonymisation ----
send() { curl -s -o /dev/null -w '%{http_code}' -u k: -H 'Content-Type: application/json' "$@"; }
check "a track through a trusted proxy" test "$(send -H 'X-Forwarded-For: 203.0.113.77' \
  -d '{"userId":"ip-1","event":"A","messageId":"ip-m1"}' http://127.0.0.1:$port/v1/track)" = 200
check "a track over IPv6 through the proxy" test "$(send -H 'X-Forwarded-For: 2001:db8:1234:5678:9abc:def0:1:2' \
  -d '{"userId":"ip-2","event":"A","messageId":"ip-m2"}' http://127.0.0.1:$port/v1/track)" = 200
check "a track carrying its own address" test "$(send \
  -d '{"userId":"ip-3","event":"A","messageId":"ip-m3","context":{"ip":"198.51.100.23","locale":"de-DE"}}' \
  http://127.0.0.1:$port/v1/track)" = 200
check "silver has the addresses without their host part" test \
  "$(q "SELECT string_agg(user_id || '=' || ip, ' ' ORDER BY user_id) FROM events WHERE user_id LIKE 'ip-%'")" \
  = "ip-1=203.0.113.0 ip-2=2001:db8:1234:: ip-3=198.51.100.0"
check "the event's other context is kept" test "$(q "SELECT locale FROM events WHERE user_id = 'ip-3'")" = de-DE
kill -TERM $pid; wait $pid || true
check "the bronze log never saw the full addresses" test "$(zstdcat "$data"/log/*.jsonl.zst | grep -c -e 203.0.113.77 -e 198.51.100.23 -e 2001:db8:1234:5678:9abc || true)" = 0

# ---- silver retention ----
# silver as it was, to count against once the job says where it cut
now=$(q "SELECT count(*) FROM events")
mkdir "$tmp/before"; cp "$data"/clickpulse.duckdb* "$tmp/before/"
qb() { "$bin" query --set data_dir="$tmp/before" --set logging.level=error --format csv "$1" | tail -n +2; }
keep_days=$(( ($(date +%s) - $(date -d 2026-02-01 +%s)) / 86400 ))
"$bin" jobs run retention --set data_dir="$data" --set silver.retention=${keep_days}d --set logging.level=info \
  > /dev/null 2> "$tmp/retention.log"
cutoff=$(sed -n 's/.*silver rows older than \([0-9T:.Z-]*\).*/\1/p' "$tmp/retention.log")
check "the retention job cut silver at $keep_days days ago ($cutoff)" test "${cutoff:0:10}" = 2026-02-01
c="CAST('$cutoff' AS TIMESTAMP)"
check "silver keeps exactly the events from the cutoff on" test "$(q "SELECT count(*) FROM events")" = "$(qb "SELECT count(*) FROM events WHERE event_time >= $c")"
check "which are fewer than before" test "$(q "SELECT count(*) FROM events")" -lt "$now"
check "and the orders, sessions and dead letters from then on" test \
  "$(q "SELECT (SELECT count(*) FROM orders) || '/' || (SELECT count(*) FROM sessions) || '/' || (SELECT count(*) FROM dead_letters)")" = \
  "$(qb "SELECT (SELECT count(*) FROM orders WHERE event_time >= $c) || '/' || (SELECT count(*) FROM sessions WHERE end_time >= $c)
         || '/' || (SELECT count(*) FROM dead_letters WHERE received_at >= $c)")"
check "no order item is left without its order" test "$(q "SELECT count(*) FROM order_items WHERE \"offset\" NOT IN (SELECT \"offset\" FROM orders)")" = 0
check "the log is not silver's retention's business" test "$(zstdcat "$data"/log/*.jsonl.zst | wc -l)" = "$((total + 3))"
finish
