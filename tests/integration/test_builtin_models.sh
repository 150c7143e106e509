#!/usr/bin/env bash
# The built-in marts on a simulated shop equal its ground truth: daily orders, units
# and revenue; orders and revenue by country; sessions and bot sessions by day; the
# funnel's steps; new customers by day; signed-up customers; customers by purchase
# segment. Every column of every mart is documented. Their data tests pass; a refresh
# after more data is incremental for fct_purchases.
source "$(dirname "$0")/lib.sh"
cp_() { "$bin" "$@" --set data_dir="$tmp/data"; }
json() { cp_ query --format json "$1"; }

"$bin" simulate --customers 1500 --days 6 --seed 33 --out "$tmp/sim" --outputs events,truth --quiet
cp_ ingest --quiet "$tmp/sim/events.jsonl"
cp_ models run > "$tmp/run.out"
check "every model built" test "$(grep -c "^ok " "$tmp/run.out") $(grep -c "^FAIL" "$tmp/run.out" || true)" = "16 0"
json "SELECT strftime(day, '%Y-%m-%d') AS d, orders, units, revenue FROM gold.daily_sales_summary" > "$tmp/daily.json"
json "SELECT country, orders, revenue FROM gold.country_summary" > "$tmp/country.json"
json "SELECT strftime(day, '%Y-%m-%d') AS d, sessions, bot_sessions FROM gold.sessions_summary" > "$tmp/sessions.json"
json "SELECT sum(sessions) AS page_view, sum(product_view) AS product_view, sum(cart) AS cart, sum(checkout) AS checkout, sum(purchase) AS \"order\" FROM gold.funnel_daily" > "$tmp/funnel.json"
json "SELECT count(*) FILTER (signed_up_at IS NOT NULL) AS signups, count(*) AS customers, count(*) FILTER (segment = 'No Purchases') AS none, count(*) FILTER (segment = 'One-time') AS one, count(*) FILTER (segment = 'Regular') AS regular, count(*) FILTER (segment = 'Frequent') AS frequent, sum(orders) AS orders FROM gold.dim_customers" > "$tmp/customers.json"
json "SELECT strftime(day, '%Y-%m-%d') AS d, sum(new_customers)::BIGINT AS n FROM gold.acquisition GROUP BY 1" > "$tmp/acq.json"
json "SELECT (SELECT count(DISTINCT user_id) FROM orders WHERE user_id IS NOT NULL) AS buyers, (SELECT count(*) FROM (SELECT user_id FROM orders WHERE user_id IS NOT NULL GROUP BY 1 HAVING count(*) >= 5)) AS frequent, (SELECT count(*) FROM orders WHERE user_id IS NOT NULL) AS orders" > "$tmp/silver.json"
check "marts equal the ground truth" python3 - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
truth = json.load(open(f"{d}/sim/truth.json"))
load = lambda n: json.load(open(f"{d}/{n}.json"))
cents = lambda x: round(float(x) * 100)
bad = []
def check(name, got, want):
    if got != want: bad.append(f"{name}: mart {got!r} != truth {want!r}")
daily = {r["d"]: r for r in load("daily")}
sessions = {r["d"]: r for r in load("sessions")}
for day in truth["days"]:
    r = daily.get(day["date"], {"orders": 0, "units": 0, "revenue": 0})
    check(f"{day['date']} orders", r["orders"], day["orders"])
    check(f"{day['date']} units", r["units"], day["units"])
    check(f"{day['date']} revenue", cents(r["revenue"]), cents(day["revenue"]))
    s = sessions.get(day["date"], {"sessions": 0, "bot_sessions": 0})
    check(f"{day['date']} sessions", s["sessions"] + s["bot_sessions"], day["sessions"])
    check(f"{day['date']} bot sessions", s["bot_sessions"], day["bot_sessions"])
countries = {r["country"]: r for r in load("country")}
for c, v in truth["totals"]["by_country"].items():
    r = countries.get(c, {"orders": 0, "revenue": 0})
    check(f"orders in {c}", r["orders"], v["orders"])
    check(f"revenue in {c}", cents(r["revenue"]), cents(v["revenue"]))
