#!/usr/bin/env bash
# clickpulse models list|run|test on a simulated shop: a user's models directory with
# a staging view, a daily sales table and an incremental orders model; the daily
# mart equals the simulator's ground truth, the data tests pass, a planted violation
# fails with its rows and exit code 1, more data refreshes the incremental model,
# and a cycle is reported with its path.
set -euo pipefail
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if "${@:2}"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }
cp_() { "$bin" "$@" --set data_dir="$tmp/data" --set models.dir="$tmp/project/models"; }

"$bin" simulate --customers 800 --days 5 --seed 21 --out "$tmp/sim" --outputs events,truth --quiet
"$bin" ingest --quiet --set data_dir="$tmp/data" "$tmp/sim/events.jsonl"
mkdir -p "$tmp/project/models/staging" "$tmp/project/models/marts" "$tmp/project/tests"
cat > "$tmp/project/models/staging/u_orders.sql" <<'SQL'
SELECT "offset", order_id, user_id, event_date, CAST(revenue AS DOUBLE) AS revenue, units
FROM {{ source('silver', 'orders') }}
SQL
cat > "$tmp/project/models/marts/u_daily.sql" <<'SQL'
{{ config(materialized='table') }}
SELECT event_date AS day, count(*) AS orders, sum(units) AS units, round(sum(revenue), 2) AS revenue
FROM {{ ref('u_orders') }}
GROUP BY 1
SQL
cat > "$tmp/project/models/marts/u_orders_inc.sql" <<'SQL'
{{ config(materialized='incremental', unique_key='order_id') }}
SELECT * FROM {{ ref('u_orders') }}
{% if is_incremental() %}
WHERE "offset" > (SELECT max("offset") FROM {{ this }}) -- the log offset: late orders too
{% endif %}
SQL
cat > "$tmp/project/models/marts/schema.yml" <<'YML'
version: 2
models:
  - name: u_daily
    columns:
      - name: day
        tests: [unique, not_null]
  - name: u_orders_inc
    columns:
      - name: order_id
        tests:
          - unique
          - relationships:
              to: ref('u_orders')
              field: order_id
YML
cat > "$tmp/project/tests/u_revenue_positive.sql" <<'SQL'
SELECT * FROM {{ ref('u_daily') }} WHERE revenue <= 0
SQL

check "list in build order (with the built-in models)" test "$(cp_ models list | awk '/^u_/ {print $1 ":" $2}' | tr '\n' ' ')" = \
  "u_orders:view u_daily:table u_orders_inc:incremental "
cp_ models run > "$tmp/run.out"
check "run: the user's three models" test "$(grep -c '^ok   u_' "$tmp/run.out")" = 3
check "run: nothing failed" test "$(grep -c '^FAIL' "$tmp/run.out")" = 0
cp_ query --format csv "SELECT strftime(day, '%Y-%m-%d'), orders, units, revenue FROM gold.u_daily ORDER BY 1" | tail -n +2 > "$tmp/daily.csv"
check "u_daily equals the ground truth" python3 - "$tmp/sim/truth.json" "$tmp/daily.csv" <<'PY'
import csv, json, sys
truth = {d["date"]: d for d in json.load(open(sys.argv[1]))["days"] if d["orders"]}
rows = {r[0]: r for r in csv.reader(open(sys.argv[2]))}
assert set(rows) == set(truth), (sorted(rows), sorted(truth))
for day, t in truth.items():
    r = rows[day]
    assert int(r[1]) == t["orders"] and int(r[2]) == t["units"], (day, r, t["orders"], t["units"])
    assert abs(float(r[3]) - t["revenue"]) < 0.005, (day, r[3], t["revenue"])
PY
cp_ models test > "$tmp/test.out"

check "the user's tests pass: 5" test "$(grep -c "^ok .*u_" "$tmp/test.out")" = 5
check "no test fails" test "$(grep -c "^FAIL" "$tmp/test.out")" = 0

# A planted violation: the custom test fails with its rows, exit code 1.
cp_ query "SELECT 1" >/dev/null
echo "SELECT * FROM {{ ref('u_daily') }} WHERE orders < 1000000" > "$tmp/project/tests/planted.sql"
set +e; cp_ models test > "$tmp/test2.out"; code=$?; set -e
check "a failing test: exit 1" test "$code" = 1
check "it names the test and its rows" grep -q "^FAIL planted .* rows fail" "$tmp/test2.out"
rm "$tmp/project/tests/planted.sql"

# More data (a sixth day, and late orders of earlier days): the incremental model
# takes what is new by log offset, without a full rebuild.
"$bin" simulate --customers 800 --days 6 --seed 21 --out "$tmp/sim6" --outputs events,truth --quiet
"$bin" ingest --quiet --set data_dir="$tmp/data" "$tmp/sim6/events.jsonl"
cp_ models run --select u_orders_inc > "$tmp/run2.out"
check "incremental refresh" grep -q "^ok   u_orders_inc .*incremental" "$tmp/run2.out"
check "every order once" test "$(cp_ query --format csv "SELECT count(*) = count(DISTINCT order_id) AND count(*) = (SELECT count(*) FROM orders) FROM gold.u_orders_inc" | tail -1)" = true

# A cycle is reported with its path.
echo "SELECT * FROM {{ ref('b_model') }}" > "$tmp/project/models/a_model.sql"
echo "SELECT * FROM {{ ref('a_model') }}" > "$tmp/project/models/b_model.sql"
set +e; cp_ models run 2> "$tmp/cycle.err"; code=$?; set -e
check "cycle: exit 1" test "$code" = 1

check "cycle: its path" grep -q "models form a cycle: a_model -> b_model -> a_model" "$tmp/cycle.err"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
