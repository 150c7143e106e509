#!/usr/bin/env bash
# Numbers that are exactly right, each from the smallest input that once got it wrong:
# dedup exact however far apart the copies are (and across a restart), an amount silver
# cannot hold refused before the log while the rest goes on, money exact to the cent from
# the JSON text to the marts, the receive time decided once, one order per order_id in
# every build mode, daily active people, the bot rules, a track needs its event, and a
# resend without messageId is a duplicate.
source "$(dirname "$0")/lib.sh"
q() { "$bin" query --set data_dir="$1" --format csv "$2" | tail -n +2; }
ingest() { "$bin" ingest --set data_dir="$1" "${@:2}" 2>&1; }

# 1. Re-deliveries far apart: one line with receivedAt, 52,000 lines stamped by the clock
# (the window's table moves on), the same line again; then 300 copies spread out.
python3 - "$tmp/far.jsonl" "$tmp/far2.jsonl" <<'EOF'
import json, sys
a = '{"type":"page","anonymousId":"far","messageId":"m-far","timestamp":"2026-10-01T10:00:00Z","receivedAt":"2026-10-01T10:00:01Z"}'
line = lambda i: json.dumps({"type": "page", "anonymousId": "a%d" % (i % 700), "messageId": "m%d" % i,
                             "timestamp": "2026-12-01T10:00:00Z"})
with open(sys.argv[1], "w") as f:
    f.write(a + "\n")
    for i in range(52000):
        f.write(line(i) + "\n")
    f.write(a + "\n")
    for i in range(0, 60000, 200):  # 300 copies; the first 260 were accepted above
        f.write(line(i) + "\n")
with open(sys.argv[2], "w") as f:  # after a restart: the old line again, and 8 days later
    f.write(a + "\n")
    f.write(a.replace("2026-10-01T10:00:01Z", "2026-10-09T10:00:02Z") + "\n")
EOF
out=$(ingest "$tmp/d1" "$tmp/far.jsonl")
check "far: summary" grep -q "^ingest: 52041 accepted, 261 duplicates" <<<"$out"
check "far: silver" test "$(q "$tmp/d1" "SELECT count(*), count(DISTINCT message_id) FROM events")" = "52041,52041"
check "far: duplicates" test "$(q "$tmp/d1" "SELECT count(*) FROM duplicates")" = 261
out=$(ingest "$tmp/d1" "$tmp/far2.jsonl")
check "far after a restart: one duplicate, one new (8 days on)" \
  grep -q "^ingest: 1 accepted, 1 duplicates" <<<"$out"
check "far after a restart: silver" \
  test "$(q "$tmp/d1" "SELECT count(*) FROM events WHERE message_id = 'm-far'")" = 2

# 1b. The same exactness when the window's table is held to 4 MB (pipeline.dedup_memory):
# 200,000 messageIds, far more than that table holds, so most move to disk; 2,000 copies
# of earlier ones, from 100 to 150,000 lines back; the verdicts as with no bound.
python3 - "$tmp/many.jsonl" <<'EOF'
import json, random, sys
random.seed(5)
line = lambda i: json.dumps({"type": "page", "anonymousId": "a%d" % (i % 900), "messageId": "n%d" % i,
                             "timestamp": "2026-12-01T10:00:00Z"})
with open(sys.argv[1], "w") as f:
    for i in range(200000):
        f.write(line(i) + "\n")
        if i % 100 == 99 and i > 150000:  # 490 copies, 100 to 150,000 lines back
            f.write(line(i - random.randint(100, 150000)) + "\n")
    for i in range(0, 200000, 133):  # 1,504 more, from the very start on
        f.write(line(i) + "\n")
EOF
copies=$(( $(wc -l < "$tmp/many.jsonl") - 200000 ))
out=$(ingest "$tmp/d1b" --set pipeline.dedup_memory=4MB "$tmp/many.jsonl")
check "bounded dedup: summary ($copies duplicates)" grep -q "^ingest: 200000 accepted, $copies duplicates" <<<"$out"
check "bounded dedup: most messageIds went to disk" \
  python3 -c "import re,sys; n=int(re.search(r'dedup: (\d+) messageIds moved to disk', sys.argv[1]).group(1)); sys.exit(n < 100000)" "$out"