funnel = load("funnel")[0]
for step, n in truth["totals"]["funnel_sessions"].items():
    check(f"funnel {step}", int(funnel[step]), n)
acq = {r["d"]: r["n"] for r in load("acq")}
for day in truth["days"]:
    check(f"{day['date']} new customers", acq.get(day["date"], 0), day["new_customers"])
check("new customers", sum(acq.values()), truth["totals"]["new_customers"])
cust, silver = load("customers")[0], load("silver")[0]
segs = truth["totals"]["customer_segments"]
for name, key in (("No Purchases", "none"), ("One-time", "one"), ("Regular", "regular"), ("Frequent", "frequent")):
    check(f"segment {name}", cust[key], segs[name])
check("signups", cust["signups"], truth["totals"]["signups"])
check("segments add up", cust["none"] + cust["one"] + cust["regular"] + cust["frequent"], cust["customers"])
check("buyers", cust["one"] + cust["regular"] + cust["frequent"], silver["buyers"])
check("frequent buyers", cust["frequent"], silver["frequent"])
check("orders of customers", int(cust["orders"]), silver["orders"])
for b in bad[:30]: print(b)
sys.exit(1 if bad else 0)
PY
cp_ models docs > "$tmp/docs.md" 2> /dev/null
marts=$(cp_ models list | awk '$3 ~ /^marts\// {print $1}')
check "the marts are documented" python3 - "$tmp/docs.md" $marts <<'PY'
import sys
doc, marts = open(sys.argv[1]).read(), set(sys.argv[2:])
model, bad, seen = None, [], set()
for line in doc.splitlines():
    if line.startswith("## "): model = line[3:]
    elif line.startswith("| `") and model in marts:
        seen.add(model)
        if "(undocumented)" in line: bad.append(f"{model}.{line.split('`')[1]}")
print("undocumented:", ", ".join(bad)) if bad else None
sys.exit(1 if bad or seen != marts or len(marts) < 12 else 0)
PY
cp_ models test > "$tmp/test.out" || true
check "built-in data tests pass ($(grep -c '^ok ' "$tmp/test.out") ok)" test "$(grep -c '^FAIL' "$tmp/test.out" || true)" = 0
check "and there are tests" test "$(grep -c '^ok ' "$tmp/test.out")" -ge 15
"$bin" simulate --customers 1500 --days 7 --seed 33 --out "$tmp/sim7" --outputs events --quiet
cp_ ingest --quiet "$tmp/sim7/events.jsonl"
cp_ jobs run sessions > /dev/null # the customers table first, as the scheduler does
cp_ models run > "$tmp/run2.out"
check "fct_purchases refreshed incrementally" grep -q '^ok   fct_purchases .*incremental' "$tmp/run2.out"
check "every order once after the refresh" test "$(cp_ query --format csv "SELECT count(*) = count(DISTINCT order_id) AND count(*) = (SELECT count(*) FROM orders) FROM gold.fct_purchases" | tail -1)" = true
# The incremental marts after the refresh hold what a full rebuild gives.
sig="SELECT count(*), sum(orders), round(sum(total_spent), 2), count(*) FILTER (segment = 'Frequent'), max(last_purchase) FROM gold.dim_customers"
inc=$(cp_ query --format csv "$sig" | tail -1)
pv=$(cp_ query --format csv "SELECT count(*), count(DISTINCT \"offset\") FROM gold.int_product_views" | tail -1)
cp_ models run --full-refresh > /dev/null
check "dim_customers incremental = full rebuild ($inc)" test "$(cp_ query --format csv "$sig" | tail -1)" = "$inc"
check "int_product_views incremental = full rebuild ($pv)" test "$(cp_ query --format csv "SELECT count(*), count(DISTINCT \"offset\") FROM gold.int_product_views" | tail -1)" = "$pv"
finish
