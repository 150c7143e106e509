#!/usr/bin/env bash
# Ingesting simulator output gives silver tables that equal its ground truth
# exactly — as JSON Lines, as batch envelopes, from standard input — and stays
# exact after a repeated ingest and a replay; the CSV tables load too.
set -euo pipefail
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if "${@:2}"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }
truth_ok() { python3 "$here/silver_vs_truth.py" "$bin" "$1" "$2"; }
q() { "$bin" query --set data_dir="$1" --format csv "$2" | tail -n +2; }

mess="--duplicate-rate 0.02 --late-rate 0.02 --malformed-rate 0.005 --skew-rate 0.2"
"$bin" simulate --customers 3000 --days 7 --seed 11 $mess --out "$tmp/sim" --quiet
"$bin" simulate --customers 3000 --days 7 --seed 11 $mess --format batch --out "$tmp/simb" --quiet

check "ingest jsonl" "$bin" ingest --quiet --set data_dir="$tmp/d1" "$tmp/sim/events.jsonl"
check "jsonl silver = truth" truth_ok "$tmp/d1" "$tmp/sim/truth.json"
check "ingest batches" "$bin" ingest --quiet --set data_dir="$tmp/d2" "$tmp/simb/events.jsonl"
check "batch silver = truth" truth_ok "$tmp/d2" "$tmp/simb/truth.json"
check "ingest stdin" bash -c "'$bin' ingest --quiet --set data_dir='$tmp/d3' - < '$tmp/sim/events.jsonl'"
check "stdin silver = truth" truth_ok "$tmp/d3" "$tmp/sim/truth.json"

# Again: nothing new, silver unchanged.
"$bin" ingest --set data_dir="$tmp/d1" "$tmp/sim/events.jsonl" 2>"$tmp/again.txt"
check "second ingest resumes at the end" grep -q "resumed at byte $(stat -c %s "$tmp/sim/events.jsonl")" "$tmp/again.txt"
check "second ingest adds nothing" grep -q "^ingest: 0 accepted, 0 duplicates, 0 late, 0 rejected" "$tmp/again.txt"
check "silver still = truth" truth_ok "$tmp/d1" "$tmp/sim/truth.json"
check "replay" "$bin" replay --set data_dir="$tmp/d1"
check "replayed silver = truth" truth_ok "$tmp/d1" "$tmp/sim/truth.json"

# The bronze log is readable by DuckDB as it is.
check "bronze via read_json" test "$(q "$tmp/d1" "SELECT count(*) FROM read_json('$tmp/d1/log/*.jsonl.zst', format='newline_delimited', compression='zstd')")" = \
  "$(python3 -c "import json;print(json.load(open('$tmp/sim/truth.json'))['totals']['events'])")"

# CSV tables.
check "ingest csv" "$bin" ingest --quiet --set data_dir="$tmp/d4" "$tmp/sim/customers.csv" "$tmp/sim/purchases.csv" "$tmp/sim/clickstream.csv"
read -r orders revenue units < <(python3 -c "import json;t=json.load(open('$tmp/sim/truth.json'))['totals'];print(t['orders'],'%.2f'%t['revenue'],t['units'])")
check "csv customers" test "$(q "$tmp/d4" "SELECT count(*) FROM customers WHERE email IS NOT NULL")" = 3000
check "csv orders" test "$(q "$tmp/d4" "SELECT count(*) FROM orders")" = "$orders"
check "csv revenue" test "$(q "$tmp/d4" "SELECT sum(revenue) FROM orders")" = "$revenue"
check "csv units" test "$(q "$tmp/d4" "SELECT sum(quantity) FROM order_items")" = "$units"
clicks=$(( $(wc -l < "$tmp/sim/clickstream.csv") - 1 ))
check "csv clickstream" test "$(q "$tmp/d4" "SELECT count(*) FROM events WHERE source LIKE '%clickstream.csv'")" = "$clicks"
check "csv country" test "$(q "$tmp/d4" "SELECT count(DISTINCT country) > 5 FROM customers")" = true

# A bad CSV header and bad rows become dead letters; good rows still load.
printf 'order_id,customer_id,product_id,quantity,price,total_amount,purchase_date\no1,c1,p1,1,9.99,9.99,2026-10-01T10:00:00Z\no2,c1,p1,x,9.99,9.99,2026-10-01T10:00:00Z\n"o3,c1\n' > "$tmp/bad.csv"
check "bad csv" "$bin" ingest --quiet --set data_dir="$tmp/d5" "$tmp/bad.csv"
check "bad csv loads the good order" test "$(q "$tmp/d5" "SELECT count(*) FROM orders")" = 1
check "bad csv dead letters" test "$(q "$tmp/d5" "SELECT string_agg(reason, '|' ORDER BY line) FROM dead_letters")" = "wrong_type|not_json"
printf 'foo,bar\n1,2\n' > "$tmp/unknown.csv"
check "unknown csv" "$bin" ingest --quiet --set data_dir="$tmp/d5" "$tmp/unknown.csv"
check "unknown csv reason" test "$(q "$tmp/d5" "SELECT count(*) FROM dead_letters WHERE detail LIKE 'unknown CSV table%'")" = 1

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