check "bounded dedup: silver" test "$(q "$tmp/d1b" "SELECT count(*), count(DISTINCT message_id) FROM events")" = "200000,200000"
check "bounded dedup: its files removed at the end" test ! -e "$tmp/d1b/dedup"
awk 'NR % 50 == 1' "$tmp/many.jsonl" > "$tmp/again.jsonl" # 4,040 lines from all over it
out=$(ingest "$tmp/d1b" --set pipeline.dedup_memory=4MB "$tmp/again.jsonl")
check "bounded dedup after a restart (rebuilt from silver): all duplicates" \
  grep -q "^ingest: 0 accepted, $(wc -l < "$tmp/again.jsonl") duplicates" <<<"$out"

# 2 and 3. Amounts: one too large for DECIMAL(18,2) among good ones is refused before the
# log, with its field; the others are exact to the cent, through the marts.
cat >"$tmp/money.jsonl" <<'EOF'
{"type":"track","event":"Order Completed","userId":"u1","messageId":"m1","timestamp":"2026-10-01T10:00:00Z","properties":{"order_id":"o1","revenue":"4503599627370495.50"}}
{"type":"track","event":"Checkout Started","userId":"u1","messageId":"m2","timestamp":"2026-10-01T11:00:00Z","properties":{"order_id":"o2","revenue":1e16}}
{"type":"track","event":"Order Completed","userId":"u2","messageId":"m3","timestamp":"2026-10-01T12:00:00Z","properties":{"order_id":"o3","revenue":98765432109876.55}}
{"type":"track","event":"Order Completed","userId":"u2","messageId":"m4","timestamp":"2026-10-01T13:00:00Z","properties":{"order_id":"o4","revenue":"0.05"}}
{"type":"track","event":"Order Completed","userId":"u3","messageId":"m5","timestamp":"2026-10-01T14:00:00Z","properties":{"order_id":"o5","revenue":"0.001"}}
{"type":"track","event":"Order Completed","userId":"u3","messageId":"m6","timestamp":"2026-10-01T15:00:00Z","properties":{"order_id":"o6","products":[{"product_id":"p","price":"19.990","quantity":3}]}}
EOF
out=$(ingest "$tmp/d2" "$tmp/money.jsonl")
check "money: summary" grep -q "^ingest: 4 accepted, 0 duplicates, 0 late, 2 rejected" <<<"$out"
check "money: out_of_range counted" grep -q "rejected out_of_range *1" <<<"$out"
check "money: a dead letter naming the field" grep -qxF \
  "out_of_range: properties.revenue: 1e16 is beyond the largest amount; 9999999999999999.99" \
  <<<"$(q "$tmp/d2" "SELECT reason || ': ' || replace(detail, ',', ';') FROM dead_letters ORDER BY line LIMIT 1")"
check "money: sub-cent refused" test "$(q "$tmp/d2" "SELECT count(*) FROM dead_letters WHERE reason = 'invalid_value'")" = 1
check "money: exact in silver" test "$(q "$tmp/d2" "SELECT string_agg(CAST(revenue AS VARCHAR), ' ' ORDER BY order_id) FROM orders")" = \
  "4503599627370495.50 98765432109876.55 0.05 59.97"
check "models run" "$bin" models run --set data_dir="$tmp/d2"
check "money: the day's sum exact" test "$(q "$tmp/d2" "SELECT CAST(revenue AS VARCHAR), CAST(avg_order_value AS VARCHAR) FROM gold.daily_sales_summary")" = \
  "4602365059480432.07,1150591264870108.02"
check "money: customers exact" test "$(q "$tmp/d2" "SELECT string_agg(CAST(total_spent AS VARCHAR) || '/' || CAST(avg_order_value AS VARCHAR), ' ' ORDER BY user_id) FROM gold.dim_customers")" = \
  "4503599627370495.50/4503599627370495.50 98765432109876.60/49382716054938.30 59.97/59.97"
check "models test (daily sales = purchases, to the cent)" "$bin" models test --set data_dir="$tmp/d2"
out=$(ingest "$tmp/d2" "$tmp/far2.jsonl")
check "money: silver goes on" grep -q "^ingest: 2 accepted" <<<"$out"

