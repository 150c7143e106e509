"""Compares silver (through 'clickpulse query --format json') with a simulator's
truth.json, exactly: events by kind and day, late events, distinct customers,
orders and revenue by day and by country, sessions and bot sessions by day,
funnel steps, duplicates and rejects by reason. Exit status 1 on any difference.

usage: silver_vs_truth.py CLICKPULSE DATA_DIR TRUTH_JSON
"""
import json
import subprocess
import sys

clickpulse, data_dir, truth_path = sys.argv[1:4]
truth = json.load(open(truth_path))
failures = []


def query(sql):
    out = subprocess.run([clickpulse, "query", "--set", "data_dir=" + data_dir, "--format", "json", sql],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def check(name, got, want):
    if got != want:
        failures.append(f"{name}: silver {got!r} != truth {want!r}")


def cents(x):
    return round(float(x) * 100)


rows = query("SELECT strftime(event_date, '%Y-%m-%d') AS d, kind, count(*) AS n, "
             "count(*) FILTER (late) AS late FROM events GROUP BY ALL")
by_day = {}
for r in rows:
    by_day.setdefault(r["d"], {})[r["kind"]] = r["n"]
late_by_day = {}
for r in rows:
    late_by_day[r["d"]] = late_by_day.get(r["d"], 0) + r["late"]
customers = {r["d"]: r["n"] for r in query(
    "SELECT strftime(event_date, '%Y-%m-%d') AS d, count(DISTINCT user_id) AS n FROM events GROUP BY 1")}
orders = {r["d"]: r for r in query(
    "SELECT strftime(event_date, '%Y-%m-%d') AS d, count(*) AS n, sum(revenue)::VARCHAR AS rev, "
    "sum(units) AS units FROM orders GROUP BY 1")}
sessions = {r["d"]: r for r in query(
    "SELECT strftime(start_date, '%Y-%m-%d') AS d, count(*) AS n, count(*) FILTER (is_bot) AS bots "
    "FROM sessions GROUP BY 1")}
for day in truth["days"]:
    d = day["date"]
    for kind, n in day["by_kind"].items():
        check(f"{d} {kind}", by_day.get(d, {}).get(kind, 0), n)
    check(f"{d} late events", late_by_day.get(d, 0), day["late_events"])
    check(f"{d} distinct customers", customers.get(d, 0), day["distinct_customers"])
    o = orders.get(d, {"n": 0, "rev": "0", "units": 0})
    check(f"{d} orders", o["n"], day["orders"])
    check(f"{d} revenue", cents(o["rev"] or 0), cents(day["revenue"]))
    check(f"{d} units", o["units"] or 0, day["units"])
    s = sessions.get(d, {"n": 0, "bots": 0})
    check(f"{d} sessions", s["n"], day["sessions"])
    check(f"{d} bot sessions", s["bots"], day["bot_sessions"])

tot = truth["totals"]
countries = {r["country"]: r for r in query(
    "SELECT country, count(*) AS n, sum(revenue)::VARCHAR AS rev FROM orders GROUP BY 1")}
for c, v in tot["by_country"].items():
    got = countries.get(c, {"n": 0, "rev": "0"})
    check(f"orders in {c}", got["n"], v["orders"])
    check(f"revenue in {c}", cents(got["rev"]), cents(v["revenue"]))
funnel = query("SELECT count(*) AS page_view, count(*) FILTER (product_view) AS product_view, "
               "count(*) FILTER (product_view AND cart) AS cart, "
               "count(*) FILTER (product_view AND cart AND checkout) AS checkout, "
               "count(*) FILTER (product_view AND cart AND checkout AND purchase) AS \"order\" "
               "FROM sessions WHERE NOT is_bot AND pageviews > 0")[0]
for step, n in tot["funnel_sessions"].items():
    check(f"funnel {step}", funnel[step], n)
check("events", query("SELECT count(*) AS n FROM events")[0]["n"], tot["events"])
check("distinct message ids", query("SELECT count(DISTINCT message_id) AS n FROM events")[0]["n"], tot["events"])
check("offsets 0..n-1", query("SELECT min(\"offset\") AS lo, max(\"offset\") AS hi, count(DISTINCT \"offset\") AS n FROM events")[0],
      {"lo": 0, "hi": tot["events"] - 1, "n": tot["events"]})
check("duplicates", query("SELECT count(*) AS n FROM duplicates")[0]["n"], tot["duplicates"])
check("bot events", query("SELECT count(*) AS n FROM events WHERE is_bot")[0]["n"], tot["bot_events"])
rejects = {r["reason"]: r["n"] for r in query("SELECT reason, count(*) AS n FROM dead_letters GROUP BY 1")}
check("rejects by reason", rejects, tot["rejects_by_reason"])
check("signups", query("SELECT count(*) AS n FROM customers WHERE signed_up_at IS NOT NULL")[0]["n"], tot["signups"])

for f in failures[:40]:
    print("FAIL", f)
print(f"{0 if failures else 1} passed, {1 if failures else 0} failed ({len(failures)} differences)")
sys.exit(1 if failures else 0)