# 4. The receive time decided once: a file line without receivedAt is corrected for its
# clock with the same receive time that is stored; a clock two days ahead is refused.
cat >"$tmp/skew.jsonl" <<'EOF'
{"type":"page","anonymousId":"b","messageId":"s1","originalTimestamp":"2026-10-07T10:00:00Z","sentAt":"2026-10-07T12:00:00Z"}
{"type":"page","anonymousId":"b","messageId":"s2","originalTimestamp":"2026-10-07T10:00:00Z","sentAt":"2026-10-05T10:00:00Z"}
EOF
out=$(ingest "$tmp/d3" "$tmp/skew.jsonl")
check "skew: one accepted, one refused" grep -q "^ingest: 1 accepted, 0 duplicates, 0 late, 1 rejected" <<<"$out"
check "skew: event time = receive time - (sentAt - originalTimestamp)" \
  test "$(q "$tmp/d3" "SELECT count(*) FROM events WHERE event_time = received_at - INTERVAL 2 HOUR")" = 1
check "skew: the future refused" test "$(q "$tmp/d3" "SELECT reason FROM dead_letters")" = bad_timestamp

# 5. The same order twice (another messageId): one order, in a full and an incremental build.
cat >"$tmp/o1.jsonl" <<'EOF'
{"type":"track","event":"Order Completed","userId":"c1","messageId":"x1","timestamp":"2026-10-02T10:00:00Z","properties":{"order_id":"ord-1","revenue":30}}
{"type":"track","event":"Order Completed","userId":"c1","messageId":"x2","timestamp":"2026-10-02T10:00:05Z","properties":{"order_id":"ord-1","revenue":31}}
EOF
cat >"$tmp/o2.jsonl" <<'EOF'
{"type":"track","event":"Order Completed","userId":"c1","messageId":"x3","timestamp":"2026-10-02T10:01:00Z","properties":{"order_id":"ord-1","revenue":30}}
{"type":"track","event":"Order Completed","userId":"c1","messageId":"x4","timestamp":"2026-10-03T10:00:00Z","properties":{"order_id":"ord-2","revenue":12.5}}
EOF
ingest "$tmp/d4" "$tmp/o1.jsonl" >/dev/null
check "orders: one in silver" test "$(q "$tmp/d4" "SELECT count(*), sum(revenue) FROM orders")" = "1,30.00"
check "orders: full build" "$bin" models run --set data_dir="$tmp/d4"
check "orders: one purchase, One-time" test "$(q "$tmp/d4" "SELECT (SELECT count(*) FROM gold.fct_purchases), (SELECT segment FROM gold.dim_customers)")" = "1,One-time"
ingest "$tmp/d4" "$tmp/o2.jsonl" >/dev/null
check "orders: incremental build" "$bin" models run --set data_dir="$tmp/d4"
check "orders: two purchases, Regular" test "$(q "$tmp/d4" "SELECT (SELECT count(*) || '/' || sum(revenue) FROM gold.fct_purchases), (SELECT segment FROM gold.dim_customers)")" = "2/42.50,Regular"
check "orders: unique test" "$bin" models test --set data_dir="$tmp/d4"
"$bin" models run --full-refresh --set data_dir="$tmp/d4"
check "orders: a full refresh agrees" test "$(q "$tmp/d4" "SELECT count(*) || '/' || sum(revenue) FROM gold.fct_purchases")" = "2/42.50"

# 6. Daily active people: a device's anonymous session and, after identify, its user's
# session the same day are one person.
cat >"$tmp/dau.jsonl" <<'EOF'
{"type":"page","anonymousId":"dev1","messageId":"d1","timestamp":"2026-10-04T08:00:00Z"}
{"type":"identify","anonymousId":"dev1","userId":"p1","messageId":"d2","timestamp":"2026-10-04T08:01:00Z"}
{"type":"page","userId":"p1","messageId":"d3","timestamp":"2026-10-04T15:00:00Z"}
{"type":"page","anonymousId":"dev2","messageId":"d4","timestamp":"2026-10-04T16:00:00Z"}
EOF
ingest "$tmp/d5" "$tmp/dau.jsonl" >/dev/null
"$bin" models run --set data_dir="$tmp/d5"
check "daily active: people, not identities" test "$(q "$tmp/d5" "SELECT sessions, daily_active FROM gold.sessions_summary")" = "3,2"

# 7. Bots: an even number of gaps takes the mean of the middle two; crawler agents come
# from the maintained list.
python3 - "$tmp/bots.jsonl" <<'EOF'
import json, sys
from datetime import datetime, timedelta, timezone
t = datetime(2026, 10, 5, 9, 0, 0, tzinfo=timezone.utc)
with open(sys.argv[1], "w") as f:
    for i in range(15):  # 14 gaps alternating 1.0 s and 3.9 s: median 2.45 s
        f.write(json.dumps({"type": "page", "anonymousId": "fast", "messageId": "b%d" % i,
                            "timestamp": t.isoformat().replace("+00:00", "Z")}) + "\n")
        t += timedelta(seconds=1.0 if i % 2 == 0 else 3.9)
    for i, ua in enumerate(["Scrapy/2.11 (+https://scrapy.org)", "FooBot/1.0",
                            "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/90.0 Mobile Safari/537.36"]):
        f.write(json.dumps({"type": "page", "anonymousId": "ua%d" % i, "messageId": "u%d" % i,
                            "timestamp": "2026-10-05T12:00:00Z", "context": {"userAgent": ua}}) + "\n")
EOF
ingest "$tmp/d6" "$tmp/bots.jsonl" >/dev/null
check "bots: behavioural median of an even count" test "$(q "$tmp/d6" "SELECT is_bot FROM sessions WHERE identity = 'fast'")" = true
check "bots: agents" test "$(q "$tmp/d6" "SELECT string_agg(CAST(is_bot AS VARCHAR), ' ' ORDER BY identity) FROM events WHERE identity LIKE 'ua%'")" = "true true false"

# Refunds reduce revenue (gross, refunds, net), and an order placed before identify is
# credited to the customer once the device is linked — incrementally, as a full build does.
cat >"$tmp/r1.jsonl" <<'EOF'
{"type":"track","event":"Order Completed","anonymousId":"dev9","messageId":"r1","timestamp":"2026-10-02T10:00:00Z","properties":{"order_id":"A1","revenue":"100.00","products":[{"product_id":"p1","price":"60","quantity":1},{"product_id":"p2","price":"40","quantity":1}]}}
{"type":"track","event":"Order Completed","userId":"k1","messageId":"r2","timestamp":"2026-10-02T11:00:00Z","properties":{"order_id":"A2","revenue":"50.00"}}
EOF
cat >"$tmp/r2.jsonl" <<'EOF'
{"type":"identify","anonymousId":"dev9","userId":"k1","messageId":"r3","timestamp":"2026-10-03T09:00:00Z"}
{"type":"track","event":"Order Refunded","userId":"k1","messageId":"r4","timestamp":"2026-10-04T09:00:00Z","properties":{"order_id":"A1","products":[{"product_id":"p2","price":"40","quantity":1}]}}
{"type":"track","event":"Order Refunded","userId":"k1","messageId":"r5","timestamp":"2026-10-04T10:00:00Z","properties":{"order_id":"A2","total":"50.00"}}
EOF
ingest "$tmp/d8" "$tmp/r1.jsonl" >/dev/null
"$bin" models run --set data_dir="$tmp/d8" >/dev/null
check "before identify: the anonymous order is nobody's" \
  test "$(q "$tmp/d8" "SELECT count(*) FROM gold.fct_purchases WHERE user_id IS NULL")" = 1
ingest "$tmp/d8" "$tmp/r2.jsonl" >/dev/null
"$bin" models run --set data_dir="$tmp/d8" >/dev/null
purchases="SELECT string_agg(order_id || ':' || user_id || ':' || revenue || ':' || refunded || ':' || net_revenue, ' ' ORDER BY order_id) FROM gold.fct_purchases"
customer="SELECT user_id, orders, total_spent, avg_order_value, segment FROM gold.dim_customers"
daily="SELECT string_agg(day || ':' || orders || ':' || revenue || ':' || refund_count || ':' || refunds || ':' || net_revenue, ' ' ORDER BY day) FROM gold.daily_sales_summary"
check "refunds: purchases, credited" test "$(q "$tmp/d8" "$purchases")" = "A1:k1:100.00:40.00:60.00 A2:k1:50.00:50.00:0.00"
check "refunds: the customer, net (a full refund is no order)" test "$(q "$tmp/d8" "$customer")" = "k1,1,60.00,60.00,One-time"
check "refunds: gross, refunds and net by day" test "$(q "$tmp/d8" "$daily")" = \
  "2026-10-02:2:150.00:0:0.00:150.00 2026-10-04:0:0.00:2:90.00:-90.00"
check "refunds: models test" "$bin" models test --set data_dir="$tmp/d8"
"$bin" models run --full-refresh --set data_dir="$tmp/d8" >/dev/null
check "refunds: a full build agrees" test "$(q "$tmp/d8" "$purchases") $(q "$tmp/d8" "$customer")" = \
  "A1:k1:100.00:40.00:60.00 A2:k1:50.00:50.00:0.00 k1,1,60.00,60.00,One-time"

# Currencies are never added together: every revenue in the reporting currency at the
# day's rate (built-in table, or a dated CSV), the original kept; no rate: counted apart.
cat >"$tmp/cur.jsonl" <<'EOF'
{"type":"track","event":"Order Completed","userId":"m1","messageId":"c1","timestamp":"2026-10-02T10:00:00Z","properties":{"order_id":"C1","revenue":100,"currency":"USD"}}
{"type":"track","event":"Order Completed","userId":"m1","messageId":"c2","timestamp":"2026-10-02T10:10:00Z","properties":{"order_id":"C2","revenue":"50.00","currency":"EUR"}}
{"type":"track","event":"Order Completed","userId":"m2","messageId":"c3","timestamp":"2026-10-02T10:20:00Z","properties":{"order_id":"C3","revenue":1000,"currency":"JPY"}}
{"type":"track","event":"Order Completed","userId":"m2","messageId":"c4","timestamp":"2026-10-02T10:30:00Z","properties":{"order_id":"C4","revenue":10,"currency":"XTS"}}
{"type":"track","event":"Order Completed","userId":"m3","messageId":"c5","timestamp":"2026-10-02T10:40:00Z","properties":{"order_id":"C5","revenue":20}}
EOF
printf 'date,currency,rate\n2026-01-01,USD,0.90\n2026-10-02,USD,0.95\n2026-01-01,JPY,0.006\n' >"$tmp/rates.csv"
ingest "$tmp/d9" "$tmp/cur.jsonl" >/dev/null
"$bin" models run --set data_dir="$tmp/d9" >/dev/null
cur="SELECT string_agg(order_id || ':' || coalesce(revenue::VARCHAR, '-') || ':' || revenue_original || ':' || currency, ' ' ORDER BY order_id) FROM gold.fct_purchases"
day="SELECT orders || ':' || revenue || ':' || unconverted_orders || ':' || avg_order_value FROM gold.daily_sales_summary"
check "currencies: in USD, the original beside" test "$(q "$tmp/d9" "$cur")" = \
  "C1:100.00:100.00:USD C2:54.00:50.00:EUR C3:6.70:1000.00:JPY C4:-:10.00:XTS C5:20.00:20.00:USD"
check "currencies: never summed across, the unconvertible apart" test "$(q "$tmp/d9" "$day")" = "5:180.70:1:45.18"
check "currencies: the live view counts in USD too" test "$(q "$tmp/d9" "SELECT sum(orders) || ':' || sum(revenue) FROM rt_minute")" = "5:180.70"
"$bin" models run --set data_dir="$tmp/d9" --set currency.reporting=EUR --set currency.rates="$tmp/rates.csv" >/dev/null
check "currencies: in EUR from a dated rates file" test "$(q "$tmp/d9" "$cur")" = \
  "C1:95.00:100.00:USD C2:50.00:50.00:EUR C3:6.00:1000.00:JPY C4:-:10.00:XTS C5:20.00:20.00:EUR"
check "currencies: a reporting currency without rates is an error" \
  bash -c "! '$bin' models run --set data_dir='$tmp/d9' --set currency.reporting=XTS 2>/dev/null"

check "currencies: a customer's average over the orders with a rate" \
  test "$(q "$tmp/d9" "SELECT orders || ':' || total_spent || ':' || coalesce(avg_order_value::VARCHAR, '-') FROM gold.dim_customers WHERE user_id = 'm2'")" = "2:6.00:6.00"
check "currencies: a month with no order in a rate is 0, not NULL" \
  test "$(q "$tmp/d9" "SELECT revenue || ':' || net_revenue FROM gold.customer_monthly WHERE user_id = 'm2'")" = "6.00:6.00"

# Averages that are not money are exact: sessions of 0.099 s and 1.001 s have a mean and a
# median of 0.55 s, 0.6 rounded (a double's 0.5499… would give 0.5). A session without a
# client id yet adopts the first one it sees. A customer's first session decides their
# acquisition even without a campaign; a page field given empty comes from the properties.
cat >"$tmp/avg.jsonl" <<'EOF'
{"type":"page","anonymousId":"v1","userId":"w1","messageId":"v1","timestamp":"2026-10-03T10:00:00.000Z","properties":{"path":"/a"}}
{"type":"page","anonymousId":"v1","userId":"w1","messageId":"v2","timestamp":"2026-10-03T10:00:00.099Z","properties":{"path":"/b"}}
{"type":"page","anonymousId":"v1","userId":"w1","messageId":"v3","timestamp":"2026-10-03T12:00:00.000Z","context":{"campaign":{"source":"news","medium":"email","name":"n1"}},"properties":{"path":"/c"}}
{"type":"page","anonymousId":"v1","userId":"w1","messageId":"v4","timestamp":"2026-10-03T12:00:01.001Z","properties":{"path":"/d"}}
{"type":"page","anonymousId":"v2","messageId":"v5","timestamp":"2026-10-04T10:00:00Z","context":{"page":{"path":""}},"properties":{"path":"/p"}}
{"type":"page","anonymousId":"v2","messageId":"v6","timestamp":"2026-10-04T10:01:00Z","properties":{"path":"/q","$session_id":"S1"}}
EOF
ingest "$tmp/d10" "$tmp/avg.jsonl" >/dev/null
"$bin" models run --set data_dir="$tmp/d10" >/dev/null
check "averages: exact, halves away from zero" test "$(q "$tmp/d10" "SELECT avg_duration_s || ':' || median_duration_s FROM gold.sessions_summary WHERE day = DATE '2026-10-03'")" = "0.6:0.6"
check "averages: a customer's mean session" test "$(q "$tmp/d10" "SELECT avg_session_s FROM gold.ml_features WHERE user_id = 'w1'")" = 0.6
check "sessions: a client id adopted" test "$(q "$tmp/d10" "SELECT count(*) || ':' || any_value(session_id) FROM sessions WHERE identity = 'v2'")" = "1:S1"
check "acquisition: the first session's source, direct" test "$(q "$tmp/d10" "SELECT utm_source || ':' || utm_medium FROM gold.acquisition")" = "(direct):(none)"
check "page fields: an empty one from the properties" test "$(q "$tmp/d10" "SELECT page_path FROM events WHERE message_id = 'v5'")" = /p

# 8 and 9. A track needs its event; a resend without messageId is a duplicate.
cat >"$tmp/ids.jsonl" <<'EOF'
{"type":"track","name":"Order Completed","userId":"n1","timestamp":"2026-10-06T10:00:00Z"}
{"type":"page","anonymousId":"n2","timestamp":"2026-10-06T10:00:00Z","properties":{"path":"/a"}}
{"type":"page","anonymousId":"n2","timestamp":"2026-10-06T10:00:00Z","properties":{"path":"/a"}}
EOF
out=$(ingest "$tmp/d7" "$tmp/ids.jsonl")
check "ids: summary" grep -q "^ingest: 1 accepted, 1 duplicates, 0 late, 1 rejected" <<<"$out"
check "ids: a track without event" test "$(q "$tmp/d7" "SELECT reason FROM dead_letters")" = missing_field
finish
